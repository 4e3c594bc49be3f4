// Campaign routes: POST /ops/v1/campaigns (operations staff) and the public campaign page
// GET /mp/v1/campaigns/{slug}.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterCampaignRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& CampaignsOpenApi();

}  // namespace hutong::provider
