#include "protocol/webhook_signature.h"

#include <algorithm>
#include <optional>

#include "common/crypto.h"
#include "protocol/unix_seconds.h"

namespace hutong::protocol {
namespace {

// Bounds the work an arbitrary header can cause; real headers are far below both.
constexpr size_t kMaxHeaderLength = 4096;
constexpr size_t kMaxSignatures = 16;

Error Rejected(std::string detail) {
  return {ErrorCode::kInvalidSignature, std::move(detail)};
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view raw_body) {
  std::string payload = std::to_string(unix_seconds);
  payload.append(1, '.').append(raw_body);
  return HmacSha256Hex(secret, payload);
}

std::string SignWebhookAt(const std::vector<std::string>& secrets, std::string_view raw_body,
                          int64_t unix_seconds) {
  std::string header = "t=" + std::to_string(unix_seconds);
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    header.append(",v1=").append(WebhookSignature(secret, unix_seconds, raw_body));
  }
  return header;
}

std::string SignWebhook(const std::vector<std::string>& secrets, std::string_view raw_body,
                        const Clock& clock) {
  return SignWebhookAt(secrets, raw_body, FloorSeconds(clock.NowMs()));
}

Status VerifyWebhook(std::string_view header_value, std::string_view raw_body,
                     const std::vector<std::string>& secrets, const Clock& clock,
                     std::chrono::seconds tolerance) {
  const std::string malformed =
      std::string(kWebhookSignatureHeader) + " must look like t=<Unix seconds>,v1=<hex HMAC-SHA256>";
  if (header_value.empty()) return Rejected("missing " + std::string(kWebhookSignatureHeader) + " header");
  if (header_value.size() > kMaxHeaderLength) return Rejected(malformed);

  std::optional<std::string_view> timestamp_text;
  std::vector<std::string_view> candidates;
  std::string_view rest = header_value;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = TrimSpaces(rest.substr(0, comma));
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      const std::string_view key = TrimSpaces(item.substr(0, eq));
      const std::string_view value = TrimSpaces(item.substr(eq + 1));
      if (key == "t") {
        // Two timestamps would leave it open which one was signed.
        if (timestamp_text) return Rejected(malformed + " (more than one t)");
        timestamp_text = value;
      } else if (key == "v1") {
        if (candidates.size() == kMaxSignatures) return Rejected(malformed + " (too many v1 entries)");
        candidates.push_back(value);
      }
      // Any other key (a future scheme such as v2) is ignored, as Stripe receivers do.
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!timestamp_text) return Rejected(malformed + " (no t)");
  const std::optional<int64_t> timestamp = ParseUnixSeconds(*timestamp_text);
  if (!timestamp) return Rejected(malformed + " (t is not Unix seconds)");
  if (candidates.empty()) return Rejected(malformed + " (no v1)");

  const int64_t now_s = FloorSeconds(clock.NowMs());
  const int64_t tolerance_s = tolerance.count();
  if (*timestamp < now_s - tolerance_s || *timestamp > now_s + tolerance_s) {
    return Rejected("webhook timestamp is more than " + std::to_string(tolerance_s) +
                    " s away from the receiver's clock (receiver time " + std::to_string(now_s) + ")");
  }

  // The HMAC covers the timestamp exactly as the header carries it, so a re-formatted t
  // (leading zeros) cannot reuse a signature.
  std::string payload(*timestamp_text);
  payload.append(1, '.').append(raw_body);
  bool matched = false;
  bool any_secret = false;
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    any_secret = true;
    const std::string expected = HmacSha256Hex(secret, payload);
    for (const std::string_view candidate : candidates) matched |= ConstantTimeEquals(expected, candidate);
  }
  if (!any_secret) return Rejected("no webhook secret configured to verify against");
  if (!matched) return Rejected("no v1 signature matches HMAC-SHA256(secret, t + \".\" + raw body)");
  return Ok();
}

}  // namespace hutong::protocol
