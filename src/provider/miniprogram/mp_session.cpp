#include "provider/miniprogram/mp_session.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

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

// Sessions seen recently, by token hash. Process-wide; bounded (cleared when full, which
// only costs a database read per session again).
class SessionCache {
 public:
  std::optional<MpUser> Get(const std::string& hash, int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto it = entries_.find(hash);
    if (it == entries_.end()) return std::nullopt;
    if (now_ms >= it->second.trusted_until) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.user;
  }
  void Put(const std::string& hash, MpUser user, int64_t expires_at, int64_t now_ms) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[hash] = Entry{std::move(user), std::min(expires_at, now_ms + kMpSessionCacheMs)};
  }
  void Clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
  }

 private:
  static constexpr size_t kMaxEntries = 200'000;
  struct Entry {
    MpUser user;
    int64_t trusted_until;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
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
  if (auto cached = Sessions().Get(hash, now_ms)) return *std::move(cached);
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kSessionUser, {hash, now_ms});
  }));
  if (rows.empty()) return Error(ErrorCode::kUnauthorized, "session is not valid or has expired");
  MpUser user{rows[0].Str(0), rows[0].Str(1), rows[0].Str(2)};
  Sessions().Put(hash, user, rows[0].Int(3), now_ms);
  return user;
}

}  // namespace hutong::provider
