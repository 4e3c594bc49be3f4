// The in-memory copy of SQLite's geo index: nearby answers from it equal the database's
// byte for byte, and it follows stores added, moved, recategorized and removed through
// another connection to the same file (another node) within a second.
#include "host/search/geo_point_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "common/geo.h"
#include "host/content/content.h"
#include "host/host.h"
#include "host/openplatform/apps.h"
#include "host/search/nearby.h"
#include "host/search/search.h"
#include "support/test_env.h"

namespace hutong::host::search {
namespace {
namespace json = boost::json;
using hutong::testing::Backend;

constexpr double kLat = 31.2, kLng = 121.45;

class GeoPointIndexTest : public ::testing::Test {
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
                       CreateApp(tx, {"geo", "http://127.0.0.1:8081", "http://127.0.0.1:8081/hook"}, box, 1));
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

  static protocol::DealIndexEntry Deal(const std::string& id, const std::string& category) {
    protocol::DealIndexEntry d;
    d.deal_id = id;
    d.title = "套餐 " + id;
    d.brand_name = "测试";
    d.type = "set_meal";
    d.category = category;
    d.city = "上海";
    d.price_fen = 100;
    d.original_price_fen = 200;
    d.stores.emplace();
    return d;
  }
  static protocol::StoreIndexEntry StoreAt(const std::string& id, double north_m, double east_m) {
    protocol::StoreIndexEntry s;
    s.store_id = id;
    s.name = "店" + id;
    s.address = "路 " + id;
    s.lat = kLat + LatDegreesFor(north_m);
    s.lng = kLng + LngDegreesFor(east_m, kLat);
    return s;
  }
  void Upsert(storage::Db& db, const std::vector<protocol::DealIndexEntry>& deals) {
    auto s = db.Write([&](storage::Tx& tx) { return UpsertAppDeals(tx, app_, deals, 1); });
    ASSERT_TRUE(s.ok()) << s.error().internal;
  }
  // The copy's points within `reach_m` of the centre, as rounded distances, nearest first.
  std::vector<int64_t> Distances(const GeoPointIndex& index, double reach_m, int category) {
    auto near = index.Within(kLat, kLng, reach_m, category);
    std::sort(near.begin(), near.end());
    std::vector<int64_t> out;
    for (const auto& p : near) out.push_back(std::llround(p.distance_m));
    return out;
  }
  void Refresh(GeoPointIndex& index, uint64_t version) {
    auto ready = node_->Read([&](storage::Tx& tx) { return index.Refresh(tx, version); });
    ASSERT_TRUE(ready.ok()) << ready.error().internal;
    EXPECT_TRUE(*ready);
  }

  // A burst of store changes from another node, answered by `index` (loaded by its own
  // thread, or by the requests) after each step exactly as by the database.
  void BurstFromAnotherNode(bool background);

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> node_, other_;
  std::string app_;
};

TEST_F(GeoPointIndexTest, AnswersEqualTheDatabasesForVariedQueries) {
  // 40 deals of mixed categories in a dense centre and a sparse ring; a few deals offline.
  uint64_t seed = 11;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ULL << 53);
  };
  const std::vector<std::string> categories{"catering", "hotel",  "homestay",     "scenic",
                                            "leisure",  "beauty", "script_murder"};
  // 600 store positions (a third in a ring of 8 km, the rest within 600 m); each deal is
  // at 1..150 of them, so several deals share most stores.
  std::vector<protocol::StoreIndexEntry> places;
  for (int i = 0; i < 600; ++i) {
    const double spread = i % 3 == 0 ? 8000 : 600;
    places.push_back(StoreAt("s_" + std::to_string(i), spread * (2 * next() - 1), spread * (2 * next() - 1)));
  }
  std::vector<protocol::DealIndexEntry> deals;
  for (int d = 0; d < 40; ++d) {
    auto deal = Deal("deal_" + std::to_string(d), categories[static_cast<size_t>(d) % categories.size()]);
    const int n = 1 + static_cast<int>(next() * 150);
    std::vector<bool> taken(places.size());
    for (int i = 0; i < n; ++i) {
      const auto at = static_cast<size_t>(next() * static_cast<double>(places.size()));
      if (taken[at]) continue;
      taken[at] = true;
      deal.stores->push_back(places[at]);
    }
    deals.push_back(std::move(deal));
  }
  Upsert(*other_, deals);
  deals[3].status = "offline";
  deals[8].status = "offline";
  Upsert(*other_, {deals[3], deals[8]});

  ManualClockForTest clock(1'000);
  GeoPointIndex index(clock);
  int nonempty = 0;
  for (int q = 0; q < 300; ++q) {
    NearbyParams p;
    p.lat = kLat + LatDegreesFor(3000 * (2 * next() - 1));
    p.lng = kLng + LngDegreesFor(3000 * (2 * next() - 1), kLat);
    p.radius_m = q % 5 == 0 ? 1 + next() * 200 : 1 + next() * 9999;
    if (q % 4 == 0) p.category = categories[static_cast<size_t>(next() * 7)];
    p.limit = 1 + static_cast<int64_t>(next() * 50);
    if (q % 3 == 0) p.cursor = EncodeOffsetCursor(static_cast<int64_t>(next() * 120));
    auto from_db = NearbyJson(*node_, p);
    auto from_memory = NearbyJson(*node_, &index, p);
    ASSERT_TRUE(from_db.ok() && from_memory.ok());
    if (!from_db->at("items").as_array().empty()) ++nonempty;
    EXPECT_EQ(json::serialize(*from_memory), json::serialize(*from_db))
        << "query " << q << " radius " << p.radius_m << " category " << p.category;
  }
  EXPECT_GT(index.SizeForTest(), 1000u);
  EXPECT_GT(nonempty, 100);
}

