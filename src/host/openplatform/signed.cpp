#include "host/openplatform/signed.h"

#include "common/credentials.h"
#include "common/crypto.h"
#include "common/log.h"
#include "host/openplatform/apps.h"
#include "protocol/signing.h"

namespace hutong::host {

http::Handler Signed(HostDeps deps, SignedHandler inner) {
  return [deps, inner = std::move(inner)](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    std::optional<Error> lookup_error;
    auto secrets = [&](const std::string& app_id) -> std::vector<std::string> {
      auto s = AppSecrets(deps.db, deps.box, app_id, now);
      if (!s.ok()) {
        lookup_error = s.error();
        return {};
      }
      return std::move(s).value();
    };
    auto app_id = protocol::VerifySignedRequest(req, secrets, deps.nonces, deps.clock);
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
