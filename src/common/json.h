// Reading untrusted JSON: parse with limits and pull typed fields out with clear errors
// (never an assert, never an exception escaping to the caller).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hutong {

namespace json = boost::json;

// Parses a request body that must be one JSON object. Depth and size are bounded.
Result<json::object> ParseJsonObject(std::string_view body);

// Field readers. `Require*` fail when the field is absent or null; `Optional*` return
// nullopt then. Both fail on a wrong type or an out-of-range value, naming the field.
Result<std::string> RequireString(const json::object& o, std::string_view key, size_t max_len = 1024);
Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key,
                                                  size_t max_len = 1024);
Result<int64_t> RequireInt(const json::object& o, std::string_view key, int64_t min, int64_t max);
Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view key, int64_t min,
                                           int64_t max);
Result<std::optional<double>> OptionalDouble(const json::object& o, std::string_view key, double min,
                                             double max);
Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view key);

// Serialises compactly.
std::string ToJson(const json::value& v);

}  // namespace hutong
