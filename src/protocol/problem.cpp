#include "protocol/problem.h"

#include <boost/json/parse.hpp>
#include <string>
#include <unordered_map>

namespace hutong::protocol {
namespace {

// An upstream detail is passed on to our own client; keep a hostile one from bloating it.
constexpr size_t kMaxDetailLength = 1024;

std::optional<ErrorCode> CodeForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kValidationFailed;
    case 401:
      return ErrorCode::kUnauthorized;
    case 403:
      return ErrorCode::kForbidden;
    case 404:
      return ErrorCode::kNotFound;
    case 405:
      return ErrorCode::kMethodNotAllowed;
    case 408:
      return ErrorCode::kRequestTimeout;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 415:
      return ErrorCode::kUnsupportedMediaType;
    case 422:
      return ErrorCode::kValidationFailed;
    case 429:
      return ErrorCode::kRateLimited;
    case 431:
      return ErrorCode::kHeadersTooLarge;
    default:
      return std::nullopt;
  }
}

std::string Truncated(std::string_view s, size_t max) {
  return std::string(s.size() > max ? s.substr(0, max) : s);
}

}  // namespace

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  // Built by asking ErrorCodeName about every value an ErrorCode can plausibly take, so a
  // code added to the enum is found here without anyone remembering to list it. (An enum
  // class has a fixed underlying type, so every int in range is a valid ErrorCode value;
  // values past the last enumerator come back as "internal", which kInternal claims first.)
  static const std::unordered_map<std::string_view, ErrorCode> by_name = [] {
    std::unordered_map<std::string_view, ErrorCode> m;
    for (int i = 0; i < 256; ++i) {
      const auto code = static_cast<ErrorCode>(i);
      m.emplace(ErrorCodeName(code), code);
    }
    return m;
  }();
  const auto it = by_name.find(name);
  if (it == by_name.end()) return std::nullopt;
  return it->second;
}

Error ErrorFromResponse(const http::ClientResponse& response, std::string_view what) {
  const std::string where = std::string(what) + " answered HTTP " + std::to_string(response.status);
  std::optional<ErrorCode> code;
  std::string detail;
  boost::system::error_code ec;
  const boost::json::value body = boost::json::parse(response.body, ec);
  if (!ec && body.is_object()) {
    const auto& o = body.as_object();
    if (const auto* c = o.if_contains("code"); c && c->is_string()) code = ErrorCodeFromName(c->get_string());
    if (const auto* d = o.if_contains("detail"); d && d->is_string()) {
      detail = Truncated(d->get_string(), kMaxDetailLength);
    }
  }
  const std::string internal = where + (code ? " (" + std::string(ErrorCodeName(*code)) + ")" : "") +
                               (detail.empty() ? "" : ": " + detail);
  if (response.status >= 500) return {ErrorCode::kUnavailable, "upstream service unavailable", internal};
  if (code) {
    if (detail.empty()) detail = "upstream service refused the request";
    return {*code, std::move(detail), internal};
  }
  if (const auto by_status = CodeForStatus(response.status)) {
    return {*by_status, "upstream service answered HTTP " + std::to_string(response.status), internal};
  }
  return {ErrorCode::kInternal, "internal error", internal};
}

Result<boost::json::value> JsonFromResponse(const http::ClientResponse& response, std::string_view what) {
  if (response.status < 200 || response.status > 299) return ErrorFromResponse(response, what);
  if (response.body.empty()) return boost::json::value(nullptr);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(response.body, ec);
  if (ec) {
    return Error(ErrorCode::kUnavailable, "upstream service answered with invalid JSON",
                 std::string(what) + ": " + ec.message());
  }
  return v;
}

}  // namespace hutong::protocol
