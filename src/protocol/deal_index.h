// What an app tells a host about one of its deals, so the host can mount, list and search
// it without calling the app synchronously (the payload of POST /open/v1/deals/sync).
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"

namespace hutong::protocol {

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
};

boost::json::value ToJson(const DealIndexEntry& e);
Result<DealIndexEntry> DealIndexEntryFromJson(const boost::json::value& v);

}  // namespace hutong::protocol
