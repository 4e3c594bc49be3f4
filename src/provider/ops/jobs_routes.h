// GET /ops/v1/jobs: the state of the provider's leased background jobs (operations staff).
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterJobsRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& JobsOpenApi();

}  // namespace hutong::provider
