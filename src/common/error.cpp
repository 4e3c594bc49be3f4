#include "common/error.h"

namespace hutong {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidJson:
      return "invalid_json";
    case ErrorCode::kValidationFailed:
      return "validation_failed";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kMethodNotAllowed:
      return "method_not_allowed";
    case ErrorCode::kUnauthorized:
      return "unauthorized";
    case ErrorCode::kInvalidSignature:
      return "invalid_signature";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kUnprocessable:
      return "unprocessable";
    case ErrorCode::kIdempotencyMismatch:
      return "idempotency_key_reused";
    case ErrorCode::kIdempotencyInFlight:
      return "idempotency_key_in_flight";
    case ErrorCode::kOutOfStock:
      return "out_of_stock";
    case ErrorCode::kRateLimited:
      return "rate_limited";
    case ErrorCode::kPayloadTooLarge:
      return "payload_too_large";
    case ErrorCode::kHeadersTooLarge:
      return "headers_too_large";
    case ErrorCode::kRequestTimeout:
      return "request_timeout";
    case ErrorCode::kUnsupportedMediaType:
      return "unsupported_media_type";
    case ErrorCode::kDemoRefused:
      return "demo_refused";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace hutong
