#include "host/openplatform/signed.h"

#include "common/credentials.h"
#include "common/crypto.h"
#include "common/log.h"
#include "host/openplatform/app_secret_cache.h"
#include "host/openplatform/apps.h"
#include "protocol/signing.h"

namespace hutong::host {

http::Handler Signed(HostDeps deps, SignedHandler inner) {
  return [deps, inner = std::move(inner)](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    std::optional<Error> lookup_error;
    bool from_memory = false;
    std::string looked_up;
    auto secrets = [&](const std::string& app_id) -> std::vector<std::string> {
      looked_up = app_id;
      auto s = deps.app_secrets ? deps.app_secrets->Secrets(deps.db, deps.box, app_id, now, &from_memory)
                                : AppSecrets(deps.db, deps.box, app_id, now);
      if (!s.ok()) {
        lookup_error = s.error();
        return {};
      }
      return std::move(s).value();
    };
    auto app_id = protocol::VerifySignedRequest(req, secrets, deps.nonces, deps.clock);
    if (!app_id.ok() && from_memory && !lookup_error) {
      // Remembered secrets may be older than a rotation on another node: a request they
      // refuse is judged again against the database's (the nonce counts only once proven).
      deps.app_secrets->Forget(looked_up);
      app_id = protocol::VerifySignedRequest(req, secrets, deps.nonces, deps.clock);
    }
    // A storage failure must not masquerade as a bad signature: the app should retry.
    if (lookup_error) return *lookup_error;
    if (!app_id.ok()) return std::move(app_id).error();
    return inner(req, *app_id);
  };
}

Status RequireAdmin(const http::Request& req, const std::string& admin_token) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token || !ConstantTimeEquals(*token, admin_token)) {
    return Error(ErrorCode::kUnauthorized, "admin token required (Authorization: Bearer <token>)");
  }
  return Ok();
}

}  // namespace hutong::host
