#include "host/search/nearby.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <numbers>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

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
// PostgreSQL keeps the category on the row ($8), SQLite in the R*Tree only.
constexpr Query kInsertStore{"nearby.insert_store", Access::kWrite,
                             "INSERT INTO geo_stores (app_id, deal_id, store_id, name, address, lat, lng) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                             "INSERT INTO geo_stores (app_id, deal_id, store_id, name, address, lat, lng, "
                             "category) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"};
// A category's code $4 is the R*Tree's third dimension as [code, code + 0.5]: never an
// empty extent, which would make every one-category node's volume 0 and leave the
// R*Tree's choice of node blind to where the point lies.
constexpr Query kSqliteInsertBox{
    "nearby.sqlite_insert_box", Access::kWrite,
    "INSERT INTO geo_stores_rtree (id, min_lat, max_lat, min_lng, max_lng, min_cat, max_cat) "
    "VALUES ($1, $2, $2, $3, $3, $4, $4 + 0.5)"};
// A deal synced without stores keeps them, under its category of now ($3); a no-op
// unless the category changed.
constexpr Query kSqliteRecategorize{
    "nearby.sqlite_recategorize", Access::kWrite,
    "UPDATE geo_stores_rtree SET min_cat = $3, max_cat = $3 + 0.5 WHERE id IN "
    "(SELECT id FROM geo_stores WHERE app_id = $1 AND deal_id = $2) AND min_cat <> $3"};
// SQLite: every change of the geo index logs the geo_stores ids it touches (host v19) in
// its own transaction, so that each node's in-memory copy (GeoPointIndex) follows it; the
// oldest entries are pruned, and a copy that fell behind them reloads.
constexpr Query kSqliteLogRecategorized{
    "nearby.sqlite_log_recategorized", Access::kWrite,
    "INSERT INTO geo_changes (id) SELECT r.id FROM geo_stores_rtree r WHERE r.id IN "
    "(SELECT id FROM geo_stores WHERE app_id = $1 AND deal_id = $2) AND r.min_cat <> $3"};
constexpr Query kSqliteLogDealStores{
    "nearby.sqlite_log_deal_stores", Access::kWrite,
    "INSERT INTO geo_changes (id) SELECT id FROM geo_stores WHERE app_id = $1 AND deal_id = $2"};
constexpr Query kSqliteLogStore{"nearby.sqlite_log_store", Access::kWrite,
                                "INSERT INTO geo_changes (id) VALUES ($1)"};
constexpr Query kSqlitePruneLog{
    "nearby.sqlite_prune_log", Access::kWrite,
    "DELETE FROM geo_changes WHERE seq <= (SELECT MAX(seq) FROM geo_changes) - $1"};
constexpr int64_t kKeptGeoChanges = 100'000;
constexpr Query kPgRecategorize{
    "nearby.pg_recategorize", Access::kWrite,
    "UPDATE geo_stores SET category = $3 WHERE app_id = $1 AND deal_id = $2 AND category <> $3"};

// $1..$4 the box (min lat, max lat, min lng, max lng), $5 the row cap; the nearest
// variants order by $6..$8 (below); the category variants take the category as the index
// holds it (CategoryKey) as the parameter after those. Only the geo index decides the
// category (it is kept in step with app_deals by IndexDealStores).
#define HUTONG_NEARBY_COLUMNS                                                                        \
  "SELECT g.app_id, g.store_id, g.name, g.address, g.lat, g.lng, d.deal_id, d.title, d.brand_name, " \
  "d.price_fen, d.original_price_fen, d.category, d.city, d.sales, a.service_url "
#define HUTONG_NEARBY_FILTER                                                                           \
  " JOIN app_deals d ON d.app_id = g.app_id AND d.deal_id = g.deal_id JOIN apps a ON a.id = g.app_id " \
  "WHERE d.status = 'online' AND a.status = 'active' "
#define HUTONG_NEARBY_RTREE_BOX \
  "AND r.max_lat >= $1 AND r.min_lat <= $2 AND r.max_lng >= $3 AND r.min_lng <= $4 "
#define HUTONG_NEARBY_BTREE_BOX "AND g.lat BETWEEN $1 AND $2 AND g.lng BETWEEN $3 AND $4 "
#define HUTONG_NEARBY_RTREE_CATEGORY(n) "AND r.max_cat >= " n " AND r.min_cat <= " n " "
#define HUTONG_NEARBY_BTREE_CATEGORY(n) "AND g.category = " n " "
// The flat-Earth squared distance from ($6, $7) with longitudes scaled by $8 (the cosine
// of the latitude): the order of the last-resort query below.
#define HUTONG_NEARBY_FLAT_ORDER \
  "ORDER BY (g.lat - $6) * (g.lat - $6) + (g.lng - $7) * (g.lng - $7) * $8 * $8 "
#define HUTONG_NEARBY_RTREE_FROM "FROM geo_stores_rtree r JOIN geo_stores g ON g.id = r.id"
// SQLite's R*Tree stores boxes in 32-bit floats rounded outwards, so a box query never
// misses a point inside it; the exact filter runs on the stored doubles.
constexpr Query kNearbyBox{
    "nearby.box", Access::kRead,
    HUTONG_NEARBY_COLUMNS HUTONG_NEARBY_RTREE_FROM HUTONG_NEARBY_FILTER HUTONG_NEARBY_RTREE_BOX "LIMIT $5",
    HUTONG_NEARBY_COLUMNS "FROM geo_stores g" HUTONG_NEARBY_FILTER HUTONG_NEARBY_BTREE_BOX "LIMIT $5"};
constexpr Query kNearbyBoxOfCategory{
    "nearby.box_of_category", Access::kRead,
    HUTONG_NEARBY_COLUMNS HUTONG_NEARBY_RTREE_FROM HUTONG_NEARBY_FILTER HUTONG_NEARBY_RTREE_BOX
        HUTONG_NEARBY_RTREE_CATEGORY("$6") "LIMIT $5",
    HUTONG_NEARBY_COLUMNS
    "FROM geo_stores g" HUTONG_NEARBY_FILTER HUTONG_NEARBY_BTREE_BOX HUTONG_NEARBY_BTREE_CATEGORY(
        "$6") "LIMIT $5"};
constexpr Query kNearbyBoxNearest{
    "nearby.box_nearest", Access::kRead,
    HUTONG_NEARBY_COLUMNS HUTONG_NEARBY_RTREE_FROM HUTONG_NEARBY_FILTER HUTONG_NEARBY_RTREE_BOX
        HUTONG_NEARBY_FLAT_ORDER "LIMIT $5",
    HUTONG_NEARBY_COLUMNS
    "FROM geo_stores g" HUTONG_NEARBY_FILTER HUTONG_NEARBY_BTREE_BOX HUTONG_NEARBY_FLAT_ORDER "LIMIT $5"};
constexpr Query kNearbyBoxNearestOfCategory{
    "nearby.box_nearest_of_category", Access::kRead,
    HUTONG_NEARBY_COLUMNS HUTONG_NEARBY_RTREE_FROM HUTONG_NEARBY_FILTER HUTONG_NEARBY_RTREE_BOX
        HUTONG_NEARBY_RTREE_CATEGORY("$9") HUTONG_NEARBY_FLAT_ORDER "LIMIT $5",
    HUTONG_NEARBY_COLUMNS
    "FROM geo_stores g" HUTONG_NEARBY_FILTER HUTONG_NEARBY_BTREE_BOX HUTONG_NEARBY_BTREE_CATEGORY("$9")
        HUTONG_NEARBY_FLAT_ORDER "LIMIT $5"};

// The points in a box of the geo index alone (SQLite: the R*Tree's own boxes, 32-bit
// floats within a metre of the point), at most $5: this reads no table row, so it sizes
// the first box cheaply.
constexpr Query kNearbyPoints{
    "nearby.points", Access::kRead,
    "SELECT r.min_lat, r.max_lat, r.min_lng, r.max_lng FROM geo_stores_rtree r WHERE 1 = "
    "1 " HUTONG_NEARBY_RTREE_BOX "LIMIT $5",
    "SELECT g.lat, g.lat, g.lng, g.lng FROM geo_stores g WHERE 1 = 1 " HUTONG_NEARBY_BTREE_BOX "LIMIT $5"};
constexpr Query kNearbyPointsOfCategory{
    "nearby.points_of_category", Access::kRead,
    "SELECT r.min_lat, r.max_lat, r.min_lng, r.max_lng FROM geo_stores_rtree r WHERE 1 = "
    "1 " HUTONG_NEARBY_RTREE_BOX HUTONG_NEARBY_RTREE_CATEGORY("$6") "LIMIT $5",
    "SELECT g.lat, g.lat, g.lng, g.lng FROM geo_stores g WHERE 1 = 1 " HUTONG_NEARBY_BTREE_CATEGORY("$6")
        HUTONG_NEARBY_BTREE_BOX "LIMIT $5"};
// SQLite: the geo index's points in a box with their ids, at most $5 (index pages only),
// and then the rows of online deals for just the ids in $1 (a JSON array), g.id last.
constexpr Query kNearbyIds{"nearby.ids", Access::kRead,
                           "SELECT r.id, r.min_lat, r.max_lat, r.min_lng, r.max_lng FROM geo_stores_rtree r "
                           "WHERE 1 = 1 " HUTONG_NEARBY_RTREE_BOX "LIMIT $5"};
constexpr Query kNearbyIdsOfCategory{
    "nearby.ids_of_category", Access::kRead,
    "SELECT r.id, r.min_lat, r.max_lat, r.min_lng, r.max_lng FROM "
    "geo_stores_rtree r WHERE 1 = 1 " HUTONG_NEARBY_RTREE_BOX HUTONG_NEARBY_RTREE_CATEGORY("$6") "LIMIT $5"};
constexpr Query kNearbyRowsOfIds{"nearby.rows_of_ids", Access::kRead,
                                 HUTONG_NEARBY_COLUMNS ", g.id FROM geo_stores g" HUTONG_NEARBY_FILTER
                                                       "AND g.id IN (SELECT value FROM json_each($1))"};
#undef HUTONG_NEARBY_COLUMNS
#undef HUTONG_NEARBY_FILTER
#undef HUTONG_NEARBY_RTREE_BOX
#undef HUTONG_NEARBY_BTREE_BOX
#undef HUTONG_NEARBY_RTREE_CATEGORY
#undef HUTONG_NEARBY_BTREE_CATEGORY
#undef HUTONG_NEARBY_FLAT_ORDER
#undef HUTONG_NEARBY_RTREE_FROM

// The category as the geo index holds it: for SQLite a point inside [code, code + 0.5].
storage::Value CategoryKey(const storage::Tx& tx, const std::string& category) {
  if (tx.dialect() == Dialect::kSqlite) return static_cast<double>(CategoryCode(category)) + 0.25;
  return category;
}

// The first box looked at: a city centre (up to several thousand stores per km²) holds a
// page within it, and an empty one costs a few index pages.
constexpr double kFirstBoxM = 150;
// A box of the index holding this many points is shrunk before sizing from it; as many
// rows of one read of the tables count as too dense (for a page of up to 256 stores): every
// row costs a few index and table pages, so a read that ends over the cap is wasted work,
// and the cap bounds it. A box the index showed to hold fewer is read whole.
constexpr int64_t kCountCap = 4'096;
constexpr int64_t kBoxRows = kCountCap;

// The box holding the circle of `reach_m` around the point, widened a little against
// rounding; longitudes are clamped to ±180 (a circle crossing the antimeridian loses its
// far side, which no city of ours is near).
struct Box {
  double min_lat, max_lat, min_lng, max_lng;
};
Box BoxAround(const NearbyParams& p, double reach_m) {
  constexpr double kSlackDeg = 1e-5;
  const double dlat = LatDegreesFor(reach_m) + kSlackDeg;
  const double dlng = LngDegreesFor(reach_m, p.lat) + kSlackDeg;
  return {std::max(-90.0, p.lat - dlat), std::min(90.0, p.lat + dlat), std::max(-180.0, p.lng - dlng),
          std::min(180.0, p.lng + dlng)};
}

// Reads the rows of online deals (of the category) in the box around the circle of
// `reach_m`, at most `cap`; `nearest` orders them by flat-Earth distance first so that a
// capped read keeps the nearest.
Result<storage::Rows> ReadBox(storage::Tx& tx, const NearbyParams& p, double reach_m, int64_t cap,
                              bool nearest) {
  const Box b = BoxAround(p, reach_m);
  const bool any = p.category.empty();
  std::vector<storage::Value> args{b.min_lat, b.max_lat, b.min_lng, b.max_lng, cap};
  if (nearest) {
    args.insert(args.end(), {p.lat, p.lng, std::cos(p.lat * std::numbers::pi / 180)});
  }
  if (!any) args.push_back(CategoryKey(tx, p.category));
  const Query& q = nearest ? (any ? kNearbyBoxNearest : kNearbyBoxNearestOfCategory)
                           : (any ? kNearbyBox : kNearbyBoxOfCategory);
  return tx.Exec(q, args);
}

// A first reach: about the distance of the `target`-th nearest point of the geo index
// (of the category, if any), found from boxes of the index alone: quadrupled while the
// box holds fewer, quartered while it is crowded, bisected once both were seen (a
// district's edge). Never beyond the radius. Only an estimate: the reads of the rows
// that follow decide.
Result<double> FirstReach(storage::Tx& tx, const NearbyParams& p, size_t target) {
  double reach = std::min(p.radius_m, kFirstBoxM);
  double lo = 0, hi = 0;  // too sparse, too crowded (0: not seen)
  std::vector<double> distances;
  for (int i = 0; i < 12; ++i) {
    const Box b = BoxAround(p, reach);
    std::vector<storage::Value> args{b.min_lat, b.max_lat, b.min_lng, b.max_lng, kCountCap};
    if (!p.category.empty()) args.push_back(CategoryKey(tx, p.category));
    ASSIGN_OR_RETURN(auto rows, tx.Exec(p.category.empty() ? kNearbyPoints : kNearbyPointsOfCategory, args));
    if (static_cast<int64_t>(rows.size()) >= kCountCap) {
      hi = reach;
      reach = lo > 0 ? std::sqrt(lo * hi) : hi / 4;
      continue;
    }
    distances.clear();
    for (const auto& r : rows) {
      const double d =
          HaversineMeters(p.lat, p.lng, (r.Double(0) + r.Double(1)) / 2, (r.Double(2) + r.Double(3)) / 2);
      if (d <= reach) distances.push_back(d);
    }
    if (distances.size() >= target) {
      // The target-th nearest within the circle is the target-th nearest of all; a few
      // metres more for the index's rounding.
      std::nth_element(distances.begin(), distances.begin() + static_cast<std::ptrdiff_t>(target - 1),
                       distances.end());
      return std::min(p.radius_m, distances[target - 1] + 2);
    }
    if (reach >= p.radius_m) return p.radius_m;
    lo = reach;
    reach = hi > 0 ? std::sqrt(lo * hi) : std::min(p.radius_m, reach * 4);
  }
  return reach;
}

struct Candidate {
  double distance = 0;
  const std::string* app_id = nullptr;
  const std::string* store_id = nullptr;
  const storage::Row* head = nullptr;  // the nearest row: the store's name and place
  std::vector<const storage::Row*> rows;
};

// The distinct stores of `rows` within `within_m` of the point, each at its nearest row.
std::vector<Candidate> StoresWithin(const std::vector<const storage::Row*>& rows, const NearbyParams& p,
                                    double within_m) {
  std::map<std::pair<std::string_view, std::string_view>, Candidate> stores;
  for (const storage::Row* row : rows) {
    const storage::Row& r = *row;
    const double d = HaversineMeters(p.lat, p.lng, r.Double(4), r.Double(5));
    if (d > within_m) continue;
    auto [it, fresh] = stores.try_emplace({r.Str(0), r.Str(1)});
    Candidate& c = it->second;
    if (fresh || d < c.distance) {
      c.distance = d;
      c.head = &r;
    }
    c.app_id = &r.Str(0);
    c.store_id = &r.Str(1);
    c.rows.push_back(&r);
  }
  std::vector<Candidate> out;
  out.reserve(stores.size());
  for (auto& [key, c] : stores) out.push_back(std::move(c));
  return out;
}
std::vector<Candidate> StoresWithin(const storage::Rows& rows, const NearbyParams& p, double within_m) {
  std::vector<const storage::Row*> all;
  all.reserve(rows.size());
  for (const auto& r : rows) all.push_back(&r);
  return StoresWithin(all, p, within_m);
}

// How far the distance from an R*Tree box's centre may lie from the stored point's: SQLite
// rounds each coordinate outwards to a 32-bit float (a step or two, under 2 m even at
// longitude 180), so 5 m is a safe bound.
constexpr double kIndexSlackM = 5;

// SQLite: the rows read so far by geo index id (null: not an online deal of an active
// app), kept across the rounds of one request so no row is read twice.
struct RowCache {
  std::deque<storage::Rows> batches;
  std::unordered_map<int64_t, const storage::Row*> by_id;
};

// SQLite: reads the rows of the ids not read yet into the cache (null for an id without
// an online deal of an active app: offline, disabled, or gone since the index saw it).
Status ReadRowsOfIds(storage::Tx& tx, const std::vector<int64_t>& ids, RowCache& cache) {
  std::string list = "[";
  for (int64_t id : ids) {
    if (cache.by_id.contains(id)) continue;
    if (list.size() > 1) list += ',';
    list += std::to_string(id);
  }
  list += ']';
  if (list.size() <= 2) return Ok();
  ASSIGN_OR_RETURN(auto read, tx.Exec(kNearbyRowsOfIds, {std::move(list)}));
  const storage::Rows& kept = cache.batches.emplace_back(std::move(read));
  for (const auto& r : kept) cache.by_id[r.Int(15)] = &r;
  for (int64_t id : ids) cache.by_id.try_emplace(id, nullptr);
  return Ok();
}

// SQLite, with the in-memory copy of the geo index: the same answer as NearestFromIndex
// and the growing box around it, without reading the R*Tree. The points within a reach
// are ordered by the copy's coordinates and the rows read for the nearest ids only, in
// doubling batches, until `need` stores lie nearer than any id not read yet can (or every
// point within the radius is read); a reach holding too few grows.
Result<std::vector<Candidate>> NearestFromMemory(storage::Tx& tx, const GeoPointIndex& index,
                                                 const NearbyParams& p, size_t need, RowCache& cache) {
  const int category = p.category.empty() ? -1 : static_cast<int>(CategoryCode(p.category));
  auto within_of = [&p](double reach) { return reach >= p.radius_m ? p.radius_m + 1e-3 : reach; };
  // A first reach holding about twice the need in points (for those the filters leave out),
  // sized from the copy alone.
  double reach = std::min(p.radius_m, kFirstBoxM);
  std::vector<NearPoint> points;
  for (;;) {
    points = index.Within(p.lat, p.lng, within_of(reach) + kGeoPointSlackM, category);
    if (reach >= p.radius_m || points.size() >= 2 * need) break;
    const double factor =
        points.empty()
            ? 4.0
            : std::clamp(std::sqrt(2.0 * static_cast<double>(need) / static_cast<double>(points.size())), 1.5,
                         4.0);
    reach = std::min(p.radius_m, reach * factor);
  }
  std::vector<const storage::Row*> rows;
  std::vector<int64_t> ids;
  for (;;) {
    const double within = within_of(reach);
    std::sort(points.begin(), points.end());
    rows.clear();
    std::vector<Candidate> stores;
    size_t next = 0;
    // A few more than the need at first: the need-th point is often within the slack of
    // the next one in a dense centre.
    for (size_t batch = need + std::max<size_t>(4, need / 4); next < points.size(); batch *= 2) {
      const size_t stop = std::min(points.size(), next + batch);
      ids.clear();
      for (size_t i = next; i < stop; ++i) ids.push_back(points[i].id);
      RETURN_IF_ERROR(ReadRowsOfIds(tx, ids, cache));
      for (; next < stop; ++next) {
        if (const storage::Row* r = cache.by_id.at(points[next].id)) rows.push_back(r);
      }
      // Every point not read yet is at least this far (those beyond the list are beyond
      // within + the slack by the copy, so beyond `within` in truth).
      const double limit =
          next < points.size() ? std::min(within, points[next].distance_m - kGeoPointSlackM) : within;
      stores = StoresWithin(rows, p, limit);
      if (stores.size() >= need) return stores;
    }
    if (reach >= p.radius_m) return stores;
    // Stores grow with the area, as in NearbyJson's box.
    const double factor =
        stores.empty()
            ? 2.0
            : std::clamp(std::sqrt(2.0 * static_cast<double>(need) / static_cast<double>(stores.size())), 1.5,
                         3.0);
    reach = std::min(p.radius_m, reach * factor);
    points = index.Within(p.lat, p.lng, within_of(reach) + kGeoPointSlackM, category);
  }
}

// SQLite: the stores within `within_m` of the point, from the box around `reach_m`, nearest
// first by the index alone: the points of the box are ordered by their distance from the
// index's own coordinates and the table rows read only for the nearest ids, in batches,
// until `need` stores lie nearer than any id not read yet can (or the box is read whole).
// Returns nullopt when the index holds more than `cap` points in the box.
Result<std::optional<std::vector<Candidate>>> NearestFromIndex(storage::Tx& tx, const NearbyParams& p,
                                                               double reach_m, double within_m, int64_t cap,
                                                               size_t need, RowCache& cache) {
  const Box b = BoxAround(p, reach_m);
  std::vector<storage::Value> args{b.min_lat, b.max_lat, b.min_lng, b.max_lng, cap + 1};
  if (!p.category.empty()) args.push_back(CategoryKey(tx, p.category));
  ASSIGN_OR_RETURN(auto points, tx.Exec(p.category.empty() ? kNearbyIds : kNearbyIdsOfCategory, args));
  if (static_cast<int64_t>(points.size()) > cap) return std::optional<std::vector<Candidate>>();
  std::vector<std::pair<double, int64_t>> order;  // distance from the index's box, id
  order.reserve(points.size());
  for (const auto& r : points) {
    order.emplace_back(
        HaversineMeters(p.lat, p.lng, (r.Double(1) + r.Double(2)) / 2, (r.Double(3) + r.Double(4)) / 2),
        r.Int(0));
  }
  std::sort(order.begin(), order.end());
  std::vector<const storage::Row*> rows;
  size_t next = 0;
  for (size_t batch = need;; batch *= 2) {
    const size_t stop = std::min(order.size(), next + batch);
    std::vector<int64_t> ids;
    for (size_t i = next; i < stop; ++i) ids.push_back(order[i].second);
    RETURN_IF_ERROR(ReadRowsOfIds(tx, ids, cache));
    for (; next < stop; ++next) {
      if (const storage::Row* r = cache.by_id.at(order[next].second)) rows.push_back(r);
    }
    if (next == order.size()) return std::optional(StoresWithin(rows, p, within_m));
    // Every point not read yet is at least this far.
    const double limit = std::min(within_m, order[next].first - kIndexSlackM);
    auto stores = StoresWithin(rows, p, limit);
    if (stores.size() >= need) return std::optional(std::move(stores));
  }
}

}  // namespace

