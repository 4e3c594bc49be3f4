#include "protocol/unix_seconds.h"

#include <algorithm>
#include <charconv>

namespace hutong::protocol {

std::optional<int64_t> ParseUnixSeconds(std::string_view text) {
  constexpr size_t kMaxDigits = 12;  // year 33658; keeps the arithmetic far from overflow
  if (text.empty() || text.size() > kMaxDigits) return std::nullopt;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace hutong::protocol
