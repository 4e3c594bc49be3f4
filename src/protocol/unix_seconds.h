// Unix time in whole seconds as the signed headers carry it (X-Hutong-Timestamp, t=).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hutong::protocol {

// Only plain decimal digits, at most 12 of them (no sign, no spaces): what is signed is the
// text, so the text admits exactly one spelling per reasonable value.
std::optional<int64_t> ParseUnixSeconds(std::string_view text);

// The whole second containing `unix_ms`, rounding towards the past.
inline int64_t FloorSeconds(int64_t unix_ms) {
  return unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0);
}

}  // namespace hutong::protocol
