// Idempotency-Key for creating POSTs (DESIGN "Open-API conventions"): a retry with the same
// key and request gets the first answer again instead of doing the work twice.
//
// Making a route idempotent is one call where it is registered:
//
//   router.Post("/merchant/v1/deals",
//               protocol::WithIdempotency(deps.db, deps.clock, "/merchant/v1/deals", handler));
//
// and its role's migrations must include kIdempotencyMigrationSql (host version 3,
// provider version 2 do). Signed open-API routes wrap *inside* the signature check, so a
// stored answer is only ever replayed to a caller whose app id has been verified:
//
//   Signed(deps, [guard = protocol::Idempotency(deps.db, deps.clock, "/open/v1/x")](
//                    http::Request& req, const std::string& app_id) {
//     return guard.Run(req, "app:" + app_id, [&] { return Inner(req, app_id); });
//   })
//
// What is guaranteed. While a key's record lives (kept for `ttl`, at least 24 h), the inner
// handler runs at most once per (caller, route, key) with an effect — provided the inner
// handler is itself transactional (its effect commits all at once or not at all) and
// finishes within `abandon_after`:
//  - The key is claimed in its own short transaction (INSERT … ON CONFLICT DO NOTHING);
//    only the request that inserted the row, or that atomically took over an abandoned one,
//    runs the inner handler. Everyone else gets the stored answer, 409 or 422.
//  - Its answer is stored in a second short transaction after the inner handler's own
//    transactions have committed. Answers of 5xx (and a thrown exception) are not stored:
//    the claim is deleted so that a retry runs the handler again. 2xx, 3xx and 4xx answers
//    are stored and replayed, except 408 and 429, which say "try again".
// What is not guaranteed. If the node dies, or the answer cannot be stored, after the inner
// handler committed, the claim stays 'running': retries get 409 until `abandon_after`, then
// one of them runs the inner handler again. Likewise an inner handler slower than
// `abandon_after` can be overtaken by a retry. Replays carry the first answer's status,
// content type, body and headers (e.g. Location), plus `Idempotent-Replayed: true`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret_box.h"
#include "http/message.h"
#include "http/router.h"
#include "storage/db.h"

namespace hutong::protocol {

// The header a client sends (the server sees it lowercased), and the one a replay carries.
inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
inline constexpr std::string_view kIdempotentReplayedHeader = "Idempotent-Replayed";
inline constexpr size_t kMaxIdempotencyKeyLength = 255;

// The table both roles keep their keys in; the same SQL on SQLite and PostgreSQL. Add it as
// one migration of a role that has idempotent routes.
inline constexpr const char* kIdempotencyMigrationSql = R"sql(
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'done')),
  status INTEGER,
  content_type TEXT,
  body TEXT,
  headers TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
)sql";

// What a key's record remembers of its request: method, target and body (hashed), so that
// the same key with another request is told apart. For routes whose own row records the key.
std::string RequestFingerprint(const http::Request& req);

struct IdempotencyOptions {
  // How long a key is remembered. DESIGN promises at least 24 h.
  int64_t ttl_ms = 24 * 3600 * 1000;
  // A claim still 'running' after this long belongs to a node that died (or a handler far
  // slower than any request should be) and may be taken over by a retry.
  int64_t abandon_after_ms = 60 * 1000;
  // Every this many keyed requests, expired rows are deleted (in a batch of purge_batch)
  // before the claim; 0 turns that off (then call PurgeExpiredIdempotencyKeys from a job).
  uint32_t purge_every = 100;
  int64_t purge_batch = 1000;
  // For answers that carry secrets (an app secret, a login code): when set, stored bodies
  // are sealed with `seal` and opened with `open` on replay, so no secret rests in clear.
  std::function<std::string(std::string_view)> seal = {};
  std::function<std::optional<std::string>(std::string_view)> open = {};
};

// Options for routes whose answers carry secrets: stored answers sealed under `box`, which
// must outlive the handler.
IdempotencyOptions SealedAnswers(const SecretBox& box);

// The guard behind WithIdempotency, for handlers that know their caller better than the
// request headers do (e.g. a verified app id). Copies share the purge counter. Thread-safe;
// Run blocks on the database, so call it only from the blocking worker pool. `db` and
// `clock` must outlive it.
class Idempotency {
 public:
  // `route` names the operation ("/merchant/v1/deals"); with the method and the caller it
  // forms the scope a key lives in, so one key means different things on different routes.
  Idempotency(storage::Db& db, const Clock& clock, std::string route, IdempotencyOptions options = {});

  // Without an Idempotency-Key header: just inner(). With one: the first request runs
  // inner() and its answer is stored; a retry with the same method, target and body gets
  // that answer replayed; another request under the key → 422 idempotency_key_reused; a
  // request while the first still runs → 409 idempotency_key_in_flight. A malformed key
  // (not 1..255 printable ASCII characters, or the header repeated) → 400. `caller`
  // identifies who is asking; two callers never see each other's keys.
  Result<http::Response> Run(const http::Request& req, std::string_view caller,
                             const std::function<Result<http::Response>()>& inner) const;

 private:
  storage::Db* db_;
  const Clock* clock_;
  std::string route_;
  IdempotencyOptions options_;
  std::shared_ptr<std::atomic<uint64_t>> keyed_requests_;  // for purge_every
};

// Who is calling, from the headers alone: the SHA-256 of the Authorization header, else the
// X-Hutong-App-Id header, else "anonymous". The app id is not verified here: see the note on
// signed routes above.
std::string IdempotencyCallerFromHeaders(const http::Request& req);

// Wraps a handler with Idempotency, taking the caller from IdempotencyCallerFromHeaders.
http::Handler WithIdempotency(storage::Db& db, const Clock& clock, std::string route, http::Handler inner,
                              IdempotencyOptions options = {});

// Deletes up to `limit` keys that expired at or before `now_ms`; returns how many. For a
// periodic job; WithIdempotency also calls it now and then.
Result<int64_t> PurgeExpiredIdempotencyKeys(storage::Db& db, int64_t now_ms, int64_t limit = 1000);

}  // namespace hutong::protocol
