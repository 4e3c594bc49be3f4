// The services platform (the mini-program backend): its schema and its routes. It meets a
// host only through src/protocol over HTTP, never in-process.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "http/router.h"
#include "provider/hosts/host_directory.h"
#include "provider/hosts/webhook_receiver.h"
#include "storage/db.h"

namespace hutong::provider {

struct ProviderDeps {
  storage::Db& db;
  const Clock& clock;
  const HostDirectory& hosts;  // the content platforms this provider is connected to
  WebhookHandlers& webhooks;   // filled during registration, read-only once serving
};

// Versioned schema of the provider's own database.
const std::vector<storage::Migration>& ProviderMigrations();

// Adds every provider route (/mp/v1/..., /merchant/v1/..., /ops/v1/..., /openapi.json).
void RegisterProviderRoutes(http::Router& router, ProviderDeps deps);

// The OpenAPI 3 document of the provider's public API.
const std::string& ProviderOpenApiJson();

}  // namespace hutong::provider
