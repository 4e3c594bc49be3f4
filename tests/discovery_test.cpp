// Discovery over real HTTP on the seeded demo, on SQLite and PostgreSQL: nearby ordering
// and radius edges, search ranking by relevance, distance and sales, campaigns first for
// their keywords, the provider's own syncs reaching the host through its outbox, the
// campaign API, and flash-sale window edges and stock under concurrency.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>
#include <tuple>

#include "common/clock.h"
#include "common/geo.h"
#include "common/ids.h"
#include "host/host.h"
#include "host/search/nearby.h"
#include "protocol/open_api_client.h"
#include "provider/campaigns/campaigns.h"
#include "provider/orders/orders.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

// A spot far from every demo store (western Sichuan), and points due north of it at
// exact distances: along a meridian the haversine distance is R × Δlat.
constexpr double kLat = 30.0, kLng = 100.0;
double North(double meters) {
  return kLat + LatDegreesFor(meters);
}

constexpr storage::Query kGeoStore{
    "test.discovery.geo_store", storage::Access::kRead,
    "SELECT g.lat, g.lng, g.name FROM geo_stores g JOIN app_deals d "
    "ON d.app_id = g.app_id AND d.deal_id = g.deal_id WHERE d.status = 'online' "
    "ORDER BY g.id LIMIT 1"};
constexpr storage::Query kPlainDeals{
    "test.discovery.plain_deals", storage::Access::kRead,
    "SELECT id, price_fen FROM deals WHERE type IN ('set_meal', 'voucher') AND status = 'online' "
    "AND id NOT IN (SELECT deal_id FROM campaign_deals) ORDER BY id LIMIT 3"};
constexpr storage::Query kSetStock{"test.discovery.set_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = 0 "
                                   "WHERE id = $1"};
constexpr storage::Query kDealStock{"test.discovery.deal_stock", storage::Access::kRead,
                                    "SELECT stock_left FROM deals WHERE id = $1"};
constexpr storage::Query kCampaignStock{
    "test.discovery.campaign_stock", storage::Access::kRead,
    "SELECT cd.stock_left FROM campaign_deals cd JOIN campaigns c ON c.id = cd.campaign_id "
    "WHERE c.slug = $1 AND cd.deal_id = $2"};
constexpr storage::Query kCampaignWindow{"test.discovery.campaign_window", storage::Access::kRead,
                                         "SELECT starts_at, ends_at FROM campaigns WHERE slug = $1"};
constexpr storage::Query kCampaignCount{"test.discovery.campaign_count", storage::Access::kRead,
                                        "SELECT COUNT(*) FROM campaigns"};
constexpr storage::Query kOrders{"test.discovery.orders", storage::Access::kRead,
                                 "SELECT COUNT(*) FROM orders WHERE deal_id = $1 AND status <> 'cancelled'"};
constexpr storage::Query kOutbox{"test.discovery.outbox", storage::Access::kRead,
                                 "SELECT COUNT(*) FROM host_sync_outbox"};

class DiscoveryTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    h_ = node_->host_url();
    p_ = node_->provider_url();
    const auto [app_id, secret] = LocalAppCredentials();
    app_id_ = app_id;
    client_ = std::make_unique<protocol::OpenApiClient>(
        protocol::OpenApiClient::Create({h_, app_id, secret}, SystemClock::Instance()).value());
  }

  json::object Page(const std::string& url) {
    auto r = Get(url);
    EXPECT_EQ(r.status, 200) << url << ": " << r.body;
    if (r.status != 200) return json::object{{"items", json::array()}, {"next_cursor", nullptr}};
    return ParseBody(r).as_object();
  }
  json::object Nearby(const std::string& query) { return Page(h_ + "/api/nearby?" + query); }
  json::object Search(const std::string& q, const std::string& extra = "") {
    return Page(h_ + "/api/search?q=" + UrlEncode(q) + extra);
  }
  static std::vector<std::string> Field(const json::object& page, const char* field) {
    std::vector<std::string> out;
    for (const auto& it : page.at("items").as_array()) out.emplace_back(it.at(field).as_string());
    return out;
  }

  void Sync(const json::array& deals) {
    auto r =
        client_->CallJson("POST", "/open/v1/deals/sync", json::serialize(json::object{{"deals", deals}}));
    ASSERT_TRUE(r.ok()) << r.error().detail;
  }
  static json::object Deal(const std::string& id, const std::string& title, const std::string& category,
                           int64_t sales) {
    return json::object{
        {"deal_id", id},        {"title", title}, {"brand_name", "测试"}, {"type", "set_meal"},
        {"category", category}, {"city", "成都"}, {"price_fen", 5000},    {"original_price_fen", 8000},
        {"sales", sales}};
  }
  static json::object Store(const std::string& id, double lat, double lng) {
    return json::object{
        {"store_id", id}, {"name", "店" + id}, {"address", "测试路 1 号"}, {"lat", lat}, {"lng", lng}};
  }

  std::string Login(const std::string& account) {
    auto r =
        Post(p_ + "/merchant/v1/auth/login", R"({"account":")" + account + R"(","password":"demo-pass-1"})");
    EXPECT_EQ(r.status, 200) << r.body;
    return "Bearer " + std::string(ParseBody(r).at("token").as_string());
  }

  // Polls `probe` until it holds (the host sync job runs every second).
  template <typename F>
  bool Eventually(F probe) {
    for (int i = 0; i < 150; ++i) {
      if (probe()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string h_, p_, app_id_;
  std::unique_ptr<protocol::OpenApiClient> client_;
};

TEST_P(DiscoveryTest, NearbySortsByDistanceWithExactRadiusEdges) {
  const double east_lng = kLng + LngDegreesFor(500, kLat) / 1.0001;  // a little under 500 m east
  json::object a = Deal("deal_near_a", "近店火锅套餐", "catering", 1);
  a["stores"] = json::array{Store("s_200", North(200), kLng), Store("s_1000", North(1000), kLng)};
  json::object b = Deal("deal_near_b", "近店酒店", "hotel", 1);
  b["stores"] = json::array{Store("s_200", North(200), kLng), Store("s_east", kLat, east_lng)};
  Sync({a, b});
  const std::string at = "lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng);

  auto in999 = Nearby(at + "&radius_m=999");
  EXPECT_EQ(Field(in999, "store_id"), (std::vector<std::string>{"s_200", "s_east"}));
  auto in1000 = Nearby(at + "&radius_m=1000");
  EXPECT_EQ(Field(in1000, "store_id"), (std::vector<std::string>{"s_200", "s_east", "s_1000"}));
  EXPECT_EQ(Field(Nearby(at + "&radius_m=1001"), "store_id"), Field(in1000, "store_id"));
  const auto& items = in1000.at("items").as_array();
  EXPECT_EQ(items[0].at("distance_m").as_int64(), 200);
  EXPECT_EQ(items[2].at("distance_m").as_int64(), 1000);
  EXPECT_EQ(items[0].at("deals").as_array().size(), 2u);  // one store, both deals
  EXPECT_EQ(items[0].at("app_id").as_string(), app_id_);
  EXPECT_NE(
      std::string(items[0].at("deals").at(0).at("deal_url").as_string()).find("/mp/v1/deals/deal_near_"),
      std::string::npos);

  // Category filters the deals, and with them the stores.
  auto hotels = Nearby(at + "&radius_m=1000&category=hotel");
  EXPECT_EQ(Field(hotels, "store_id"), (std::vector<std::string>{"s_200", "s_east"}));
  EXPECT_EQ(hotels.at("items").at(0).at("deals").as_array().size(), 1u);

  // Pages of one walk the same order.
  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 5; ++i) {
    auto page = Nearby(at + "&radius_m=1000&limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& s : Field(page, "store_id")) paged.push_back(s);
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(paged, Field(in1000, "store_id"));

  // Offline deals leave; a resync with stores replaces them.
  b["status"] = "offline";
  a["stores"] = json::array{Store("s_200", North(200), kLng)};
  Sync({a, b});
  auto after = Nearby(at + "&radius_m=1000");
  EXPECT_EQ(Field(after, "store_id"), (std::vector<std::string>{"s_200"}));
  EXPECT_EQ(after.at("items").at(0).at("deals").as_array().size(), 1u);

  // The demo's stores are indexed too: standing at one finds it at 0 m.
  auto host_db = OpenHostDb();
  auto demo = RunQuery(*host_db, kGeoStore);
  ASSERT_EQ(demo.size(), 1u);
  auto here = Nearby("lat=" + std::to_string(demo[0].Double(0)) +
                     "&lng=" + std::to_string(demo[0].Double(1)) + "&radius_m=50");
  ASSERT_FALSE(here.at("items").as_array().empty());
  EXPECT_EQ(here.at("items").at(0).at("name").as_string(), demo[0].Str(2));
  EXPECT_EQ(here.at("items").at(0).at("distance_m").as_int64(), 0);
}

// A city centre denser than any one read of the index (21,000 stores within 400 m, more
// than the 20,000 rows the first version read from a box): the first pages are still the
// true nearest, in order, with and without a category, as a full scan computes them.
TEST_P(DiscoveryTest, NearbyInADenseCentreReturnsTheTrueNearestFirst) {
  struct Placed {
    double distance;
    std::string store_id;
    bool hotel;
  };
  std::vector<Placed> all;
  uint64_t seed = 42;
  auto next = [&seed] {  // a fixed LCG: the same points on every run
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ULL << 53);
  };
  constexpr int kDeals = 105, kStoresPerDeal = 200;
  json::array batch;
  for (int d = 0; d < kDeals; ++d) {
    const bool hotel = d % 3 == 0;
    json::object deal =
        Deal("deal_dense_" + std::to_string(d), "密集店套餐", hotel ? "hotel" : "catering", 1);
    json::array stores;
    for (int i = 0; i < kStoresPerDeal; ++i) {
      const std::string id = "s_dense_" + std::to_string(d * kStoresPerDeal + i);
      const double lat = kLat + LatDegreesFor(800 * next() - 400);
      const double lng = kLng + LngDegreesFor(800 * next() - 400, kLat);
      stores.push_back(Store(id, lat, lng));
      all.push_back({HaversineMeters(kLat, kLng, lat, lng), id, hotel});
    }
    deal["stores"] = std::move(stores);
    batch.push_back(std::move(deal));
    if (batch.size() == 30 || d == kDeals - 1) {
      Sync(batch);
      batch.clear();
    }
  }
  std::sort(all.begin(), all.end(), [](const Placed& a, const Placed& b) { return a.distance < b.distance; });
  const std::string at = "lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng) + "&radius_m=1000";

  // Three pages of 50 walk the nearest 150 in order.
  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 3; ++i) {
    auto page = Nearby(at + "&limit=50" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_FALSE(page.at("next_cursor").is_null());
    for (auto& s : Field(page, "store_id")) paged.push_back(s);
    cursor = std::string(page.at("next_cursor").as_string());
  }
  ASSERT_EQ(paged.size(), 150u);
  for (size_t i = 0; i < paged.size(); ++i) EXPECT_EQ(paged[i], all[i].store_id) << "rank " << i;
  auto first = Nearby(at + "&limit=5");
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(first.at("items").at(i).at("distance_m").as_int64(), std::llround(all[i].distance));
  }

  // With a category, the nearest of that category.
  std::vector<std::string> hotels;
  for (const auto& p : all) {
    if (p.hotel && hotels.size() < 20) hotels.push_back(p.store_id);
  }
  EXPECT_EQ(Field(Nearby(at + "&category=hotel"), "store_id"), hotels);

  // A small radius ends the list at its edge.
  auto in10 =
      Nearby("lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng) + "&radius_m=10&limit=50");
  size_t within10 = 0;
  while (within10 < all.size() && all[within10].distance <= 10) ++within10;
  EXPECT_EQ(in10.at("items").as_array().size(), within10);
  EXPECT_TRUE(in10.at("next_cursor").is_null());

  // Paging reaches the nearest 1,000 stores and stops there.
  size_t reached = 0;
  cursor.clear();
  for (int i = 0; i < 25; ++i) {
    auto page = Nearby(at + "&limit=50" + (cursor.empty() ? "" : "&cursor=" + cursor));
    reached += page.at("items").as_array().size();
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(reached, 1000u);
}

TEST_P(DiscoveryTest, NearbyRejectsBadParameters) {
  for (const char* q : {"", "lat=30", "lng=100", "lat=91&lng=100", "lat=30&lng=181", "lat=abc&lng=100",
                        "lat=30&lng=100&radius_m=0", "lat=30&lng=100&radius_m=50001",
                        "lat=30&lng=100&radius_m=x", "lat=30&lng=100&category=food", "lat=30&lng=100&limit=0",
                        "lat=30&lng=100&limit=51", "lat=30&lng=100&cursor=nonsense", "lat=nan&lng=100"}) {
    ExpectProblem(Get(h_ + "/api/nearby?" + q), 400, "validation_failed");
  }
  EXPECT_EQ(Get(h_ + "/api/nearby?lat=30&lng=100&radius_m=50000").status, 200);

  // A store without coordinates, or stores that are not a list, are refused whole.
  json::object bad = Deal("deal_bad_store", "坏门店", "catering", 0);
  bad["stores"] = json::array{json::object{{"store_id", "s1"}, {"name", "无坐标"}}};
  auto r = client_->Call("POST", "/open/v1/deals/sync",
                         json::serialize(json::object{{"deals", json::array{bad}}}));
  ASSERT_TRUE(r.ok());
  ExpectProblem(*r, 400, "validation_failed");
  bad["stores"] = "s1";
  r = client_->Call("POST", "/open/v1/deals/sync",
                    json::serialize(json::object{{"deals", json::array{bad}}}));
  ExpectProblem(*r, 400, "validation_failed");
  EXPECT_TRUE(Search("坏门店").at("items").as_array().empty());
}

// The category prunes in the geo index (host v15): a rare category is found behind
// thousands of nearer stores of another, nearest first at its true distance, and the index
// follows its deals' syncs: a category changed by a sync without stores, a deal gone offline.
TEST_P(DiscoveryTest, NearbyByCategoryFindsARareOneFarAwayAndFollowsSyncs) {
  // 6,000 catering stores within 400 m: more than one read of the index holds.
  uint64_t seed = 7;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(seed >> 11) / static_cast<double>(1ULL << 53);
  };
  json::array batch;
  for (int d = 0; d < 30; ++d) {
    json::object deal = Deal("deal_crowd_" + std::to_string(d), "人海餐厅套餐", "catering", 1);
    json::array stores;
    for (int i = 0; i < 200; ++i) {
      stores.push_back(Store("s_crowd_" + std::to_string(d * 200 + i),
                             kLat + LatDegreesFor(800 * next() - 400),
                             kLng + LngDegreesFor(800 * next() - 400, kLat)));
    }
    deal["stores"] = std::move(stores);
    batch.push_back(std::move(deal));
  }
  Sync(batch);
  json::object murder = Deal("deal_murder", "远方剧本杀", "script_murder", 1);
  murder["stores"] =
      json::array{Store("s_murder_4000", North(4000), kLng), Store("s_murder_3000", North(3000), kLng)};
  json::object stay = Deal("deal_stay", "近处民宿", "homestay", 1);
  stay["stores"] = json::array{Store("s_stay_100", North(100), kLng)};
  Sync({murder, stay});
  const std::string at = "lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng) + "&radius_m=5000";

  auto murders = Nearby(at + "&category=script_murder");
  EXPECT_EQ(Field(murders, "store_id"), (std::vector<std::string>{"s_murder_3000", "s_murder_4000"}));
  ASSERT_EQ(murders.at("items").as_array().size(), 2u);
  EXPECT_EQ(murders.at("items").at(0).at("distance_m").as_int64(), 3000);
  EXPECT_EQ(murders.at("items").at(1).at("distance_m").as_int64(), 4000);
  EXPECT_EQ(murders.at("items").at(0).at("deals").at(0).at("category").as_string(), "script_murder");
  EXPECT_EQ(Field(Nearby(at + "&category=script_murder&limit=1"), "store_id"),
            (std::vector<std::string>{"s_murder_3000"}));
  EXPECT_EQ(Field(Nearby("lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng) +
                         "&radius_m=3500&category=script_murder"),
                  "store_id"),
            (std::vector<std::string>{"s_murder_3000"}));
  EXPECT_EQ(Field(Nearby(at + "&category=homestay"), "store_id"), (std::vector<std::string>{"s_stay_100"}));
  EXPECT_TRUE(Nearby(at + "&category=beauty").at("items").as_array().empty());
  auto catering = Nearby(at + "&category=catering&limit=50");
  ASSERT_EQ(catering.at("items").as_array().size(), 50u);
  for (const auto& it : catering.at("items").as_array()) {
    EXPECT_EQ(std::string(it.at("store_id").as_string()).rfind("s_crowd_", 0), 0u) << it;
  }

  // The homestay deal becomes a script murder, synced without its stores: they stay, now
  // under the new category only.
  stay["category"] = "script_murder";
  Sync({stay});
  EXPECT_TRUE(Nearby(at + "&category=homestay").at("items").as_array().empty());
  murders = Nearby(at + "&category=script_murder");
  EXPECT_EQ(Field(murders, "store_id"),
            (std::vector<std::string>{"s_stay_100", "s_murder_3000", "s_murder_4000"}));
  EXPECT_EQ(murders.at("items").at(0).at("distance_m").as_int64(), 100);

  // The far deal goes offline: its stores leave the category.
  murder["status"] = "offline";
  Sync({murder});
  EXPECT_EQ(Field(Nearby(at + "&category=script_murder"), "store_id"),
            (std::vector<std::string>{"s_stay_100"}));
  // And back, with one store moved nearer.
  murder["status"] = "online";
  murder["stores"] = json::array{Store("s_murder_2000", North(2000), kLng)};
  Sync({murder});
  EXPECT_EQ(Field(Nearby(at + "&category=script_murder"), "store_id"),
            (std::vector<std::string>{"s_stay_100", "s_murder_2000"}));
}

TEST_P(DiscoveryTest, SearchRanksByRelevanceThenDistanceThenSales) {
  // Same words, so the same relevance: nearest first with a position, best-selling without.
  json::object d1 = Deal("deal_rank_1", "zqxv烤串双人餐", "catering", 10);
  d1["lat"] = North(1000);
  d1["lng"] = kLng;
  json::object d2 = Deal("deal_rank_2", "zqxv烤串双人餐", "catering", 50);
  d2["stores"] = json::array{Store("s_rank_2", North(3000), kLng)};  // lat/lng from its store
  json::object d3 = Deal("deal_rank_3", "zqxv烤串双人餐", "catering", 30);
  d3["lat"] = North(2000);
  d3["lng"] = kLng;
  json::object shanghai = Deal("deal_rank_sh", "zqxv烤串双人餐", "catering", 99);
  shanghai["city"] = "上海";
  json::object hotel = Deal("deal_rank_hotel", "zqxv烤串双人餐", "hotel", 0);
  // More words of the query in a shorter document: more relevant, whatever the distance.
  json::object best = Deal("deal_rank_best", "zqxv烤串", "catering", 0);
  best["brand_name"] = "";
  Sync({d1, d2, d3, shanghai, hotel, best});

  const std::string city = "&city=" + UrlEncode("成都") + "&category=catering";
  auto by_sales = Search("zqxv 烤串", city);
  EXPECT_EQ(Field(by_sales, "id"),
            (std::vector<std::string>{"deal_rank_best", "deal_rank_2", "deal_rank_3", "deal_rank_1"}));
  EXPECT_TRUE(by_sales.at("items").at(1).at("distance_m").is_null());

  const std::string here = "&lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng);
  auto by_distance = Search("zqxv 烤串", city + here);
  EXPECT_EQ(Field(by_distance, "id"),
            (std::vector<std::string>{"deal_rank_best", "deal_rank_1", "deal_rank_3", "deal_rank_2"}));
  EXPECT_EQ(by_distance.at("items").at(1).at("distance_m").as_int64(), 1000);
  EXPECT_EQ(by_distance.at("items").at(3).at("distance_m").as_int64(), 3000);

  // Filters: no city → the 上海 deal joins; hotel only → just the hotel.
  EXPECT_EQ(Search("zqxv", "&category=catering").at("items").as_array().size(), 5u);
  EXPECT_EQ(Field(Search("zqxv", "&category=hotel"), "id"), (std::vector<std::string>{"deal_rank_hotel"}));

  // Paging keeps the distance order.
  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 5; ++i) {
    auto page = Search("zqxv 烤串", city + here + "&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    for (auto& s : Field(page, "id")) paged.push_back(s);
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(paged, Field(by_distance, "id"));

  ExpectProblem(Get(h_ + "/api/search?q=zqxv&lat=30"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/search?q=zqxv&lat=30&lng=200"), 400, "validation_failed");
}

// With a position, matches the filter drops (the deals of a disabled app, still in the
// index) are skipped on every page, also when they are the nearest of their length, and
// the pages that follow still hold the rest in distance order.
TEST_P(DiscoveryTest, SearchWithAPositionSkipsADisabledAppsDealsOnEveryPage) {
  const std::vector<std::pair<std::string, std::string>> admin{
      {"Authorization", "Bearer " + config_.admin_token}};
  auto r = Post(h_ + "/api/admin/apps",
                json::serialize(json::object{{"name", "second"},
                                             {"service_url", "http://127.0.0.1:9/mp"},
                                             {"notify_url", "http://127.0.0.1:9/hook"}}),
                admin);
  ASSERT_EQ(r.status, 201) << r.body;
  const auto app = ParseBody(r).as_object();
  const std::string other_id(app.at("app_id").as_string());
  auto other = protocol::OpenApiClient::Create({h_, other_id, std::string(app.at("app_secret").as_string())},
                                               SystemClock::Instance())
                   .value();
  auto located = [](const std::string& id, double meters, int64_t sales) {
    json::object d = Deal(id, "qzjw烤串双人餐", "catering", sales);
    d["lat"] = North(meters);
    d["lng"] = kLng;
    return d;
  };
  Sync({located("deal_dis_1", 1000, 10), located("deal_dis_2", 2000, 40), located("deal_dis_3", 3000, 30),
        located("deal_dis_4", 4000, 20)});
  json::array theirs{located("deal_dis_a", 500, 50), located("deal_dis_b", 1500, 5),
                     located("deal_dis_c", 3500, 60)};
  auto synced =
      other.CallJson("POST", "/open/v1/deals/sync", json::serialize(json::object{{"deals", theirs}}));
  ASSERT_TRUE(synced.ok()) << synced.error().detail;

  const std::string here = "&lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng);
  auto walk = [&](int64_t limit) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int i = 0; i < 10; ++i) {
      auto page = Search("qzjw 烤串", here + "&limit=" + std::to_string(limit) +
                                          (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)));
      for (auto& id : Field(page, "id")) ids.push_back(id);
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    return ids;
  };
  const std::vector<std::string> all{"deal_dis_a", "deal_dis_1", "deal_dis_b", "deal_dis_2",
                                     "deal_dis_3", "deal_dis_c", "deal_dis_4"};
  EXPECT_EQ(walk(20), all);
  EXPECT_EQ(walk(2), all);

  ASSERT_EQ(Post(h_ + "/api/admin/apps/" + other_id + "/disable", "", admin).status, 200);
  const std::vector<std::string> ours{"deal_dis_1", "deal_dis_2", "deal_dis_3", "deal_dis_4"};
  EXPECT_EQ(walk(20), ours);
  EXPECT_EQ(walk(3), ours);
  EXPECT_EQ(walk(1), ours);
}

// Many documents match, in several lengths: pages walk them in rank order (shorter first,
// then nearer with a position, then best-selling), filters hold on every page, and every
// sync shows at once, also where the same first page was just answered (and cached).
TEST_P(DiscoveryTest, SearchPagesFollowTheRankAndEverySync) {
  const char* titles[] = {"qwzx烤串", "qwzx烤串双人餐", "qwzx烤串双人餐加饮料"};
  json::array deals;
  std::vector<std::string> expected;  // length first, then sales descending
  for (int len = 0; len < 3; ++len) {
    for (int k = 0; k < 4; ++k) {
      const std::string id = "deal_pg_" + std::to_string(len) + "_" + std::to_string(k);
      json::object d = Deal(id, titles[len], "catering", 100 - 10 * k);
      d["brand_name"] = "";
      if (len == 0) {  // nearest is the worst-selling
        d["lat"] = North(4000 - 1000 * k);
        d["lng"] = kLng;
      }
      deals.push_back(d);
      expected.push_back(id);
    }
  }
  json::object other_city = Deal("deal_pg_sh", titles[0], "catering", 500);
  other_city["brand_name"] = "";
  other_city["city"] = "上海";
  json::object hotel = Deal("deal_pg_hotel", titles[0], "hotel", 400);
  hotel["brand_name"] = "";
  deals.push_back(other_city);
  deals.push_back(hotel);
  Sync(deals);

  auto walk = [&](const std::string& extra, int64_t limit) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int i = 0; i < 20; ++i) {
      auto page = Search("qwzx 烤串", extra + "&limit=" + std::to_string(limit) +
                                          (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)));
      for (auto& id : Field(page, "id")) ids.push_back(id);
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    return ids;
  };
  const std::string chengdu = "&city=" + UrlEncode("成都") + "&category=catering";
  EXPECT_EQ(walk(chengdu, 5), expected);
  EXPECT_EQ(Field(Search("qwzx 烤串", chengdu), "id"), expected);  // one page of 20
  // Without filters the 上海 deal (sales 500) and the hotel (400) lead the shortest.
  auto all = walk("", 4);
  ASSERT_EQ(all.size(), expected.size() + 2);
  EXPECT_EQ(std::vector<std::string>(all.begin(), all.begin() + 2),
            (std::vector<std::string>{"deal_pg_sh", "deal_pg_hotel"}));
  EXPECT_EQ(std::vector<std::string>(all.begin() + 2, all.end()), expected);
  EXPECT_EQ(Field(Search("qwzx", "&category=hotel"), "id"), (std::vector<std::string>{"deal_pg_hotel"}));

  // With a position: the shortest by distance (nearest first), then the others by sales.
  std::vector<std::string> by_distance = {"deal_pg_0_3", "deal_pg_0_2", "deal_pg_0_1", "deal_pg_0_0"};
  by_distance.insert(by_distance.end(), expected.begin() + 4, expected.end());
  const std::string here = "&lat=" + std::to_string(kLat) + "&lng=" + std::to_string(kLng);
  EXPECT_EQ(walk(chengdu + here, 3), by_distance);

  // Sales change the order inside a length at once (the cached first page included) ...
  auto first = Search("qwzx 烤串", chengdu + "&limit=5");
  ASSERT_EQ(Field(first, "id")[0], "deal_pg_0_0");
  json::object d = deals[3].as_object();  // deal_pg_0_3, now the best seller of its length
  d["sales"] = 1000;
  Sync({d});
  EXPECT_EQ(Field(Search("qwzx 烤串", chengdu + "&limit=5"), "id")[0], "deal_pg_0_3");
  // ... a longer title moves it behind every shorter document, whatever it sells ...
  d["title"] = titles[2];
  Sync({d});
  auto moved = walk(chengdu, 5);
  ASSERT_EQ(moved.size(), expected.size());
  EXPECT_EQ(moved[0], "deal_pg_0_0");
  EXPECT_EQ(moved[3 + 4], "deal_pg_0_3");  // after 3 short and 4 middle ones: first of the longest
  // ... and a new title leaves the old words.
  d["title"] = "qwzx鸡翅";
  Sync({d});
  EXPECT_EQ(walk(chengdu, 5).size(), expected.size() - 1);
  EXPECT_EQ(Field(Search("鸡翅", chengdu), "id"), (std::vector<std::string>{"deal_pg_0_3"}));
}

TEST_P(DiscoveryTest, DemoCampaignComesFirstForItsKeywords) {
  for (const char* q : {"新年好食记", "年夜饭", "好食记"}) {
    auto page = Search(q);
    ASSERT_FALSE(page.at("items").as_array().empty()) << q;
    const auto& first = page.at("items").at(0).as_object();
    EXPECT_EQ(first.at("kind").as_string(), "campaign") << q;
    EXPECT_EQ(first.at("slug").as_string(), "xinnian-haoshiji") << q;
    EXPECT_EQ(first.at("status").as_string(), "running");
    EXPECT_TRUE(std::string(first.at("ends_at").as_string()).ends_with("T23:59:59.000+08:00"))
        << first.at("ends_at");
    // The campaign page it links to is the provider's.
    auto campaign = Get(std::string(first.at("campaign_url").as_string()));
    EXPECT_EQ(campaign.status, 200) << campaign.body;
  }
  // Later pages and other words carry no campaign.
  const auto hotpot = Search("火锅");
  ASSERT_FALSE(hotpot.at("items").as_array().empty());
  for (const auto& it : hotpot.at("items").as_array()) EXPECT_NE(it.at("kind").as_string(), "campaign");
  auto page1 = Search("新年", "&limit=1");
  EXPECT_EQ(page1.at("items").at(0).at("kind").as_string(), "campaign");  // 新年 is a keyword too
  ASSERT_FALSE(page1.at("next_cursor").is_null());
  auto page2 = Search("新年", "&limit=1&cursor=" + std::string(page1.at("next_cursor").as_string()));
  for (const auto& it : page2.at("items").as_array()) EXPECT_NE(it.at("kind").as_string(), "campaign");
}

TEST_P(DiscoveryTest, CampaignApiValidatesAndSyncsToTheHost) {
  auto provider_db = OpenProviderDb();
  auto deals = RunQuery(*provider_db, kPlainDeals);
  ASSERT_GE(deals.size(), 2u);
  const std::string deal1 = deals[0].Str(0), deal2 = deals[1].Str(0);
  const int64_t price1 = deals[0].Int(1);
  const std::string ops = Login("ops"), merchant = Login("coucou");
  json::object body{
      {"slug", "zqxv-flash"},
      {"title", "zqxv 限时闪购"},
      {"keywords", json::array{"zqxv闪购", "周五秒杀"}},
      {"starts_at", "2030-01-01T10:00:00+08:00"},
      {"ends_at", "2030-01-03T23:59:59Z"},
      {"deals",
       json::array{
           json::object{
               {"deal_id", deal1}, {"campaign_price_fen", price1 - 1}, {"stock", 30}, {"per_user_limit", 2}},
           json::object{{"deal_id", deal2}, {"campaign_price_fen", 1}, {"stock", 5}}}}};
  const std::string url = p_ + "/ops/v1/campaigns";
  const int64_t campaigns_before = RunQuery(*provider_db, kCampaignCount)[0].Int(0);

  ExpectProblem(Post(url, json::serialize(body)), 401, "unauthorized");
  ExpectProblem(Post(url, json::serialize(body), {{"Authorization", merchant}}), 403, "forbidden");
  const Headers auth{{"Authorization", ops}};
  ExpectProblem(Post(url, "{nope", auth), 400, "invalid_json");
  auto broken = [&](const char* key, json::value v) {
    json::object b = body;
    if (v.is_null()) {
      b.erase(key);
    } else {
      b[key] = std::move(v);
    }
    return json::serialize(b);
  };
  for (const auto& bad :
       {broken("slug", "Has Spaces"), broken("slug", nullptr), broken("title", ""),
        broken("keywords", json::array{}), broken("keywords", json::array{"a,b"}),
        broken("starts_at", "tomorrow"), broken("ends_at", "2030-01-01T10:00:00+08:00"),
        broken("ends_at", "2020-01-01T00:00:00Z"), broken("deals", json::array{}),
        broken("deals",
               json::array{json::object{{"deal_id", deal1}, {"campaign_price_fen", 0}, {"stock", 1}}}),
        broken("deals",
               json::array{json::object{{"deal_id", deal1}, {"campaign_price_fen", 1}, {"stock", -1}}}),
        broken("deals", json::array{json::object{
                            {"deal_id", deal1}, {"campaign_price_fen", price1 + 1}, {"stock", 1}}}),
        broken("deals",
               json::array{json::object{{"deal_id", deal1}, {"campaign_price_fen", 1}, {"stock", 1}},
                           json::object{{"deal_id", deal1}, {"campaign_price_fen", 1}, {"stock", 1}}})}) {
    ExpectProblem(Post(url, bad, auth), 400, "validation_failed");
  }
  ExpectProblem(Post(url,
                     broken("deals", json::array{json::object{
                                         {"deal_id", "deal_nope"}, {"campaign_price_fen", 1}, {"stock", 1}}}),
                     auth),
                404, "not_found");
  EXPECT_EQ(RunQuery(*provider_db, kCampaignCount)[0].Int(0), campaigns_before);
  ExpectProblem(Get(p_ + "/mp/v1/campaigns/zqxv-flash"), 404, "not_found");

  Headers keyed = auth;
  keyed.emplace_back("Idempotency-Key", "camp-zqxv-1");
  auto created = Post(url, json::serialize(body), keyed);
  ASSERT_EQ(created.status, 201) << created.body;
  auto again = Post(url, json::serialize(body), keyed);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, created.body);
  ExpectProblem(Post(url, json::serialize(body), auth), 409, "conflict");  // slug taken

  auto c = ParseBody(created).as_object();
  EXPECT_EQ(c.at("starts_at").as_string(), "2030-01-01T10:00:00.000+08:00");
  EXPECT_EQ(c.at("ends_at").as_string(), "2030-01-04T07:59:59.000+08:00");
  EXPECT_EQ(c.at("status").as_string(), "upcoming");
  auto window = RunQuery(*provider_db, kCampaignWindow, {std::string("zqxv-flash")});
  EXPECT_EQ(window[0].Int(0), *ParseRfc3339("2030-01-01T02:00:00Z"));  // stored in UTC
  EXPECT_EQ(window[0].Int(1), *ParseRfc3339("2030-01-03T23:59:59Z"));

  auto page = ParseBody(Get(p_ + "/mp/v1/campaigns/zqxv-flash")).as_object();
  ASSERT_EQ(page.at("deals").as_array().size(), 2u);
  for (const auto& d : page.at("deals").as_array()) {
    if (d.at("deal_id").as_string() == deal1) {
      EXPECT_EQ(d.at("campaign_price_fen").as_int64(), price1 - 1);
      EXPECT_EQ(d.at("stock_left").as_int64(), 30);
      EXPECT_EQ(d.at("per_user_limit").as_int64(), 2);
    }
  }

  // The provider tells the host by itself (outbox → signed sync over loopback): the
  // keyword now opens the host's search with the campaign.
  EXPECT_TRUE(Eventually([&] {
    auto s = Search("zqxv闪购");
    return !s.at("items").as_array().empty() && s.at("items").at(0).at("kind") == "campaign" &&
           s.at("items").at(0).at("slug") == "zqxv-flash";
  }));
  auto s = Search("周五秒杀");
  ASSERT_FALSE(s.at("items").as_array().empty());
  EXPECT_EQ(s.at("items").at(0).at("status").as_string(), "upcoming");
  EXPECT_EQ(s.at("items").at(0).at("starts_at").as_string(), "2030-01-01T10:00:00.000+08:00");
  EXPECT_TRUE(Eventually([&] { return RunQuery(*provider_db, kOutbox)[0].Int(0) == 0; }));
}

