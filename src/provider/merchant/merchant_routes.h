// The merchant console's API: staff login, the brand's stores, creating deals.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterMerchantRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& MerchantOpenApi();

}  // namespace hutong::provider
