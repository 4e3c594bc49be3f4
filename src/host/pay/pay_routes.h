// Payment routes: the signed open API for apps (/open/v1/pay/...), the cashier and the
// sandbox wallet for viewers (/api/cashier/..., /api/wallet).
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterPayRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& PayOpenApi();

}  // namespace hutong::host