TEST_P(DiscoveryTest, NewDealReachesHostSearchAndNearbyThroughTheOutbox) {
  const std::string merchant = Login("coucou");
  const Headers auth{{"Authorization", merchant}};
  auto stores = ParseBody(Get(p_ + "/merchant/v1/stores", auth)).at("items").as_array();
  ASSERT_FALSE(stores.empty());
  json::object deal{{"type", "set_meal"},
                    {"category", "catering"},
                    {"title", "湊湊zqxvnew午市套餐"},
                    {"price_fen", 6800},
                    {"original_price_fen", 9800},
                    {"items", json::array{json::object{{"name", "单人锅底"}, {"price_fen", 3800}}}},
                    {"stock", 100},
                    {"valid_from", "2026-01-01T00:00:00+08:00"},
                    {"valid_to", "2036-01-01T00:00:00+08:00"},
                    {"store_ids", json::array{stores[0].at("id")}}};
  auto created = Post(p_ + "/merchant/v1/deals", json::serialize(deal), auth);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string deal_id(ParseBody(created).at("id").as_string());
  EXPECT_TRUE(Eventually([&] {
    auto s = Search("zqxvnew");
    return s.at("items").as_array().size() == 1 && s.at("items").at(0).at("deal_id").as_string() == deal_id;
  }));
  const std::string at = "lat=" + std::to_string(stores[0].at("lat").as_double()) +
                         "&lng=" + std::to_string(stores[0].at("lng").as_double()) + "&radius_m=10";
  auto near = Nearby(at);
  ASSERT_FALSE(near.at("items").as_array().empty());
  bool listed = false;
  for (const auto& d : near.at("items").at(0).at("deals").as_array())
    listed |= d.at("deal_id").as_string() == deal_id;
  EXPECT_TRUE(listed);
}

