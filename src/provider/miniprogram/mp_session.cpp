#include "provider/miniprogram/mp_session.h"

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
constexpr Query kSessionUser{"mp.session_user", Access::kRead,
                             "SELECT u.id, u.host, u.openid FROM mp_sessions s JOIN mp_users u ON u.id = s.user_id "
                             "WHERE s.token_hash = $1 AND s.expires_at > $2"};


}  // namespace

Result<MpSession> StartMpSession(storage::Db& db, const HostDirectory& hosts, const std::string& host,
                                 const std::string& code, int64_t now_ms) {
  const protocol::OpenApiClient* client = hosts.Client(host);
  if (client == nullptr) return Invalid("unknown host '" + host + "'");
  auto answer = client->CallJson("GET", "/open/v1/jscode2session?js_code=" + http::PercentEncode(code), "");
  if (!answer.ok()) {
    // The host rejecting our own signature is our misconfiguration, not the caller's fault.
    if (answer.error().code == ErrorCode::kInvalidSignature || answer.error().code == ErrorCode::kUnauthorized) {
      LogError("host refused the provider's credentials", {{"host", std::string_view(host)},
                                                          {"detail", std::string_view(answer.error().detail)}});
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
    return Error(ErrorCode::kUnauthorized, "mini-program session required (Authorization: Bearer <session_token>)");
  }
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kSessionUser, {SessionTokenHash(*token), now_ms});
  }));
  if (rows.empty()) return Error(ErrorCode::kUnauthorized, "session is not valid or has expired");
  return MpUser{rows[0].Str(0), rows[0].Str(1), rows[0].Str(2)};
}

}  // namespace hutong::provider
