// Ledger routes: the signed redemption reports apps send (/open/v1/redemptions), the
// creator's earnings, and the operator's daily settlement statements.
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterLedgerRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& LedgerOpenApi();

}  // namespace hutong::host
