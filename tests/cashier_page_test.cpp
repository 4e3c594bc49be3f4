// The cashier page a pay order's cashier_url opens, the sandbox switch that guards test
// money, and the one-time search backfill of a database filled before search existed; on
// SQLite and PostgreSQL.
#include <set>

#include "common/ids.h"
#include "host/host.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

Headers RegisterAt(const std::string& host, const std::string& phone) {
  auto r = Post(host + "/api/auth/register",
                R"({"phone":")" + phone + R"(","password":"demo-pass-1","nickname":"收银测试"})");
  EXPECT_EQ(r.status, 201) << r.body;
  return {{"Authorization", "Bearer " + std::string(ParseBody(r).at("token").as_string())}};
}

class CashierPageTest : public ::testing::TestWithParam<Backend> {};

TEST_P(CashierPageTest, ServesTheMobilePageForAPayOrder) {
  FreshDatabases dbs(GetParam());
  TestNode node(TestConfig(dbs));
  const std::string h = node.host_url();
  auto page = Get(h + "/cashier/" + NewId("pay"));
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.Header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(page.Header("x-content-type-options"), "nosniff");
  EXPECT_NE(page.body.find("<meta name=\"viewport\""), std::string::npos);
  EXPECT_NE(page.body.find("收银台"), std::string::npos);
  // The page pays through the JSON API: it must name the routes that exist.
  for (const char* path :
       {"/api/cashier/", "/pay'", "/api/wallet/topup", "/api/auth/login", "Idempotency-Key"}) {
    EXPECT_NE(page.body.find(path), std::string::npos) << path;
  }
  ExpectProblem(Get(h + "/cashier/not-a-pay-order"), 404, "not_found");
  ExpectProblem(Get(h + "/cashier/" + NewId("vid")), 404, "not_found");
}

TEST_P(CashierPageTest, SandboxSwitchGuardsTopUp) {
  {
    FreshDatabases dbs(GetParam());
    TestNode node(TestConfig(dbs));  // sandbox is on by default
    const std::string h = node.host_url();
    auto user = RegisterAt(h, "13900000021");
    auto wallet = ParseBody(Get(h + "/api/wallet", user)).as_object();
    EXPECT_EQ(wallet.at("sandbox").as_bool(), true);
    auto topped = Post(h + "/api/wallet/topup", R"({"amount_fen":5000})", user);
    ASSERT_EQ(topped.status, 200) << topped.body;
    EXPECT_EQ(ParseBody(topped).at("balance_fen").as_int64(), wallet.at("balance_fen").as_int64() + 5000);
  }
  FreshDatabases dbs(GetParam());
  app::Config config = TestConfig(dbs);
  config.sandbox = false;
  TestNode node(config);
  const std::string h = node.host_url();
  auto user = RegisterAt(h, "13900000022");
  const int64_t before = ParseBody(Get(h + "/api/wallet", user)).at("balance_fen").as_int64();
  EXPECT_EQ(ParseBody(Get(h + "/api/wallet", user)).at("sandbox").as_bool(), false);
  ExpectProblem(Post(h + "/api/wallet/topup", R"({"amount_fen":5000})", user), 403, "forbidden");
  EXPECT_EQ(ParseBody(Get(h + "/api/wallet", user)).at("balance_fen").as_int64(), before);
}

TEST_P(CashierPageTest, DatabaseFilledBeforeSearchIsBackfilledOnce) {
  FreshDatabases dbs(GetParam());
  {
    storage::DbOptions o;
    o.default_schema = "host";
    auto db = storage::OpenDb(dbs.host_db(), o);
    ASSERT_TRUE(db.ok());
    // The schema as it was before search (host migration 7) and content (10) existed.
    std::vector<storage::Migration> old;
    for (const auto& m : host::HostMigrations()) {
      if (m.version <= 6) old.push_back(m);
    }
    ASSERT_TRUE(storage::Migrate(**db, old).ok());
    static constexpr storage::Query kApp{
        "test.backfill.app", storage::Access::kWrite,
        "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, "
        "created_at) VALUES ('app_old', '老应用', 'http://127.0.0.1:9', "
        "'http://127.0.0.1:9/n', 'x', 0)"};
    static constexpr storage::Query kDeal{
        "test.backfill.deal", storage::Access::kWrite,
        "INSERT INTO app_deals (app_id, deal_id, title, brand_name, type, category, city, price_fen, "
        "original_price_fen, status, updated_at) VALUES ('app_old', 'deal_old', "
        "'老北京涮羊肉Muttonpot双人餐', "
        "'东来顺', 'set_meal', 'catering', '北京', 19800, 26800, 'online', 0)"};
    static constexpr storage::Query kCreator{
        "test.backfill.creator", storage::Access::kWrite,
        "INSERT INTO creators (id, name, created_at) VALUES ($1, '老创作者', 0)"};
    static constexpr storage::Query kVideo{
        "test.backfill.video", storage::Access::kWrite,
        "INSERT INTO videos (id, creator_id, title, description, cover_url, video_url, city, tags, "
        "created_at) "
        "VALUES ($1, $2, '涮羊肉Muttonpot探店', '铜锅', 'https://a/c.jpg', 'https://a/v.mp4', '北京', "
        "'涮肉,老字号', $3)"};
    const std::string creator = NewId("cr");
    RunQuery(**db, kApp);
    RunQuery(**db, kDeal);
    RunQuery(**db, kCreator, {creator});
    RunQuery(**db, kVideo, {NewId("vid"), creator, int64_t{1'700'000'000'000}});
  }
  for (int start = 0; start < 2; ++start) {
    TestNode node(TestConfig(dbs));
    auto page = ParseBody(Get(node.host_url() + "/api/search?q=muttonpot")).as_object();
    std::set<std::string> kinds;
    for (const auto& it : page.at("items").as_array()) kinds.emplace(it.at("kind").as_string());
    EXPECT_EQ(kinds, (std::set<std::string>{"deal", "video"}))
        << "start " << start << ": " << json::serialize(page);
    EXPECT_EQ(
        ParseBody(Get(node.host_url() + "/api/search?q=" + UrlEncode("涮肉"))).at("items").as_array().size(),
        1u);
    auto feed = ParseBody(Get(node.host_url() + "/api/feed")).at("items").as_array();
    ASSERT_EQ(feed.size(), 1u);
    EXPECT_EQ(feed[0].at("tags").as_array().size(), 2u);
  }
  storage::DbOptions o;
  o.default_schema = "host";
  auto db = storage::OpenDb(dbs.host_db(), o);
  ASSERT_TRUE(db.ok());
  static constexpr storage::Query kMarker{"test.backfill.marker", storage::Access::kRead,
                                          "SELECT value FROM meta WHERE key = 'search_backfilled'"};
  auto marker = RunQuery(**db, kMarker);
  ASSERT_EQ(marker.size(), 1u);
  EXPECT_EQ(marker[0].Str(0), "2");  // written at the first start only
}

INSTANTIATE_TEST_SUITE_P(Backends, CashierPageTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
