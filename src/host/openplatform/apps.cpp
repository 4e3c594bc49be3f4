#include "host/openplatform/apps.h"

#include "common/ids.h"
#include "common/random.h"
#include "common/validate.h"
#include "host/search/search.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kInsertApp{
    "apps.insert", Access::kWrite,
    "INSERT INTO apps (id, name, service_url, notify_url, status, secret_sealed, created_at) "
    "VALUES ($1, $2, $3, $4, 'active', $5, $6)"};
constexpr Query kListApps{"apps.list", Access::kRead,
                          "SELECT id, name, service_url, notify_url, status, created_at, secret_rotated_at, "
                          "previous_secret_expires_at FROM apps ORDER BY id"};
constexpr Query kGetApp{"apps.get", Access::kRead,
                        "SELECT id, name, service_url, notify_url, status, created_at, secret_rotated_at, "
                        "previous_secret_expires_at FROM apps WHERE id = $1"};
constexpr Query kSecrets{"apps.secrets", Access::kRead,
                         "SELECT secret_sealed, previous_secret_sealed, previous_secret_expires_at FROM apps "
                         "WHERE id = $1 AND status = 'active'"};
constexpr Query kRotate{
    "apps.rotate", Access::kWrite,
    "UPDATE apps SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = $2, "
    "secret_sealed = $3, secret_rotated_at = $4 WHERE id = $1 AND status = 'active'"};
constexpr Query kLocalAppId{"apps.local_app_id", Access::kRead,
                            "SELECT value FROM meta WHERE key = 'local_provider_app_id'"};
constexpr Query kSetLocalAppId{"apps.set_local_app_id", Access::kWrite,
                               "INSERT INTO meta (key, value) VALUES ('local_provider_app_id', $1)"};
constexpr Query kLocalAppSecret{"apps.local_app_secret", Access::kRead,
                                "SELECT secret_sealed FROM apps WHERE id = $1"};
constexpr Query kUpdateUrls{
    "apps.update_urls", Access::kWrite,
    "UPDATE apps SET service_url = $2, notify_url = $3, status = 'active' WHERE id = $1"};
constexpr Query kDisable{"apps.disable", Access::kWrite, "UPDATE apps SET status = 'disabled' WHERE id = $1"};

AppRecord FromRow(const storage::Row& r) {
  return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4), r.Int(5), r.OptInt(6), r.OptInt(7)};
}

std::string NewSecret() {
  return "sk_" + RandomHex(32);
}

}  // namespace

Result<AppCredentials> CreateApp(storage::Tx& tx, const AppInput& in, const SecretBox& box, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.name, "name", 100));
  RETURN_IF_ERROR(CheckHttpUrl(in.service_url, "service_url"));
  RETURN_IF_ERROR(CheckHttpUrl(in.notify_url, "notify_url"));
  AppCredentials c{NewId("app"), NewSecret()};
  RETURN_IF_ERROR(tx.Exec(
      kInsertApp, {c.app_id, in.name, in.service_url, in.notify_url, box.Seal(c.app_secret), now_ms}));
  return c;
}

Result<std::vector<AppRecord>> ListApps(storage::Db& db) {
  ASSIGN_OR_RETURN(auto rows, db.Read([](storage::Tx& tx) { return tx.Exec(kListApps); }));
  std::vector<AppRecord> out;
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Result<AppRecord> GetApp(storage::Db& db, const std::string& app_id) {
  if (!IsWellFormedId(app_id, "app")) return NotFound("app not found");
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) { return tx.Exec(kGetApp, {app_id}); }));
  if (rows.empty()) return NotFound("app not found");
  return FromRow(rows[0]);
}

Result<AppCredentials> RotateAppSecret(storage::Db& db, const std::string& app_id, const SecretBox& box,
                                       int64_t now_ms, int64_t grace_ms) {
  if (!IsWellFormedId(app_id, "app")) return NotFound("app not found");
  AppCredentials c{app_id, NewSecret()};
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) {
    return tx.Exec(kRotate, {app_id, now_ms + grace_ms, box.Seal(c.app_secret), now_ms});
  }));
  if (rows.affected == 0) return NotFound("app not found or disabled");
  return c;
}

Result<AppRecord> DisableApp(storage::Db& db, const std::string& app_id) {
  if (!IsWellFormedId(app_id, "app")) return NotFound("app not found");
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) { return tx.Exec(kDisable, {app_id}); }));
  if (rows.affected == 0) return NotFound("app not found");
  search::NoteSearchIndexChanged();  // its deals leave search: cached pages are stale
  return GetApp(db, app_id);
}

Result<AppCredentials> EnsureLocalProviderApp(storage::Db& db, const SecretBox& box, const AppInput& in,
                                              int64_t now_ms) {
  return db.Write([&](storage::Tx& tx) -> Result<AppCredentials> {
    ASSIGN_OR_RETURN(auto known, tx.Exec(kLocalAppId));
    if (known.empty()) {
      ASSIGN_OR_RETURN(auto creds, CreateApp(tx, in, box, now_ms));
      RETURN_IF_ERROR(tx.Exec(kSetLocalAppId, {creds.app_id}));
      return creds;
    }
    const std::string app_id = known[0].Str(0);
    RETURN_IF_ERROR(CheckHttpUrl(in.service_url, "service_url"));
    RETURN_IF_ERROR(CheckHttpUrl(in.notify_url, "notify_url"));
    RETURN_IF_ERROR(tx.Exec(kUpdateUrls, {app_id, in.service_url, in.notify_url}));
    ASSIGN_OR_RETURN(auto sealed, tx.Exec(kLocalAppSecret, {app_id}));
    if (sealed.empty()) return Internal("local provider app " + app_id + " is missing");
    ASSIGN_OR_RETURN(auto secret, box.Open(sealed[0].Str(0)));
    return AppCredentials{app_id, std::move(secret)};
  });
}

std::vector<std::string> AppSecretSet::UsableAt(int64_t now_ms) const {
  std::vector<std::string> out{current};
  if (previous && previous_expires_at > now_ms) out.push_back(*previous);
  return out;
}

Result<std::optional<AppSecretSet>> LoadAppSecrets(storage::Db& db, const SecretBox& box,
                                                   const std::string& app_id) {
  if (!IsWellFormedId(app_id, "app")) return std::optional<AppSecretSet>();
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) { return tx.ExecLast(kSecrets, {app_id}); }));
  if (rows.empty()) return std::optional<AppSecretSet>();
  const auto& r = rows[0];
  AppSecretSet set;
  ASSIGN_OR_RETURN(set.current, box.Open(r.Str(0)));
  if (!r.IsNull(1)) {
    ASSIGN_OR_RETURN(auto previous, box.Open(r.Str(1)));
    set.previous = std::move(previous);
    set.previous_expires_at = r.OptInt(2).value_or(0);
  }
  return std::optional<AppSecretSet>(std::move(set));
}

Result<std::vector<std::string>> AppSecrets(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                            int64_t now_ms) {
  ASSIGN_OR_RETURN(auto set, LoadAppSecrets(db, box, app_id));
  if (!set) return std::vector<std::string>();
  return set->UsableAt(now_ms);
}

}  // namespace hutong::host
