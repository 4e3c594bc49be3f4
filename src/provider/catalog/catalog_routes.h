// Registers the catalog's read API for the mini-program.
#pragma once

#include "http/openapi.h"
#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterCatalogRoutes(http::Router& router, ProviderDeps deps);
const http::OpenApiFragment& CatalogOpenApi();

}  // namespace hutong::provider
