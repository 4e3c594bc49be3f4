// Lowercase hex encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hutong {

std::string HexEncode(const uint8_t* data, size_t n);
inline std::string HexEncode(std::string_view bytes) {
  return HexEncode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace hutong
