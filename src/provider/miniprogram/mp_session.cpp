#include "provider/miniprogram/mp_session.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/credentials.h"
#include "common/ids.h"
#include "common/log.h"

namespace hutong::provider {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kUpsertUser{"mp.upsert_user", Access::kWrite,
                            "INSERT INTO mp_users (id, host, openid, created_at) VALUES ($1, $2, $3, $4) "
                            "ON CONFLICT (host, openid) DO NOTHING"};
constexpr Query kFindUser{"mp.find_user", Access::kRead,
                          "SELECT id FROM mp_users WHERE host = $1 AND openid = $2"};
constexpr Query kInsertSession{"mp.insert_session", Access::kWrite,
                               "INSERT INTO mp_sessions (token_hash, user_id, expires_at, created_at) "
                               "VALUES ($1, $2, $3, $4)"};
constexpr Query kPurgeSessions{"mp.purge_sessions", Access::kWrite,
                               "DELETE FROM mp_sessions WHERE user_id = $1 AND expires_at <= $2"};
constexpr Query kSessionUser{
    "mp.session_user", Access::kRead,
    "SELECT u.id, u.host, u.openid, s.expires_at FROM mp_sessions s JOIN mp_users u ON u.id = s.user_id "
    "WHERE s.token_hash = $1 AND s.expires_at > $2"};

constexpr Query kDeleteSession{"mp.delete_session", Access::kWrite,
                               "DELETE FROM mp_sessions WHERE token_hash = $1 AND expires_at > $2"};
// The refresher's batched read: kRefreshBatch hashes at once (unused slots repeat the first,
// so one prepared statement serves every batch size on both dialects).
constexpr size_t kRefreshBatch = 32;
constexpr Query kRefreshSessions{
    "mp.refresh_sessions", Access::kRead,
    "SELECT token_hash, expires_at FROM mp_sessions WHERE expires_at > $33 AND token_hash IN "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, "
    "$23, $24, $25, $26, $27, $28, $29, $30, $31, $32)"};

// Sessions seen recently, by token hash. Process-wide (a process may serve several provider
// databases in tests, so each entry says which one it was read from); bounded (cleared when
// full, which only costs a database read per session again).
//
// Revocation: Forget/Clear erase at once and bump `revision_`; a read that started before
// (its snapshot of the revision is older) must not put back or renew what they erased.
class SessionCache {
 public:
  std::optional<MpUser> Get(const std::string& hash, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return std::nullopt;
    Entry& e = it->second;
    if (now_ms >= e.trusted_until) {
      entries_.erase(it);
      return std::nullopt;
    }
    if (!e.queued && now_ms >= e.trusted_until - kMpSessionRefreshAheadMs && pending_.size() < kMaxPending) {
      e.queued = true;
      pending_.emplace_back(e.source, hash);
    }
    return e.user;
  }
  uint64_t Revision() {
    std::lock_guard lock(mu_);
    return revision_;
  }
  void Put(const storage::Db* source, const std::string& hash, MpUser user, int64_t expires_at,
           int64_t read_at, uint64_t revision) {
    std::lock_guard lock(mu_);
    if (revision != revision_) return;
    if (entries_.size() >= kMaxEntries) {
      entries_.clear();
      pending_.clear();
    }
    entries_[hash] = Entry{std::move(user), source, TrustedUntil(expires_at, read_at), false};
  }
  void Forget(const std::string& hash) {
    std::lock_guard lock(mu_);
    ++revision_;
    entries_.erase(hash);
  }
  void Clear() {
    std::lock_guard lock(mu_);
    ++revision_;
    entries_.clear();
    pending_.clear();
  }
  // The queued hashes read from `source` (others stay for their own refresher).
  // Linear in the queue; the queue holds at most one item per remembered session.
  std::vector<std::string> TakeQueued(const storage::Db* source) {
    std::vector<std::string> out;
    std::lock_guard lock(mu_);
    auto keep = pending_.begin();
    for (auto& item : pending_) {
      if (item.first == source) {
        // Skipped when forgotten (or replaced by a fresh read) since it was queued.
        auto it = entries_.find(item.second);
        if (it != entries_.end() && it->second.queued && it->second.source == source) {
          out.push_back(std::move(item.second));
        }
      } else {
        *keep++ = std::move(item);
      }
    }
    pending_.erase(keep, pending_.end());
    return out;
  }
  // The outcome of re-reading `hashes` at `read_at`: `found` are still valid (hash, expiry),
  // the rest are forgotten. `failed`: the read did not happen; they may be queued again.
  void Renewed(const storage::Db* source, const std::vector<std::string>& hashes,
               const std::vector<std::pair<std::string, int64_t>>& found, bool failed, int64_t read_at,
               uint64_t revision) {
    std::lock_guard lock(mu_);
    const bool revoked_since = revision != revision_;
    for (const std::string& hash : hashes) {
      auto it = entries_.find(hash);
      if (it == entries_.end() || it->second.source != source || !it->second.queued) continue;
      Entry& e = it->second;
      e.queued = false;
      if (failed || revoked_since) continue;  // the old trust stands; a later use queues it again
      auto f = std::find_if(found.begin(), found.end(), [&](const auto& p) { return p.first == hash; });
      if (f == found.end()) {
        entries_.erase(it);  // signed out or expired (on another node, or by the clock)
      } else {
        e.trusted_until = std::max(e.trusted_until, TrustedUntil(f->second, read_at));
      }
    }
  }

