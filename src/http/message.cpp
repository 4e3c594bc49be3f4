#include "http/message.h"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <iterator>

#include "common/log.h"

namespace hutong::http {
namespace {

// Short, stable titles for problem+json; the `detail` carries the specifics.
std::string_view TitleFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
      return "Invalid JSON";
    case ErrorCode::kValidationFailed:
      return "Validation failed";
    case ErrorCode::kNotFound:
      return "Not found";
    case ErrorCode::kMethodNotAllowed:
      return "Method not allowed";
    case ErrorCode::kUnauthorized:
      return "Unauthorized";
    case ErrorCode::kInvalidSignature:
      return "Invalid signature";
    case ErrorCode::kForbidden:
      return "Forbidden";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kUnprocessable:
      return "Unprocessable content";
    case ErrorCode::kIdempotencyMismatch:
      return "Idempotency key reused with a different request";
    case ErrorCode::kIdempotencyInFlight:
      return "Idempotency key in flight";
    case ErrorCode::kOutOfStock:
      return "Out of stock";
    case ErrorCode::kRateLimited:
      return "Too many requests";
    case ErrorCode::kPayloadTooLarge:
      return "Payload too large";
    case ErrorCode::kHeadersTooLarge:
      return "Request header fields too large";
    case ErrorCode::kRequestTimeout:
      return "Request timeout";
    case ErrorCode::kUnsupportedMediaType:
      return "Unsupported media type";
    case ErrorCode::kDemoRefused:
      return "Demo data refused";
    case ErrorCode::kUnavailable:
      return "Service unavailable";
    case ErrorCode::kInternal:
      return "Internal server error";
  }
  return "Internal server error";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view text) {
  // Methods are case-sensitive (RFC 9110 §9.1).
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    if (text == MethodName(m)) return m;
  }
  return Method::kOther;
}

std::optional<std::string_view> Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    // A pair with a malformed escape is skipped, as if it were absent: there is no error
    // channel here, and guessing at the bytes would be worse.
    std::optional<std::string> key = PercentDecode(raw_key, /*plus_as_space=*/true);
    if (!key || *key != name) continue;
    std::optional<std::string> value = PercentDecode(raw_value, /*plus_as_space=*/true);
    if (value) return value;
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

Response Response::Json(int status, const boost::json::value& v) {
  return JsonText(status, boost::json::serialize(v));
}

Response Response::JsonText(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

Response Response::SharedJson(int status, std::shared_ptr<const std::string> body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.shared_body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Problem(const Error& error, std::string_view instance) {
  // error.internal is deliberately never read here: it is for the log only.
  const int status = StatusFor(error.code);
  const std::string_view code = ErrorCodeName(error.code);
  const std::string_view title = TitleFor(error.code);
  // Named members only: a defaulted content type would be allocated and then replaced.
  Response r{.status = status, .content_type = "application/problem+json"};
  std::string& body = r.body;
  body.reserve(160 + error.detail.size() + instance.size());
  // The problem type and the code are fixed ASCII words (error.h): nothing to escape.
  body += "{\"type\":\"https://hutong.dev/problems/";
  body += code;
  body += "\",\"title\":";
  AppendJsonString(body, title);
  body += ",\"status\":";
  char digits[8];
  const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), status);
  (void)ec;  // a status has three digits
  body.append(digits, static_cast<size_t>(end - digits));
  body += ",\"detail\":";
  // An empty detail would tell the client nothing; the title is the next best thing.
  AppendJsonString(body, error.detail.empty() ? title : std::string_view(error.detail));
  body += ",\"code\":\"";
  body += code;
  body += '"';
  if (!instance.empty()) {
    body += ",\"instance\":";
    AppendJsonString(body, instance);
  }
  body += '}';
  return r;
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
      return 400;
    case ErrorCode::kValidationFailed:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kUnauthorized:
      return 401;
    case ErrorCode::kInvalidSignature:
      return 401;
    case ErrorCode::kForbidden:
      return 403;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kUnprocessable:
      return 422;
    case ErrorCode::kIdempotencyMismatch:
      return 422;
    case ErrorCode::kIdempotencyInFlight:
      return 409;
    case ErrorCode::kOutOfStock:
      return 409;
    case ErrorCode::kRateLimited:
      return 429;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kHeadersTooLarge:
      return 431;
    case ErrorCode::kRequestTimeout:
      return 408;
    case ErrorCode::kUnsupportedMediaType:
      return 415;
    case ErrorCode::kDemoRefused:
      return 409;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;  // fewer than two characters follow '%'
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace hutong::http
