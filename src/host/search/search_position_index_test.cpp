// The in-memory copy of SQLite's search positions: searches with a position answered from it
// equal the database's byte for byte, and it follows documents added, moved, re-ranked and
// removed through another connection to the same file (another node) at the next search,
// reloading when the log entries it needs were pruned.
#include "host/search/search_position_index.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "common/geo.h"
#include "host/content/content.h"
#include "host/host.h"
#include "host/openplatform/apps.h"
#include "host/search/geo_point_index.h"
#include "host/search/search.h"
#include "support/test_env.h"

namespace hutong::host::search {
namespace {
namespace json = boost::json;
using hutong::testing::Backend;

constexpr double kLat = 31.2, kLng = 121.45;

class SearchPositionIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(Backend::kSqlite);
    node_ = Open();
    other_ = Open();
    ASSERT_TRUE(node_ && other_);
    ASSERT_TRUE(storage::Migrate(*node_, HostMigrations()).ok());
    auto created = node_->Write([&](storage::Tx& tx) -> Result<std::string> {
      auto box = SecretBox::FromHex(SecretBox::NewHexKey()).value();
      ASSIGN_OR_RETURN(auto creds,
                       CreateApp(tx, {"pos", "http://127.0.0.1:8081", "http://127.0.0.1:8081/hook"}, box, 1));
      return creds.app_id;
    });
    ASSERT_TRUE(created.ok()) << created.error().internal;
    app_ = *created;
  }

  std::unique_ptr<storage::Db> Open() {
    storage::DbOptions o;
    o.default_schema = "host";
    auto db = storage::OpenDb(dbs_->host_db(), o);
    EXPECT_TRUE(db.ok()) << db.error().internal;
    return db.ok() ? std::move(db).value() : nullptr;
  }

