// Hot stock in memory (provider/campaigns/hot_stock.h) over real HTTP, on SQLite and
// PostgreSQL: refusals the database gave are repeated from memory with the same answer and
// nothing written; stock given back here (an expired order) sells again at once; stock
// given back by another node (a write this process never heard of) sells again after the
// staleness bound; per-user limits likewise; and a restart (empty memory) rebuilds the
// markers from the database.
#include "provider/campaigns/hot_stock.h"

#include <chrono>
#include <thread>

#include "common/clock.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/orders/orders.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kSetStock{"test.hot.set_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = $3 "
                                   "WHERE id = $1"};
constexpr storage::Query kAddStock{"test.hot.add_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = stock_left + $2 WHERE id = $1"};
constexpr storage::Query kStockLeft{"test.hot.stock_left", storage::Access::kRead,
                                    "SELECT stock_left FROM deals WHERE id = $1"};
constexpr storage::Query kLiveOrders{
    "test.hot.live_orders", storage::Access::kRead,
    "SELECT COUNT(*) FROM orders WHERE deal_id = $1 AND status <> 'cancelled'"};

class HotStockTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = OpenProviderDb();
    auto deals = PlainDeals(*db_, 2);
    ASSERT_EQ(deals.size(), 2u);
    deal_ = deals[0];
    other_deal_ = deals[1];
  }

  // A viewer of the demo logged in at the host, with a mini-program session.
  Headers Shopper(const std::string& phone) {
    const std::string h = node_->host_url();
    const FeedVideo video = FirstFeedVideo(h);
    return OpenMiniProgram(h, node_->provider_url(), LoginViewer(h, phone), video.app_id, video.video_id).mp;
  }

  http::ClientResponse Order(const Headers& who, const std::string& deal, int64_t quantity = 1) {
    return Post(node_->provider_url() + "/mp/v1/orders",
                json::serialize(json::object{{"deal_id", deal}, {"quantity", quantity}}), who);
  }

  // Expires every unpaid order now, as the order_expiry job would after the payment window.
  void ExpireUnpaidOrders() {
    const int64_t later = SystemClock::Instance().NowMs() + provider::kOrderPaymentWindowMs +
                          provider::kUnpaidOrderGraceMs + 60'000;
    auto expired = provider::ExpireUnpaidOrders(*db_, later);
    ASSERT_TRUE(expired.ok());
    EXPECT_GE(*expired, 1);
  }

  static provider::HotStock::Counters Counters() { return provider::ProcessHotStock().counters(); }
  int64_t StockLeft(const std::string& deal) { return RunQuery(*db_, kStockLeft, {deal}).rows.at(0).Int(0); }

  std::unique_ptr<storage::Db> db_;
  std::string deal_, other_deal_;
};

TEST_P(HotStockTest, SoldOutIsRefusedFromMemoryAndStockReturnedHereSellsAgain) {
  RunQuery(*db_, kSetStock, {deal_, int64_t{1}, int64_t{0}});
  const Headers buyer = Shopper("13800000000"), late = Shopper("13800000001");
  ASSERT_EQ(Order(buyer, deal_).status, 201);

  const auto before = Counters();
  auto from_db = Order(late, deal_);
  ExpectProblem(from_db, 409, "out_of_stock");
  for (int i = 0; i < 5; ++i) {
    auto again = Order(late, deal_);
    ExpectProblem(again, 409, "out_of_stock");
    EXPECT_EQ(again.body, from_db.body) << "the same answer, memory or database";
  }
  const auto after = Counters();
  EXPECT_GE(after.marked, before.marked + 1);
  EXPECT_GE(after.refused, before.refused + 1) << "repeated refusals are answered from memory";
  EXPECT_EQ(StockLeft(deal_), 0);
  EXPECT_EQ(RunQuery(*db_, kLiveOrders, {deal_}).rows.at(0).Int(0), 1);
  // Still judged by the database where memory knows nothing: bad input, other deals.
  ExpectProblem(Order(late, deal_, 0), 400, "validation_failed");
  ExpectProblem(
      Post(node_->provider_url() + "/mp/v1/orders", R"({"deal_id":")" + deal_ + R"(","quantity":1})"), 401,
      "unauthorized");
  EXPECT_EQ(Order(late, other_deal_).status, 201);

  // The unpaid order expires on this node: its unit is back and sells at once.
  ExpireUnpaidOrders();
  EXPECT_GE(Counters().cleared, after.cleared + 1);
  EXPECT_EQ(StockLeft(deal_), 1);
  auto bought = Order(late, deal_);
  EXPECT_EQ(bought.status, 201) << bought.body;
  EXPECT_EQ(StockLeft(deal_), 0);
  EXPECT_EQ(RunQuery(*db_, kLiveOrders, {deal_}).rows.at(0).Int(0), 1);
}