 private:
  static constexpr size_t kMaxEntries = 200'000;
  static constexpr size_t kMaxPending = 200'000;
  static int64_t TrustedUntil(int64_t expires_at, int64_t read_at) {
    return std::min(expires_at, read_at + kMpSessionCacheMs);
  }
  struct Entry {
    MpUser user;
    const storage::Db* source;  // the database the session was read from
    int64_t trusted_until;      // ≤ the session's expiry
    bool queued;                // in pending_, waiting for the refresher
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;                   // GUARDED_BY(mu_)
  std::vector<std::pair<const storage::Db*, std::string>> pending_;  // GUARDED_BY(mu_)
  uint64_t revision_ = 0;                                            // GUARDED_BY(mu_)
};

SessionCache& Sessions() {
  static SessionCache cache;
  return cache;
}

}  // namespace

void ForgetMpSessions() {
  Sessions().Clear();
}

std::optional<MpUser> CachedMpUser(const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) return std::nullopt;
  return Sessions().Get(SessionTokenHash(*token), now_ms);
}

Result<size_t> RefreshMpSessionsOnce(storage::Db& db, int64_t now_ms) {
  SessionCache& cache = Sessions();
  const std::vector<std::string> queued = cache.TakeQueued(&db);
  std::vector<storage::Value> params;
  std::vector<std::pair<std::string, int64_t>> found;
  for (size_t begin = 0; begin < queued.size(); begin += kRefreshBatch) {
    const size_t end = std::min(queued.size(), begin + kRefreshBatch);
    const std::vector<std::string> batch(queued.begin() + static_cast<ptrdiff_t>(begin),
                                         queued.begin() + static_cast<ptrdiff_t>(end));
    params.clear();
    for (size_t i = 0; i < kRefreshBatch; ++i) params.emplace_back(batch[i < batch.size() ? i : 0]);
    params.emplace_back(now_ms);
    const uint64_t revision = cache.Revision();
    auto rows = db.Read([&](storage::Tx& tx) { return tx.ExecLast(kRefreshSessions, params); });
    found.clear();
    if (rows.ok()) {
      for (const auto& row : *rows) found.emplace_back(row.Str(0), row.Int(1));
    }
    cache.Renewed(&db, batch, found, !rows.ok(), now_ms, revision);
    if (!rows.ok()) return std::move(rows).error();
  }
  return queued.size();
}

struct MpSessionRefresher::State {
  State(storage::Db& d, const Clock& c) : db(d), clock(c) {}
  storage::Db& db;
  const Clock& clock;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;  // GUARDED_BY(mu)
  std::thread thread;
};