Status IndexDealStores(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal) {
  const bool offline = deal.status != "online";
  const bool sqlite = tx.dialect() == Dialect::kSqlite;
  if (!offline && !deal.stores) {
    // The stores stay, but the index prunes by the deal's category, which may have changed.
    if (sqlite) {
      const int64_t code = CategoryCode(deal.category);
      ASSIGN_OR_RETURN(auto logged, tx.Exec(kSqliteLogRecategorized, {app_id, deal.deal_id, code}));
      if (logged.affected == 0) return Ok();
      RETURN_IF_ERROR(tx.Exec(kSqliteRecategorize, {app_id, deal.deal_id, code}));
      RETURN_IF_ERROR(tx.Exec(kSqlitePruneLog, {kKeptGeoChanges}));
    } else {
      RETURN_IF_ERROR(tx.Exec(kPgRecategorize, {app_id, deal.deal_id, deal.category}));
    }
    return Ok();
  }
  if (sqlite) {
    RETURN_IF_ERROR(tx.Exec(kSqliteLogDealStores, {app_id, deal.deal_id}));
    RETURN_IF_ERROR(tx.Exec(kSqliteDeleteBoxes, {app_id, deal.deal_id}));
  }
  RETURN_IF_ERROR(tx.Exec(kDeleteStores, {app_id, deal.deal_id}));
  if (sqlite) RETURN_IF_ERROR(tx.Exec(kSqlitePruneLog, {kKeptGeoChanges}));
  if (offline) return Ok();
  const int64_t code = CategoryCode(deal.category);
  for (const auto& s : *deal.stores) {
    std::vector<storage::Value> row{app_id, deal.deal_id, s.store_id, s.name, s.address, s.lat, s.lng};
    if (!sqlite) row.emplace_back(deal.category);
    ASSIGN_OR_RETURN(auto id, tx.Exec(kInsertStore, row));
    if (id.empty()) return Internal("geo_stores returned no id");
    if (sqlite) {
      RETURN_IF_ERROR(tx.Exec(kSqliteInsertBox, {id[0].Int(0), s.lat, s.lng, code}));
      RETURN_IF_ERROR(tx.Exec(kSqliteLogStore, {id[0].Int(0)}));
    }
  }
  return Ok();
}

