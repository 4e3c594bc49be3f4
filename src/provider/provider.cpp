#include "provider/provider.h"

#include "provider/catalog/catalog_routes.h"
#include "provider/merchant/merchant_routes.h"

namespace hutong::provider {

void RegisterProviderRoutes(http::Router& router, ProviderDeps deps) {
  RegisterCatalogRoutes(router, deps);
  RegisterMerchantRoutes(router, deps);
  router.Get(
      "/openapi.json",
      [](http::Request&) -> Result<http::Response> {
        return http::Response::JsonText(200, ProviderOpenApiJson());
      },
      http::Exec::kInline);
}

}  // namespace hutong::provider
