// GET /api/admin/jobs: the state of the host's leased background jobs (admin token).
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterJobsRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& JobsOpenApi();

}  // namespace hutong::host