Status IndexNewDealStoresInBulk(storage::Tx& tx, const std::string& app_id,
                                const std::vector<protocol::DealIndexEntry>& deals) {
  const bool sqlite = tx.dialect() == Dialect::kSqlite;
  for (const auto& deal : deals) {
    if (deal.status != "online" || !deal.stores) continue;
    const int64_t code = CategoryCode(deal.category);
    for (const auto& s : *deal.stores) {
      std::vector<storage::Value> row{app_id, deal.deal_id, s.store_id, s.name, s.address, s.lat, s.lng};
      if (!sqlite) row.emplace_back(deal.category);
      ASSIGN_OR_RETURN(auto id, tx.Exec(kInsertStore, row));
      if (id.empty()) return Internal("geo_stores returned no id");
      if (sqlite) RETURN_IF_ERROR(tx.Exec(kSqliteInsertBox, {id[0].Int(0), s.lat, s.lng, code}));
    }
  }
  if (sqlite) {
    RETURN_IF_ERROR(tx.Exec(kSqliteLogStore, {kGeoReloadMarkerId}));
    RETURN_IF_ERROR(tx.Exec(kSqlitePruneLog, {kKeptGeoChanges}));
  }
  return Ok();
}

Result<json::object> NearbyJson(storage::Db& db, const NearbyParams& p) {
  return NearbyJson(db, nullptr, p);
}

