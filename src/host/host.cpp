#include "host/host.h"

#include "host/content/content_routes.h"
#include "host/ledger/ledger_routes.h"
#include "host/openplatform/app_secret_cache.h"
#include "host/openplatform/openplatform_routes.h"
#include "host/ops/jobs_routes.h"
#include "host/pay/pay_routes.h"
#include "host/search/search_routes.h"
#include "host/users/users_routes.h"
#include "host/webhooks/webhooks_routes.h"
#include "http/openapi.h"

namespace hutong::host {

void RegisterHostRoutes(http::Router& router, HostDeps deps) {
  if (!deps.app_secrets) deps.app_secrets = std::make_shared<AppSecretCache>();
  RegisterContentRoutes(router, deps);
  RegisterUsersRoutes(router, deps);
  RegisterOpenPlatformRoutes(router, deps);
  RegisterWebhookRoutes(router, deps);
  RegisterPayRoutes(router, deps);
  RegisterSearchRoutes(router, deps);
  RegisterJobsRoutes(router, deps);
  RegisterLedgerRoutes(router, deps);
  router.Get(
      "/openapi.json",
      [](http::Request&) -> Result<http::Response> {
        return http::Response::JsonText(200, HostOpenApiJson());
      },
      http::Exec::kInline);
}

const std::string& HostOpenApiJson() {
  static const std::string kDoc = http::BuildOpenApiDocument(
      "Hutong host (content platform and open platform)", "http://127.0.0.1:8080",
      {http::OpsOpenApiFragment(), ContentOpenApi(), UsersOpenApi(), OpenPlatformOpenApi(), WebhooksOpenApi(),
       PayOpenApi(), SearchOpenApi(), JobsOpenApi(), LedgerOpenApi()});
  return kDoc;
}

}  // namespace hutong::host
