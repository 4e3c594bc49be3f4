// Campaigns (operations): a slug, a title, search keywords, a window (stored as UTC ms,
// shown in Asia/Shanghai) and participating deals, each with a campaign price, its own
// stock and a per-user limit. Orders apply them (orders.cpp); hosts learn the keywords
// through the host sync outbox (hosts/host_sync.h).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::provider {

struct CampaignDealInput {
  std::string deal_id;
  Fen campaign_price_fen = 0;  // 1..the deal's price
  int64_t stock = 0;           // campaign units, apart from the deal's own stock
  int64_t per_user_limit = 0;  // 0 = the deal's own limit
};

struct CampaignInput {
  std::string slug;  // [a-z0-9-]{1,64}
  std::string title;
  std::vector<std::string> keywords;  // 1..20, 1..32 bytes, no ','
  int64_t starts_at = 0;              // unix ms
  int64_t ends_at = 0;
  std::vector<CampaignDealInput> deals;  // 1..100, distinct, online
};

// The body of POST /ops/v1/campaigns (RFC 3339 times with any offset).
Result<CampaignInput> ParseCampaignInput(const boost::json::object& body);

// Validates against the catalog (deals exist, are online, the price is not above the
// deal's; a window that has not already ended) and writes the campaign and its deals,
// marking it for every host's index. A taken slug → kConflict.
Result<std::string> CreateCampaign(storage::Tx& tx, const CampaignInput& in, int64_t now_ms);

// GET /mp/v1/campaigns/{slug}: the window in +08:00, status upcoming | running | ended,
// and each deal with its campaign price and live remaining campaign stock. → kNotFound.
Result<boost::json::object> GetCampaignJson(storage::Db& db, const std::string& slug, int64_t now_ms);

// The host-index form of one campaign (nullopt when unknown), and of all of them.
Result<std::optional<protocol::CampaignIndexEntry>> CampaignIndexEntryFor(storage::Tx& tx,
                                                                          const std::string& campaign_id);
Result<std::vector<protocol::CampaignIndexEntry>> CampaignIndex(storage::Db& db);

}  // namespace hutong::provider