constexpr storage::Query kForgetHostCampaigns{"test.discovery.forget_host_campaigns", storage::Access::kWrite,
                                              "DELETE FROM campaign_keywords"};
constexpr storage::Query kForgetCatalogSynced{"test.discovery.forget_catalog_synced", storage::Access::kWrite,
                                              "DELETE FROM meta WHERE key LIKE 'host_catalog_synced:%'"};

TEST_P(DiscoveryTest, AHostThatNeverHadTheCatalogGetsItAllAtStart) {
  ASSERT_TRUE(node_->Stop());
  RunQuery(*OpenHostDb(), kForgetHostCampaigns);
  RunQuery(*OpenProviderDb(), kForgetCatalogSynced);
  node_ = std::make_unique<TestNode>(config_);
  h_ = node_->host_url();
  EXPECT_TRUE(Eventually([&] {
    auto s = Search("新年好食记");
    return !s.at("items").as_array().empty() && s.at("items").at(0).at("kind") == "campaign";
  }));
  auto provider_db = OpenProviderDb();
  EXPECT_TRUE(Eventually([&] { return RunQuery(*provider_db, kOutbox)[0].Int(0) == 0; }));

  // Once it has, a restart sends nothing.
  ASSERT_TRUE(node_->Stop());
  node_ = std::make_unique<TestNode>(config_);
  EXPECT_EQ(RunQuery(*provider_db, kOutbox)[0].Int(0), 0);
}

