// Nearby: the stores of synced deals in a geo index (geo_stores, host migration 11) and
// GET /api/nearby. SQLite answers a bounding box from an R*Tree, PostgreSQL from a btree
// on (lat, lng); both then keep only what lies within the radius by haversine distance.
// The index also holds each row's deal category (host migration 15: a third R*Tree
// dimension, a btree on (category, lat, lng)), so a category prunes in the index and a
// rare one reads only its own stores. The box starts small and grows until it holds the
// page's stores, so a dense city centre reads a few hundred rows, never the whole radius.
// On SQLite the route orders the points from an in-memory copy of the index instead
// (GeoPointIndex, following host migration 19's change log) and reads only the rows of
// the nearest ids.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "host/search/geo_point_index.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host::search {

// Keeps a deal's stores in the geo index: an offline deal's are removed; an online deal
// synced with `stores` gets exactly those; one synced without keeps what it had, under
// its category of now.
Status IndexDealStores(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal);

// A bulk load (gen-data): the stores of deals new to the geo index, without a geo_changes
// entry per store; on SQLite one reload marker for the transaction instead, so copies in
// memory load again from the tables. Sync the deals themselves without their stores
// (IndexDealStores then keeps these). Deals already in the index would keep their old
// stores too: new deals only.
Status IndexNewDealStoresInBulk(storage::Tx& tx, const std::string& app_id,
                                const std::vector<protocol::DealIndexEntry>& deals);

inline constexpr double kMaxNearbyRadiusM = 50'000;
// Paging reaches the nearest this many stores; the page that ends there has no next_cursor.
inline constexpr int64_t kMaxNearbyReach = 1'000;
// Rows (store × deal) one box query reads at most; a box holding more is shrunk, and
// only a box that cannot shrink further (more rows than this within the distance of the
// stores needed) is answered from the nearest this many by a flat-Earth distance.
inline constexpr int64_t kMaxNearbyCandidates = 20'000;

struct NearbyParams {
  double lat = 0;          // -90..90
  double lng = 0;          // -180..180
  double radius_m = 3000;  // 1..50,000
  std::string category;    // empty = any
  std::string cursor;
  int64_t limit = 20;  // 1..50
};

// {items:[{kind:"store", store_id, name, address, lat, lng, distance_m, app_id,
// deals:[...]}], next_cursor}: stores with at least one online deal (of `category`)
// within radius_m (inclusive), nearest first, ties by app and store id; paging stops
// after the nearest kMaxNearbyReach.
// With `index` (the route's, on SQLite) the points are ordered from its in-memory copy,
// refreshed first when due; without (or on PostgreSQL) from the database's geo index.
// The same answers either way.
Result<boost::json::object> NearbyJson(storage::Db& db, const NearbyParams& params);
Result<boost::json::object> NearbyJson(storage::Db& db, GeoPointIndex* index, const NearbyParams& params);

}  // namespace hutong::host::search
