// Search over real HTTP on the seeded demo, on SQLite and PostgreSQL: Chinese and Latin
// queries, one-character queries, filters, paging, validation, and the signed deal sync
// that feeds the index.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "app/master_key.h"
#include "common/clock.h"
#include "host/openplatform/apps.h"
#include "host/search/search.h"
#include "host/search/search_position_index.h"
#include "protocol/open_api_client.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

class SearchApiTest : public SeededNodeTest {
 protected:
  json::object Search(const std::string& q, const std::string& extra = "") {
    auto r = Get(node_->host_url() + "/api/search?q=" + UrlEncode(q) + extra);
    EXPECT_EQ(r.status, 200) << q << ": " << r.body;
    if (r.status != 200) return {};
    return ParseBody(r).as_object();
  }
  static std::vector<std::string> Titles(const json::object& page) {
    std::vector<std::string> out;
    for (const auto& it : page.at("items").as_array()) out.emplace_back(it.at("title").as_string());
    return out;
  }
  static bool Has(const json::object& page, std::string_view kind, std::string_view fragment) {
    for (const auto& it : page.at("items").as_array()) {
      if (it.at("kind").as_string() == kind &&
          std::string_view(it.at("title").as_string()).find(fragment) != std::string_view::npos) {
        return true;
      }
    }
    return false;
  }

  // The local provider's app credentials (the demo's deals belong to it).
  protocol::OpenApiClient LocalClient() {
    const auto [app_id, secret] = LocalAppCredentials();
    app_id_ = app_id;
    return protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance())
        .value();
  }

  std::string app_id_;
};

TEST_P(SearchApiTest, ChineseQueriesFindTheDemoDeals) {
  auto hotpot = Search("火锅");
  auto titles = Titles(hotpot);
  ASSERT_FALSE(titles.empty());
  EXPECT_EQ(hotpot.at("items").as_array()[0].at("kind").as_string(), "deal");
  EXPECT_NE(titles[0].find("湊湊火锅"), std::string::npos) << titles[0];
  EXPECT_TRUE(Has(hotpot, "video", "湊湊火锅"));
  const auto& first = hotpot.at("items").as_array()[0].as_object();
  EXPECT_FALSE(first.at("app_id").as_string().empty());
  EXPECT_FALSE(first.at("deal_id").as_string().empty());
  EXPECT_GT(first.at("price_fen").as_int64(), 0);
  EXPECT_EQ(first.at("city").as_string(), "北京");
  EXPECT_EQ(first.at("category").as_string(), "catering");

  auto xiancao = Search("烧仙草");
  ASSERT_FALSE(Titles(xiancao).empty());
  for (const auto& t : Titles(xiancao)) EXPECT_NE(t.find("烧仙草"), std::string::npos) << t;
  EXPECT_TRUE(Has(xiancao, "deal", "书亦烧仙草"));

  auto duck = Search("烤鸭");
  EXPECT_TRUE(Has(duck, "deal", "紫光园烤鸭"));
  EXPECT_TRUE(Has(duck, "video", "紫光园烤鸭"));
  for (const auto& it : duck.at("items").as_array()) {
    if (it.at("kind").as_string() == "video") {
      EXPECT_FALSE(it.at("creator").at("name").as_string().empty());
      EXPECT_FALSE(it.at("cover_url").as_string().empty());
    }
  }
  // Either spelling of the brand finds it.
  EXPECT_TRUE(Has(Search("凑凑"), "deal", "湊湊"));
  EXPECT_TRUE(Has(Search("湊湊"), "deal", "湊湊"));
}

TEST_P(SearchApiTest, LatinAndMixedQueries) {
  for (const char* q : {"coco", "CoCo", "CoCo都可", "Ｃｏｃｏ"}) {
    auto page = Search(q);
    ASSERT_FALSE(Titles(page).empty()) << q;
    EXPECT_TRUE(Has(page, "deal", "CoCo都可")) << q;
    for (const auto& t : Titles(page)) EXPECT_NE(t.find("CoCo"), std::string::npos) << q << ": " << t;
  }
  EXPECT_TRUE(Has(Search("85度C"), "deal", "85度C"));
}

TEST_P(SearchApiTest, OneCharacterQueriesMatch) {
  auto tea = Search("茶");
  EXPECT_FALSE(Titles(tea).empty());
  EXPECT_TRUE(Has(Search("鸭"), "deal", "烤鸭"));
}

