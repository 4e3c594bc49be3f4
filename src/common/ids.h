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

// True when `id` is `prefix` + '_' + 26 Crockford base32 characters.
bool IsWellFormedId(std::string_view id, std::string_view prefix);

}  // namespace hutong
