#include "host/search/nearby.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <map>
#include <tuple>

#include "common/geo.h"
#include "host/search/search.h"

namespace hutong::host::search {
namespace json = boost::json;
using storage::Access;
using storage::Dialect;
using storage::Query;

namespace {

constexpr Query kSqliteDeleteBoxes{"nearby.sqlite_delete_boxes", Access::kWrite,
                                   "DELETE FROM geo_stores_rtree WHERE id IN "
                                   "(SELECT id FROM geo_stores WHERE app_id = $1 AND deal_id = $2)"};
constexpr Query kDeleteStores{"nearby.delete_stores", Access::kWrite,
                              "DELETE FROM geo_stores WHERE app_id = $1 AND deal_id = $2"};
constexpr Query kInsertStore{"nearby.insert_store", Access::kWrite,
                             "INSERT INTO geo_stores (app_id, deal_id, store_id, name, address, lat, lng) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"};
constexpr Query kSqliteInsertBox{"nearby.sqlite_insert_box", Access::kWrite,
                                 "INSERT INTO geo_stores_rtree (id, min_lat, max_lat, min_lng, max_lng) "
                                 "VALUES ($1, $2, $2, $3, $3)"};

// $1..$4 the box (min lat, max lat, min lng, max lng), $5 category, $6 row cap.
#define HUTONG_NEARBY_COLUMNS                                                                        \
  "SELECT g.app_id, g.store_id, g.name, g.address, g.lat, g.lng, d.deal_id, d.title, d.brand_name, " \
  "d.price_fen, d.original_price_fen, d.category, d.city, d.sales, a.service_url "
#define HUTONG_NEARBY_FILTER                                                                           \
  " JOIN app_deals d ON d.app_id = g.app_id AND d.deal_id = g.deal_id JOIN apps a ON a.id = g.app_id " \
  "WHERE d.status = 'online' AND a.status = 'active' "                                                 \
  "AND (CAST($5 AS TEXT) = '' OR d.category = $5) "
// SQLite's R*Tree stores boxes in 32-bit floats rounded outwards, so a box query never
// misses a point inside it; the exact filter runs on the stored doubles.
constexpr Query kNearby{
    "nearby.query", Access::kRead,
    HUTONG_NEARBY_COLUMNS "FROM geo_stores_rtree r JOIN geo_stores g ON g.id = r.id" HUTONG_NEARBY_FILTER
                          "AND r.max_lat >= $1 AND r.min_lat <= $2 AND r.max_lng >= $3 AND r.min_lng <= $4 "
                          "LIMIT $6",
    HUTONG_NEARBY_COLUMNS "FROM geo_stores g" HUTONG_NEARBY_FILTER
                          "AND g.lat BETWEEN $1 AND $2 AND g.lng BETWEEN $3 AND $4 LIMIT $6"};
#undef HUTONG_NEARBY_COLUMNS
#undef HUTONG_NEARBY_FILTER

bool IsCategory(const std::string& c) {
  for (const char* known :
       {"catering", "hotel", "homestay", "scenic", "leisure", "beauty", "script_murder"}) {
    if (c == known) return true;
  }
  return false;
}

}  // namespace

Status IndexDealStores(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal) {
  const bool offline = deal.status != "online";
  if (!offline && !deal.stores) return Ok();
  const bool sqlite = tx.dialect() == Dialect::kSqlite;
  if (sqlite) RETURN_IF_ERROR(tx.Exec(kSqliteDeleteBoxes, {app_id, deal.deal_id}));
  RETURN_IF_ERROR(tx.Exec(kDeleteStores, {app_id, deal.deal_id}));
  if (offline) return Ok();
  for (const auto& s : *deal.stores) {
    ASSIGN_OR_RETURN(
        auto id, tx.Exec(kInsertStore, {app_id, deal.deal_id, s.store_id, s.name, s.address, s.lat, s.lng}));
    if (id.empty()) return Internal("geo_stores returned no id");
    if (sqlite) RETURN_IF_ERROR(tx.Exec(kSqliteInsertBox, {id[0].Int(0), s.lat, s.lng}));
  }
  return Ok();
}

Result<json::object> NearbyJson(storage::Db& db, const NearbyParams& p) {
  if (!(p.lat >= -90 && p.lat <= 90)) return Invalid("'lat' must be -90..90");
  if (!(p.lng >= -180 && p.lng <= 180)) return Invalid("'lng' must be -180..180");
  if (!(p.radius_m >= 1 && p.radius_m <= kMaxNearbyRadiusM)) return Invalid("'radius_m' must be 1..50000");
  if (!p.category.empty() && !IsCategory(p.category)) return Invalid("'category' is not a known category");
  if (p.limit < 1 || p.limit > 50) return Invalid("'limit' must be 1..50");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffsetCursor(p.cursor));

