// Registers the content API: the feed (videos, creators, mounts come with the content issue).
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterContentRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& ContentOpenApi();

}  // namespace hutong::host