TEST_P(SearchApiTest, FiltersPagingAndNoMatch) {
  auto all = Search("新年好食记");
  EXPECT_GE(Titles(all).size(), 4u);
  auto shanghai = Search("新年好食记", "&city=" + UrlEncode("上海"));
  ASSERT_FALSE(Titles(shanghai).empty());
  for (const auto& it : shanghai.at("items").as_array()) {
    if (it.at("kind").as_string() == "campaign") continue;  // campaigns run in every city
    EXPECT_EQ(it.at("city").as_string(), "上海");
  }
  EXPECT_LT(Titles(shanghai).size(), Titles(all).size());

  auto hotels = Search("北京", "&category=hotel");
  for (const auto& it : hotels.at("items").as_array()) {
    if (it.at("kind").as_string() == "deal") {
      EXPECT_EQ(it.at("category").as_string(), "hotel");
    }
  }
  EXPECT_TRUE(Search("火锅", "&city=" + UrlEncode("成都")).at("items").as_array().empty());

  // Pages of one item walk the same list without repeats.
  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 20; ++i) {
    auto page = Search("新年好食记", "&limit=1" + (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)));
    for (const auto& t : Titles(page)) paged.push_back(t);
    if (page.at("next_cursor").is_null()) break;
    cursor = std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(paged, Titles(all));

  auto none = Search("zzqxv不存在的词");
  EXPECT_TRUE(none.at("items").as_array().empty());
  EXPECT_TRUE(none.at("next_cursor").is_null());
  EXPECT_TRUE(Search("🔥！").at("items").as_array().empty());
}

TEST_P(SearchApiTest, BadQueriesAre400) {
  const std::string h = node_->host_url();
  ExpectProblem(Get(h + "/api/search"), 400, "validation_failed");
  ExpectProblem(Get(h + "/api/search?q="), 400, "validation_failed");
  ExpectProblem(Get(h + "/api/search?q=" + std::string(65, 'a')), 400, "validation_failed");
  ExpectProblem(Get(h + "/api/search?q=a&limit=0"), 400, "validation_failed");
  ExpectProblem(Get(h + "/api/search?q=a&cursor=nonsense"), 400, "validation_failed");
  EXPECT_EQ(Get(h + "/api/search?q=" + std::string(64, 'a')).status, 200);
  // Characters that mean something to FTS5 or tsquery are just text.
  for (const char* q : {"\"", "a OR b", "a*", "NEAR(a b)", "a & !b", "(", "x:y", "'"}) {
    EXPECT_EQ(Get(h + "/api/search?q=" + UrlEncode(q)).status, 200) << q;
  }
}

