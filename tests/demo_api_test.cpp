// The demo end to end over real HTTP, on SQLite and on PostgreSQL: the feed lists videos
// whose mounted deals open at the provider, and the deal list pages and filters.
#include <set>

#include "app/demo.h"
#include "provider/catalog/catalog.h"
#include "provider/provider.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

class DemoApiTest : public SeededNodeTest {};

TEST_P(DemoApiTest, FeedMountsOpenAtTheProvider) {
  auto r = Get(node_->host_url() + "/api/feed?limit=50");
  ASSERT_EQ(r.status, 200) << r.body;
  auto feed = ParseBody(r).as_object();
  const auto& items = feed.at("items").as_array();
  ASSERT_GE(items.size(), 10u);
  EXPECT_TRUE(feed.at("next_cursor").is_null());
  size_t mounts_seen = 0;
  for (const auto& item : items) {
    const auto& v = item.as_object();
    EXPECT_FALSE(v.at("title").as_string().empty());
    EXPECT_TRUE(v.at("cover_url").as_string().starts_with("https://"));
    EXPECT_TRUE(v.at("video_url").as_string().starts_with("https://"));
    EXPECT_FALSE(v.at("creator").at("name").as_string().empty());
    const auto& mounts = v.at("mounts").as_array();
    ASSERT_FALSE(mounts.empty()) << v.at("title");
    for (const auto& m : mounts) {
      ++mounts_seen;
      std::string deal_id(m.at("deal_id").as_string());
      std::string url(m.at("deal_url").as_string());
      EXPECT_EQ(url, node_->provider_url() + "/mp/v1/deals/" + deal_id);
      auto deal = Get(url);
      ASSERT_EQ(deal.status, 200) << deal.body;
      auto d = ParseBody(deal).as_object();
      EXPECT_EQ(d.at("id").as_string(), deal_id);
      EXPECT_EQ(d.at("title"), m.at("title"));
      EXPECT_EQ(d.at("price_fen"), m.at("price_fen"));
      EXPECT_EQ(d.at("original_price_fen"), m.at("original_price_fen"));
      EXPECT_FALSE(d.at("stores").as_array().empty());
    }
  }
  EXPECT_GE(mounts_seen, 15u);
}

TEST_P(DemoApiTest, FeedPagesWithCursorWithoutGapsOrRepeats) {
  std::vector<std::string> ids;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    auto r = Get(node_->host_url() + "/api/feed?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = ParseBody(r).as_object();
    for (const auto& item : body.at("items").as_array()) ids.emplace_back(item.at("id").as_string());
    if (body.at("next_cursor").is_null()) break;
    cursor = std::string(body.at("next_cursor").as_string());
  }
  auto all = ParseBody(Get(node_->host_url() + "/api/feed?limit=50")).at("items").as_array();
  ASSERT_EQ(ids.size(), all.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], all[i].at("id").as_string());
  EXPECT_TRUE(std::is_sorted(ids.rbegin(), ids.rend()));  // newest first
}

