// Search answers in the same order on SQLite and PostgreSQL: the same deals synced in the
// same sequence (ties of length and sales broken by the order they were indexed, a deal
// whose sales change moving to the end of its new group, one keeping its place when
// re-synced unchanged, a disabled app's deals ahead of them all) give the same pages on
// both drivers, with and without the searcher's position and the filters.
#include "common/geo.h"
#include "host/content/content.h"
#include "host/host.h"
#include "host/search/search.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr double kLat = 30.0, kLng = 100.0;

protocol::DealIndexEntry Deal(const std::string& id, const std::string& title, int64_t sales,
                              std::optional<double> north_m = std::nullopt) {
  protocol::DealIndexEntry d;
  d.deal_id = id;
  d.title = title;
  d.brand_name = "";
  d.type = "set_meal";
  d.category = "catering";
  d.city = "成都";
  d.price_fen = 5000;
  d.original_price_fen = 8000;
  d.sales = sales;
  if (north_m) {
    d.lat = kLat + LatDegreesFor(*north_m);
    d.lng = kLng;
  }
  return d;
}

// Each step is one transaction, as separate syncs are.
const std::vector<std::vector<protocol::DealIndexEntry>>& Steps() {
  static const auto* steps = [] {
    auto* s = new std::vector<std::vector<protocol::DealIndexEntry>>;
    // Ties: same title length and sales, indexed z, a, m (not in key order).
    s->push_back({Deal("deal_z", "xqzv烤串双人餐", 20, 3000), Deal("deal_a", "xqzv烤串双人餐", 20, 1000)});
    s->push_back({Deal("deal_m", "xqzv烤串双人餐", 20, 2000)});
    s->push_back({Deal("deal_best", "xqzv烤串双人餐", 90), Deal("deal_short_b", "xqzv烤串", 5),
                  Deal("deal_short_a", "xqzv烤串", 5, 500)});
    s->push_back({Deal("deal_long", "xqzv烤串双人餐加饮料", 99, 100)});
    // deal_z re-synced unchanged keeps its place; deal_a sells one more and leaves the tie
    // for the group above; deal_short_b's sales move it from its group to a new one, then
    // back to 5: it now follows deal_short_a, indexed earlier into that group.
    s->push_back({Deal("deal_z", "xqzv烤串双人餐", 20, 3000), Deal("deal_a", "xqzv烤串双人餐", 21, 1000),
                  Deal("deal_short_b", "xqzv烤串", 6)});
    s->push_back({Deal("deal_short_b", "xqzv烤串", 5)});
    // Another city and category: filtered out below.
    auto hotel = Deal("deal_hotel", "xqzv烤串", 50, 10);
    hotel.category = "hotel";
    auto shanghai = Deal("deal_sh", "xqzv烤串", 60);
    shanghai.city = "上海";
    s->push_back({hotel, shanghai});
    return s;
  }();
  return *steps;
}

std::vector<std::string> Ids(const json::object& page) {
  std::vector<std::string> out;
  for (const auto& it : page.at("items").as_array()) out.emplace_back(it.at("id").as_string());
  return out;
}

// Every page of a search, walked with `limit`.
std::vector<std::string> Walk(storage::Db& db, host::search::SearchParams p, int64_t limit) {
  std::vector<std::string> ids;
  p.limit = limit;
  for (int i = 0; i < 20; ++i) {
    auto page = host::search::SearchJson(db, p);
    EXPECT_TRUE(page.ok()) << page.error().internal;
    if (!page.ok()) break;
    for (auto& id : Ids(*page)) ids.push_back(id);
    if (page->at("next_cursor").is_null()) break;
    p.cursor = std::string(page->at("next_cursor").as_string());
  }
  return ids;
}

struct Searches {
  std::vector<std::string> plain, filtered, near, near_filtered, hotel;
};

