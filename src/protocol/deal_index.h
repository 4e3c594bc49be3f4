// What an app tells a host about one of its deals and campaigns, so the host can mount,
// list, search and locate them without calling the app synchronously (the payloads of
// POST /open/v1/deals/sync and POST /open/v1/campaigns/sync).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"
#include "common/result.h"

namespace hutong::protocol {

// A store where a deal can be used, for the host's nearby index.
struct StoreIndexEntry {
  std::string store_id;
  std::string name;
  std::string address;
  double lat = 0;
  double lng = 0;
};

struct DealIndexEntry {
  std::string deal_id;
  std::string title;
  std::string brand_name;
  std::string type;      // set_meal | voucher | multi_use | reservation
  std::string category;  // catering | hotel | ...
  std::string city;
  Fen price_fen = 0;
  Fen original_price_fen = 0;
  int64_t commission_bps = 0;
  std::optional<double> lat;  // of the deal's first store, for nearby and distance ranking
  std::optional<double> lng;
  int64_t sales = 0;
  std::string status = "online";  // online | offline
  // Absent: the host keeps the stores it has; present (even empty): replaces them.
  std::optional<std::vector<StoreIndexEntry>> stores;
};

inline constexpr size_t kMaxStoresPerDeal = 200;

// A campaign whose keywords a host's search answers with the campaign page first.
struct CampaignIndexEntry {
  std::string slug;  // [a-z0-9-]{1,64}, unique per app
  std::string title;
  std::vector<std::string> keywords;  // 1..20, each 1..32 bytes
  int64_t starts_at = 0;              // unix ms (RFC 3339 on the wire)
  int64_t ends_at = 0;
  std::vector<std::string> deal_ids;
  std::string status = "active";  // active | withdrawn
};

boost::json::value ToJson(const DealIndexEntry& e);
Result<DealIndexEntry> DealIndexEntryFromJson(const boost::json::value& v);
boost::json::value ToJson(const CampaignIndexEntry& e);
Result<CampaignIndexEntry> CampaignIndexEntryFromJson(const boost::json::value& v);
// [a-z0-9-]{1,64}, not starting with '-'.
bool IsCampaignSlug(std::string_view slug);

}  // namespace hutong::protocol