MpSessionRefresher::MpSessionRefresher(storage::Db& db, const Clock& clock)
    : state_(std::make_unique<State>(db, clock)) {
  State* s = state_.get();
  s->thread = std::thread([s] {
    std::unique_lock lock(s->mu);
    while (
        !s->cv.wait_for(lock, std::chrono::milliseconds(kMpSessionRefreshEveryMs), [s] { return s->stop; })) {
      lock.unlock();
      auto refreshed = RefreshMpSessionsOnce(s->db, s->clock.NowMs());
      if (!refreshed.ok()) {
        LogWarn("session refresh failed", {{"detail", std::string_view(refreshed.error().detail)}});
      }
      lock.lock();
    }
  });
}

MpSessionRefresher::~MpSessionRefresher() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  state_->thread.join();
}

Status EndMpSession(storage::Db& db, const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) {
    return Error(ErrorCode::kUnauthorized,
                 "mini-program session required (Authorization: Bearer <session_token>)");
  }
  const std::string hash = SessionTokenHash(*token);
  // Forgotten before and after the delete: no request on this node is answered from memory
  // once the sign-out has started, and none read before the commit can put it back.
  Sessions().Forget(hash);
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) {
    return tx.Exec(kDeleteSession, {hash, now_ms});
  }));
  Sessions().Forget(hash);
  if (rows.affected == 0) return Error(ErrorCode::kUnauthorized, "session is not valid or has expired");
  return Ok();
}

Result<MpSession> StartMpSession(storage::Db& db, const HostDirectory& hosts, const std::string& host,
                                 const std::string& code, int64_t now_ms) {
  const protocol::OpenApiClient* client = hosts.Client(host);
  if (client == nullptr) return Invalid("unknown host '" + host + "'");
  auto answer = client->CallJson("GET", "/open/v1/jscode2session?js_code=" + http::PercentEncode(code), "");
  if (!answer.ok()) {
    // The host rejecting our own signature is our misconfiguration, not the caller's fault.
    if (answer.error().code == ErrorCode::kInvalidSignature ||
        answer.error().code == ErrorCode::kUnauthorized) {
      LogError("host refused the provider's credentials",
               {{"host", std::string_view(host)}, {"detail", std::string_view(answer.error().detail)}});
      return Error(ErrorCode::kUnavailable, "the host is not reachable right now");
    }
    return std::move(answer).error();
  }
  if (!answer->is_object() || !answer->as_object().contains("openid") ||
      !answer->as_object().at("openid").is_string()) {
    return Error(ErrorCode::kUnavailable, "the host answered without an openid");
  }
  const std::string openid(answer->as_object().at("openid").as_string());

  MpSession session;
  SessionToken fresh = NewSessionToken("mps_");
  session.token = fresh.token;
  session.expires_at = now_ms + kMpSessionTtlMs;
  RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kUpsertUser, {NewId("mpu"), host, openid, now_ms}));
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kFindUser, {host, openid}));
    if (rows.empty()) return Internal("mp user vanished after upsert");
    session.user = {rows[0].Str(0), host, openid};
    RETURN_IF_ERROR(tx.Exec(kPurgeSessions, {session.user.id, now_ms}));
    RETURN_IF_ERROR(tx.Exec(kInsertSession, {fresh.hash, session.user.id, session.expires_at, now_ms}));
    return Ok();
  }));
  return session;
}

Result<MpUser> AuthenticateMpUser(storage::Db& db, const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) {
    return Error(ErrorCode::kUnauthorized,
                 "mini-program session required (Authorization: Bearer <session_token>)");
  }
  const std::string hash = SessionTokenHash(*token);
  SessionCache& cache = Sessions();
  if (auto cached = cache.Get(hash, now_ms)) return *std::move(cached);
  const uint64_t revision = cache.Revision();
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.ExecLast(kSessionUser, {hash, now_ms});
  }));
  if (rows.empty()) return Error(ErrorCode::kUnauthorized, "session is not valid or has expired");
  MpUser user{rows[0].Str(0), rows[0].Str(1), rows[0].Str(2)};
  cache.Put(&db, hash, user, rows[0].Int(3), now_ms, revision);
  return user;
}

}  // namespace hutong::provider
