// Signed app → host requests (DESIGN "Open-API conventions"): the four X-Hutong-* headers,
// how an app computes them and how a host checks them, replay protection included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "http/message.h"

namespace hutong::protocol {

// Header names as an app sends them; the server sees them lowercased.
inline constexpr std::string_view kAppIdHeader = "X-Hutong-App-Id";
inline constexpr std::string_view kTimestampHeader = "X-Hutong-Timestamp";
inline constexpr std::string_view kNonceHeader = "X-Hutong-Nonce";
inline constexpr std::string_view kSignatureHeader = "X-Hutong-Signature";

// How far a request's timestamp may be from the verifier's clock, either way, in seconds.
// A nonce must stay remembered for as long as its timestamp is inside this window.
inline constexpr int64_t kSignatureWindowSeconds = 300;
inline constexpr size_t kMinNonceLength = 16;
inline constexpr size_t kMaxNonceLength = 128;
inline constexpr size_t kMaxAppIdLength = 128;

// The exact bytes that are HMAC'd:
//   METHOD "\n" PATH_WITH_QUERY "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body)).
// `method` is the request method exactly as sent (upper case); `path_with_query` is the
// request target exactly as sent, percent-encoding untouched.
std::string CanonicalRequest(std::string_view method, std::string_view path_with_query,
                             std::string_view timestamp, std::string_view nonce, std::string_view body);

// Lowercase hex HMAC-SHA256(secret, CanonicalRequest(...)).
std::string RequestSignature(std::string_view secret, std::string_view method,
                             std::string_view path_with_query, std::string_view timestamp,
                             std::string_view nonce, std::string_view body);

// The four headers of one signed request.
struct SignedHeaders {
  std::string app_id;
  std::string timestamp;  // Unix seconds, decimal
  std::string nonce;      // 32 random lowercase hex characters
  std::string signature;  // 64 lowercase hex characters

  // (name, value) pairs ready to append to an outgoing request, in the order above.
  std::vector<std::pair<std::string, std::string>> Pairs() const;
};

// Signs a request at the clock's current second with a fresh random nonce.
SignedHeaders SignRequest(std::string_view app_id, std::string_view secret, std::string_view method,
                          std::string_view path_with_query, std::string_view body, const Clock& clock);

// Remembers which nonces each app has used, so that a captured request cannot be replayed.
// Implementations must be thread-safe: the verifier calls them from any request thread.
class NonceStore {
 public:
  virtual ~NonceStore() = default;
  // Records (app_id, nonce) until `expires_at_ms` (Unix ms). Returns false, and changes
  // nothing, when the pair is already recorded and has not expired yet.
  virtual bool Remember(std::string_view app_id, std::string_view nonce, int64_t expires_at_ms) = 0;
};

// A NonceStore in this process's memory: right for one node; a cluster needs a shared store
// (Redis) behind the same interface. Entries are dropped once expired. Memory is bounded by
// `max_entries`: when full, the entries closest to expiry are evicted first, so under a
// sustained flood replay protection shortens for the oldest requests rather than fresh
// requests being refused. Size it to the peak signed-request rate × the window.
// Thread-safe.
class InMemoryNonceStore final : public NonceStore {
 public:
  static constexpr size_t kDefaultMaxEntries = size_t{1} << 20;

  // `clock` must outlive the store.
  explicit InMemoryNonceStore(const Clock& clock, size_t max_entries = kDefaultMaxEntries);

  bool Remember(std::string_view app_id, std::string_view nonce, int64_t expires_at_ms) override;

  // Entries currently held (expired ones may linger until the next Remember).
  size_t Size() const;
  // How many unexpired entries were evicted because the store was full.
  uint64_t Evictions() const;

 private:
  struct Expiry {
    int64_t at_ms;
    std::string key;
    bool operator>(const Expiry& o) const { return at_ms > o.at_ms; }
  };

  // Drops entries that expired at or before now_ms. Requires mu_.
  void PurgeExpiredLocked(int64_t now_ms);

  const Clock& clock_;
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> expires_at_;  // GUARDED_BY(mu_): key → expiry ms
  // GUARDED_BY(mu_): the same entries ordered by expiry, soonest on top. An element whose
  // key is gone from expires_at_, or maps to another expiry, is stale and skipped.
  std::priority_queue<Expiry, std::vector<Expiry>, std::greater<>> by_expiry_;
  uint64_t evictions_ = 0;  // GUARDED_BY(mu_)
};

// Returns the current secrets of an app: none when the app is unknown or disabled, one
// normally, two while a rotated-out secret is still in its grace period.
using SecretsForApp = std::function<std::vector<std::string>(const std::string& app_id)>;

// Checks a signed request and returns the app id it was signed for. Every failure is
// kInvalidSignature with a detail that says what is wrong (never the expected signature):
// missing, repeated or malformed headers, an unknown app, a timestamp more than
// kSignatureWindowSeconds away from `clock`, a signature matching none of the app's
// secrets, or a nonce the app already used inside the window. The nonce is remembered only
// once the signature has matched, so forged requests cannot use up an app's nonces.
Result<std::string> VerifySignedRequest(const http::Request& request, const SecretsForApp& secrets_for_app,
                                        NonceStore& nonces, const Clock& clock);

}  // namespace hutong::protocol
