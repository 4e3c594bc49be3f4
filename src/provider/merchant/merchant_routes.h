// The merchant console's API: staff login, the brand's stores, creating deals.
#pragma once

#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterMerchantRoutes(http::Router& router, ProviderDeps deps);

}  // namespace hutong::provider