Searches SearchAll(Backend backend) {
  FreshDatabases fresh(backend);
  storage::DbOptions o;
  o.default_schema = "host";
  auto opened = storage::OpenDb(fresh.host_db(), o);
  EXPECT_TRUE(opened.ok()) << opened.error().internal;
  if (!opened.ok()) return {};
  storage::Db& db = **opened;
  EXPECT_TRUE(storage::Migrate(db, host::HostMigrations()).ok());
  constexpr storage::Query kApp{
      "test.search_drivers.app", storage::Access::kWrite,
      "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, created_at) "
      "VALUES ('app_s', 'app', 'http://127.0.0.1:1', 'http://127.0.0.1:1/n', 'x', 0)"};
  RunQuery(db, kApp);
  for (const auto& step : Steps()) {
    auto written = db.WithWrite([&](storage::Tx& tx) { return host::UpsertAppDeals(tx, "app_s", step, 0); });
    EXPECT_TRUE(written.ok()) << written.error().internal;
  }
  // A disabled app's best sellers stay indexed but are never shown: more of them lead the
  // rank than a page reads beyond its rows, so PostgreSQL must read on past them.
  constexpr storage::Query kOffApp{
      "test.search_drivers.off_app", storage::Access::kWrite,
      "INSERT INTO apps (id, name, service_url, notify_url, status, secret_sealed, created_at) "
      "VALUES ('app_off', 'off', 'http://127.0.0.1:2', 'http://127.0.0.1:2/n', 'disabled', 'x', 0)"};
  RunQuery(db, kOffApp);
  std::vector<protocol::DealIndexEntry> hidden;
  for (int i = 0; i < 40; ++i)
    hidden.push_back(Deal("deal_off_" + std::to_string(i), "xqzv烤串", 1000 + i, 1));
  auto written =
      db.WithWrite([&](storage::Tx& tx) { return host::UpsertAppDeals(tx, "app_off", hidden, 0); });
  EXPECT_TRUE(written.ok()) << written.error().internal;
  host::search::SearchParams p;
  p.q = "xqzv 烤串";
  Searches out;
  out.plain = Walk(db, p, 3);
  p.city = "成都";
  p.category = "catering";
  out.filtered = Walk(db, p, 2);
  p.lat = kLat;
  p.lng = kLng;
  out.near_filtered = Walk(db, p, 2);
  p.city.clear();
  p.category.clear();
  out.near = Walk(db, p, 4);
  p.category = "hotel";
  out.hotel = Walk(db, p, 4);
  return out;
}

TEST(SearchDriversTest, SqliteAndPostgresReturnTheSameOrderWithTies) {
  const Searches sqlite = SearchAll(Backend::kSqlite);
  const Searches pg = SearchAll(Backend::kPostgres);
  // Shortest first; within a length, sales descending, then the order indexed.
  const std::vector<std::string> filtered{"deal_short_a", "deal_short_b", "deal_best", "deal_a",
                                          "deal_z",       "deal_m",       "deal_long"};
  EXPECT_EQ(sqlite.filtered, filtered);
  std::vector<std::string> plain{"deal_sh", "deal_hotel"};
  plain.insert(plain.end(), filtered.begin(), filtered.end());
  EXPECT_EQ(sqlite.plain, plain);
  // With a position: within a length, nearest first (unlocated last, by rank).
  const std::vector<std::string> near_filtered{"deal_short_a", "deal_short_b", "deal_a",   "deal_m",
                                               "deal_z",       "deal_best",    "deal_long"};
  EXPECT_EQ(sqlite.near_filtered, near_filtered);
  EXPECT_EQ(sqlite.near, (std::vector<std::string>{"deal_hotel", "deal_short_a", "deal_sh", "deal_short_b",
                                                   "deal_a", "deal_m", "deal_z", "deal_best", "deal_long"}));
  EXPECT_EQ(sqlite.hotel, (std::vector<std::string>{"deal_hotel"}));

  EXPECT_EQ(pg.plain, sqlite.plain);
  EXPECT_EQ(pg.filtered, sqlite.filtered);
  EXPECT_EQ(pg.near, sqlite.near);
  EXPECT_EQ(pg.near_filtered, sqlite.near_filtered);
  EXPECT_EQ(pg.hotel, sqlite.hotel);
}

