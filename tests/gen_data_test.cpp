// The benchmark data generator (hutong gen-data) at N=1000 on SQLite and PostgreSQL: the
// rows are there on both roles, the generated deals are listed, shown and searchable, and
// a generated bench user can buy and pay with the tokens it wrote, the flash-sale deal at
// its campaign price.
#include "app/gen_data.h"

#include <fstream>

#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kCount{"test.gen.count", storage::Access::kRead,
                                "SELECT (SELECT COUNT(*) FROM deals), (SELECT COUNT(*) FROM stores), "
                                "(SELECT COUNT(*) FROM deal_stores), (SELECT COUNT(*) FROM mp_sessions)"};
constexpr storage::Query kHostCount{
    "test.gen.host_count", storage::Access::kRead,
    "SELECT (SELECT COUNT(*) FROM app_deals), (SELECT COUNT(*) FROM user_sessions), "
    "(SELECT COUNT(*) FROM wallets WHERE balance_fen > 0)"};
constexpr storage::Query kStoreBox{
    "test.gen.store_box", storage::Access::kRead,
    "SELECT MIN(lat), MAX(lat), MIN(lng), MAX(lng), COUNT(DISTINCT city) FROM stores"};
constexpr storage::Query kFlash{"test.gen.flash", storage::Access::kRead,
                                "SELECT stock_left, campaign_price_fen, per_user_limit FROM campaign_deals "
                                "WHERE campaign_id = $1 AND deal_id = $2"};

class GenDataTest : public SeededNodeTest {};

TEST_P(GenDataTest, GeneratesSearchableDealsAndUsersWhoCanBuy) {
  auto provider_db = OpenProviderDb();
  auto host_db = OpenHostDb();
  const auto before = RunQuery(*provider_db, kCount);
  const auto host_before = RunQuery(*host_db, kHostCount);
  ASSERT_EQ(before.size(), 1u);

  app::Config config = config_;
  config.provider_public_url = node_->provider_url();
  app::GenDataOptions o;
  o.deals = 1000;
  o.stores = 1000;
  o.users = 20;
  o.flash_units = 5;
  o.tokens_out = dbs_->dir() + "/tokens.tsv";
  auto report = app::RunGenData(config, o);
  ASSERT_TRUE(report.ok()) << report.error().detail << " / " << report.error().internal;
  EXPECT_EQ(report->deals, 1000);
  EXPECT_EQ(report->stores, 1000);
  EXPECT_EQ(report->users, 20);
  EXPECT_EQ(report->order_deal_ids.size(), 100u);
  EXPECT_GT(report->brands, 50);
  auto parsed = json::parse(app::GenDataReportJson(*report));
  EXPECT_EQ(parsed.at("deals").as_int64(), 1000);

  // 1000 deals plus the flash deal, each at one store; 1000 stores; 20 sessions.
  const auto after = RunQuery(*provider_db, kCount);
  EXPECT_EQ(after[0].Int(0) - before[0].Int(0), 1001);
  EXPECT_EQ(after[0].Int(1) - before[0].Int(1), 1000);
  EXPECT_EQ(after[0].Int(2) - before[0].Int(2), 1001);
  EXPECT_EQ(after[0].Int(3) - before[0].Int(3), 20);
  const auto host_after = RunQuery(*host_db, kHostCount);
  EXPECT_EQ(host_after[0].Int(0) - host_before[0].Int(0), 1000);  // the flash deal is not synced
  EXPECT_EQ(host_after[0].Int(1) - host_before[0].Int(1), 20);
  EXPECT_EQ(host_after[0].Int(2) - host_before[0].Int(2), 20);
  // Stores stay around the three demo cities (Beijing, Shanghai, Chengdu).
  const auto box = RunQuery(*provider_db, kStoreBox);
  EXPECT_GT(box[0].Double(0), 30.4);
  EXPECT_LT(box[0].Double(1), 40.1);
  EXPECT_GT(box[0].Double(2), 103.5);
  EXPECT_LT(box[0].Double(3), 121.7);
  EXPECT_EQ(box[0].Int(4), 3);

  // A generated deal is served, and generated brands are found by search.
  const std::string deal = report->order_deal_ids.at(0);
  auto shown = Get(node_->provider_url() + "/mp/v1/deals/" + deal);
  ASSERT_EQ(shown.status, 200) << shown.body;
  const std::string title(ParseBody(shown).at("title").as_string());
  auto found = Get(node_->host_url() + "/api/search?q=" + UrlEncode("海底捞") + "&limit=50");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_FALSE(ParseBody(found).at("items").as_array().empty());

  // The tokens file: one line per user, host token then mini-program token.
  std::ifstream in(o.tokens_out);
  std::vector<std::pair<std::string, std::string>> users;
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    users.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  ASSERT_EQ(users.size(), 20u);
  const std::vector<std::pair<std::string, std::string>> host_auth{
      {"Authorization", "Bearer " + users[0].first}};
  const std::vector<std::pair<std::string, std::string>> mp_auth{
      {"Authorization", "Bearer " + users[0].second}};
  ASSERT_EQ(Get(node_->host_url() + "/api/me", host_auth).status, 200);

  // The user buys a generated deal and pays at the host's cashier from the funded wallet.
  auto order =
      Post(node_->provider_url() + "/mp/v1/orders", R"({"deal_id":")" + deal + R"(","quantity":2})", mp_auth);
  ASSERT_EQ(order.status, 201) << order.body;
  const std::string pay_order(ParseBody(order).at("pay_order_id").as_string());
  auto paid = Post(node_->host_url() + "/api/cashier/" + pay_order + "/pay", "", host_auth);
  EXPECT_EQ(paid.status, 200) << paid.body;

  // The flash deal sells at its campaign price, one unit per user.
  const auto flash = RunQuery(*provider_db, kFlash, {report->flash_campaign_id, report->flash_deal_id});
  ASSERT_EQ(flash.size(), 1u);
  EXPECT_EQ(flash[0].Int(0), 5);
  EXPECT_EQ(flash[0].Int(2), 1);
  auto flash_order = Post(node_->provider_url() + "/mp/v1/orders",
                          R"({"deal_id":")" + report->flash_deal_id + R"(","quantity":1})", mp_auth);
  ASSERT_EQ(flash_order.status, 201) << flash_order.body;
  EXPECT_EQ(ParseBody(flash_order).at("amount_fen").as_int64(), flash[0].Int(1));
  EXPECT_EQ(RunQuery(*provider_db, kFlash, {report->flash_campaign_id, report->flash_deal_id})[0].Int(0), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, GenDataTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