TEST_P(HotStockTest, PerUserLimitIsRefusedFromMemoryForThatUserOnly) {
  RunQuery(*db_, kSetStock, {deal_, int64_t{50}, int64_t{1}});
  const Headers eager = Shopper("13800000000"), other = Shopper("13800000001");
  ASSERT_EQ(Order(eager, deal_).status, 201);
  auto from_db = Order(eager, deal_);
  ExpectProblem(from_db, 409, "conflict");
  EXPECT_NE(from_db.body.find("per-user limit"), std::string::npos) << from_db.body;
  const auto before = Counters();
  auto again = Order(eager, deal_);
  ExpectProblem(again, 409, "conflict");
  EXPECT_EQ(again.body, from_db.body);
  EXPECT_GE(Counters().refused, before.refused + 1);
  EXPECT_EQ(Order(other, deal_).status, 201) << "another user has a limit of their own";
  EXPECT_EQ(StockLeft(deal_), 48);
  // Once the first order lapses unpaid, the eager user may buy again.
  ExpireUnpaidOrders();
  auto rebought = Order(eager, deal_);
  EXPECT_EQ(rebought.status, 201) << rebought.body;
}

TEST_P(HotStockTest, StockReturnedByAnotherNodeSellsAgainAfterTheStalenessBound) {
  RunQuery(*db_, kSetStock, {deal_, int64_t{0}, int64_t{0}});
  const Headers buyer = Shopper("13800000000");
  ExpectProblem(Order(buyer, deal_), 409, "out_of_stock");
  ExpectProblem(Order(buyer, deal_), 409, "out_of_stock");
  // Another node gives a unit back: a write to the shared database this process never
  // hears of. Within the staleness bound (hot_stock.h; its timing is asserted with a
  // fake clock in hot_stock_test.cpp) a probe reaches the database and the unit sells.
  const auto before = Counters();
  RunQuery(*db_, kAddStock, {deal_, int64_t{1}});
  int status = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    auto r = Order(buyer, deal_);
    status = r.status;
    if (status != 409) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 201);
  EXPECT_GE(Counters().probes, before.probes + 1);
  EXPECT_EQ(StockLeft(deal_), 0);
  EXPECT_EQ(RunQuery(*db_, kLiveOrders, {deal_}).rows.at(0).Int(0), 1);
}

TEST_P(HotStockTest, RestartRebuildsFromTheDatabase) {
  RunQuery(*db_, kSetStock, {deal_, int64_t{1}, int64_t{0}});
  RunQuery(*db_, kSetStock, {other_deal_, int64_t{5}, int64_t{0}});
  const Headers buyer = Shopper("13800000000");
  ASSERT_EQ(Order(buyer, deal_).status, 201);
  ExpectProblem(Order(buyer, deal_), 409, "out_of_stock");

  // A crash loses the memory; the database keeps the stock.
  ASSERT_TRUE(node_->Stop());
  provider::ProcessHotStock().ClearForTest();
  provider::ForgetMpSessions();
  node_ = std::make_unique<TestNode>(config_);
  const auto before = Counters();
  ExpectProblem(Order(buyer, deal_), 409, "out_of_stock");
  EXPECT_GE(Counters().marked, before.marked + 1) << "the first refusal comes from the database";
  ExpectProblem(Order(buyer, deal_), 409, "out_of_stock");
  EXPECT_GE(Counters().refused, before.refused + 1);
  EXPECT_EQ(Order(buyer, other_deal_).status, 201) << "stock left elsewhere still sells";
  EXPECT_EQ(StockLeft(deal_), 0);
  EXPECT_EQ(StockLeft(other_deal_), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, HotStockTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