class CampaignFlashSaleTest : public DiscoveryTest {
 protected:
  void SetUp() override {
    DiscoveryTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = OpenProviderDb();
    auto deals = RunQuery(*db_, kPlainDeals);
    ASSERT_GE(deals.size(), 2u);
    deal_ = deals[0].Str(0);
    price_ = deals[0].Int(1);
    other_deal_ = deals[1].Str(0);
    RunQuery(*db_, kSetStock, {deal_, int64_t{100}});
    RunQuery(*db_, kSetStock, {other_deal_, int64_t{1000}});
  }
  provider::MpUser User(const std::string& openid) { return InsertMpUser(*db_, NewId("mpu"), openid); }
  void CreateCampaign(const std::string& slug, const std::string& deal_id, int64_t starts, int64_t ends,
                      int64_t stock, int64_t now) {
    provider::CampaignInput in{slug, "闪购 " + slug, {slug}, starts, ends, {{deal_id, 100, stock, 0}}};
    auto id = db_->Write([&](storage::Tx& tx) { return provider::CreateCampaign(tx, in, now); });
    ASSERT_TRUE(id.ok()) << id.error().detail;
  }
  std::unique_ptr<storage::Db> db_;
  std::string deal_, other_deal_;
  int64_t price_ = 0;
  FakePayOrderGateway gateway_;
};

