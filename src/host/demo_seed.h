// The host's half of the demo: the viewer and creator accounts, the provider registered
// as an app with its deals indexed, and videos mounting those deals.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/secret_box.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host {

struct DemoApp {
  std::string name;
  std::string service_url;
  std::string notify_url;
};

struct DemoContentResult {
  bool already_seeded = false;
  std::string app_id;
};

// True when the database holds data the demo did not put there.
Result<bool> HostHoldsForeignData(storage::Db& db);

// Refuses (kDemoRefused) when the database holds data the demo did not put there; does
// nothing when the demo is already in.
Result<DemoContentResult> SeedDemoContent(storage::Db& db, const Clock& clock, const SecretBox& box,
                                          const DemoApp& app,
                                          const std::vector<protocol::DealIndexEntry>& deals);

}  // namespace hutong::host
