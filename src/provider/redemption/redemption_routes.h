// Routes of voucher redemption at the till (merchant staff) and the voucher QR image
// (mini-program users).
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterRedemptionRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& RedemptionOpenApi();

}  // namespace hutong::provider
