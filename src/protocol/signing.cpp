#include "protocol/signing.h"

#include <algorithm>
#include <optional>

#include "common/crypto.h"
#include "common/random.h"
#include "protocol/unix_seconds.h"

namespace hutong::protocol {
namespace {

// 16 random bytes: 32 hex characters, comfortably inside [kMinNonceLength, kMaxNonceLength].
constexpr size_t kNonceRandomBytes = 16;
constexpr size_t kSignatureHexLength = 64;

Error Rejected(std::string detail) {
  return {ErrorCode::kInvalidSignature, std::move(detail)};
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsNonceChar(char c) {
  return IsAlnum(c) || c == '_' || c == '-';
}

bool IsAppIdChar(char c) {
  return IsAlnum(c) || c == '_' || c == '-' || c == '.';
}

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// The one value of a header that must appear exactly once: a repeated header is ambiguous
// (which copy did the signer mean?), so it is rejected rather than guessed at.
Result<std::string_view> SingleHeader(const http::Request& request, std::string_view display_name) {
  std::string lower(display_name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  std::optional<std::string_view> found;
  for (const auto& [name, value] : request.headers) {
    if (name != lower) continue;
    if (found) return Rejected(std::string(display_name) + " header appears more than once");
    found = value;
  }
  if (!found || found->empty()) return Rejected("missing " + std::string(display_name) + " header");
  return *found;
}

}  // namespace

std::string CanonicalRequest(std::string_view method, std::string_view path_with_query,
                             std::string_view timestamp, std::string_view nonce, std::string_view body) {
  const std::string body_hash = Sha256Hex(body);
  std::string out;
  out.reserve(method.size() + path_with_query.size() + timestamp.size() + nonce.size() + body_hash.size() +
              4);
  out.append(method).append(1, '\n');
  out.append(path_with_query).append(1, '\n');
  out.append(timestamp).append(1, '\n');
  out.append(nonce).append(1, '\n');
  out.append(body_hash);
  return out;
}

std::string RequestSignature(std::string_view secret, std::string_view method,
                             std::string_view path_with_query, std::string_view timestamp,
                             std::string_view nonce, std::string_view body) {
  return HmacSha256Hex(secret, CanonicalRequest(method, path_with_query, timestamp, nonce, body));
}

std::vector<std::pair<std::string, std::string>> SignedHeaders::Pairs() const {
  return {{std::string(kAppIdHeader), app_id},
          {std::string(kTimestampHeader), timestamp},
          {std::string(kNonceHeader), nonce},
          {std::string(kSignatureHeader), signature}};
}

SignedHeaders SignRequest(std::string_view app_id, std::string_view secret, std::string_view method,
                          std::string_view path_with_query, std::string_view body, const Clock& clock) {
  SignedHeaders h;
  h.app_id = std::string(app_id);
  h.timestamp = std::to_string(FloorSeconds(clock.NowMs()));
  h.nonce = RandomHex(kNonceRandomBytes);
  h.signature = RequestSignature(secret, method, path_with_query, h.timestamp, h.nonce, body);
  return h;
}

InMemoryNonceStore::InMemoryNonceStore(const Clock& clock, size_t max_entries)
    : clock_(clock), max_entries_(std::max<size_t>(1, max_entries)) {}

void InMemoryNonceStore::PurgeExpiredLocked(int64_t now_ms) {
  while (!by_expiry_.empty() && by_expiry_.top().at_ms <= now_ms) {
    const auto it = expires_at_.find(by_expiry_.top().key);
    if (it != expires_at_.end() && it->second == by_expiry_.top().at_ms) expires_at_.erase(it);
    by_expiry_.pop();
  }
}

bool InMemoryNonceStore::Remember(std::string_view app_id, std::string_view nonce, int64_t expires_at_ms) {
  // Length-prefixed so that no (app, nonce) pair can collide with another whatever they hold.
  std::string key = std::to_string(app_id.size());
  key.append(1, ':').append(app_id).append(nonce);
  const int64_t now_ms = clock_.NowMs();

  std::lock_guard<std::mutex> lock(mu_);
  PurgeExpiredLocked(now_ms);
  if (expires_at_.contains(key)) return false;
  if (expires_at_ms <= now_ms) return true;  // already outside any window: nothing to guard
  while (expires_at_.size() >= max_entries_ && !by_expiry_.empty()) {
    const auto it = expires_at_.find(by_expiry_.top().key);
    if (it != expires_at_.end() && it->second == by_expiry_.top().at_ms) {
      expires_at_.erase(it);
      ++evictions_;
    }
    by_expiry_.pop();
  }
  expires_at_.emplace(key, expires_at_ms);
  by_expiry_.push(Expiry{expires_at_ms, std::move(key)});
  return true;
}

size_t InMemoryNonceStore::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expires_at_.size();
}

uint64_t InMemoryNonceStore::Evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

Result<std::string> VerifySignedRequest(const http::Request& request, const SecretsForApp& secrets_for_app,
                                        NonceStore& nonces, const Clock& clock) {
  // Cheap, secret-free checks first; the app's secrets are looked up only for a request
  // that could possibly be valid.
  ASSIGN_OR_RETURN(const std::string_view app_id, SingleHeader(request, kAppIdHeader));
  if (app_id.size() > kMaxAppIdLength || !std::all_of(app_id.begin(), app_id.end(), IsAppIdChar)) {
    return Rejected(std::string(kAppIdHeader) + " is not a well-formed app id");
  }
  ASSIGN_OR_RETURN(const std::string_view timestamp_text, SingleHeader(request, kTimestampHeader));
  const std::optional<int64_t> timestamp = ParseUnixSeconds(timestamp_text);
  if (!timestamp) return Rejected(std::string(kTimestampHeader) + " must be Unix time in whole seconds");
  ASSIGN_OR_RETURN(const std::string_view nonce, SingleHeader(request, kNonceHeader));
  if (nonce.size() < kMinNonceLength || nonce.size() > kMaxNonceLength ||
      !std::all_of(nonce.begin(), nonce.end(), IsNonceChar)) {
    return Rejected(std::string(kNonceHeader) + " must be " + std::to_string(kMinNonceLength) + " to " +
                    std::to_string(kMaxNonceLength) + " characters of A-Z, a-z, 0-9, '_' and '-'");
  }
  ASSIGN_OR_RETURN(const std::string_view signature, SingleHeader(request, kSignatureHeader));
  if (signature.size() != kSignatureHexLength ||
      !std::all_of(signature.begin(), signature.end(), IsLowerHex)) {
    return Rejected(std::string(kSignatureHeader) + " must be 64 lowercase hex characters");
  }

  const int64_t now_s = FloorSeconds(clock.NowMs());
  if (*timestamp > now_s + kSignatureWindowSeconds || *timestamp < now_s - kSignatureWindowSeconds) {
    return Rejected(std::string(kTimestampHeader) + " is more than " +
                    std::to_string(kSignatureWindowSeconds) +
                    " s away from the server's clock (server time " + std::to_string(now_s) + ")");
  }

  const std::string app(app_id);
  std::vector<std::string> secrets = secrets_for_app(app);
  std::erase_if(secrets, [](const std::string& s) { return s.empty(); });
  if (secrets.empty()) return Rejected("unknown or disabled app '" + app + "'");

  const std::string method(http::MethodName(request.method));
  const std::string canonical = CanonicalRequest(method, request.target, timestamp_text, nonce, request.body);
  // Every secret is tried, without stopping at a match, so timing does not tell which one
  // (current or previous) an app signs with.
  bool matched = false;
  for (const std::string& secret : secrets) {
    matched |= ConstantTimeEquals(HmacSha256Hex(secret, canonical), signature);
  }
  if (!matched) {
    // The canonical request is built only from what the client sent, so showing it helps
    // a developer find a mismatch without revealing anything secret.
    Error e = Rejected("signature does not match; the server signed the canonical request \"" + canonical +
                       "\" (METHOD\\nPATH_WITH_QUERY\\nTIMESTAMP\\nNONCE\\nhex(SHA-256(body)))");
    e.internal = "app " + app + ": no matching secret among " + std::to_string(secrets.size());
    return e;
  }

  // Only now, with the signature proven, does the nonce count as used. It must stay
  // remembered for as long as its timestamp would pass the window check above, i.e. until
  // the server's second exceeds timestamp + window.
  const int64_t expires_at_ms = (*timestamp + kSignatureWindowSeconds + 1) * 1000;
  if (!nonces.Remember(app, nonce, expires_at_ms)) {
    return Rejected(std::string(kNonceHeader) + " was already used; every request needs a fresh nonce");
  }
  return app;
}

}  // namespace hutong::protocol
