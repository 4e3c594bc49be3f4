#include "protocol/idempotency.h"

#include <algorithm>
#include <boost/json.hpp>
#include <exception>
#include <utility>
#include <vector>

#include "common/crypto.h"
#include "common/log.h"

namespace hutong::protocol {
namespace {
namespace json = boost::json;
using storage::Access;
using storage::Query;

// Every step is a write: even the read of an existing row happens inside the claiming
// transaction, so that on PostgreSQL the decision and a takeover see the same row.
constexpr Query kClaim{
    "idempotency.claim", Access::kWrite,
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, state, created_at, expires_at) "
    "VALUES ($1, $2, $3, 'running', $4, $5) ON CONFLICT (scope, idem_key) DO NOTHING"};
constexpr Query kFind{
    "idempotency.find", Access::kWrite,
    "SELECT fingerprint, state, status, content_type, body, headers, created_at, expires_at "
    "FROM idempotency_keys WHERE scope = $1 AND idem_key = $2"};
// Conditional on the row still being the one we looked at, so of two requests taking over
// the same abandoned or expired row only one succeeds.
constexpr Query kTakeOver{
    "idempotency.take_over", Access::kWrite,
    "UPDATE idempotency_keys SET fingerprint = $3, state = 'running', status = NULL, "
    "content_type = NULL, body = NULL, headers = NULL, created_at = $4, expires_at = $5 "
    "WHERE scope = $1 AND idem_key = $2 AND state = $6 AND created_at = $7"};
// The claim's created_at identifies its owner: a request whose claim was taken over must
// not overwrite or delete the new owner's row.
constexpr Query kStore{
    "idempotency.store", Access::kWrite,
    "UPDATE idempotency_keys SET state = 'done', status = $3, content_type = $4, body = $5, "
    "headers = $6 WHERE scope = $1 AND idem_key = $2 AND state = 'running' AND created_at = $7"};
constexpr Query kRelease{"idempotency.release", Access::kWrite,
                         "DELETE FROM idempotency_keys "
                         "WHERE scope = $1 AND idem_key = $2 AND state = 'running' AND created_at = $3"};
// Batched so that a purge after a long pause never turns into one huge transaction.
constexpr Query kPurge{"idempotency.purge", Access::kWrite,
                       "DELETE FROM idempotency_keys WHERE (scope, idem_key) IN "
                       "(SELECT scope, idem_key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)"};

constexpr std::string_view kDone = "done";

// How a keyed request proceeds, decided in one transaction.
enum class Outcome {
  kRun,       // this request owns the key now: run the handler, then store or release
  kReplay,    // the key's first answer is stored: send it again
  kMismatch,  // the key was used for a different request → 422
  kInFlight,  // the key's first request is still running → 409
  kRaced,     // the row changed between our statements: look again
};

struct Decision {
  Outcome outcome = Outcome::kRaced;
  int64_t claimed_at = 0;  // kRun: our claim's created_at, which marks us as its owner
  http::Response replay;   // kReplay
};

struct Key {
  std::string scope;
  std::string key;
  std::string fingerprint;
};

Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength) {
    return Invalid("Idempotency-Key must be 1 to 255 characters");
  }
  for (unsigned char c : key) {
    if (c < 0x20 || c > 0x7e) return Invalid("Idempotency-Key must be printable ASCII");
  }
  return Ok();
}

std::string HeadersToJson(const std::vector<std::pair<std::string, std::string>>& headers) {
  json::array out;
  for (const auto& [name, value] : headers)
    out.push_back(json::array{json::string(name), json::string(value)});
  return json::serialize(out);
}

// Stored by us, so a malformed value means a bug or a hand-edited row: drop the headers
// rather than fail the replay.
std::vector<std::pair<std::string, std::string>> HeadersFromJson(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  if (text.empty()) return out;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& pair : v.as_array()) {
    if (!pair.is_array() || pair.as_array().size() != 2 || !pair.as_array()[0].is_string() ||
        !pair.as_array()[1].is_string()) {
      continue;
    }
    out.emplace_back(std::string(pair.as_array()[0].as_string()),
                     std::string(pair.as_array()[1].as_string()));
  }
  return out;
}

