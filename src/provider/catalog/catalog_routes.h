// Registers the catalog's read API for the mini-program.
#pragma once

#include "http/router.h"
#include "provider/provider.h"

namespace hutong::provider {

void RegisterCatalogRoutes(http::Router& router, ProviderDeps deps);

}  // namespace hutong::provider