TEST_P(SearchApiTest, SignedDealSyncIndexesAndOfflineRemoves) {
  auto client = LocalClient();
  json::object deal{{"deal_id", "deal_sync_test_1"},
                    {"title", "麻辣烫Hutong特惠双人餐"},
                    {"brand_name", "杨国福"},
                    {"type", "set_meal"},
                    {"category", "catering"},
                    {"city", "北京"},
                    {"price_fen", 5800},
                    {"original_price_fen", 8000},
                    {"sales", 3}};
  auto synced = client.CallJson("POST", "/open/v1/deals/sync",
                                json::serialize(json::object{{"deals", json::array{deal}}}));
  ASSERT_TRUE(synced.ok()) << synced.error().detail;
  EXPECT_EQ(synced->at("synced").as_int64(), 1);

  auto found = Search("麻辣烫");
  ASSERT_EQ(Titles(found).size(), 1u);
  EXPECT_EQ(found.at("items").as_array()[0].at("deal_id").as_string(), "deal_sync_test_1");
  EXPECT_EQ(found.at("items").as_array()[0].at("app_id").as_string(), app_id_);
  EXPECT_EQ(Titles(Search("hutong")).size(), 1u);
  EXPECT_EQ(Titles(Search("杨国福")).size(), 1u);

  // Renamed: the old words leave, the new ones arrive.
  deal["title"] = "冒菜单人餐";
  ASSERT_TRUE(client
                  .CallJson("POST", "/open/v1/deals/sync",
                            json::serialize(json::object{{"deals", json::array{deal}}}))
                  .ok());
  EXPECT_TRUE(Search("麻辣烫").at("items").as_array().empty());
  EXPECT_EQ(Titles(Search("冒菜")).size(), 1u);

  deal["status"] = "offline";
  ASSERT_TRUE(client
                  .CallJson("POST", "/open/v1/deals/sync",
                            json::serialize(json::object{{"deals", json::array{deal}}}))
                  .ok());
  EXPECT_TRUE(Search("冒菜").at("items").as_array().empty());

  // Validation.
  auto empty = client.Call("POST", "/open/v1/deals/sync", R"({"deals":[]})");
  ASSERT_TRUE(empty.ok());
  ExpectProblem(*empty, 400, "validation_failed");
  json::object bad = deal;
  bad.erase("title");
  auto missing =
      client.Call("POST", "/open/v1/deals/sync", json::serialize(json::object{{"deals", json::array{bad}}}));
  ExpectProblem(*missing, 400, "validation_failed");
  json::array many;
  for (int i = 0; i < 501; ++i) many.push_back(deal);
  auto too_many = client.Call("POST", "/open/v1/deals/sync", json::serialize(json::object{{"deals", many}}));
  ExpectProblem(*too_many, 400, "validation_failed");

  // Unsigned: refused, nothing indexed.
  deal["status"] = "online";
  deal["title"] = "未签名的酸菜鱼";
  ExpectProblem(Post(node_->host_url() + "/open/v1/deals/sync",
                     json::serialize(json::object{{"deals", json::array{deal}}})),
                401, "invalid_signature");
  EXPECT_TRUE(Search("酸菜鱼").at("items").as_array().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

// A node loads search's copy of the positions on a thread of its own at start: /readyz
// answers 503 until it has, searches meanwhile read the database, and the answers are the
// same before and after (SQLite; PostgreSQL keeps no copy).
class SearchReadinessTest : public SearchApiTest {
 protected:
  // Holds the loader thread until opened (opened again on teardown, so the node can stop).
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    void Open() {
      {
        std::lock_guard lock(mu);
        open = true;
      }
      cv.notify_all();
    }
    void Wait() {
      std::unique_lock lock(mu);
      cv.wait(lock, [this] { return open; });
    }
  };

  void TearDown() override {
    gate_->Open();
    SearchApiTest::TearDown();
  }

  // /readyz until `done` holds for it (a wait, not a timing assertion: it gives up after 60 s).
  http::ClientResponse ReadyzUntil(const std::function<bool(const http::ClientResponse&)>& done) {
    http::ClientResponse r;
    for (int i = 0; i < 600; ++i) {
      r = Get(node_->host_url() + "/readyz");
      if (done(r)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  }

  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
};

TEST_P(SearchReadinessTest, ReadyOnlyOnceLoadedAndSearchesAnswerAlikeBeforeAndAfter) {
  // The same databases, served again by a node whose loader is held.
  ASSERT_TRUE(node_->Stop());
  node_.reset();
  app::Config config = config_;
  config.before_search_load_for_test = [gate = gate_] { gate->Wait(); };
  node_ = std::make_unique<TestNode>(config);
  const auto* positions = node_->node().SearchPositionsForTest();
  ASSERT_NE(positions, nullptr);

  // A deal synced after the start, before the load: the load's snapshot holds it.
  auto client = LocalClient();
  json::object deal{{"deal_id", "deal_ready_test_1"},
                    {"title", "前门火锅双人套餐"},
                    {"brand_name", "前门"},
                    {"type", "set_meal"},
                    {"category", "catering"},
                    {"city", "北京"},
                    {"price_fen", 9900},
                    {"original_price_fen", 12800},
                    {"sales", 5},
                    {"lat", 39.8990},
                    {"lng", 116.3976}};
  ASSERT_TRUE(client
                  .CallJson("POST", "/open/v1/deals/sync",
                            json::serialize(json::object{{"deals", json::array{deal}}}))
                  .ok());

  // Nearby's copy loads meanwhile; then only search's keeps the node unready.
  auto before_load = ReadyzUntil([](const http::ClientResponse& r) {
    return r.status != 503 || r.body.find("nearby") == std::string::npos;
  });
  ExpectProblem(before_load, 503, "unavailable");
  EXPECT_NE(before_load.body.find("the search position index is loading"), std::string::npos)
      << before_load.body;

  const std::string beijing = "&lat=39.9087&lng=116.3975", shanghai = "&lat=31.2304&lng=121.4737";
  std::vector<std::string> queries;
  for (const std::string q : {"火锅", "新年好食记", "套餐", "北京", "烤鸭", "zzqxv不存在的词"}) {
    for (const std::string& at : {beijing, shanghai}) {
      queries.push_back("q=" + UrlEncode(q) + at);
      queries.push_back("q=" + UrlEncode(q) + at + "&limit=2");
      queries.push_back("q=" + UrlEncode(q) + at +
                        "&limit=2&cursor=" + UrlEncode(host::search::EncodeOffsetCursor(2)));
    }
  }
  queries.push_back("q=" + UrlEncode("北京") + beijing + "&category=hotel");
  queries.push_back("q=" + UrlEncode("新年好食记") + shanghai + "&city=" + UrlEncode("上海"));
  auto answers = [&] {
    std::vector<std::string> out;
    for (const auto& q : queries) {
      auto r = Get(node_->host_url() + "/api/search?" + q);
      EXPECT_EQ(r.status, 200) << q << ": " << r.body;
      out.push_back(r.body);
    }
    return out;
  };
  const std::vector<std::string> from_database = answers();
  EXPECT_FALSE(positions->loaded());
  EXPECT_EQ(positions->HitsForTest(), 0u);  // no search used the copy (or waited for it)
  // The answers are real ones: the new deal is found, with its distance (≈ 1,079 m).
  bool found = false;
  const json::value hotpot =
      ParseBody(Get(node_->host_url() + "/api/search?q=" + UrlEncode("火锅") + beijing));
  for (const auto& it : hotpot.at("items").as_array()) {
    if (it.at("kind").as_string() != "deal" || it.at("deal_id").as_string() != "deal_ready_test_1") continue;
    found = true;
    EXPECT_NEAR(static_cast<double>(it.at("distance_m").as_int64()), 1079, 5);
  }
  EXPECT_TRUE(found);

  gate_->Open();
  auto ready = ReadyzUntil([](const http::ClientResponse& r) { return r.status == 200; });
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(positions->loaded());
  EXPECT_EQ(answers(), from_database);
  EXPECT_GT(positions->HitsForTest(), 0u);  // and now they came from the copy
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchReadinessTest, ::testing::Values(Backend::kSqlite), BackendName);

}  // namespace
}  // namespace hutong::testing