  static protocol::DealIndexEntry Deal(const std::string& id, const std::string& title,
                                       const std::string& category, const std::string& city, int64_t sales,
                                       std::optional<double> north_m, double east_m = 0) {
    protocol::DealIndexEntry d;
    d.deal_id = id;
    d.title = title;
    d.brand_name = "测试";
    d.type = "set_meal";
    d.category = category;
    d.city = city;
    d.price_fen = 100;
    d.original_price_fen = 200;
    d.sales = sales;
    if (north_m) {
      d.lat = kLat + LatDegreesFor(*north_m);
      d.lng = kLng + LngDegreesFor(east_m, kLat);
    }
    return d;
  }
  void Upsert(storage::Db& db, const std::vector<protocol::DealIndexEntry>& deals) {
    auto s = db.Write([&](storage::Tx& tx) { return UpsertAppDeals(tx, app_, deals, 1); });
    ASSERT_TRUE(s.ok()) << s.error().internal;
  }
  // The page from the copy and from the database, which must be equal.
  std::string Both(SearchPositionIndex& index, const SearchParams& p) {
    auto from_db = SearchJson(*node_, p);
    auto from_memory = SearchJson(*node_, &index, p);
    EXPECT_TRUE(from_db.ok() && from_memory.ok());
    if (!from_db.ok() || !from_memory.ok()) return "";
    const std::string db = json::serialize(*from_db);
    EXPECT_EQ(json::serialize(*from_memory), db) << "q " << p.q << " category " << p.category << " city "
                                                 << p.city << " limit " << p.limit << " cursor " << p.cursor;
    return db;
  }
  static std::vector<std::string> Ids(const std::string& page) {
    std::vector<std::string> out;
    const json::value parsed = json::parse(page);
    for (const auto& item : parsed.at("items").as_array()) {
      out.emplace_back(item.at("id").as_string());
    }
    return out;
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> node_, other_;
  std::string app_;
};

// Every search with a position and every nearby request first reads its change log's bounds.
// The log keeps about 100,000 entries: the bounds must be two seeks, not a scan of it (one
// select of MIN and MAX together scans; the 1M-deal bench fell to 269 searches/s).
TEST_F(SearchPositionIndexTest, LogBoundsAreReadWithoutScanningTheLog) {
  for (const storage::Query* q :
       {&SearchPositionIndex::LogBoundsQueryForTest(), &GeoPointIndex::LogBoundsQueryForTest()}) {
    const std::string sql = std::string("EXPLAIN QUERY PLAN ") + q->sql;
    const std::string name = std::string(q->name) + ".plan";  // a statement's name is its cache key
    const storage::Query plan{name.c_str(), storage::Access::kRead, sql.c_str()};
    auto rows = node_->Read([&](storage::Tx& tx) { return tx.Exec(plan); });
    ASSERT_TRUE(rows.ok()) << rows.error().internal;
    int searches = 0;
    for (const auto& r : *rows) {
      const std::string detail = r.Str(3);
      EXPECT_FALSE(detail.rfind("SCAN", 0) == 0 && detail != "SCAN CONSTANT ROW")
          << q->name << ": " << detail;
      if (detail.rfind("SEARCH", 0) == 0) ++searches;
    }
    EXPECT_EQ(searches, 2) << q->name;
  }
}

TEST_F(SearchPositionIndexTest, AnswersEqualTheDatabasesForVariedQueries) {
  uint64_t seed = 7;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ULL << 53);
  };
  auto pick = [&next](const auto& v) {
    return v[static_cast<size_t>(next() * static_cast<double>(v.size()))];
  };
  const std::vector<std::string> words{"火锅",   "双人套餐", "烤鸭", "奶茶",   "大床房",
                                       "剧本杀", "美甲",     "咖啡", "hotpot", "欢唱 3小时套餐"};
  const std::vector<std::string> categories{"catering", "hotel",  "homestay",     "scenic",
                                            "leisure",  "beauty", "script_murder"};
  const std::vector<std::string> cities{"上海", "北京", "成都"};
  // 700 deals of one to three words, few sales values (large groups of one length and
  // sales, ordered by distance), a tenth without a position, several at one spot.
  std::vector<protocol::DealIndexEntry> deals;
  for (int d = 0; d < 700; ++d) {
    std::string title = pick(words);
    const int extra = static_cast<int>(next() * 3);
    for (int w = 0; w < extra; ++w) title += " " + pick(words);
    std::optional<double> north;
    double east = 0;
    if (d % 10 != 0) {
      north = d % 17 == 0 ? 250.0 : 8000 * (2 * next() - 1);
      east = d % 17 == 0 ? 0.0 : 8000 * (2 * next() - 1);
    }
    deals.push_back(Deal("deal_" + std::to_string(d), title, pick(categories), pick(cities),
                         static_cast<int64_t>(next() * 3), north, east));
  }
  for (size_t i = 0; i < deals.size(); i += 100) {
    Upsert(*other_,
           std::vector<protocol::DealIndexEntry>(deals.begin() + static_cast<std::ptrdiff_t>(i),
                                                 deals.begin() + static_cast<std::ptrdiff_t>(i + 100)));
  }
  // Some go offline, some sell more (new rowids) and some move.
  std::vector<protocol::DealIndexEntry> changed;
  for (size_t i = 3; i < deals.size(); i += 23) {
    auto d = deals[i];
    if (i % 3 == 0) d.status = "offline";
    if (i % 3 == 1) d.sales += 2;
    if (i % 3 == 2) d.lat = kLat + LatDegreesFor(100 * static_cast<double>(i % 7));
    changed.push_back(d);
  }
  Upsert(*other_, changed);

  SearchPositionIndex index;
  int nonempty = 0;
  for (int q = 0; q < 400; ++q) {
    SearchParams p;
    p.q = pick(words);
    if (q % 5 == 0) p.q += " " + pick(words);
    if (q % 9 != 0) {  // most with a position; some without (they load the copy too)
      p.lat = kLat + LatDegreesFor(6000 * (2 * next() - 1));
      p.lng = kLng + LngDegreesFor(6000 * (2 * next() - 1), kLat);
    }
    if (q % 4 == 0) p.category = pick(categories);
    if (q % 6 == 0) p.city = pick(cities);
    p.limit = 1 + static_cast<int64_t>(next() * 50);
    if (q % 3 == 0) p.cursor = EncodeOffsetCursor(static_cast<int64_t>(next() * 150));
    if (!Ids(Both(index, p)).empty()) ++nonempty;
  }
  EXPECT_TRUE(index.loaded());
  EXPECT_GT(index.SizeForTest(), 500u);
  EXPECT_GT(index.HitsForTest(), 250u);  // the pages with a position came from the copy
  EXPECT_GT(nonempty, 250);
}