TEST_P(DemoApiTest, DealListCoversEveryTypeAndCategoryAndPages) {
  std::vector<std::string> ids;
  std::set<std::string> types, categories;
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    auto r =
        Get(node_->provider_url() + "/mp/v1/deals?limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto body = ParseBody(r).as_object();
    const auto& items = body.at("items").as_array();
    EXPECT_LE(items.size(), 4u);
    for (const auto& item : items) {
      ids.emplace_back(item.at("id").as_string());
      types.emplace(item.at("type").as_string());
      categories.emplace(item.at("category").as_string());
      EXPECT_GT(item.at("price_fen").as_int64(), 0);
      EXPECT_GE(item.at("stock_left").as_int64(), 0);
      EXPECT_FALSE(item.at("brand").at("name").as_string().empty());
    }
    if (body.at("next_cursor").is_null()) break;
    cursor = std::string(body.at("next_cursor").as_string());
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "a deal was repeated";
  EXPECT_GE(ids.size(), 17u);
  EXPECT_EQ(types, (std::set<std::string>{"multi_use", "reservation", "set_meal", "voucher"}));
  EXPECT_EQ(categories.size(), 7u);
  // Default page size is 10 (the deal-list benchmark's shape).
  auto first = ParseBody(Get(node_->provider_url() + "/mp/v1/deals")).as_object();
  EXPECT_EQ(first.at("items").as_array().size(), 10u);
}

TEST_P(DemoApiTest, DealListFiltersByCategoryAndCity) {
  auto hotels = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?category=hotel")).at("items").as_array();
  ASSERT_FALSE(hotels.empty());
  for (const auto& d : hotels) EXPECT_EQ(d.at("category").as_string(), "hotel");

  auto beijing = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?limit=50&city=" + UrlEncode("北京")))
                     .at("items")
                     .as_array();
  ASSERT_FALSE(beijing.empty());
  for (const auto& d : beijing) EXPECT_EQ(d.at("city").as_string(), "北京");

  auto both =
      ParseBody(Get(node_->provider_url() + "/mp/v1/deals?category=catering&city=" + UrlEncode("成都")))
          .at("items")
          .as_array();
  ASSERT_FALSE(both.empty());
  for (const auto& d : both) {
    EXPECT_EQ(d.at("category").as_string(), "catering");
    EXPECT_EQ(d.at("city").as_string(), "成都");
  }
  auto none = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?city=" + UrlEncode("拉萨"))).as_object();
  EXPECT_TRUE(none.at("items").as_array().empty());
  EXPECT_TRUE(none.at("next_cursor").is_null());
}

TEST_P(DemoApiTest, DealDetailCarriesTypeSpecificFields) {
  auto list = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?limit=50")).at("items").as_array();
  bool saw_slots = false, saw_face = false, saw_uses = false, saw_items = false;
  for (const auto& summary : list) {
    auto r = Get(node_->provider_url() + "/mp/v1/deals/" + std::string(summary.at("id").as_string()));
    ASSERT_EQ(r.status, 200);
    auto d = ParseBody(r).as_object();
    const auto type = d.at("type").as_string();
    EXPECT_GE(d.at("original_price_fen").as_int64(), d.at("price_fen").as_int64());
    EXPECT_TRUE(d.at("valid_from").is_string());
    if (type == "reservation") {
      const auto& slots = d.at("slots").as_array();
      ASSERT_FALSE(slots.empty());
      int64_t sum = 0;
      for (const auto& s : slots) sum += s.at("stock_left").as_int64();
      EXPECT_EQ(sum, d.at("stock_left").as_int64());
      saw_slots = true;
    } else {
      EXPECT_TRUE(d.at("slots").as_array().empty());
    }
    if (type == "voucher") {
      EXPECT_GT(d.at("face_value_fen").as_int64(), d.at("price_fen").as_int64());
      saw_face = true;
    }
    if (type == "multi_use") {
      EXPECT_GE(d.at("uses").as_int64(), 2);
      saw_uses = true;
    }
    if (type == "set_meal") {
      EXPECT_FALSE(d.at("items").as_array().empty());
      saw_items = true;
    }
  }
  EXPECT_TRUE(saw_slots && saw_face && saw_uses && saw_items);
}

TEST_P(DemoApiTest, SeedDemoIsIdempotent) {
  auto before = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?limit=50")).at("items").as_array().size();
  SeedDemoFor(config_, *node_);
  auto after = ParseBody(Get(node_->provider_url() + "/mp/v1/deals?limit=50")).at("items").as_array().size();
  EXPECT_EQ(before, after);
  auto feed = ParseBody(Get(node_->host_url() + "/api/feed?limit=50")).at("items").as_array();
  EXPECT_EQ(feed.size(), 11u);
}

INSTANTIATE_TEST_SUITE_P(Backends, DemoApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

class SeedRefusalTest : public ::testing::TestWithParam<Backend> {};

TEST_P(SeedRefusalTest, RefusesADatabaseWithOtherData) {
  FreshDatabases dbs(GetParam());
  auto config = TestConfig(dbs);
  storage::DbOptions options;
  options.default_schema = "provider";
  auto db = storage::OpenDb(config.provider_db, options);
  ASSERT_TRUE(db.ok()) << db.error().internal;
  ASSERT_TRUE(storage::Migrate(**db, provider::ProviderMigrations()).ok());
  ASSERT_TRUE((*db)
                  ->Write([](storage::Tx& tx) {
                    return provider::CreateBrand(tx, {"一家真实的店", "", ""}, 1);
                  })
                  .ok());

  Status s = app::RunSeedDemo(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kDemoRefused);
  auto deals = provider::DealIndex(**db);
  ASSERT_TRUE(deals.ok());
  EXPECT_TRUE(deals->empty()) << "the refused seed wrote deals";
}

INSTANTIATE_TEST_SUITE_P(Backends, SeedRefusalTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
