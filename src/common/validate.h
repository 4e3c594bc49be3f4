// Small shared checks for text fields of requests.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hutong {

// Required (unless !required), at most max_bytes, no control characters.
Status CheckText(std::string_view value, std::string_view field, size_t max_bytes, bool required = true);
// An absolute http:// or https:// URL without spaces or control characters.
Status CheckHttpUrl(std::string_view value, std::string_view field, size_t max_bytes = 500);

}  // namespace hutong
