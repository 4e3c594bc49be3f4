// Typed query-parameter readers with clear validation errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace hutong::http {

// Absent → nullopt; present but not an integer in [min, max] → kValidationFailed.
Result<std::optional<int64_t>> QueryInt(const Request& req, std::string_view name, int64_t min, int64_t max);
Result<std::optional<double>> QueryDouble(const Request& req, std::string_view name, double min, double max);
// Absent → ""; longer than max_len bytes → kValidationFailed.
Result<std::string> QueryText(const Request& req, std::string_view name, size_t max_len);

}  // namespace hutong::http
