// `hutong gen-data`: fills seeded databases with a synthetic data set at benchmark scale
// (issue 6): N stores and N deals around the three demo cities with Chinese names drawn
// from word lists, indexed on the host exactly as a sync would; optionally bench users
// with ready sessions and a flash-sale campaign. Writes straight through the storage layer
// in large transactions and reports how fast it went.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/config.h"
#include "common/result.h"

namespace hutong::app {

struct GenDataOptions {
  int64_t deals = 1000;
  int64_t stores = 1000;
  // Bench users: a host account with a session, a funded wallet and the local app's
  // openid, plus the matching mini-program user and session on the provider.
  int64_t users = 0;
  // Where the users' tokens go, one line each: "<host bearer token>\t<mini-program bearer token>".
  std::string tokens_out;
  // A campaign with this many units of one deal (per-user limit 1), running now; 0 = none.
  int64_t flash_units = 0;
  uint64_t seed = 1;  // the data set is a function of the seed and the counts
};

struct GenDataReport {
  int64_t brands = 0;
  int64_t stores = 0;
  int64_t deals = 0;
  int64_t users = 0;
  double provider_seconds = 0;  // brands, stores, deals and deal_stores
  double host_seconds = 0;      // app_deals and the search index
  double users_seconds = 0;
  std::vector<std::string> order_deal_ids;  // deals with stock for a long order benchmark, no per-user limit
  std::string flash_deal_id;                // empty without flash_units
  std::string flash_campaign_id;
};

// Seeds the demo first when needed (seed-demo is idempotent), then adds the generated
// rows. Running it twice adds a second set (ids are fresh).
Result<GenDataReport> RunGenData(const Config& config, const GenDataOptions& options);

// The report as one JSON object (for bench/run.sh).
std::string GenDataReportJson(const GenDataReport& report);

}  // namespace hutong::app