// A rank group (one length and sales) holds 2^24 documents: with its last slot taken, the
// next document of that group is refused on both drivers (its transaction writes nothing)
// rather than ranked into the next group's first slot.
void ExpectFullGroupRefused(Backend backend) {
  FreshDatabases fresh(backend);
  storage::DbOptions o;
  o.default_schema = "host";
  auto opened = storage::OpenDb(fresh.host_db(), o);
  ASSERT_TRUE(opened.ok()) << opened.error().internal;
  storage::Db& db = **opened;
  ASSERT_TRUE(storage::Migrate(db, host::HostMigrations()).ok());
  constexpr storage::Query kApp{
      "test.search_full.app", storage::Access::kWrite,
      "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, created_at) "
      "VALUES ('app_s', 'app', 'http://127.0.0.1:1', 'http://127.0.0.1:1/n', 'x', 0)"};
  RunQuery(db, kApp);
  const auto put = [&](const std::string& id) {
    return db.WithWrite(
        [&](storage::Tx& tx) { return host::UpsertAppDeals(tx, "app_s", {Deal(id, "xqzv烤串", 7, 10)}, 0); });
  };
  auto first = put("deal_first");
  ASSERT_TRUE(first.ok()) << first.error().internal;
  // deal_first moves to its group's last slot (group start + 2^24 - 1).
  constexpr storage::Query kLastSlotSqlite{
      "test.search_full.last_slot_sqlite", storage::Access::kWrite,
      "UPDATE search_doc_ids SET id = id + 16777215 WHERE doc_key LIKE '%deal_first'"};
  constexpr storage::Query kLastSlotPg{
      "test.search_full.last_slot_pg", storage::Access::kWrite,
      "UPDATE search_docs SET rank = rank + 16777215 WHERE doc_key LIKE '%deal_first'"};
  RunQuery(db, backend == Backend::kSqlite ? kLastSlotSqlite : kLastSlotPg);

  auto second = put("deal_second");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kInternal);
  EXPECT_NE(second.error().internal.find("2^24"), std::string::npos) << second.error().internal;
  constexpr storage::Query kIndexedSqlite{
      "test.search_full.indexed_sqlite", storage::Access::kRead,
      "SELECT count(*) FROM search_doc_ids WHERE doc_key LIKE '%deal_second'"};
  constexpr storage::Query kIndexedPg{"test.search_full.indexed_pg", storage::Access::kRead,
                                      "SELECT count(*) FROM search_docs WHERE doc_key LIKE '%deal_second'"};
  constexpr storage::Query kStored{"test.search_full.stored", storage::Access::kRead,
                                   "SELECT count(*) FROM app_deals WHERE deal_id = 'deal_second'"};
  auto indexed = RunQuery(db, backend == Backend::kSqlite ? kIndexedSqlite : kIndexedPg);
  ASSERT_EQ(indexed.size(), 1u);
  EXPECT_EQ(indexed[0].Int(0), 0);
  auto stored = RunQuery(db, kStored);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].Int(0), 0);

  // Another group is not full: indexed as usual.
  auto other = db.WithWrite([&](storage::Tx& tx) {
    return host::UpsertAppDeals(tx, "app_s", {Deal("deal_other", "xqzv烤串", 8, 10)}, 0);
  });
  EXPECT_TRUE(other.ok()) << other.error().internal;
}

TEST(SearchDriversTest, FullRankGroupIsRefusedOnSqlite) {
  ExpectFullGroupRefused(Backend::kSqlite);
}

TEST(SearchDriversTest, FullRankGroupIsRefusedOnPostgres) {
  ExpectFullGroupRefused(Backend::kPostgres);
}

}  // namespace
}  // namespace hutong::testing
