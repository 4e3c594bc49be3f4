// The one service-wide error vocabulary: a stable machine code plus what the client is told
// and, separately, what only the log gets.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace hutong {

// Every failure the service can report. The HTTP layer alone maps these to statuses
// (src/http/problem.cpp); the machine string (ErrorCodeName) is a public contract.
enum class ErrorCode {
  kInvalidJson,       // body is not JSON at all
  kValidationFailed,  // JSON (or a query parameter) has the wrong shape, type or range
  kNotFound,          // unknown id, or someone else's
  kMethodNotAllowed,
  kUnauthorized,         // no or bad credentials
  kInvalidSignature,     // signed open-API request rejected
  kForbidden,            // authenticated but not allowed
  kConflict,             // state does not allow the change
  kIdempotencyMismatch,  // same Idempotency-Key, different body
  kUnprocessable,        // well-formed, but names something unusable (e.g. an offline deal)
  kIdempotencyInFlight,  // same Idempotency-Key while the first is still running
  kOutOfStock,
  kRateLimited,
  kPayloadTooLarge,
  kHeadersTooLarge,
  kRequestTimeout,
  kUnsupportedMediaType,
  kDemoRefused,  // seed-demo on a database holding other data
  kUnavailable,  // dependency down or shutting down; retry later
  kInternal,     // a bug or an unexpected storage failure
};

// The stable snake_case name sent as `code` in problem+json.
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string detail;    // safe to show the client
  std::string internal;  // log only: SQL errors, errno text, ...

  Error() = default;
  Error(ErrorCode c, std::string d, std::string i = {})
      : code(c), detail(std::move(d)), internal(std::move(i)) {}
};

inline Error Invalid(std::string detail) {
  return {ErrorCode::kValidationFailed, std::move(detail)};
}
inline Error NotFound(std::string detail) {
  return {ErrorCode::kNotFound, std::move(detail)};
}
inline Error Internal(std::string internal) {
  return {ErrorCode::kInternal, "internal error", std::move(internal)};
}

}  // namespace hutong
