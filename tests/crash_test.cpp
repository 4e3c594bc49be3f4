// Crash test (issue 4): the real `hutong serve` (both roles) takes a burst of orders and
// payments from several threads, is killed with SIGKILL mid-burst and restarted on the
// same data (SQLite files, or PostgreSQL schemas from HUTONG_TEST_PG_URL). Once it has
// settled (webhooks redelivered, jobs run): every payment the client saw acknowledged is
// a paid order with its vouchers, no order has a voucher too many, the host's paid pay
// orders and the provider's paid orders are the same set, each wallet paid exactly for
// its paid orders, and stock = initial − units of live orders for each deal. The test
// asserts these invariants, never timing.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/credentials.h"
#include "common/ids.h"
#include "host/ledger/ledger.h"
#include "support/child_process.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr storage::Query kSetStock{"test.crash.set_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = 0 "
                                   "WHERE id = $1"};
constexpr storage::Query kStockLeft{"test.crash.stock_left", storage::Access::kRead,
                                    "SELECT stock_left FROM deals WHERE id = $1"};
constexpr storage::Query kLiveUnits{
    "test.crash.live_units", storage::Access::kRead,
    "SELECT COALESCE(SUM(quantity), 0) FROM orders WHERE deal_id = $1 AND status <> 'cancelled'"};
constexpr storage::Query kOrdersWithVouchers{
    "test.crash.orders_vouchers", storage::Access::kRead,
    "SELECT o.id, o.status, o.quantity, COUNT(v.id) FROM orders o LEFT JOIN vouchers v ON v.order_id = o.id "
    "GROUP BY o.id, o.status, o.quantity"};
constexpr storage::Query kProviderPaid{"test.crash.provider_paid", storage::Access::kRead,
                                       "SELECT id FROM orders WHERE status = 'paid'"};
constexpr storage::Query kHostPaid{
    "test.crash.host_paid", storage::Access::kRead,
    "SELECT out_trade_no, user_id, amount_fen FROM pay_orders WHERE status = 'paid'"};
constexpr storage::Query kInsertUser{"test.crash.insert_user", storage::Access::kWrite,
                                     "INSERT INTO users (id, phone, password_hash, nickname, created_at) "
                                     "VALUES ($1, $2, 'not-a-login', $3, 0)"};
constexpr storage::Query kInsertSession{
    "test.crash.insert_session", storage::Access::kWrite,
    "INSERT INTO user_sessions (token_hash, user_id, expires_at, created_at) "
    "VALUES ($1, $2, $3, 0)"};
constexpr storage::Query kInsertWallet{
    "test.crash.insert_wallet", storage::Access::kWrite,
    "INSERT INTO wallets (user_id, balance_fen, updated_at) VALUES ($1, $2, 0)"};
constexpr storage::Query kJobStartedSince{
    "test.crash.job_started_since", storage::Access::kRead,
    "SELECT COUNT(*) FROM job_leases WHERE name = $1 AND last_started_at >= $2"};
constexpr storage::Query kWallet{"test.crash.wallet", storage::Access::kRead,
                                 "SELECT balance_fen FROM wallets WHERE user_id = $1"};

constexpr int kShoppers = 6;
constexpr int64_t kInitialStock = 500;
constexpr int64_t kInitialBalance = 100'000'000;
constexpr int kAcknowledgedBeforeKill = 30;

// A request that may fail at the transport level (the server is being killed): status 0.
http::ClientResponse TryPost(const std::string& url, const std::string& body, Headers headers) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.headers = std::move(headers);
  req.headers.emplace_back("Content-Type", "application/json");
  req.timeout = 20s;
  auto r = http::Fetch(req);
  return r.ok() ? std::move(r).value() : http::ClientResponse{};
}

std::unique_ptr<storage::Db> OpenRole(const std::string& target, const std::string& schema) {
  storage::DbOptions o;
  o.default_schema = schema;
  auto db = storage::OpenDb(target, o);
  if (!db.ok()) throw std::runtime_error("cannot open " + target + ": " + db.error().internal);
  return std::move(db).value();
}

struct Shopper {
  std::string host_user_id;
  Headers host;
  Headers mp;
};

struct Placed {
  std::string order_id;
  bool acknowledged = false;  // the cashier answered 200 "paid"
};

class CrashTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<FreshDatabases>(GetParam());
    data_ = dbs_->dir() + "/data";
    db_args_ = {"--data-dir", data_, "--host-db", dbs_->host_db(), "--provider-db", dbs_->provider_db()};
  }
  void TearDown() override {
    if (child_.pid > 0) {
      kill(child_.pid, SIGKILL);
      waitpid(child_.pid, nullptr, 0);
    }
  }
  std::string Log(const std::string& name) const { return dbs_->dir() + "/" + name + ".log"; }
  // Starts `hutong serve` on fresh ports and returns {host_url, provider_url}.
  std::pair<std::string, std::string> Serve(const std::string& log) {
    std::vector<std::string> args = {"serve",       "--host-listen", "127.0.0.1:0", "--provider-listen",
                                     "127.0.0.1:0", "--access-log",  "false"};
    args.insert(args.end(), db_args_.begin(), db_args_.end());
    child_ = SpawnBinary(HUTONG_BINARY, args, Log(log));
    auto ports = WaitForListeningPorts(child_);
    EXPECT_EQ(ports.size(), 2u) << Slurp(Log(log));
    return {"http://127.0.0.1:" + std::to_string(ports["host"]),
            "http://127.0.0.1:" + std::to_string(ports["provider"])};
  }

  std::unique_ptr<FreshDatabases> dbs_;
  std::string data_;
  std::vector<std::string> db_args_;
  Child child_;
};

