// The mini-program's session API, and the endpoint hosts post their webhooks to.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterMiniProgramRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& MiniProgramOpenApi();

}  // namespace hutong::provider
