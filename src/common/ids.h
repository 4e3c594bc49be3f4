// Opaque, prefixed, time-ordered ids ("deal_01JD3…"): 48 bits of milliseconds then 80
// random bits, Crockford base32, so any node can mint them without coordination and they
// sort by creation time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace hutong {

// Thread-safe. Within one process ids are strictly increasing even inside one millisecond.
std::string NewId(std::string_view prefix, const Clock& clock = SystemClock::Instance());

// Sets `out` to a new id of the same form, from a generator of the calling thread's own
// (seeded from the CSPRNG once per thread; no lock, and `out`'s buffer is reused): unique,
// increasing within the thread, but unordered across threads. For ids that need only be
// unique, such as request ids; ids that order records use NewId.
void AssignThreadLocalId(std::string& out, std::string_view prefix,
                         const Clock& clock = SystemClock::Instance());

// True when `id` is `prefix` + '_' + 26 Crockford base32 characters.
bool IsWellFormedId(std::string_view id, std::string_view prefix);

}  // namespace hutong