  // A box that holds the whole circle, widened a little against rounding; longitudes are
  // clamped to ±180 (a circle crossing the antimeridian loses its far side, which no
  // city of ours is near).
  constexpr double kSlackDeg = 1e-4;
  const double dlat = LatDegreesFor(p.radius_m) + kSlackDeg;
  const double dlng = LngDegreesFor(p.radius_m, p.lat) + kSlackDeg;
  const double min_lat = std::max(-90.0, p.lat - dlat), max_lat = std::min(90.0, p.lat + dlat);
  const double min_lng = std::max(-180.0, p.lng - dlng), max_lng = std::min(180.0, p.lng + dlng);
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kNearby, {min_lat, max_lat, min_lng, max_lng, p.category, kMaxNearbyCandidates});
  }));

  struct Store {
    double distance = 0;
    json::object head;
    json::array deals;
  };
  // Within radius_m, inclusive to the millimetre (so a store computed at exactly the
  // radius is in however the last bit of the haversine falls).
  std::map<std::pair<std::string, std::string>, Store> stores;
  for (const auto& r : rows) {
    const double d = HaversineMeters(p.lat, p.lng, r.Double(4), r.Double(5));
    if (d > p.radius_m + 1e-3) continue;
    auto [it, fresh] = stores.try_emplace({r.Str(0), r.Str(1)});
    Store& s = it->second;
    if (fresh) {
      s.distance = d;
      s.head = json::object{{"kind", "store"},      {"app_id", r.Str(0)},
                            {"store_id", r.Str(1)}, {"name", r.Str(2)},
                            {"address", r.Str(3)},  {"lat", r.Double(4)},
                            {"lng", r.Double(5)},   {"distance_m", static_cast<int64_t>(std::llround(d))}};
    }
    s.deals.push_back(json::object{{"deal_id", r.Str(6)},
                                   {"title", r.Str(7)},
                                   {"brand_name", r.Str(8)},
                                   {"price_fen", r.Int(9)},
                                   {"original_price_fen", r.Int(10)},
                                   {"category", r.Str(11)},
                                   {"city", r.Str(12)},
                                   {"sales", r.Int(13)},
                                   {"deal_url", r.Str(14) + "/mp/v1/deals/" + r.Str(6)}});
  }
  std::vector<std::pair<std::tuple<double, std::string, std::string>, Store*>> order;
  order.reserve(stores.size());
  for (auto& [key, s] : stores) order.push_back({{s.distance, key.first, key.second}, &s});
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  json::array items;
  for (size_t i = static_cast<size_t>(offset);
       i < order.size() && static_cast<int64_t>(items.size()) < p.limit; ++i) {
    Store& s = *order[i].second;
    auto& deals = s.deals;
    std::sort(deals.begin(), deals.end(), [](const json::value& a, const json::value& b) {
      return a.at("deal_id").as_string() < b.at("deal_id").as_string();
    });
    json::object item = std::move(s.head);
    item["deals"] = std::move(deals);
    items.push_back(std::move(item));
  }
  json::object out;
  const int64_t next = offset + static_cast<int64_t>(items.size());
  out["next_cursor"] = next < static_cast<int64_t>(order.size()) && !items.empty()
                           ? json::value(EncodeOffsetCursor(next))
                           : json::value(nullptr);
  out["items"] = std::move(items);
  return out;
}

}  // namespace hutong::host::search
