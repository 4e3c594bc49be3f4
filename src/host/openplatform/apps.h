// The mini-program registry: apps with their URLs and signing secrets. Secrets are sealed
// under the master key at rest and shown in clear only once, when issued.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/secret_box.h"
#include "storage/db.h"

namespace hutong::host {

struct AppInput {
  std::string name;
  std::string service_url;  // where the app's mini-program pages and API live
  std::string notify_url;   // where webhooks go
};

struct AppCredentials {
  std::string app_id;
  std::string app_secret;  // clear text: return it to the caller once, never log it
};

struct AppRecord {
  std::string id;
  std::string name;
  std::string service_url;
  std::string notify_url;
  std::string status;  // active | disabled
  int64_t created_at = 0;
  std::optional<int64_t> secret_rotated_at;
  std::optional<int64_t> previous_secret_expires_at;
};

inline constexpr int64_t kDefaultSecretGraceMs = 24LL * 3600 * 1000;

Result<AppCredentials> CreateApp(storage::Tx& tx, const AppInput& in, const SecretBox& box, int64_t now_ms);
Result<std::vector<AppRecord>> ListApps(storage::Db& db);
Result<AppRecord> GetApp(storage::Db& db, const std::string& app_id);
// Issues a new secret; the old one keeps working until now + grace_ms (0: at once).
Result<AppCredentials> RotateAppSecret(storage::Db& db, const std::string& app_id, const SecretBox& box,
                                       int64_t now_ms, int64_t grace_ms);
Result<AppRecord> DisableApp(storage::Db& db, const std::string& app_id);
// The app under which this process's own provider is registered on this host (serve with
// both roles, and the demo): created once, its URLs refreshed on every call. Its id is kept
// in meta under 'local_provider_app_id'.
Result<AppCredentials> EnsureLocalProviderApp(storage::Db& db, const SecretBox& box, const AppInput& in,
                                              int64_t now_ms);

// An active app's secrets as stored (opened): what AppSecrets filters by time.
struct AppSecretSet {
  std::string current;
  std::optional<std::string> previous;  // until previous_expires_at
  int64_t previous_expires_at = 0;
  // The secrets a request may use at `now_ms`.
  std::vector<std::string> UsableAt(int64_t now_ms) const;
};
// nullopt for an unknown or disabled app.
Result<std::optional<AppSecretSet>> LoadAppSecrets(storage::Db& db, const SecretBox& box,
                                                   const std::string& app_id);

// The secrets a signed request of this app may use now: none for an unknown or disabled
// app, the current one, and the previous one while its grace period lasts.
Result<std::vector<std::string>> AppSecrets(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                            int64_t now_ms);

}  // namespace hutong::host
