// The mini-program's order routes (/mp/v1/orders) and the payment webhook handler.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterOrderRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& OrdersOpenApi();

}  // namespace hutong::provider
