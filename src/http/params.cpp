#include "http/params.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace hutong::http {
namespace {
std::string Quoted(std::string_view n) {
  return "'" + std::string(n) + "'";
}
}  // namespace

Result<std::optional<int64_t>> QueryInt(const Request& req, std::string_view name, int64_t min, int64_t max) {
  auto raw = req.Query(name);
  if (!raw) return std::optional<int64_t>();
  int64_t v = 0;
  const char* end = raw->data() + raw->size();
  auto [ptr, ec] = std::from_chars(raw->data(), end, v);
  if (ec != std::errc() || ptr != end || raw->empty()) return Invalid(Quoted(name) + " must be an integer");
  if (v < min || v > max) {
    return Invalid(Quoted(name) + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<double>> QueryDouble(const Request& req, std::string_view name, double min, double max) {
  auto raw = req.Query(name);
  if (!raw) return std::optional<double>();
  char* end = nullptr;
  double v = std::strtod(raw->c_str(), &end);
  if (raw->empty() || end != raw->c_str() + raw->size() || !std::isfinite(v)) {
    return Invalid(Quoted(name) + " must be a number");
  }
  if (v < min || v > max) return Invalid(Quoted(name) + " is out of range");
  return std::optional<double>(v);
}

Result<std::string> QueryText(const Request& req, std::string_view name, size_t max_len) {
  auto raw = req.Query(name);
  if (!raw) return std::string();
  if (raw->size() > max_len) return Invalid(Quoted(name) + " is too long");
  return std::move(*raw);
}

}  // namespace hutong::http
