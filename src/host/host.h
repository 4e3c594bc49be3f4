// The content + open platform: its schema and its routes. It reaches apps only through
// the URLs they registered (src/protocol), never in-process.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/rate_limiter.h"
#include "common/secret_box.h"
#include "http/router.h"
#include "protocol/signing.h"
#include "storage/db.h"

namespace hutong::host {
namespace search {
class GeoPointIndex;
class SearchPositionIndex;
}  // namespace search

class AppSecretCache;

struct HostDeps {
  storage::Db& db;
  const Clock& clock;
  std::string admin_token;
  const SecretBox& box;          // seals app secrets; derives openid/attribution keys
  protocol::NonceStore& nonces;  // replay protection of signed requests
  // Login throttling (users/login_guard.h). Null: RegisterHostRoutes keeps one in-process
  // limiter for its routes (right for one node); a cluster passes a shared one.
  std::shared_ptr<RateLimiter> rate_limiter = nullptr;
  // Nudges the webhook dispatcher after an event commits; empty when none runs here.
  std::function<void()> wake_webhooks = {};
  // Sandbox mode (--sandbox): test money through POST /api/wallet/topup; off → 403.
  bool sandbox = true;
  // Signed requests' app secrets (openplatform/app_secret_cache.h). Null: RegisterHostRoutes
  // keeps one for its routes.
  std::shared_ptr<AppSecretCache> app_secrets = nullptr;
  // Nearby's in-memory copy of the geo index (SQLite), loaded by the node at start. Null:
  // RegisterHostRoutes keeps one of its own, loaded by the first nearby request.
  search::GeoPointIndex* geo_index = nullptr;
  // Search's in-memory copy of the documents' positions (SQLite), loaded by the node at
  // start. Null: RegisterHostRoutes keeps one of its own, loaded by the first search.
  search::SearchPositionIndex* search_positions = nullptr;
};

// Versioned schema of the host's own database.
const std::vector<storage::Migration>& HostMigrations();

// Adds every host route (/api/..., /open/v1/..., /openapi.json).
void RegisterHostRoutes(http::Router& router, HostDeps deps);

// The OpenAPI 3 document of the host's public API.
const std::string& HostOpenApiJson();

}  // namespace hutong::host
