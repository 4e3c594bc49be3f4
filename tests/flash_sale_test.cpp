// 10,000 purchase attempts for 100 units over real HTTP on loopback, from many users on
// several threads, on SQLite and PostgreSQL (issue 4): exactly 100 units sold, stock 0 and
// never negative, no per-user limit broken, every rejection a clean 409 problem.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/credentials.h"
#include "common/ids.h"
#include "provider/campaigns/hot_stock.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kSetStock{"test.flash.set_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = $3 "
                                   "WHERE id = $1"};
constexpr storage::Query kStockLeft{"test.flash.stock_left", storage::Access::kRead,
                                    "SELECT stock_left FROM deals WHERE id = $1"};
constexpr storage::Query kUnitsByUser{"test.flash.units_by_user", storage::Access::kRead,
                                      "SELECT user_id, SUM(quantity) FROM orders WHERE deal_id = $1 AND "
                                      "status <> 'cancelled' GROUP BY user_id"};
constexpr storage::Query kCancelled{
    "test.flash.cancelled", storage::Access::kRead,
    "SELECT COUNT(*) FROM orders WHERE deal_id = $1 AND status = 'cancelled'"};
constexpr storage::Query kInsertUser{"test.flash.insert_user", storage::Access::kWrite,
                                     "INSERT INTO users (id, phone, password_hash, nickname, created_at) "
                                     "VALUES ($1, $2, 'not-a-login', $3, 0)"};
constexpr storage::Query kInsertSession{
    "test.flash.insert_session", storage::Access::kWrite,
    "INSERT INTO user_sessions (token_hash, user_id, expires_at, created_at) "
    "VALUES ($1, $2, $3, 0)"};
// Pay orders still payable. Attempts made before this node knew of any refusal ask the
// host first (orders.h, PayOrderTiming) and close their pay order when refused.
constexpr storage::Query kPayOrders{"test.flash.pay_orders", storage::Access::kRead,
                                    "SELECT COUNT(*) FROM pay_orders WHERE status <> 'closed'"};
constexpr storage::Query kClosedPayOrders{"test.flash.closed_pay_orders", storage::Access::kRead,
                                          "SELECT COUNT(*) FROM pay_orders WHERE status = 'closed'"};

constexpr int kUsers = 60;
constexpr int kThreads = 8;
constexpr int kAttempts = 10'000;
constexpr int64_t kUnits = 100;
constexpr int64_t kPerUserLimit = 3;
constexpr int kEager = 10;
constexpr int kEagerAttempts = 1'000;

class FlashSaleTest : public SeededNodeTest {};

