#include "host/openplatform/login_codes.h"

#include "common/crypto.h"
#include "common/random.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kActiveApp{"login_codes.active_app", Access::kRead,
                           "SELECT 1 FROM apps WHERE id = $1 AND status = 'active'"};
constexpr Query kInsertCode{
    "login_codes.insert", Access::kWrite,
    "INSERT INTO login_codes (code_hash, app_id, user_id, video_id, expires_at, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kConsume{"login_codes.consume", Access::kWrite,
                         "UPDATE login_codes SET used_at = $3 WHERE code_hash = $1 AND app_id = $2 "
                         "AND used_at IS NULL AND expires_at > $3 RETURNING user_id"};
// openids are one-way; remembering the ones issued lets a pay order name its payer by one.
constexpr Query kRememberOpenId{
    "login_codes.remember_openid", Access::kWrite,
    "INSERT INTO app_openids (app_id, openid, user_id, created_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (app_id, openid) DO NOTHING"};
constexpr Query kPurge{"login_codes.purge", Access::kWrite, "DELETE FROM login_codes WHERE expires_at < $1"};

}  // namespace

std::string OpenIdFor(const SecretBox& box, const std::string& app_id, const std::string& user_id) {
  static const std::string kPurpose = "hutong openid v1";
  return "o_" + HmacSha256Hex(box.DeriveKey(kPurpose), app_id + "\n" + user_id).substr(0, 40);
}

Result<IssuedCode> IssueLoginCode(storage::Db& db, const std::string& app_id, const std::string& user_id,
                                  const std::optional<std::string>& video_id, int64_t now_ms) {
  IssuedCode issued{RandomHex(24), now_ms + kLoginCodeTtlMs};
  RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto app, tx.Exec(kActiveApp, {app_id}));
    if (app.empty()) return NotFound("app not found");
    // Old codes are worthless; dropping them here keeps the table small without a job.
    RETURN_IF_ERROR(tx.Exec(kPurge, {now_ms - kLoginCodeTtlMs}));
    RETURN_IF_ERROR(tx.Exec(kInsertCode, {Sha256Hex(issued.code), app_id, user_id, storage::Opt(video_id),
                                          issued.expires_at, now_ms}));
    return Ok();
  }));
  return issued;
}

Result<CodeSession> ExchangeLoginCode(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                      const std::string& code, int64_t now_ms) {
  const Error invalid = Invalid("code is invalid or expired");
  if (code.empty() || code.size() > 128) return invalid;
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) -> Result<storage::Rows> {
    ASSIGN_OR_RETURN(auto consumed, tx.Exec(kConsume, {Sha256Hex(code), app_id, now_ms}));
    if (!consumed.empty()) {
      RETURN_IF_ERROR(tx.Exec(
          kRememberOpenId, {app_id, OpenIdFor(box, app_id, consumed[0].Str(0)), consumed[0].Str(0), now_ms}));
    }
    return consumed;
  }));
  if (rows.empty()) return invalid;
  return CodeSession{OpenIdFor(box, app_id, rows[0].Str(0)), RandomHex(16)};
}

}  // namespace hutong::host