TEST_F(GeoPointIndexTest, FollowsAnotherNodesChangesWithinASecond) {
  auto a = Deal("deal_a", "catering");
  a.stores->push_back(StoreAt("s1", 100, 0));
  a.stores->push_back(StoreAt("s2", 200, 0));
  Upsert(*node_, {a});

  ManualClockForTest clock(1'000);
  GeoPointIndex index(clock);
  Refresh(index, 7);
  EXPECT_EQ(Distances(index, 1000, -1), (std::vector<int64_t>{100, 200}));

  // Another node moves s1, adds s3, drops s2, and adds a hotel deal.
  a.stores = std::vector<protocol::StoreIndexEntry>{StoreAt("s1", 300, 0), StoreAt("s3", 0, 50)};
  auto b = Deal("deal_b", "hotel");
  b.stores->push_back(StoreAt("h1", 150, 0));
  Upsert(*other_, {a, b});

  // Within the second and with this node's version unchanged, the copy is not polled.
  clock.Advance(999);
  Refresh(index, 7);
  EXPECT_EQ(Distances(index, 1000, -1), (std::vector<int64_t>{100, 200}));
  // A second after the last poll it is.
  clock.Advance(1);
  Refresh(index, 7);
  EXPECT_EQ(Distances(index, 1000, -1), (std::vector<int64_t>{50, 150, 300}));
  EXPECT_EQ(Distances(index, 1000, 2), (std::vector<int64_t>{150}));
  EXPECT_EQ(Distances(index, 1000, 1), (std::vector<int64_t>{50, 300}));

  // This node's own change moves its version: polled at once. The hotel deal becomes
  // catering (synced without stores: they stay, recategorized), then goes offline.
  b.category = "catering";
  b.stores.reset();
  Upsert(*node_, {b});
  Refresh(index, 8);
  EXPECT_TRUE(Distances(index, 1000, 2).empty());
  EXPECT_EQ(Distances(index, 1000, 1), (std::vector<int64_t>{50, 150, 300}));
  b.status = "offline";
  Upsert(*node_, {b});
  Refresh(index, 9);
  EXPECT_EQ(Distances(index, 1000, -1), (std::vector<int64_t>{50, 300}));

  // And the page built from it is the database's.
  NearbyParams p;
  p.lat = kLat;
  p.lng = kLng;
  p.radius_m = 1000;
  auto from_memory = NearbyJson(*node_, &index, p);
  auto from_db = NearbyJson(*node_, p);
  ASSERT_TRUE(from_memory.ok() && from_db.ok());
  EXPECT_EQ(json::serialize(*from_memory), json::serialize(*from_db));
  EXPECT_EQ(from_memory->at("items").as_array().size(), 2u);

  // A copy started now loads the same points.
  GeoPointIndex fresh(clock);
  Refresh(fresh, 9);
  EXPECT_EQ(Distances(fresh, 1000, -1), (std::vector<int64_t>{50, 300}));
}

void GeoPointIndexTest::BurstFromAnotherNode(bool background) {
  uint64_t seed = 29;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ULL << 53);
  };
  const std::vector<std::string> categories{"catering", "hotel", "beauty", "script_murder"};
  // 100 deals of 120 stores each, within 2 km (dense) or 6 km. A store's id is new at
  // every sync (one store, one position).
  int synced = 0;
  auto stores_of = [&] {
    std::vector<protocol::StoreIndexEntry> out;
    ++synced;
    for (int i = 0; i < 120; ++i) {
      const double spread = i % 4 == 0 ? 6000 : 2000;
      out.push_back(StoreAt("g" + std::to_string(synced) + "_s" + std::to_string(i),
                            spread * (2 * next() - 1), spread * (2 * next() - 1)));
    }
    return out;
  };
  std::vector<protocol::DealIndexEntry> deals;
  for (int d = 0; d < 100; ++d) {
    auto deal = Deal("deal_" + std::to_string(d), categories[static_cast<size_t>(d) % categories.size()]);
    deal.stores = stores_of();
    deals.push_back(std::move(deal));
  }
  Upsert(*other_, deals);

  ManualClockForTest clock(1'000);
  GeoPointIndex index(clock);
  auto wait_loaded = [&index] {
    for (int i = 0; i < 2'000 && !index.LoadedForTest(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(index.LoadedForTest());
  };
  if (background) {
    index.StartBackground(*node_);
    wait_loaded();
    // The loader clears Starting() a moment after it installs the copy (it logs in between).
    for (int i = 0; i < 2'000 && index.Starting(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_FALSE(index.Starting());
  }
  auto compare = [&](int step) {
    for (int q = 0; q < 6; ++q) {
      NearbyParams p;
      p.lat = kLat + LatDegreesFor(2500 * (2 * next() - 1));
      p.lng = kLng + LngDegreesFor(2500 * (2 * next() - 1), kLat);
      p.radius_m = 200 + next() * 5000;
      if (q % 3 == 0) p.category = categories[static_cast<size_t>(next() * 4)];
      p.limit = 1 + static_cast<int64_t>(next() * 50);
      if (q % 2 == 1) p.cursor = EncodeOffsetCursor(static_cast<int64_t>(next() * 60));
      auto from_memory = NearbyJson(*node_, &index, p);
      auto from_db = NearbyJson(*node_, p);
      ASSERT_TRUE(from_memory.ok() && from_db.ok());
      EXPECT_EQ(json::serialize(*from_memory), json::serialize(*from_db))
          << "step " << step << " query " << q;
    }
  };
  compare(-1);
  EXPECT_TRUE(index.LoadedForTest());
  // 100 re-syncs of 120 stores each from the other node (each logs the old ids and the new:
  // 24,000 changes, about 11,000 new points), some recategorized or taken offline and back;
  // answers after each.
  for (int step = 0; step < 100; ++step) {
    auto& deal = deals[static_cast<size_t>(step * 37) % deals.size()];
    deal.stores = stores_of();
    if (step % 9 == 4) deal.category = categories[static_cast<size_t>(step) % categories.size()];
    deal.status = step % 11 == 5 ? "offline" : "online";
    Upsert(*other_, {deal});
    clock.Advance(1'000);
    compare(step);
  }
  // The copy was used (not the database path) and merged its delta into a new base.
  EXPECT_TRUE(index.LoadedForTest());
  if (background) {
    for (int i = 0; i < 2'000 && index.FoldsForTest() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  EXPECT_GE(index.FoldsForTest(), 1);
  compare(100);

  // A bulk load from the other node (one reload marker, no entry per store) reloads the copy.
  auto bulk = Deal("deal_bulk", "hotel");
  bulk.stores = stores_of();
  auto s = other_->Write([&](storage::Tx& tx) { return IndexNewDealStoresInBulk(tx, app_, {bulk}); });
  ASSERT_TRUE(s.ok()) << s.error().internal;
  bulk.stores.reset();
  Upsert(*other_, {bulk});
  const size_t before = index.SizeForTest();
  clock.Advance(1'000);
  compare(101);  // meanwhile (background: the database path) still the database's answers
  if (background) wait_loaded();
  compare(102);
  EXPECT_EQ(index.SizeForTest(), before + 120);
}

TEST_F(GeoPointIndexTest, ABurstOfChangesKeepsTheDatabasesAnswersLoadedInTheBackground) {
  BurstFromAnotherNode(true);
}

TEST_F(GeoPointIndexTest, ABurstOfChangesKeepsTheDatabasesAnswersLoadedByRequests) {
  BurstFromAnotherNode(false);
}

}  // namespace
}  // namespace hutong::host::search