TEST_F(SearchPositionIndexTest, FollowsAnotherNodesChangesAtTheNextSearch) {
  Upsert(*node_, {Deal("deal_a", "烤鸭套餐", "catering", "上海", 0, 300.0),
                  Deal("deal_b", "烤鸭套餐", "catering", "上海", 0, 200.0),
                  Deal("deal_c", "烤鸭套餐", "catering", "上海", 0, std::nullopt)});
  SearchPositionIndex index;
  SearchPositionIndex folding(/*max_changed=*/0);  // merges every change into its array at once
  auto search = [&](const SearchParams& p) {
    std::vector<std::string> ids = Ids(Both(index, p));
    EXPECT_EQ(Ids(Both(folding, p)), ids);
    return ids;
  };
  SearchParams p;
  p.q = "烤鸭";
  p.lat = kLat;
  p.lng = kLng;
  EXPECT_EQ(search(p), (std::vector<std::string>{"deal_b", "deal_a", "deal_c"}));
  const uint64_t hits = index.HitsForTest();
  EXPECT_EQ(hits, 1u);

  // Another node moves deal_a nearest, gives deal_c a position, adds deal_d: the next
  // search (no version of this node moved, no time passed) sees all of it.
  Upsert(*other_, {Deal("deal_a", "烤鸭套餐", "catering", "上海", 0, 100.0),
                   Deal("deal_c", "烤鸭套餐", "catering", "上海", 0, 150.0),
                   Deal("deal_d", "烤鸭套餐", "catering", "上海", 0, 50.0)});
  EXPECT_EQ(search(p), (std::vector<std::string>{"deal_d", "deal_a", "deal_c", "deal_b"}));
  EXPECT_EQ(index.HitsForTest(), hits + 1);

  // deal_d sells more (a new rowid in the same length, ordered by distance still) and
  // moves away, deal_b loses its position, deal_a goes offline.
  auto d = Deal("deal_d", "烤鸭套餐", "catering", "上海", 5, 900.0);
  auto b = Deal("deal_b", "烤鸭套餐", "catering", "上海", 0, std::nullopt);
  auto a = Deal("deal_a", "烤鸭套餐", "catering", "上海", 0, 100.0);
  a.status = "offline";
  Upsert(*other_, {d, b, a});
  EXPECT_EQ(search(p), (std::vector<std::string>{"deal_c", "deal_d", "deal_b"}));
  EXPECT_EQ(index.HitsForTest(), hits + 2);

  // The same query again (its matches kept by the copy), then after another node adds a
  // deal without a position: a new match, though no position changed.
  EXPECT_EQ(search(p), (std::vector<std::string>{"deal_c", "deal_d", "deal_b"}));
  Upsert(*other_, {Deal("deal_g", "烤鸭套餐", "catering", "上海", 0, std::nullopt)});
  EXPECT_EQ(search(p), (std::vector<std::string>{"deal_c", "deal_d", "deal_b", "deal_g"}));
  EXPECT_EQ(index.HitsForTest(), hits + 4);

  // The log entries after the copy's last were pruned (it fell far behind): it reloads.
  Upsert(*other_, {Deal("deal_e", "烤鸭套餐", "catering", "上海", 0, 10.0)});
  Upsert(*other_, {Deal("deal_f", "烤鸭套餐", "catering", "上海", 0, 20.0)});
  auto pruned = other_->Write([](storage::Tx& tx) {
    return tx.ExecScript(
        "DELETE FROM search_doc_changes WHERE seq < (SELECT MAX(seq) FROM search_doc_changes)");
  });
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(search(p),
            (std::vector<std::string>{"deal_e", "deal_f", "deal_c", "deal_d", "deal_b", "deal_g"}));
  EXPECT_EQ(index.HitsForTest(), hits + 5);
  EXPECT_EQ(index.SizeForTest(), 4u);  // d, c, e, f have positions
  EXPECT_EQ(folding.HitsForTest(), index.HitsForTest());
  EXPECT_EQ(folding.SizeForTest(), 4u);
}

}  // namespace
}  // namespace hutong::host::search
