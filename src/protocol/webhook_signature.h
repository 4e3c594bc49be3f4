// Signed host → app webhooks (DESIGN "Open-API conventions"), Stripe-style:
//   Hutong-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>
// While a secret is being rotated the sender adds one v1 entry per valid secret.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace hutong::protocol {

inline constexpr std::string_view kWebhookSignatureHeader = "Hutong-Signature";
inline constexpr std::chrono::seconds kWebhookTolerance{300};

// Lowercase hex HMAC-SHA256(secret, timestamp + "." + raw_body).
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view raw_body);

// The Hutong-Signature header value for `raw_body` at `unix_seconds`: "t=…" then one
// ",v1=…" per non-empty secret, in the order given.
std::string SignWebhookAt(const std::vector<std::string>& secrets, std::string_view raw_body,
                          int64_t unix_seconds);
// The same at the clock's current second.
std::string SignWebhook(const std::vector<std::string>& secrets, std::string_view raw_body,
                        const Clock& clock);

// Checks a Hutong-Signature header against the raw body bytes as received (before any JSON
// parsing). Entries may come in any order and unknown keys are ignored; exactly one `t` is
// required; the header passes when any v1 entry matches any of `secrets` (constant-time
// compares) and t is within `tolerance` of the clock either way. Every failure is
// kInvalidSignature.
Status VerifyWebhook(std::string_view header_value, std::string_view raw_body,
                     const std::vector<std::string>& secrets, const Clock& clock,
                     std::chrono::seconds tolerance = kWebhookTolerance);

}  // namespace hutong::protocol
