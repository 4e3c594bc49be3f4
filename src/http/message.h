// Our own HTTP request/response types: what handlers see. No Boost.Beast here, so domain
// code compiles fast and stays independent of the HTTP library.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace hutong::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
Method ParseMethod(std::string_view text);

struct Request {
  Method method = Method::kGet;
  std::string target;  // raw path and query as received, e.g. /mp/v1/deals?city=%E5%8C%97
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // target after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string remote_addr;  // peer IP address
  std::string request_id;   // X-Request-Id as received (if sane) or generated

  // Filled by the router: values of `{name}` segments, percent-decoded.
  std::vector<std::pair<std::string, std::string>> path_params;

  // Header value by lowercase name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // Query parameter, percent-decoded ('+' as space); the first if repeated.
  std::optional<std::string> Query(std::string_view name) const;
  // Path parameter by name; empty if absent (the router guarantees declared ones).
  std::string_view PathParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body sent instead of `body`: immutable bytes shared with a cache, so a
  // cache hit is written without a copy. Never modified while shared.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // The bytes that go out as the body (shared_body if set, else body).
  std::string_view BodyView() const {
    return shared_body ? std::string_view(*shared_body) : std::string_view(body);
  }

  static Response Json(int status, const boost::json::value& v);
  static Response JsonText(int status, std::string body);
  // JSON whose serialized bytes are shared with a cache (`body` must not be null).
  static Response SharedJson(int status, std::shared_ptr<const std::string> body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  // RFC 9457 problem+json for an error; the one place errors become statuses.
  static Response Problem(const Error& error, std::string_view instance = {});
};

// The HTTP status for an error code.
int StatusFor(ErrorCode code);

// Percent-encoding of a query value or path segment: everything but RFC 3986 unreserved
// characters (A-Z a-z 0-9 - _ . ~) is escaped, UTF-8 byte by byte.
std::string PercentEncode(std::string_view in);

// Percent-decoding for paths and queries; nullopt on malformed escapes.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

}  // namespace hutong::http
