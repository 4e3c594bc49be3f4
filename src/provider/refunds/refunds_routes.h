// Refund routes: the user's POST /mp/v1/orders/{id}/refunds, the merchant's after-sale
// decisions and list (/merchant/v1/refunds), and the refund.succeeded webhook handler.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterRefundRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& RefundsOpenApi();

}  // namespace hutong::provider
