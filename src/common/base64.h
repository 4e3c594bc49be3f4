// URL-safe base64 without padding (RFC 4648 §5), via libsodium.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hutong {

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace hutong