Result<json::object> NearbyJson(storage::Db& db, GeoPointIndex* index, const NearbyParams& p) {
  if (!(p.lat >= -90 && p.lat <= 90)) return Invalid("'lat' must be -90..90");
  if (!(p.lng >= -180 && p.lng <= 180)) return Invalid("'lng' must be -180..180");
  if (!(p.radius_m >= 1 && p.radius_m <= kMaxNearbyRadiusM)) return Invalid("'radius_m' must be 1..50000");
  if (!p.category.empty() && CategoryCode(p.category) == 0)
    return Invalid("'category' is not a known category");
  if (p.limit < 1 || p.limit > 50) return Invalid("'limit' must be 1..50");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffsetCursor(p.cursor));
  json::object out;
  out["next_cursor"] = nullptr;
  out["items"] = json::array();
  if (offset >= kMaxNearbyReach) return out;
  // The page's stores and one more (whether a next page exists), nearest first.
  const int64_t page_end = std::min(offset + p.limit, kMaxNearbyReach);
  const auto need = static_cast<size_t>(page_end + 1);
  const int64_t cap = std::clamp<int64_t>(16 * page_end, kBoxRows, kMaxNearbyCandidates);

  // Grow the box until the circle inside it holds `need` stores or is the whole radius:
  // then no store outside it can be nearer than those. A box holding more than `cap`
  // rows is shrunk instead; `lo` is the largest reach seen too sparse and `hi` the
  // smallest seen too dense, and the reach between them is found by bisection. Within
  // radius_m, inclusive to the millimetre (so a store computed at exactly the radius is
  // in however the last bit of the haversine falls). One snapshot for every read. On
  // SQLite the cap counts the index's points and only the rows of the nearest ids are read
  // (NearestFromIndex); PostgreSQL reads the box's rows.
  storage::Rows rows;
  RowCache cache;
  std::vector<Candidate> stores;
  // Read before the snapshot: a deal sync committed after it bumps it again (see Refresh).
  const uint64_t version = SearchIndexVersion();
  RETURN_IF_ERROR(db.Read([&](storage::Tx& tx) -> Status {
    if (index != nullptr && tx.dialect() == Dialect::kSqlite) {
      ASSIGN_OR_RETURN(const bool ready, index->Refresh(tx, version));
      if (ready) {
        ASSIGN_OR_RETURN(stores, NearestFromMemory(tx, *index, p, need, cache));
        return Ok();
      }
    }
    // Twice the need, for the stores the filters leave out.
    ASSIGN_OR_RETURN(double reach, FirstReach(tx, p, 2 * need));
    double lo = 0, hi = 0;  // hi == 0: none seen too dense yet
    const bool sqlite = tx.dialect() == Dialect::kSqlite;
    for (int round = 0;; ++round) {
      const bool whole = reach >= p.radius_m;
      const double within = whole ? p.radius_m + 1e-3 : reach;
      if (round >= 24 || (hi > 0 && hi < 1.05 * lo + 1)) {
        // Rows of one spot beyond any cap (thousands of deals at one store): the nearest
        // `kMaxNearbyCandidates` by flat-Earth distance stand for the box.
        reach = hi > 0 ? hi : reach;
        ASSIGN_OR_RETURN(rows, ReadBox(tx, p, reach, kMaxNearbyCandidates, true));
        stores = StoresWithin(rows, p, std::min(reach, p.radius_m + 1e-3));
        return Ok();
      }
      std::optional<std::vector<Candidate>> found;  // nullopt: more than `cap` in the box
      if (sqlite) {
        ASSIGN_OR_RETURN(found, NearestFromIndex(tx, p, reach, within, cap, need, cache));
      } else {
        ASSIGN_OR_RETURN(rows, ReadBox(tx, p, reach, cap + 1, false));
        if (static_cast<int64_t>(rows.size()) <= cap) found = StoresWithin(rows, p, within);
      }
      if (!found) {
        hi = reach;
        reach = lo > 0 ? std::sqrt(lo * hi) : hi / 4;
        continue;
      }
      stores = std::move(*found);
      if (whole || stores.size() >= need) return Ok();
      lo = reach;
      // Stores grow with the area: aim at twice the count needed, by half again at least
      // and three times at most; an empty box only doubles, as a district's edge may be
      // near and a box far over the cap is the dearest read.
      const double factor =
          stores.empty()
              ? 2.0
              : std::clamp(std::sqrt(2.0 * static_cast<double>(need) / static_cast<double>(stores.size())),
                           1.5, 3.0);
      reach = std::min(p.radius_m, reach * factor);
      if (hi > 0) reach = std::min(reach, std::sqrt(lo * hi));
    }
  }));

  auto nearer = [](const Candidate& a, const Candidate& b) {
    return std::tie(a.distance, *a.app_id, *a.store_id) < std::tie(b.distance, *b.app_id, *b.store_id);
  };
  const size_t end = std::min(stores.size(), static_cast<size_t>(page_end));
  if (static_cast<size_t>(offset) >= end) return out;
  std::partial_sort(stores.begin(), stores.begin() + static_cast<std::ptrdiff_t>(end), stores.end(), nearer);

  json::array items;
  items.reserve(end - static_cast<size_t>(offset));
  for (size_t i = static_cast<size_t>(offset); i < end; ++i) {
    Candidate& s = stores[i];
    std::sort(s.rows.begin(), s.rows.end(),
              [](const storage::Row* a, const storage::Row* b) { return a->Str(6) < b->Str(6); });
    const storage::Row& h = *s.head;
    json::array deals;
    deals.reserve(s.rows.size());
    for (const storage::Row* r : s.rows) {
      deals.push_back(json::object{{"deal_id", r->Str(6)},
                                   {"title", r->Str(7)},
                                   {"brand_name", r->Str(8)},
                                   {"price_fen", r->Int(9)},
                                   {"original_price_fen", r->Int(10)},
                                   {"category", r->Str(11)},
                                   {"city", r->Str(12)},
                                   {"sales", r->Int(13)},
                                   {"deal_url", r->Str(14) + "/mp/v1/deals/" + r->Str(6)}});
    }
    items.push_back(json::object{{"kind", "store"},
                                 {"app_id", h.Str(0)},
                                 {"store_id", h.Str(1)},
                                 {"name", h.Str(2)},
                                 {"address", h.Str(3)},
                                 {"lat", h.Double(4)},
                                 {"lng", h.Double(5)},
                                 {"distance_m", static_cast<int64_t>(std::llround(s.distance))},
                                 {"deals", std::move(deals)}});
  }
  if (stores.size() > end && end < static_cast<size_t>(kMaxNearbyReach)) {
    out["next_cursor"] = EncodeOffsetCursor(static_cast<int64_t>(end));
  }
  out["items"] = std::move(items);
  return out;
}

}  // namespace hutong::host::search