// The one transition function of a key's row: absent → running (ours); running → running
// (taken over by us) when abandoned; done → replayed; expired rows count as absent.
Result<Decision> Decide(storage::Tx& tx, const Key& k, int64_t now, const IdempotencyOptions& options) {
  ASSIGN_OR_RETURN(auto inserted,
                   tx.Exec(kClaim, {k.scope, k.key, k.fingerprint, now, now + options.ttl_ms}));
  if (inserted.affected == 1) return Decision{Outcome::kRun, now, {}};

  ASSIGN_OR_RETURN(auto found, tx.Exec(kFind, {k.scope, k.key}));
  if (found.empty()) return Decision{};  // released or purged since our INSERT: try again
  const storage::Row& row = found[0];
  const std::string& state = row.Str(1);
  const int64_t created_at = row.Int(6);
  const bool expired = row.Int(7) <= now;
  if (!expired) {
    if (row.Str(0) != k.fingerprint) return Decision{Outcome::kMismatch, 0, {}};
    if (state == kDone) {
      http::Response r;
      r.status = static_cast<int>(row.Int(2));
      r.content_type = row.Str(3);
      if (options.open) {
        auto opened = options.open(row.Str(4));
        if (!opened) return Internal("idempotency: a stored answer does not open under this key");
        r.body = std::move(*opened);
      } else {
        r.body = row.Str(4);
      }
      r.headers = HeadersFromJson(row.Str(5));
      r.headers.emplace_back(kIdempotentReplayedHeader, "true");
      return Decision{Outcome::kReplay, 0, std::move(r)};
    }
    if (now - created_at < options.abandon_after_ms) return Decision{Outcome::kInFlight, 0, {}};
  }
  // Expired, or a claim whose owner is presumed dead. Our created_at must differ from the
  // old one, because it is what tells the old owner (should it come back) that it lost.
  const int64_t claimed_at = std::max(now, created_at + 1);
  ASSIGN_OR_RETURN(auto taken, tx.Exec(kTakeOver, {k.scope, k.key, k.fingerprint, claimed_at,
                                                   now + options.ttl_ms, state, created_at}));
  if (taken.affected == 1) return Decision{Outcome::kRun, claimed_at, {}};
  return Decision{};
}

// Whether an answer is final enough to replay. 5xx means we failed, 408 and 429 mean "try
// again later": in all those cases a retry must really run again.
bool Storable(int status) {
  return status < 500 && status != 408 && status != 429;
}

void Release(storage::Db& db, const Key& k, int64_t claimed_at) {
  Status s = db.WithWrite([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kRelease, {k.scope, k.key, claimed_at}));
    return Ok();
  });
  if (!s.ok()) {
    // The claim then blocks retries (409) until abandon_after, after which one takes over.
    LogError("idempotency: releasing a claim failed", {{"internal", std::string_view(s.error().internal)}});
  }
}

void Store(storage::Db& db, const Key& k, int64_t claimed_at, const http::Response& r,
           const IdempotencyOptions& options) {
  const std::string headers = HeadersToJson(r.headers);
  const std::string body = options.seal ? options.seal(r.body) : r.body;
  Status s = Ok();
  // One retry: a busy database is the likely failure, and losing the answer means a retry
  // after abandon_after runs the handler a second time.
  for (int attempt = 0; attempt < 2; ++attempt) {
    s = db.WithWrite([&](storage::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(auto updated, tx.Exec(kStore, {k.scope, k.key, int64_t{r.status}, r.content_type, body,
                                                      headers, claimed_at}));
      if (updated.affected != 1) {
        // Our claim was taken over (we ran longer than abandon_after): the other request's
        // answer wins. Nothing to roll back, only to report.
        LogWarn("idempotency: claim was taken over before the answer was stored");
      }
      return Ok();
    });
    if (s.ok()) return;
  }
  LogError("idempotency: storing an answer failed", {{"internal", std::string_view(s.error().internal)}});
}

}  // namespace

std::string RequestFingerprint(const http::Request& req) {
  // The body is hashed on its own so that no choice of target and body can collide with
  // another through the separators.
  return Sha256Hex(std::string(http::MethodName(req.method)) + "\n" + req.target + "\n" +
                   Sha256Hex(req.body));
}

