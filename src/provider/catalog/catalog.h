// The provider's catalog: brands → stores → deals (with reservation slots), written with
// validation and read as the JSON the mini-program API returns.
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

struct BrandInput {
  std::string name;
  std::string logo_url;
  std::string description;
};

struct StoreInput {
  std::string brand_id;
  std::string name;
  std::string category;
  std::string city;
  std::string address;
  double lat = 0;
  double lng = 0;
  std::string hours;  // e.g. "10:00-22:00"
  std::string phone;
};

struct DealItem {
  std::string name;
  int64_t quantity = 1;
  Fen price_fen = 0;
};

struct SlotInput {
  std::string slot;   // stable key, e.g. "2026-12-24" or "2026-12-24T19:00"
  int64_t starts_at;  // unix ms
  int64_t stock;
};

struct DealInput {
  std::string brand_id;
  std::string type;  // set_meal | voucher | multi_use | reservation
  std::string category;
  std::string title;
  std::string description;
  std::string image_url;
  Fen price_fen = 0;
  Fen original_price_fen = 0;
  std::optional<Fen> face_value_fen;  // voucher: what it is worth at the till
  int64_t uses = 1;                   // multi_use: N uses per voucher
  std::vector<DealItem> items;        // set_meal contents
  int64_t stock = 0;                  // ignored for reservation (sum of slots)
  std::vector<SlotInput> slots;       // reservation only
  int64_t valid_from = 0;             // unix ms
  int64_t valid_to = 0;
  std::string usage_rules;
  std::string refund_policy = "anytime";  // anytime | no_refund
  int64_t commission_bps = 0;
  int64_t per_user_limit = 0;          // 0 = unlimited
  std::vector<std::string> store_ids;  // at least one, all of the deal's brand
};

Result<std::string> CreateBrand(storage::Tx& tx, const BrandInput& in, int64_t now_ms);
Result<std::string> CreateStore(storage::Tx& tx, const StoreInput& in, int64_t now_ms);
// Validates every field (type-specific rules included) before writing anything.
Result<std::string> CreateDeal(storage::Tx& tx, const DealInput& in, int64_t now_ms);

// GET /mp/v1/deals/{id}: the whole deal with brand, stores, slots and live stock.
// Unknown or offline → kNotFound.
Result<boost::json::object> GetDealJson(storage::Db& db, const std::string& deal_id);

struct DealFilter {
  std::string category;  // empty = any
  std::string city;      // empty = any
  std::string cursor;    // last id of the previous page, empty for the first
  int64_t limit = 10;
};
// GET /mp/v1/deals: online deals, newest first, {items,next_cursor}.
Result<boost::json::object> ListDealsJson(storage::Db& db, const DealFilter& filter);

// Every deal as the host's index wants it (deal sync payload), with its stores.
Result<std::vector<protocol::DealIndexEntry>> DealIndex(storage::Db& db);
// One deal so; nullopt when there is no such deal.
Result<std::optional<protocol::DealIndexEntry>> DealIndexEntryFor(storage::Tx& tx,
                                                                  const std::string& deal_id);

}  // namespace hutong::provider
