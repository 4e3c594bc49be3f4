#include "app/demo.h"

#include "app/master_key.h"
#include "app/node.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/password.h"
#include "host/demo_seed.h"
#include "host/host.h"
#include "host/search/search.h"
#include "provider/campaigns/campaigns.h"
#include "provider/catalog/catalog.h"
#include "provider/demo_seed.h"
#include "provider/provider.h"

namespace hutong::app {

Status RunSeedDemo(const Config& config) {
  InitCrypto();
  storage::DbOptions host_options;
  host_options.default_schema = "host";
  storage::DbOptions provider_options;
  provider_options.default_schema = "provider";
  ASSIGN_OR_RETURN(auto provider_db, storage::OpenDb(config.provider_db, provider_options));
  ASSIGN_OR_RETURN(auto host_db, storage::OpenDb(config.host_db, host_options));
  RETURN_IF_ERROR(storage::Migrate(*provider_db, provider::ProviderMigrations()));
  RETURN_IF_ERROR(storage::Migrate(*host_db, host::HostMigrations()));

  // Check both before writing either, so a refusal leaves both untouched.
  ASSIGN_OR_RETURN(auto provider_state, provider::ProviderDemoState(*provider_db));
  ASSIGN_OR_RETURN(bool host_foreign, host::HostHoldsForeignData(*host_db));
  if (provider_state == provider::DemoState::kForeign || host_foreign) {
    return Error(ErrorCode::kDemoRefused,
                 std::string("the ") + (host_foreign ? "host" : "provider") +
                     " database already holds data that is not the demo's; refusing to seed");
  }

  const Clock& clock = SystemClock::Instance();
  ASSIGN_OR_RETURN(auto outcome, provider::SeedDemoCatalog(*provider_db, clock));
  // The host indexes the deals exactly as the provider would sync them over the open API.
  ASSIGN_OR_RETURN(auto deals, provider::DealIndex(*provider_db));
  host::DemoApp app{"湊湊们的团购小程序 (demo provider)", config.provider_public_url,
                    config.provider_public_url + "/mp/v1/webhooks/" + kLocalHostName};
  ASSIGN_OR_RETURN(auto box, LoadMasterKey(config));
  ASSIGN_OR_RETURN(auto content, host::SeedDemoContent(*host_db, clock, box, app, deals));
  // And its campaigns, as the provider's host sync would register them.
  ASSIGN_OR_RETURN(auto campaigns, provider::CampaignIndex(*provider_db));
  RETURN_IF_ERROR(host_db->WithWrite([&](storage::Tx& tx) {
    return host::search::UpsertAppCampaigns(tx, content.app_id, campaigns, clock.NowMs());
  }));
  const bool fresh = outcome == provider::SeedOutcome::kSeeded || !content.already_seeded;
  LogInfo(fresh ? "demo seeded" : "demo already seeded",
          {{"deals", static_cast<int64_t>(deals.size())}, {"app_id", std::string_view(content.app_id)}});
  return Ok();
}

}  // namespace hutong::app