TEST_P(CrashTest, KillNineMidBurstLosesNoPaidOrderAndIssuesNoVoucherTwice) {
  std::vector<std::string> seed = {"seed-demo"};
  seed.insert(seed.end(), db_args_.begin(), db_args_.end());
  ASSERT_EQ(WaitExit(SpawnBinary(HUTONG_BINARY, seed, Log("seed")).pid, 60s), 0) << Slurp(Log("seed"));
  auto host_db = OpenRole(dbs_->host_db(), "host");
  auto provider_db = OpenRole(dbs_->provider_db(), "provider");
  const std::vector<std::string> deals = PlainDeals(*provider_db, 2);
  ASSERT_EQ(deals.size(), 2u);
  for (const auto& d : deals) RunQuery(*provider_db, kSetStock, {d, kInitialStock});

  auto [h, p] = Serve("serve1");
  ASSERT_FALSE(HasFailure());

  // Shoppers with host sessions and sandbox money written straight into the host's
  // database; the launch and code2session go over HTTP as in production.
  const FeedVideo video = FirstFeedVideo(h);
  std::vector<Shopper> shoppers;
  for (int u = 0; u < kShoppers; ++u) {
    Shopper s;
    s.host_user_id = NewId("usr");
    RunQuery(*host_db, kInsertUser,
             {s.host_user_id, "1370000000" + std::to_string(u), "crash " + std::to_string(u)});
    RunQuery(*host_db, kInsertWallet, {s.host_user_id, kInitialBalance});
    // Sandbox money enters through the ledger, like a top-up (host/ledger/ledger.h).
    ASSERT_TRUE(host_db
                    ->Write([&](storage::Tx& tx) {
                      return host::PostEntry(tx,
                                             {"topup",
                                              "crash:" + s.host_user_id,
                                              std::nullopt,
                                              {{host::SandboxFundingAccount(), -kInitialBalance},
                                               {host::WalletAccount(s.host_user_id), kInitialBalance}}},
                                             0);
                    })
                    .ok());
    SessionToken token = NewSessionToken("utok_");
    RunQuery(*host_db, kInsertSession,
             {token.hash, s.host_user_id, SystemClock::Instance().NowMs() + 3'600'000});
    s.host = BearerAuth(token.token);
    s.mp = OpenMiniProgram(h, p, s.host, video.app_id, video.video_id).mp;
    ASSERT_FALSE(HasFailure());
    shoppers.push_back(std::move(s));
  }

  // The burst: every shopper orders and pays in a loop until the server goes away.
  std::atomic<int> acknowledged{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Placed> placed;           // GUARDED_BY(mu)
  std::vector<std::string> unexpected;  // GUARDED_BY(mu)
  std::vector<std::thread> threads;
  for (int t = 0; t < kShoppers; ++t) {
    threads.emplace_back([&, t] {
      const Shopper& s = shoppers[t];
      for (int n = 0; !stop.load(); ++n) {
        json::object body{{"deal_id", deals[n % 2]}, {"quantity", 1 + (n + t) % 2}};
        Headers headers = s.mp;
        headers.emplace_back("Idempotency-Key", "crash-" + std::to_string(t) + "-" + std::to_string(n));
        auto created = TryPost(p + "/mp/v1/orders", json::serialize(body), headers);
        if (created.status == 0) return;  // killed
        if (created.status != 201) {
          std::lock_guard lock(mu);
          unexpected.push_back("order " + std::to_string(created.status) + " " + created.body.substr(0, 200));
          return;
        }
        auto order = ParseBody(created).as_object();
        Placed entry{std::string(order.at("order_id").as_string())};
        auto paid = TryPost(h + "/api/cashier/" + std::string(order.at("pay_order_id").as_string()) + "/pay",
                            "", s.host);
        if (paid.status == 200 && ParseBody(paid).at("status") == "paid") {
          entry.acknowledged = true;
          acknowledged.fetch_add(1);
        } else if (paid.status != 0) {
          std::lock_guard lock(mu);
          unexpected.push_back("pay " + std::to_string(paid.status) + " " + paid.body.substr(0, 200));
        }
        std::lock_guard lock(mu);
        placed.push_back(std::move(entry));
        if (paid.status == 0) return;
      }
    });
  }
  for (int i = 0; i < 1200 && acknowledged.load() < kAcknowledgedBeforeKill; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_GE(acknowledged.load(), kAcknowledgedBeforeKill) << Slurp(Log("serve1"));
  ASSERT_EQ(kill(child_.pid, SIGKILL), 0);
  EXPECT_EQ(WaitExit(child_.pid, 10s), 128 + SIGKILL);
  child_.pid = -1;
  stop.store(true);
  for (auto& th : threads) th.join();
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();

  // Restart on the same data and let it settle: every payment the host holds reaches the
  // provider (the outbox redelivers; an event the dead node had claimed waits out its lease).
  const int64_t restarted_at = SystemClock::Instance().NowMs();
  const auto settle_start = std::chrono::steady_clock::now();
  auto urls = Serve("serve2");
  ASSERT_FALSE(HasFailure());
  auto ids = [](storage::Rows rows) {
    std::set<std::string> out;
    for (const auto& r : rows) out.insert(r.Str(0));
    return out;
  };
  std::set<std::string> host_paid, provider_paid;
  for (int i = 0; i < 1200; ++i) {  // up to 2 minutes: a claimed event's lease is 60 s
    host_paid = ids(RunQuery(*host_db, kHostPaid));
    provider_paid = ids(RunQuery(*provider_db, kProviderPaid));
    if (host_paid == provider_paid) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(host_paid, provider_paid) << "paid at the host but not at the provider, or the reverse";
  // The restarted node runs the provider's frequent jobs too (a lease the dead node held
  // lapses first).
  for (const char* job : {"order_expiry", "refund_retry"}) {
    int64_t ran = 0;
    for (int i = 0; i < 1500 && ran == 0; ++i) {
      ran = RunQuery(*provider_db, kJobStartedSince, {std::string(job), restarted_at}).rows.at(0).Int(0);
      if (ran == 0) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(ran, 1) << job << " never ran after the restart";
  }
  std::cout << "[ crash    ] " << acknowledged.load() << " payments acknowledged before kill -9, "
            << placed.size() << " orders placed, " << host_paid.size() << " paid after restart; settled in "
            << std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                settle_start)
                   .count()
            << " s\n";

  // Every acknowledged payment is a paid order with one voucher per unit.
  int acknowledged_seen = 0;
  for (const Placed& e : placed) {
    if (!e.acknowledged) continue;
    ++acknowledged_seen;
    EXPECT_TRUE(provider_paid.count(e.order_id)) << e.order_id;
  }
  EXPECT_EQ(acknowledged_seen, acknowledged.load());
  // No voucher twice: a paid order has exactly `quantity` vouchers, any other none.
  int paid_orders = 0;
  for (const auto& row : RunQuery(*provider_db, kOrdersWithVouchers)) {
    const bool paid = row.Str(1) == "paid";
    paid_orders += paid ? 1 : 0;
    EXPECT_EQ(row.Int(3), paid ? row.Int(2) : 0) << row.Str(0) << " " << row.Str(1);
  }
  EXPECT_GE(paid_orders, kAcknowledgedBeforeKill);
  // Stock: initial − units of orders still holding stock (paid or awaiting payment).
  for (const auto& d : deals) {
    const int64_t live = RunQuery(*provider_db, kLiveUnits, {d}).rows.at(0).Int(0);
    EXPECT_EQ(RunQuery(*provider_db, kStockLeft, {d}).rows.at(0).Int(0), kInitialStock - live) << d;
  }
  // Money: each wallet paid exactly for its paid pay orders.
  std::map<std::string, int64_t> spent;
  for (const auto& row : RunQuery(*host_db, kHostPaid)) spent[row.Str(1)] += row.Int(2);
  for (const Shopper& s : shoppers) {
    EXPECT_EQ(RunQuery(*host_db, kWallet, {s.host_user_id}).rows.at(0).Int(0),
              kInitialBalance - spent[s.host_user_id]);
  }
  // The API tells the buyer the same.
  for (const Placed& e : placed) {
    if (!e.acknowledged) continue;
    for (const Shopper& s : shoppers) {
      auto r = Get(urls.second + "/mp/v1/orders/" + e.order_id, s.mp);
      if (r.status != 200) continue;
      EXPECT_EQ(ParseBody(r).at("status"), "paid") << r.body;
      break;
    }
    break;  // one is enough: the database checks above cover all
  }

  // The ledger is balanced and agrees with the wallets: `hutong reconcile` is clean.
  const std::string today = host::BusinessDay(SystemClock::Instance().NowMs());
  std::vector<std::string> reconcile = {"reconcile", "--date", today};
  reconcile.insert(reconcile.end(), db_args_.begin(), db_args_.end());
  EXPECT_EQ(WaitExit(SpawnBinary(HUTONG_BINARY, reconcile, Log("reconcile")).pid, 60s), 0)
      << Slurp(Log("reconcile"));

  ASSERT_EQ(kill(child_.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(child_.pid, 15s), 0) << Slurp(Log("serve2"));
  child_.pid = -1;
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