TEST_P(FlashSaleTest, TenThousandAttemptsForAHundredUnits) {
  auto provider_db = OpenProviderDb();
  auto host_db = OpenHostDb();
  const std::string deal = PlainDeals(*provider_db, 1).at(0);
  RunQuery(*provider_db, kSetStock, {deal, kUnits, kPerUserLimit});
  const std::string h = node_->host_url(), p = node_->provider_url();

  // Many viewers: accounts and login sessions written straight into the host's database
  // (an argon2 login each would only slow the test down), then the real launch and
  // code2session over HTTP give each a mini-program session.
  const FeedVideo video = FirstFeedVideo(h);
  std::vector<Headers> shoppers;
  for (int u = 0; u < kUsers; ++u) {
    const std::string user_id = NewId("usr");
    char phone[16];
    std::snprintf(phone, sizeof phone, "1390000%04d", u);
    RunQuery(*host_db, kInsertUser, {user_id, std::string(phone), "flash " + std::to_string(u)});
    SessionToken token = NewSessionToken("utok_");
    RunQuery(*host_db, kInsertSession, {token.hash, user_id, SystemClock::Instance().NowMs() + 3'600'000});
    shoppers.push_back(OpenMiniProgram(h, p, BearerAuth(token.token), video.app_id, video.video_id).mp);
    ASSERT_FALSE(HasFailure());
  }

  // A watcher reads the stock throughout; the attempts go out from several threads, each
  // user asking again and again (one unit, sometimes two).
  static_assert(kEager * kPerUserLimit < kUnits);
  std::atomic<bool> done{false};
  std::atomic<int64_t> lowest_stock{kUnits};
  std::thread watcher([&] {
    auto db = OpenProviderDb();
    while (!done.load()) {
      int64_t left = RunQuery(*db, kStockLeft, {deal}).rows.at(0).Int(0);
      if (left < lowest_stock.load()) lowest_stock.store(left);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  const uint64_t refused_from_memory_before = provider::ProcessHotStock().counters().refused;
  std::atomic<int> next{0};
  std::atomic<int64_t> sold_units{0};
  std::atomic<int> created{0}, out_of_stock{0}, limit_reached{0};
  std::mutex mu;
  std::map<int, int64_t> units_by_shopper;  // GUARDED_BY(mu)
  std::vector<std::string> unexpected;      // GUARDED_BY(mu)
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next.fetch_add(1); i < kAttempts; i = next.fetch_add(1)) {
        // The first attempts come from a few eager users only (they cannot empty the stock
        // alone: kEager * kPerUserLimit < kUnits), so the limit is certainly met; then everyone.
        const int shopper = i < kEagerAttempts ? i % kEager : i % kUsers;
        const int64_t quantity = i % 7 == 0 ? 2 : 1;
        auto r =
            Post(p + "/mp/v1/orders",
                 json::serialize(json::object{{"deal_id", deal}, {"quantity", quantity}}), shoppers[shopper]);
        if (r.status == 201) {
          created.fetch_add(1);
          sold_units.fetch_add(quantity);
          std::lock_guard lock(mu);
          units_by_shopper[shopper] += quantity;
          continue;
        }
        boost::system::error_code ec;
        auto body = json::parse(r.body, ec);
        const bool problem = !ec && body.is_object() && body.as_object().contains("code") &&
                             r.Header("content-type") == "application/problem+json";
        const std::string code = problem ? std::string(body.at("code").as_string()) : "";
        if (r.status == 409 && code == "out_of_stock") {
          out_of_stock.fetch_add(1);
        } else if (r.status == 409 && code == "conflict" &&
                   r.body.find("per-user limit") != std::string::npos) {
          limit_reached.fetch_add(1);
        } else {
          std::lock_guard lock(mu);
          unexpected.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  done.store(true);
  watcher.join();

  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected answers, e.g. " << unexpected.front();
  EXPECT_EQ(created.load() + out_of_stock.load() + limit_reached.load(), kAttempts);
  EXPECT_EQ(sold_units.load(), kUnits);
  EXPECT_GT(out_of_stock.load(), 0);
  EXPECT_GT(limit_reached.load(), 0);
  // Most rejections never reached the database (hot stock in memory): far more than the
  // probes that may go through once a second.
  EXPECT_GT(provider::ProcessHotStock().counters().refused - refused_from_memory_before,
            static_cast<uint64_t>(out_of_stock.load() + limit_reached.load()) / 2);
  EXPECT_EQ(RunQuery(*provider_db, kStockLeft, {deal}).rows.at(0).Int(0), 0);
  EXPECT_GE(lowest_stock.load(), 0);
  for (const auto& [shopper, units] : units_by_shopper)
    EXPECT_LE(units, kPerUserLimit) << "shopper " << shopper;
  // The database agrees: 100 units in live orders, none cancelled, nobody over the limit,
  // and one pay order at the host per order.
  int64_t db_units = 0;
  for (const auto& row : RunQuery(*provider_db, kUnitsByUser, {deal})) {
    EXPECT_LE(row.Int(1), kPerUserLimit) << row.Str(0);
    db_units += row.Int(1);
  }
  EXPECT_EQ(db_units, kUnits);
  EXPECT_EQ(RunQuery(*provider_db, kCancelled, {deal}).rows.at(0).Int(0), 0);
  EXPECT_EQ(RunQuery(*host_db, kPayOrders).rows.at(0).Int(0), created.load());
  // Only attempts in flight before the first refusals were remembered asked first: a few,
  // never one per rejection.
  EXPECT_LT(RunQuery(*host_db, kClosedPayOrders).rows.at(0).Int(0), 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, FlashSaleTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
