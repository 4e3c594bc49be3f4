#include "common/validate.h"

namespace hutong {

Status CheckText(std::string_view value, std::string_view field, size_t max_bytes, bool required) {
  const std::string name = "'" + std::string(field) + "'";
  if (required && value.empty()) return Invalid(name + " is required");
  if (value.size() > max_bytes)
    return Invalid(name + " is longer than " + std::to_string(max_bytes) + " bytes");
  for (unsigned char c : value) {
    if (c < 0x20 && c != '\n' && c != '\t') return Invalid(name + " contains control characters");
  }
  return Ok();
}

Status CheckHttpUrl(std::string_view value, std::string_view field, size_t max_bytes) {
  RETURN_IF_ERROR(CheckText(value, field, max_bytes));
  const std::string name = "'" + std::string(field) + "'";
  size_t scheme = value.starts_with("http://") ? 7 : value.starts_with("https://") ? 8 : 0;
  if (scheme == 0 || value.size() == scheme) return Invalid(name + " must be an http(s) URL");
  for (unsigned char c : value) {
    if (c <= 0x20 || c == 0x7f) return Invalid(name + " must not contain spaces or control characters");
  }
  return Ok();
}

}  // namespace hutong