TEST_P(CampaignFlashSaleTest, WindowEdgesToTheSecond) {
  // Tomorrow at a whole second (the demo deals stay valid for months).
  const int64_t starts = (SystemClock::Instance().NowMs() / 1000 + 86'400) * 1000;
  const int64_t ends = starts + 3600'000;
  ManualClockForTest clock(starts - 60'000);
  CreateCampaign("edge-sale", deal_, starts, ends, 10, clock.NowMs());
  const auto user = User("o_edge");
  auto order = [&] { return provider::PlaceOrder(*db_, gateway_, user, {deal_, 1, {}, {}}, clock.NowMs()); };

  clock.Set(starts - 1000);  // one second early: not started, nothing written
  auto early = order();
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kConflict);
  EXPECT_NE(early.error().detail.find("not started"), std::string::npos) << early.error().detail;
  EXPECT_NE(early.error().detail.find(FormatRfc3339Shanghai(starts)), std::string::npos)
      << early.error().detail;
  EXPECT_TRUE(FormatRfc3339Shanghai(starts).ends_with(".000+08:00"));
  EXPECT_EQ(RunQuery(*db_, kOrders, {deal_})[0].Int(0), 0);
  EXPECT_EQ(RunQuery(*db_, kDealStock, {deal_})[0].Int(0), 100);

  clock.Set(starts);  // at the second it opens: campaign price, campaign stock
  auto first = order();
  ASSERT_TRUE(first.ok()) << first.error().detail;
  EXPECT_EQ(first->amount_fen, 100);
  clock.Set(ends - 1000);  // its last second
  auto last = order();
  ASSERT_TRUE(last.ok()) << last.error().detail;
  EXPECT_EQ(last->amount_fen, 100);
  EXPECT_EQ(RunQuery(*db_, kCampaignStock, {std::string("edge-sale"), deal_})[0].Int(0), 8);
  EXPECT_EQ(RunQuery(*db_, kDealStock, {deal_})[0].Int(0), 100);

  clock.Set(ends);  // ended: the deal's own price and stock again
  auto after = order();
  ASSERT_TRUE(after.ok()) << after.error().detail;
  EXPECT_EQ(after->amount_fen, price_);
  EXPECT_EQ(RunQuery(*db_, kCampaignStock, {std::string("edge-sale"), deal_})[0].Int(0), 8);
  EXPECT_EQ(RunQuery(*db_, kDealStock, {deal_})[0].Int(0), 99);

  // The page shows the window in Shanghai time and the live stock.
  auto page = ParseBody(Get(p_ + "/mp/v1/campaigns/edge-sale")).as_object();
  EXPECT_EQ(page.at("starts_at").as_string(), FormatRfc3339Shanghai(starts));
  EXPECT_EQ(page.at("status").as_string(), "upcoming");  // by the server's real clock
  EXPECT_EQ(page.at("deals").at(0).at("stock_left").as_int64(), 8);
}

TEST_P(CampaignFlashSaleTest, ConcurrentBuyersNeverOversellCampaignStock) {
  const int64_t now = SystemClock::Instance().NowMs();
  CreateCampaign("rush-sale", other_deal_, now - 1000, now + 3600'000, 50, now);
  constexpr int kThreads = 8;
  constexpr int kAttemptsPerThread = 20;
  std::vector<provider::MpUser> users;
  for (int t = 0; t < kThreads; ++t) users.push_back(User("o_rush_" + std::to_string(t)));
  std::atomic<int> sold{0}, out_of_stock{0}, retries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        auto r = provider::PlaceOrder(*db_, gateway_, users[t], {other_deal_, 1, {}, {}},
                                      SystemClock::Instance().NowMs());
        if (r.ok()) {
          EXPECT_EQ(r->amount_fen, 100);
          ++sold;
        } else if (r.error().code == ErrorCode::kOutOfStock) {
          ++out_of_stock;
        } else if (r.error().code == ErrorCode::kUnavailable) {
          if (++retries < 10'000) --i;  // a serialization failure: the client would retry
        } else {
          ADD_FAILURE() << r.error().detail << " " << r.error().internal;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sold.load(), 50);
  EXPECT_EQ(out_of_stock.load(), kThreads * kAttemptsPerThread - 50);
  EXPECT_EQ(RunQuery(*db_, kCampaignStock, {std::string("rush-sale"), other_deal_})[0].Int(0), 0);
  EXPECT_EQ(RunQuery(*db_, kOrders, {other_deal_})[0].Int(0), 50);
  EXPECT_EQ(RunQuery(*db_, kDealStock, {other_deal_})[0].Int(0), 1000);  // the deal's own stock untouched
}

// Host v15 on a geo index written before it: the stores already there are found by their
// deals' categories.
class NearbyMigrationTest : public ::testing::TestWithParam<Backend> {};

TEST_P(NearbyMigrationTest, HostV15IndexesTheCategoriesOfStoresAlreadyThere) {
  FreshDatabases fresh(GetParam());
  storage::DbOptions o;
  o.default_schema = "host";
  auto opened = storage::OpenDb(fresh.host_db(), o);
  ASSERT_TRUE(opened.ok()) << opened.error().internal;
  storage::Db& db = **opened;
  std::vector<storage::Migration> before;
  for (const auto& m : host::HostMigrations())
    if (m.version < 15) before.push_back(m);
  ASSERT_TRUE(storage::Migrate(db, before).ok());
  constexpr storage::Query kApp{
      "test.nearby_migration.app", storage::Access::kWrite,
      "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, created_at) "
      "VALUES ('app_m', 'app', 'http://127.0.0.1:1', 'http://127.0.0.1:1/n', 'x', 0)"};
  constexpr storage::Query kDeal{
      "test.nearby_migration.deal", storage::Access::kWrite,
      "INSERT INTO app_deals (app_id, deal_id, title, type, category, city, price_fen, "
      "original_price_fen, updated_at) VALUES ('app_m', $1, 't', 'set_meal', $2, "
      "'成都', 100, 100, 0)"};
  constexpr storage::Query kStore{
      "test.nearby_migration.store", storage::Access::kWrite,
      "INSERT INTO geo_stores (id, app_id, deal_id, store_id, name, address, lat, lng) "
      "VALUES ($1, 'app_m', $2, $3, 'n', 'a', $4, $5)"};
  constexpr storage::Query kBox{"test.nearby_migration.box", storage::Access::kWrite,
                                "INSERT INTO geo_stores_rtree (id, min_lat, max_lat, min_lng, max_lng) "
                                "VALUES ($1, $2, $2, $3, $3)"};
  RunQuery(db, kApp);
  RunQuery(db, kDeal, {std::string("deal_h"), std::string("hotel")});
  RunQuery(db, kDeal, {std::string("deal_c"), std::string("catering")});
  const std::vector<std::tuple<int64_t, std::string, std::string, double>> stores{
      {1, "deal_h", "s_h_100", North(100)},
      {2, "deal_c", "s_c_50", North(50)},
      {3, "deal_h", "s_h_900", North(900)}};
  for (const auto& [id, deal, store, lat] : stores) {
    RunQuery(db, kStore, {id, deal, store, lat, kLng});
    if (GetParam() == Backend::kSqlite) RunQuery(db, kBox, {id, lat, kLng});
  }
  auto migrated = storage::Migrate(db, host::HostMigrations());
  ASSERT_TRUE(migrated.ok()) << migrated.error().internal;

  auto ids = [&](const std::string& category) {
    host::search::NearbyParams p;
    p.lat = kLat;
    p.lng = kLng;
    p.radius_m = 1000;
    p.category = category;
    auto page = host::search::NearbyJson(db, p);
    EXPECT_TRUE(page.ok()) << page.error().internal;
    std::vector<std::string> out;
    if (!page.ok()) return out;
    for (const auto& it : page->at("items").as_array()) out.emplace_back(it.at("store_id").as_string());
    return out;
  };
  EXPECT_EQ(ids("hotel"), (std::vector<std::string>{"s_h_100", "s_h_900"}));
  EXPECT_EQ(ids("catering"), (std::vector<std::string>{"s_c_50"}));
  EXPECT_EQ(ids(""), (std::vector<std::string>{"s_c_50", "s_h_100", "s_h_900"}));
  EXPECT_TRUE(ids("beauty").empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, NearbyMigrationTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, DiscoveryTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, CampaignFlashSaleTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace hutong::testing
