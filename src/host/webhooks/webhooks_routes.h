// Operators' view of webhook deliveries: the log per app, one event's attempts, replay,
// and a test event to check an app's receiver.
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterWebhookRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& WebhooksOpenApi();

}  // namespace hutong::host
