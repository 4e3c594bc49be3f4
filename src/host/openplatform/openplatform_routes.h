// The open platform's API: the app registry for operators, and the signed calls apps make.
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterOpenPlatformRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& OpenPlatformOpenApi();

}  // namespace hutong::host
