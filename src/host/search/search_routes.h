// Registers search: the signed deal sync (POST /open/v1/deals/sync) that feeds the index,
// and the viewer's GET /api/search.
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterSearchRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& SearchOpenApi();

}  // namespace hutong::host
