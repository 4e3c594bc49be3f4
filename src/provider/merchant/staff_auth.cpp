#include "provider/merchant/staff_auth.h"

#include "common/credentials.h"

namespace hutong::provider {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kFindStaff{
    "staff.find_by_account", Access::kRead,
    "SELECT id, account, name, role, brand_id, password_hash FROM staff WHERE account = $1"};
constexpr Query kInsertSession{"staff.insert_session", Access::kWrite,
                               "INSERT INTO staff_sessions (token_hash, staff_id, expires_at, created_at) "
                               "VALUES ($1, $2, $3, $4)"};
constexpr Query kPurgeSessions{"staff.purge_sessions", Access::kWrite,
                               "DELETE FROM staff_sessions WHERE staff_id = $1 AND expires_at <= $2"};
constexpr Query kSessionStaff{
    "staff.session_staff", Access::kRead,
    "SELECT s.id, s.account, s.name, s.role, s.brand_id FROM staff_sessions t "
    "JOIN staff s ON s.id = t.staff_id WHERE t.token_hash = $1 AND t.expires_at > $2"};

Error BadLogin() {
  return {ErrorCode::kUnauthorized, "account or password is wrong"};
}

}  // namespace

Result<StaffSession> StaffLogin(storage::Db& db, const std::string& account, const std::string& password,
                                int64_t now_ms) {
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) { return tx.Exec(kFindStaff, {account}); }));
  if (!VerifyPasswordOrDummy(password, rows.empty() ? nullptr : &rows[0].Str(5))) return BadLogin();
  const auto& r = rows[0];
  StaffSession session;
  session.staff = {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4)};
  SessionToken token = NewSessionToken("stf_");
  session.token = std::move(token.token);
  session.expires_at = now_ms + kStaffSessionTtlMs;
  RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kPurgeSessions, {session.staff.id, now_ms}));
    RETURN_IF_ERROR(tx.Exec(kInsertSession, {token.hash, session.staff.id, session.expires_at, now_ms}));
    return Ok();
  }));
  return session;
}

Result<Staff> AuthenticateStaff(storage::Db& db, const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) return Error(ErrorCode::kUnauthorized, "staff login required (Authorization: Bearer <token>)");
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kSessionStaff, {SessionTokenHash(*token), now_ms});
  }));
  if (rows.empty()) return Error(ErrorCode::kUnauthorized, "token is not valid or has expired");
  const auto& r = rows[0];
  return Staff{r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4)};
}

Result<Staff> AuthenticateOpsStaff(storage::Db& db, const http::Request& req, int64_t now_ms,
                                   std::string_view action) {
  ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(db, req, now_ms));
  if (staff.role != "ops") {
    return Error(ErrorCode::kForbidden, "only operations staff may " + std::string(action));
  }
  return staff;
}

}  // namespace hutong::provider