Idempotency::Idempotency(storage::Db& db, const Clock& clock, std::string route, IdempotencyOptions options)
    : db_(&db),
      clock_(&clock),
      route_(std::move(route)),
      options_(options),
      keyed_requests_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Result<http::Response> Idempotency::Run(const http::Request& req, std::string_view caller,
                                        const std::function<Result<http::Response>()>& inner) const {
  std::optional<std::string_view> header;
  for (const auto& [name, value] : req.headers) {
    if (name != "idempotency-key") continue;
    if (header) return Invalid("Idempotency-Key must be sent once");
    header = value;
  }
  if (!header) return inner();
  RETURN_IF_ERROR(ValidateKey(*header));

  const std::string method(http::MethodName(req.method));
  Key k;
  k.scope = Sha256Hex(method + " " + route_ + "\n" + std::string(caller));
  k.key = std::string(*header);
  k.fingerprint = RequestFingerprint(req);

  const int64_t now = clock_->NowMs();
  if (options_.purge_every != 0 && keyed_requests_->fetch_add(1) % options_.purge_every == 0) {
    auto purged = PurgeExpiredIdempotencyKeys(*db_, now, options_.purge_batch);
    if (!purged.ok()) {
      // Only housekeeping: expired rows are ignored by Decide anyway.
      LogWarn("idempotency: purge failed", {{"internal", std::string_view(purged.error().internal)}});
    }
  }

  Decision decision;
  // kRaced needs another writer to delete or take over the row between our statements;
  // three rounds of that in a row means heavy contention, which a 409 tells the client.
  for (int round = 0; round < 3 && decision.outcome == Outcome::kRaced; ++round) {
    ASSIGN_OR_RETURN(decision, db_->Write([&](storage::Tx& tx) { return Decide(tx, k, now, options_); }));
  }
  switch (decision.outcome) {
    case Outcome::kReplay:
      return std::move(decision.replay);
    case Outcome::kMismatch:
      return Error(ErrorCode::kIdempotencyMismatch,
                   "this Idempotency-Key was already used for a different request");
    case Outcome::kInFlight:
    case Outcome::kRaced:
      return Error(ErrorCode::kIdempotencyInFlight,
                   "a request with this Idempotency-Key is still being processed; retry later");
    case Outcome::kRun:
      break;
  }

  Result<http::Response> result = Error(ErrorCode::kInternal, "internal error");
  try {
    result = inner();
  } catch (...) {
    Release(*db_, k, decision.claimed_at);
    throw;
  }
  // Errors are stored exactly as the server will render them (problem+json, instance = the
  // path), so a replay is byte-for-byte the first answer. The first caller still gets the
  // Error itself, so that the server logs its internal part as usual.
  const http::Response answer =
      result.ok() ? result.value() : http::Response::Problem(result.error(), req.path);
  if (Storable(answer.status)) {
    Store(*db_, k, decision.claimed_at, answer, options_);
  } else {
    Release(*db_, k, decision.claimed_at);
  }
  return result;
}

std::string IdempotencyCallerFromHeaders(const http::Request& req) {
  if (auto auth = req.Header("authorization")) return "auth:" + Sha256Hex(*auth);
  if (auto app = req.Header("x-hutong-app-id")) return "app:" + std::string(*app);
  return "anonymous";
}

http::Handler WithIdempotency(storage::Db& db, const Clock& clock, std::string route, http::Handler inner,
                              IdempotencyOptions options) {
  return [guard = Idempotency(db, clock, std::move(route), options),
          inner = std::move(inner)](http::Request& req) -> Result<http::Response> {
    return guard.Run(req, IdempotencyCallerFromHeaders(req), [&] { return inner(req); });
  };
}

Result<int64_t> PurgeExpiredIdempotencyKeys(storage::Db& db, int64_t now_ms, int64_t limit) {
  return db.Write([&](storage::Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(auto deleted, tx.Exec(kPurge, {now_ms, limit}));
    return deleted.affected;
  });
}

IdempotencyOptions SealedAnswers(const SecretBox& box) {
  IdempotencyOptions o;
  o.seal = [&box](std::string_view body) { return box.Seal(body); };
  o.open = [&box](std::string_view sealed) -> std::optional<std::string> {
    auto r = box.Open(sealed);
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
  };
  return o;
}

}  // namespace hutong::protocol
