#include "provider/provider.h"

#include "http/openapi.h"
#include "provider/campaigns/campaigns_routes.h"
#include "provider/catalog/catalog_routes.h"
#include "provider/merchant/merchant_routes.h"
#include "provider/miniprogram/mp_routes.h"
#include "provider/ops/jobs_routes.h"
#include "provider/orders/orders_routes.h"
#include "provider/redemption/redemption_routes.h"
#include "provider/refunds/refunds_routes.h"

namespace hutong::provider {

void RegisterProviderRoutes(http::Router& router, ProviderDeps deps) {
  RegisterCatalogRoutes(router, deps);
  RegisterMerchantRoutes(router, deps);
  RegisterMiniProgramRoutes(router, deps);
  RegisterOrderRoutes(router, deps);
  RegisterRedemptionRoutes(router, deps);
  RegisterRefundRoutes(router, deps);
  RegisterJobsRoutes(router, deps);
  RegisterCampaignRoutes(router, deps);
  router.Get(
      "/openapi.json",
      [](http::Request&) -> Result<http::Response> {
        return http::Response::JsonText(200, ProviderOpenApiJson());
      },
      http::Exec::kInline);
}

const std::string& ProviderOpenApiJson() {
  static const std::string kDoc = http::BuildOpenApiDocument(
      "Hutong provider (services platform mini-program backend)", "http://127.0.0.1:8081",
      {http::OpsOpenApiFragment(), CatalogOpenApi(), MerchantOpenApi(), MiniProgramOpenApi(), OrdersOpenApi(),
       RedemptionOpenApi(), RefundsOpenApi(), JobsOpenApi(), CampaignsOpenApi()});
  return kDoc;
}

}  // namespace hutong::provider
