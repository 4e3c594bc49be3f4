#include "common/json.h"

#include <cmath>

namespace hutong {
namespace {

std::string Quoted(std::string_view key) {
  return "'" + std::string(key) + "'";
}

const json::value* Find(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

// JSON numbers may arrive as int64, uint64 or a double holding an integer (1e3).
std::optional<int64_t> AsInteger(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) {
    if (v.as_uint64() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v.as_uint64());
  }
  if (v.is_double()) {
    double d = v.as_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace

Result<json::object> ParseJsonObject(std::string_view body) {
  json::parse_options opt;
  opt.max_depth = 32;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opt);
  if (ec) return Error(ErrorCode::kInvalidJson, "request body is not valid JSON: " + ec.message());
  if (!v.is_object()) return Error(ErrorCode::kInvalidJson, "request body must be a JSON object");
  return std::move(v.as_object());
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key,
                                                  size_t max_len) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return Invalid(Quoted(key) + " must be a string");
  const json::string& s = v->as_string();
  if (s.size() > max_len) {
    return Invalid(Quoted(key) + " is longer than " + std::to_string(max_len) + " bytes");
  }
  return std::optional<std::string>(std::string(s.data(), s.size()));
}

Result<std::string> RequireString(const json::object& o, std::string_view key, size_t max_len) {
  ASSIGN_OR_RETURN(auto s, OptionalString(o, key, max_len));
  if (!s || s->empty()) return Invalid(Quoted(key) + " is required");
  return std::move(*s);
}

Result<std::optional<int64_t>> OptionalInt(const json::object& o, std::string_view key, int64_t min,
                                           int64_t max) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return std::optional<int64_t>();
  auto i = AsInteger(*v);
  if (!i) return Invalid(Quoted(key) + " must be an integer");
  if (*i < min || *i > max) {
    return Invalid(Quoted(key) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return std::optional<int64_t>(*i);
}

Result<int64_t> RequireInt(const json::object& o, std::string_view key, int64_t min, int64_t max) {
  ASSIGN_OR_RETURN(auto i, OptionalInt(o, key, min, max));
  if (!i) return Invalid(Quoted(key) + " is required");
  return *i;
}

Result<std::optional<double>> OptionalDouble(const json::object& o, std::string_view key, double min,
                                             double max) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return Invalid(Quoted(key) + " must be a number");
  double d = v->to_number<double>();
  if (!std::isfinite(d) || d < min || d > max) return Invalid(Quoted(key) + " is out of range");
  return std::optional<double>(d);
}

Result<std::optional<bool>> OptionalBool(const json::object& o, std::string_view key) {
  const json::value* v = Find(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return Invalid(Quoted(key) + " must be true or false");
  return std::optional<bool>(v->as_bool());
}

std::string ToJson(const json::value& v) {
  return json::serialize(v);
}

}  // namespace hutong
