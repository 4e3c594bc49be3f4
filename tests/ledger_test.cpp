// The host's ledger, commission, settlement and reconciliation, on SQLite and PostgreSQL:
// postings always balance and payables never go negative (also under concurrency); the
// whole path over real HTTP — attributed purchase, redemption reported by the provider's
// outbox, commission accrued and reversed, creator earnings, daily settlement in JSON and
// CSV — and `hutong reconcile` on the real binary, clean and after a corrupted posting.
#include "host/ledger/ledger.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "common/secret_box.h"
#include "host/host.h"
#include "host/ledger/receivables.h"
#include "host/ledger/reconcile.h"
#include "host/ledger/redemptions.h"
#include "host/ledger/settlement.h"
#include "host/openplatform/attribution.h"
#include "host/pay/pay_orders.h"
#include "host/pay/payment_provider.h"
#include "host/pay/refunds.h"
#include "protocol/open_api_client.h"
#include "storage/db.h"
#include "support/test_env.h"

extern char** environ;

namespace hutong::testing {
namespace {
namespace json = boost::json;
using storage::Access;
using storage::Query;

constexpr Query kAccountBalance{"test.ledger.balance", Access::kRead,
                                "SELECT balance_fen FROM ledger_accounts WHERE id = $1"};
constexpr Query kPostingSum{"test.ledger.posting_sum", Access::kRead,
                            "SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_postings WHERE account_id = $1"};
constexpr Query kUnbalanced{"test.ledger.unbalanced", Access::kRead,
                            "SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_postings GROUP BY entry_id "
                            "HAVING SUM(amount_fen) <> 0) u"};
constexpr Query kEntryCount{"test.ledger.entries", Access::kRead,
                            "SELECT COUNT(*) FROM ledger_entries WHERE kind = $1"};
constexpr Query kWalletsDisagree{
    "test.ledger.wallets_disagree", Access::kRead,
    "SELECT COUNT(*) FROM wallets w LEFT JOIN ledger_accounts a "
    "ON a.id = 'wallet:' || w.user_id WHERE a.id IS NULL OR a.balance_fen <> w.balance_fen"};
constexpr Query kInsertApp{"test.ledger.app", Access::kWrite,
                           "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, created_at) "
                           "VALUES ($1, 'test app', 'http://127.0.0.1:1', 'http://127.0.0.1:1/n', 'x', 0)"};
constexpr Query kInsertUser{"test.ledger.user", Access::kWrite,
                            "INSERT INTO users (id, phone, password_hash, nickname, created_at) "
                            "VALUES ($1, $2, 'x', 'n', 0)"};
constexpr Query kInsertOpenId{
    "test.ledger.openid", Access::kWrite,
    "INSERT INTO app_openids (app_id, openid, user_id, created_at) VALUES ($1, $2, $3, 0)"};
constexpr Query kInsertAppDeal{
    "test.ledger.app_deal", Access::kWrite,
    "INSERT INTO app_deals (app_id, deal_id, title, type, category, city, price_fen, "
    "original_price_fen, commission_bps, updated_at) "
    "VALUES ($1, $2, 'deal', 'set_meal', 'catering', '北京', 100, 100, $3, 0)"};
constexpr Query kPaidPayOrder{
    "test.ledger.paid_pay_order", Access::kWrite,
    "INSERT INTO pay_orders (id, app_id, out_trade_no, user_id, amount_fen, description, "
    "creator_id, video_id, status, created_at, paid_at, commission_bps) "
    "VALUES ($1, $2, $1, $3, $4, 'd', $5, 'vid_x', 'paid', 0, 0, $6)"};
constexpr Query kCorruptPosting{
    "test.ledger.corrupt", Access::kWrite,
    "UPDATE ledger_postings SET amount_fen = amount_fen + 1 WHERE entry_id = "
    "(SELECT id FROM ledger_entries WHERE kind = 'redemption' ORDER BY id LIMIT 1) "
    "AND account_id LIKE 'merchant:%'"};

// ---------------------------------------------------------------------------------------
// Repository level: one fresh host database per test.

class LedgerRepoTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<FreshDatabases>(GetParam());
    storage::DbOptions o;
    o.default_schema = "host";
    o.pool_size = 8;
    auto db = storage::OpenDb(dbs_->host_db(), o);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    auto migrated = storage::Migrate(*db_, host::HostMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().internal;
    app_ = NewId("app");
    user_ = NewId("usr");
    Run(kInsertApp, {app_});
    Run(kInsertUser, {user_, std::string("13900000000")});
  }
  storage::Rows Run(const Query& q, std::vector<storage::Value> p = {}) {
    return RunQuery(*db_, q, std::move(p));
  }
  int64_t Balance(const std::string& account) {
    auto rows = Run(kAccountBalance, {account});
    return rows.empty() ? 0 : rows[0].Int(0);
  }
  Result<bool> PostLedger(const host::LedgerEntry& e) {
    return db_->Write([&](storage::Tx& tx) { return host::PostEntry(tx, e, 1'700'000'000'000); });
  }
  // A paid pay order holding `amount` in its clearing account.
  std::string PaidPayOrder(Fen amount, const std::optional<std::string>& creator, int64_t bps) {
    const std::string id = NewId("pay");
    Run(kPaidPayOrder, {id, app_, user_, amount, storage::Opt(creator), bps});
    EXPECT_TRUE(PostLedger({"payment",
                            id,
                            id,
                            {{host::SandboxFundingAccount(), -amount}, {host::ClearingAccount(id), amount}}})
                    .ok());
    return id;
  }

  std::unique_ptr<FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  std::string app_, user_;
};

TEST_P(LedgerRepoTest, EntriesBalanceAreIdempotentAndNeverOverdrawAPayable) {
  const auto wallet = host::WalletAccount(user_);
  auto posted =
      PostLedger({"topup", "t1", std::nullopt, {{host::SandboxFundingAccount(), -500}, {wallet, 500}}});
  ASSERT_TRUE(posted.ok());
  EXPECT_TRUE(*posted);
  // The same (kind, ref) again changes nothing.
  posted = PostLedger({"topup", "t1", std::nullopt, {{host::SandboxFundingAccount(), -500}, {wallet, 500}}});
  ASSERT_TRUE(posted.ok());
  EXPECT_FALSE(*posted);
  EXPECT_EQ(Balance(wallet.id), 500);
  EXPECT_EQ(Balance("funding:sandbox"), -500);  // external: may be negative

  // Unbalanced: refused, nothing written.
  auto unbalanced =
      PostLedger({"topup", "t2", std::nullopt, {{host::SandboxFundingAccount(), -500}, {wallet, 499}}});
  ASSERT_FALSE(unbalanced.ok());
  EXPECT_EQ(unbalanced.error().code, ErrorCode::kInternal);
  // Overdrawing the wallet: refused with kConflict, nothing written.
  auto overdraw =
      PostLedger({"payment", "p1", std::nullopt, {{wallet, -501}, {host::ClearingAccount("p1"), 501}}});
  ASSERT_FALSE(overdraw.ok());
  EXPECT_EQ(overdraw.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Balance(wallet.id), 500);
  EXPECT_EQ(Balance("clearing:p1"), 0);
  EXPECT_EQ(Run(kEntryCount, {std::string("payment")}).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kPostingSum, {wallet.id}).rows.at(0).Int(0), 500);
}

TEST_P(LedgerRepoTest, CommissionIsFlooredToTheFenAndTheMerchantGetsTheRest) {
  // 9,999 fen at 12.34 %: 1,233.8766 → 1,233; fee 2 %: 199.98 → 199; merchant 8,567.
  auto s = host::SplitRedemption(9'999, 1'234, true);
  EXPECT_EQ(s.commission_fen, 1'233);
  EXPECT_EQ(s.fee_fen, 199);
  EXPECT_EQ(s.merchant_fen, 8'567);
  // Not attributed: no commission at all.
  s = host::SplitRedemption(9'999, 1'234, false);
  EXPECT_EQ(s.commission_fen, 0);
  EXPECT_EQ(s.merchant_fen, 9'800);
  // 1 fen: everything floors to 0 but the merchant's fen.
  s = host::SplitRedemption(1, 1'000, true);
  EXPECT_EQ(s.commission_fen + s.fee_fen, 0);
  EXPECT_EQ(s.merchant_fen, 1);
  // A 100 % rate cannot eat the fee: the three never exceed the amount.
  s = host::SplitRedemption(1'000, 10'000, true);
  EXPECT_EQ(s.fee_fen, 20);
  EXPECT_EQ(s.commission_fen, 980);
  EXPECT_EQ(s.merchant_fen, 0);
}

TEST_P(LedgerRepoTest, RedemptionAccruesAndReversalTakesBackExactly) {
  const std::string creator = "cr_test";
  const std::string pay = PaidPayOrder(19'800, creator, 1'000);
  host::RedemptionReport r{"evt1", "redeemed", pay,      "vch1",       "rdm1",
                           19'800, "brand1",   "store1", std::nullopt, 1'700'000'000'000};
  auto booked = host::ApplyRedemptionReport(*db_, app_, r, 1'700'000'000'000);
  ASSERT_TRUE(booked.ok()) << booked.error().detail;
  EXPECT_EQ(booked->at("commission_fen").as_int64(), 1'980);
  EXPECT_EQ(booked->at("platform_fee_fen").as_int64(), 396);
  EXPECT_EQ(booked->at("merchant_fen").as_int64(), 17'424);
  EXPECT_EQ(Balance("clearing:" + pay), 0);
  EXPECT_EQ(Balance("creator:" + creator), 1'980);
  EXPECT_EQ(Balance("merchant:" + app_ + ":brand1"), 17'424);
  EXPECT_EQ(Balance("platform_fee"), 396);
  // A retry books nothing more; a second redemption beyond what was paid is refused.
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r, 1'700'000'000'000).ok());
  EXPECT_EQ(Balance("creator:" + creator), 1'980);
  host::RedemptionReport again = r;
  again.redemption_id = "rdm2";
  auto over = host::ApplyRedemptionReport(*db_, app_, again, 1'700'000'000'000);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kConflict);
  // Another app cannot report on this pay order.
  const std::string other_app = NewId("app");
  Run(kInsertApp, {other_app});
  auto foreign = host::ApplyRedemptionReport(*db_, other_app, r, 1'700'000'000'000);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);

  host::RedemptionReport reverse = r;
  reverse.type = "reversed";
  reverse.event_id = "evt2";
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, reverse, 1'700'000'000'000).ok());
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, reverse, 1'700'000'000'000).ok());  // idempotent
  EXPECT_EQ(Balance("clearing:" + pay), 19'800);
  EXPECT_EQ(Balance("creator:" + creator), 0);
  EXPECT_EQ(Balance("merchant:" + app_ + ":brand1"), 0);
  EXPECT_EQ(Balance("platform_fee"), 0);
  EXPECT_EQ(Run(kEntryCount, {std::string("reversal")}).rows.at(0).Int(0), 1);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
}

TEST_P(LedgerRepoTest, ConcurrentReversalsNeverTakeAPayableNegative) {
  // 5 redemptions of 1,000 fen each, settled but for one; then 20 threads race to
  // reverse all of them: each is reversed once; what the payable no longer holds (4 of
  // them were paid out) becomes the merchant's receivable, never a negative payable.
  const std::string pay = PaidPayOrder(5'000, std::string("cr_race"), 500);
  for (int i = 0; i < 5; ++i) {
    host::RedemptionReport r{"e" + std::to_string(i),
                             "redeemed",
                             pay,
                             "v",
                             "r" + std::to_string(i),
                             1'000,
                             "b",
                             "s",
                             std::nullopt,
                             0};
    ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r, 1'700'000'000'000).ok());
  }
  const std::string merchant = "merchant:" + app_ + ":b";
  ASSERT_EQ(Balance(merchant), 5 * 930);
  // Pay out all but one redemption's share, as a settlement would.
  ASSERT_TRUE(PostLedger({"settlement",
                          "manual",
                          std::nullopt,
                          {{{merchant, host::AccountKind::kMerchantPayable}, -4 * 930},
                           {host::PayoutAccount(), 4 * 930}}})
                  .ok());
  std::atomic<int> reversed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 20; ++t) {
    threads.emplace_back([&, t] {
      host::RedemptionReport r{"x" + std::to_string(t),
                               "reversed",
                               pay,
                               "v",
                               "r" + std::to_string(t % 5),
                               1'000,
                               "b",
                               "s",
                               std::nullopt,
                               0};
      for (int attempt = 0; attempt < 20; ++attempt) {
        auto res = host::ApplyRedemptionReport(*db_, app_, r, 1'700'000'000'000);
        if (res.ok()) {
          if (res->at("status").as_string() == "reversed") ++reversed;
          return;
        }
        if (res.error().code != ErrorCode::kUnavailable) {
          ++failed;
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // lock timeout: retry
      }
      ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(reversed.load(), 20);  // every retry answers the same
  EXPECT_EQ(Balance(merchant), 0);
  EXPECT_EQ(Balance("receivable:" + merchant), -4 * 930);
  EXPECT_EQ(Balance("creator:cr_race"), 0);
  EXPECT_EQ(Balance("platform_fee"), 0);
  EXPECT_EQ(Run(kEntryCount, {std::string("reversal")}).rows.at(0).Int(0), 5);
  EXPECT_EQ(Balance("clearing:" + pay), 5'000);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kPostingSum, {merchant}).rows.at(0).Int(0), 0);
}

TEST_P(LedgerRepoTest, ReversalAfterSettlementIsDeductedFromTheNextStatement) {
  constexpr int64_t kDay = 86'400'000;
  const int64_t t1 = 1'700'000'000'000, t2 = t1 + kDay, t3 = t2 + kDay;
  const std::string d1 = host::BusinessDay(t1), d2 = host::BusinessDay(t2);
  const std::string merchant = "merchant:" + app_ + ":b";
  const std::string merchant_owes = "receivable:" + merchant;
  const std::string creator_owes = "receivable:creator:cr_v";
  auto report = [&](const std::string& type, const std::string& pay, const std::string& id, Fen amount,
                    int64_t at) {
    host::RedemptionReport r{"e" + id + type, type, pay, "v" + id, id, amount, "b", "s", std::nullopt, 0};
    return host::ApplyRedemptionReport(*db_, app_, r, at);
  };
  auto reconciled = [&](const std::string& day) {
    auto rec = host::Reconcile(*db_, day);
    EXPECT_TRUE(rec.ok());
    EXPECT_TRUE(rec->clean()) << host::FormatReconcileReport(*rec);
    return *rec;
  };

  // Day 1: 10,000 fen redeemed, attributed at 10%: merchant 8,800, creator 1,000, fee 200; settled.
  const std::string pay1 = PaidPayOrder(10'000, std::string("cr_v"), 1'000);
  ASSERT_TRUE(report("redeemed", pay1, "rd1", 10'000, t1).ok());
  ASSERT_TRUE(host::SettleDay(*db_, d1, t2).ok());
  EXPECT_EQ(Balance("payout"), 9'800);

  // Day 2: the till's reversal arrives; it goes through, and the settled shares are owed back.
  auto reversed = report("reversed", pay1, "rd1", 10'000, t2);
  ASSERT_TRUE(reversed.ok()) << reversed.error().detail;
  EXPECT_EQ(reversed->at("status").as_string(), "reversed");
  auto check = [&] {
    EXPECT_EQ(Balance("clearing:" + pay1), 10'000);
    EXPECT_EQ(Balance(merchant), 0);
    EXPECT_EQ(Balance("creator:cr_v"), 0);
    EXPECT_EQ(Balance("platform_fee"), 0);
    EXPECT_EQ(Balance(merchant_owes), -8'800);
    EXPECT_EQ(Balance(creator_owes), -1'000);
    EXPECT_EQ(Run(kEntryCount, {std::string("reversal")}).rows.at(0).Int(0), 1);
    EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  };
  check();
  // The provider's outbox retrying it gets the same answer and moves nothing.
  for (int i = 0; i < 3; ++i) {
    auto again = report("reversed", pay1, "rd1", 10'000, t2 + i);
    ASSERT_TRUE(again.ok()) << again.error().detail;
    EXPECT_EQ(again->at("status").as_string(), "reversed");
  }
  check();
  auto rec = reconciled(d2);
  EXPECT_EQ(rec.outstanding_clearing, 10'000);
  EXPECT_EQ(rec.outstanding_receivables, -9'800);
  EXPECT_EQ(rec.settled(), 9'800);

  // Both owe it, as the admin view shows.
  auto owed = host::OutstandingReceivables(*db_, "");
  ASSERT_TRUE(owed.ok()) << owed.error().detail;
  ASSERT_EQ(owed->at("items").as_array().size(), 2u);
  const auto& first = owed->at("items").as_array().at(0).as_object();  // largest first
  EXPECT_EQ(first.at("kind").as_string(), "merchant");
  EXPECT_EQ(first.at("app_id").as_string(), app_);
  EXPECT_EQ(first.at("brand_id").as_string(), "b");
  EXPECT_EQ(first.at("owed_fen").as_int64(), 8'800);
  EXPECT_EQ(first.at("deducted_fen").as_int64(), 0);
  EXPECT_EQ(first.at("oldest_outstanding_at").as_string(), FormatRfc3339(t2));
  const auto& second = owed->at("items").as_array().at(1).as_object();
  EXPECT_EQ(second.at("kind").as_string(), "creator");
  EXPECT_EQ(second.at("creator_id").as_string(), "cr_v");
  EXPECT_EQ(second.at("owed_fen").as_int64(), 1'000);
  EXPECT_EQ(owed->at("totals").at("merchants_owed_fen").as_int64(), 8'800);
  EXPECT_EQ(owed->at("totals").at("creators_owed_fen").as_int64(), 1'000);
  auto creators_only = host::OutstandingReceivables(*db_, "creator");
  ASSERT_TRUE(creators_only.ok());
  EXPECT_EQ(creators_only->at("items").as_array().size(), 1u);
  auto bad_kind = host::OutstandingReceivables(*db_, "payable");
  ASSERT_FALSE(bad_kind.ok());
  EXPECT_EQ(bad_kind.error().code, ErrorCode::kValidationFailed);

  // The voucher is redeemed again on day 2 (its money becomes the merchant's again), and
  // another 5,000 unattributed: day 2 earns 8,800 + 4,900; 8,800 are deducted.
  ASSERT_TRUE(report("redeemed", pay1, "rd2", 10'000, t2).ok());
  const std::string pay2 = PaidPayOrder(5'000, std::nullopt, 0);
  ASSERT_TRUE(report("redeemed", pay2, "rd3", 5'000, t2).ok());
  auto st = host::SettleDay(*db_, d2, t3);
  ASSERT_TRUE(st.ok()) << st.error().detail;
  json::object line;
  for (const auto& l : st->at("merchants").as_array())
    if (l.at("brand_id").as_string() == "b") line = l.as_object();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.at("reversals").as_int64(), 1);
  EXPECT_EQ(line.at("reversed_fen").as_int64(), 10'000);
  EXPECT_EQ(line.at("deducted_fen").as_int64(), 8'800);
  EXPECT_EQ(line.at("settled_fen").as_int64(), 4'900);
  EXPECT_EQ(Balance(merchant_owes), 0);
  EXPECT_EQ(Balance(creator_owes), 0);  // the creator's 1,000 from rd2 paid it back
  EXPECT_EQ(Balance(merchant), 0);
  EXPECT_EQ(Balance("payout"), 9'800 + 4'900);
  auto none = host::OutstandingReceivables(*db_, "");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->at("items").as_array().empty());
  rec = reconciled(d2);
  EXPECT_EQ(rec.paid, 15'000);
  EXPECT_EQ(rec.outstanding(), 0);
}

TEST_P(LedgerRepoTest, RefundRacingSettlementBothSucceed) {
  // Each round: a redemption on day i, then that day's settlement and an after-sale
  // refund of all of it at once. Whichever locks the payable first, both go through: a
  // refund before the settlement takes the share from the payable (nothing to pay out),
  // after it from the receivable (deducted later). Either way nothing is paid out net.
  constexpr int64_t kDay = 86'400'000;
  constexpr int kRounds = 8;
  const host::SandboxWallet wallet;
  const int64_t t0 = 1'700'000'000'000;
  int busy_retries = 0;
  for (int i = 0; i < kRounds; ++i) {
    const int64_t day_start = t0 + i * kDay, next_day = day_start + kDay;
    const std::string pay = PaidPayOrder(10'000, std::string("cr_x"), 1'000);
    host::RedemptionReport r{"e",    "redeemed", pay, "v",          "rd" + std::to_string(i),
                             10'000, "b",        "s", std::nullopt, 0};
    ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r, day_start).ok());
    Status settled = Ok(), refunded = Ok();
    auto retry = [&](auto&& fn) {
      for (int attempt = 0;; ++attempt) {
        Status s = fn();
        if (s.ok() || s.error().code != ErrorCode::kUnavailable || attempt == 20) return s;
        ++busy_retries;  // a lock timeout or deadlock victim: the caller retries
      }
    };
    std::thread settler([&] {
      settled = retry([&]() -> Status {
        auto st = host::SettleDay(*db_, host::BusinessDay(day_start), next_day);
        if (!st.ok()) return std::move(st).error();
        return Ok();
      });
    });
    std::thread refunder([&] {
      refunded = retry([&]() -> Status {
        bool created = false;
        auto rf = host::CreateRefund(*db_, wallet, app_, {pay, "rf" + std::to_string(i), 10'000, "r"},
                                     next_day, &created);
        if (!rf.ok()) return std::move(rf).error();
        return Ok();
      });
    });
    settler.join();
    refunder.join();
    ASSERT_TRUE(settled.ok()) << "round " << i << ": " << settled.error().detail << " "
                              << settled.error().internal;
    ASSERT_TRUE(refunded.ok()) << "round " << i << ": " << refunded.error().detail << " "
                               << refunded.error().internal;
    // Paid out for the merchant and creator = what they owe back.
    const std::string merchant = "merchant:" + app_ + ":b";
    EXPECT_EQ(Balance(merchant), 0) << "round " << i;
    EXPECT_EQ(Balance("creator:cr_x"), 0) << "round " << i;
    EXPECT_EQ(Balance("platform_fee"), 0) << "round " << i;
    EXPECT_EQ(Balance("clearing:" + pay), 0) << "round " << i;
    EXPECT_EQ(Balance("payout") + Balance("receivable:" + merchant) + Balance("receivable:creator:cr_x"), 0)
        << "round " << i;
    auto rec = host::Reconcile(*db_, host::BusinessDay(next_day));
    ASSERT_TRUE(rec.ok());
    EXPECT_TRUE(rec->clean()) << host::FormatReconcileReport(*rec);
  }
  EXPECT_EQ(Balance("wallet:" + user_), kRounds * 10'000);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kWalletsDisagree).rows.at(0).Int(0), 0);
  RecordProperty("busy_retries", busy_retries);
}

TEST_P(LedgerRepoTest, RefundsLeaveClearingAndTakeBackRedeemedAccruals) {
  const host::SandboxWallet wallet;
  const std::string pay = PaidPayOrder(3'000, std::string("cr_r"), 1'000);
  auto refund = [&](const std::string& no, Fen amount) {
    bool created = false;
    return host::CreateRefund(*db_, wallet, app_, {pay, no, amount, "r"}, 1'700'000'000'000, &created);
  };
  // Of two 1,500-fen vouchers one is redeemed: 1,500 stays in clearing.
  host::RedemptionReport r{"e1", "redeemed", pay, "v1", "rd1", 1'500, "b", "s", std::nullopt, 0};
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r, 1'700'000'000'000).ok());
  EXPECT_EQ(Balance("creator:cr_r"), 150);
  // An unused voucher's refund comes out of clearing; the accrual stays.
  ASSERT_TRUE(refund("rf1", 1'500).ok());
  EXPECT_EQ(Balance("clearing:" + pay), 0);
  EXPECT_EQ(Balance("wallet:" + user_), 1'500);
  EXPECT_EQ(Balance("creator:cr_r"), 150);
  // After-sale refund of the redeemed one: its accruals are taken back first.
  ASSERT_TRUE(refund("rf2", 1'500).ok());
  EXPECT_EQ(Balance("wallet:" + user_), 3'000);
  EXPECT_EQ(Balance("creator:cr_r"), 0);
  EXPECT_EQ(Balance("merchant:" + app_ + ":b"), 0);
  EXPECT_EQ(Balance("platform_fee"), 0);
  EXPECT_EQ(Balance("clearing:" + pay), 0);
  EXPECT_EQ(Run(kEntryCount, {std::string("refund")}).rows.at(0).Int(0), 2);
  EXPECT_EQ(Run(kEntryCount, {std::string("refund_reversal")}).rows.at(0).Int(0), 1);
  // The day's statement shows the redemption and its taking back.
  auto st = host::SettlementStatement(*db_, host::BusinessDay(1'700'000'000'000), 1'800'000'000'000);
  ASSERT_TRUE(st.ok());
  const auto& line = st->at("merchants").as_array().at(0).as_object();
  EXPECT_EQ(line.at("redemptions").as_int64(), 1);
  EXPECT_EQ(line.at("redeemed_fen").as_int64(), 1'500);
  EXPECT_EQ(line.at("reversals").as_int64(), 1);
  EXPECT_EQ(line.at("reversed_fen").as_int64(), 1'500);
  EXPECT_EQ(line.at("net_fen").as_int64(), 0);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  // A late reversal report of the refunded redemption books nothing.
  host::RedemptionReport late = r;
  late.type = "reversed";
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, late, 1'700'000'000'000).ok());
  EXPECT_EQ(Run(kEntryCount, {std::string("reversal")}).rows.at(0).Int(0), 0);

  // Settled accruals are owed back: the refund goes through and the merchant's share
  // becomes its receivable (RefundAfterSettlement... below follows it to the next statement).
  const std::string pay2 = PaidPayOrder(1'000, std::nullopt, 0);
  host::RedemptionReport r2{"e2", "redeemed", pay2, "v2", "rd2", 1'000, "b", "s", std::nullopt, 0};
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r2, 1'700'000'000'000).ok());
  ASSERT_TRUE(host::SettleDay(*db_, host::BusinessDay(1'700'000'000'000), 1'800'000'000'000).ok());
  EXPECT_EQ(Balance("merchant:" + app_ + ":b"), 0);
  bool created = false;
  auto after_settlement =
      host::CreateRefund(*db_, wallet, app_, {pay2, "rf3", 1'000, "r"}, 1'800'000'000'000, &created);
  ASSERT_TRUE(after_settlement.ok()) << after_settlement.error().detail;
  EXPECT_EQ(Balance("wallet:" + user_), 4'000);
  EXPECT_EQ(Balance("merchant:" + app_ + ":b"), 0);
  EXPECT_EQ(Balance("receivable:merchant:" + app_ + ":b"), -980);
  // A reversal that overtakes its redemption is kept; the late redemption books nothing.
  host::RedemptionReport early{"e3", "reversed", pay2, "v2", "rd3", 500, "b", "s", std::nullopt, 0};
  ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, early, 1'800'000'000'000).ok());
  early.type = "redeemed";
  auto late_redeem = host::ApplyRedemptionReport(*db_, app_, early, 1'800'000'000'000);
  ASSERT_TRUE(late_redeem.ok());
  EXPECT_EQ(late_redeem->at("status").as_string(), "reversed");
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
}

TEST_P(LedgerRepoTest, AttributionLastClickWithinSevenDays) {
  auto box = SecretBox::FromHex(SecretBox::NewHexKey());
  ASSERT_TRUE(box.ok());
  const std::string openid = "o_" + user_;
  Run(kInsertOpenId, {app_, openid, user_});
  Run(kInsertAppDeal, {app_, std::string("deal_1"), int64_t{800}});
  ManualClockForTest clock(1'767'000'000'000);
  const int64_t clicked = clock.NowMs();
  const std::string token = host::IssueAttributionToken(*box, {"cr_a", "vid_a", app_, clicked});
  auto order = [&](const std::string& trade_no, const std::optional<std::string>& t) {
    host::PayOrderInput in{trade_no, 1'000, "d", openid, t, std::nullopt, std::string("deal_1")};
    auto p = host::CreatePayOrder(*db_, *box, app_, in, clock.NowMs());
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().detail);
    return p.ok() ? *p : host::PayOrder{};
  };
  // Exactly 7 days after the click: still attributed, with the deal's rate.
  clock.Set(clicked + host::kAttributionWindowMs);
  auto p = order("o1", token);
  EXPECT_EQ(p.creator_id.value_or(""), "cr_a");
  EXPECT_EQ(p.commission_bps, 800);
  // One second later: not attributed, the order still succeeds.
  clock.Set(clicked + host::kAttributionWindowMs + 1'000);
  p = order("o2", token);
  EXPECT_FALSE(p.creator_id.has_value());
  EXPECT_EQ(p.commission_bps, 0);
  // A newer launch (another creator's video) replaces the older token: last click wins.
  clock.Set(clicked + 3'600'000);
  ASSERT_TRUE(db_->WithWrite([&](storage::Tx& tx) {
                   return host::RecordAttributionClick(tx, {"cr_b", "vid_b", app_, clicked + 60'000}, user_);
                 })
                  .ok());
  p = order("o3", token);
  EXPECT_EQ(p.creator_id.value_or(""), "cr_b");
  EXPECT_EQ(p.video_id.value_or(""), "vid_b");
  // An older click never replaces a newer one.
  ASSERT_TRUE(db_->WithWrite([&](storage::Tx& tx) {
                   return host::RecordAttributionClick(tx, {"cr_c", "vid_c", app_, clicked + 1}, user_);
                 })
                  .ok());
  p = order("o4", std::nullopt);
  EXPECT_EQ(p.creator_id.value_or(""), "cr_b");
  // A forged token is still refused.
  host::PayOrderInput forged{"o5", 1'000, "d", openid, token + "0", std::nullopt, std::nullopt};
  auto bad = host::CreatePayOrder(*db_, *box, app_, forged, clock.NowMs());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kValidationFailed);
}

TEST_P(LedgerRepoTest, BusinessDaysAreUtcPlus8) {
  // 2026-01-02T15:59:59.999Z is the last millisecond of 2026-01-02 in Beijing.
  auto range = host::BusinessDayRange("2026-01-02");
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(FormatRfc3339(range->first), "2026-01-01T16:00:00.000Z");
  EXPECT_EQ(host::BusinessDay(range->second - 1), "2026-01-02");
  EXPECT_EQ(host::BusinessDay(range->second), "2026-01-03");
  EXPECT_FALSE(host::BusinessDayRange("2026-02-30").has_value());
  EXPECT_FALSE(host::BusinessDayRange("2026-1-2").has_value());
  // A day not over cannot be settled.
  auto early = host::SettleDay(*db_, "2026-01-02", range->second - 1);
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kConflict);
}

TEST_P(LedgerRepoTest, RefundAfterSettlementIsDeductedFromTheNextStatements) {
  constexpr int64_t kDay = 86'400'000;
  const int64_t t1 = 1'700'000'000'000, t2 = t1 + kDay, t3 = t2 + kDay, t4 = t3 + kDay;
  const std::string d1 = host::BusinessDay(t1), d2 = host::BusinessDay(t2), d3 = host::BusinessDay(t3);
  const std::string merchant = "merchant:" + app_ + ":b";
  const std::string merchant_owes = "receivable:" + merchant;
  const std::string creator_owes = "receivable:creator:cr_s";
  const host::SandboxWallet wallet;
  auto redeem = [&](const std::string& pay, const std::string& id, Fen amount, int64_t at) {
    host::RedemptionReport r{"e" + id, "redeemed", pay, "v" + id, id, amount, "b", "s", std::nullopt, 0};
    ASSERT_TRUE(host::ApplyRedemptionReport(*db_, app_, r, at).ok());
  };
  auto merchant_line = [&](const std::string& day, int64_t now) {
    auto st = host::SettlementStatement(*db_, day, now);
    EXPECT_TRUE(st.ok());
    for (const auto& l : st->at("merchants").as_array())
      if (l.at("brand_id").as_string() == "b") return l.as_object();
    ADD_FAILURE() << "no line for brand b on " << day;
    return json::object{};
  };
  auto reconciled = [&](const std::string& day) {
    auto rec = host::Reconcile(*db_, day);
    EXPECT_TRUE(rec.ok());
    EXPECT_TRUE(rec->clean()) << host::FormatReconcileReport(*rec);
    EXPECT_EQ(rec->paid, rec->refunded + rec->settled() + rec->outstanding());
    return *rec;
  };

  // Day 1: 10,000 fen redeemed, attributed at 10%: merchant 8,800, creator 1,000, fee 200; settled.
  const std::string pay1 = PaidPayOrder(10'000, std::string("cr_s"), 1'000);
  redeem(pay1, "rd1", 10'000, t1);
  ASSERT_TRUE(host::SettleDay(*db_, d1, t2).ok());
  EXPECT_EQ(Balance(merchant), 0);
  EXPECT_EQ(Balance("creator:cr_s"), 0);

  // Day 2: the buyer gets all 10,000 back; the settled shares become receivables.
  bool created = false;
  auto refund = host::CreateRefund(*db_, wallet, app_, {pay1, "rf1", 10'000, "r"}, t2, &created);
  ASSERT_TRUE(refund.ok()) << refund.error().detail;
  EXPECT_TRUE(created);
  auto check_after_refund = [&] {
    EXPECT_EQ(Balance("wallet:" + user_), 10'000);
    EXPECT_EQ(Balance("clearing:" + pay1), 0);
    EXPECT_EQ(Balance(merchant), 0);
    EXPECT_EQ(Balance("creator:cr_s"), 0);
    EXPECT_EQ(Balance("platform_fee"), 0);
    EXPECT_EQ(Balance(merchant_owes), -8'800);
    EXPECT_EQ(Balance(creator_owes), -1'000);
    EXPECT_EQ(Run(kEntryCount, {std::string("refund")}).rows.at(0).Int(0), 1);
    EXPECT_EQ(Run(kEntryCount, {std::string("refund_reversal")}).rows.at(0).Int(0), 1);
    EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  };
  check_after_refund();
  // The provider's retry is answered with the same refund and changes nothing.
  auto again = host::CreateRefund(*db_, wallet, app_, {pay1, "rf1", 10'000, "r"}, t2 + 1, &created);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_FALSE(created);
  EXPECT_EQ(again->id, refund->id);
  check_after_refund();
  auto rec2 = reconciled(d2);
  EXPECT_EQ(rec2.refunded, 10'000);
  EXPECT_EQ(rec2.outstanding_receivables, -9'800);

  // Day 2 also earns the merchant 4,900 (5,000 less 100 fee): all of it is deducted.
  const std::string pay2 = PaidPayOrder(5'000, std::nullopt, 0);
  redeem(pay2, "rd2", 5'000, t2);
  auto st2 = host::SettleDay(*db_, d2, t3);
  ASSERT_TRUE(st2.ok());
  auto l2 = merchant_line(d2, t3);
  EXPECT_EQ(l2.at("net_fen").as_int64(), 4'900 - 8'800);
  EXPECT_EQ(l2.at("deducted_fen").as_int64(), 4'900);
  EXPECT_EQ(l2.at("settled_fen").as_int64(), 0);
  EXPECT_EQ(Balance(merchant), 0);
  EXPECT_EQ(Balance(merchant_owes), -3'900);

  // Day 3: 9,800 earned, the remaining 3,900 deducted, 5,900 paid out; CSV says the same.
  const std::string pay3 = PaidPayOrder(10'000, std::nullopt, 0);
  redeem(pay3, "rd3", 10'000, t3);
  ASSERT_TRUE(host::SettleDay(*db_, d3, t4).ok());
  auto l3 = merchant_line(d3, t4);
  EXPECT_EQ(l3.at("deducted_fen").as_int64(), 3'900);
  EXPECT_EQ(l3.at("settled_fen").as_int64(), 5'900);
  EXPECT_EQ(Balance(merchant_owes), 0);
  EXPECT_EQ(Balance(merchant), 0);
  EXPECT_EQ(Balance(creator_owes), -1'000);  // no commission since: carried over
  auto st3 = host::SettlementStatement(*db_, d3, t4);
  ASSERT_TRUE(st3.ok());
  EXPECT_EQ(st3->at("totals").at("merchants_deducted_fen").as_int64(), 3'900);
  const std::string csv = host::SettlementCsv(*st3);
  EXPECT_NE(csv.find(",settled_fen,deducted_fen\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("," + std::to_string(5'900) + "," + std::to_string(3'900) + "\r\n"), std::string::npos)
      << csv;

  // Settling again doubles nothing; every day reconciles to the fen.
  const Fen payout = Balance("payout");
  const int64_t settlements = Run(kEntryCount, {std::string("settlement")}).rows.at(0).Int(0);
  ASSERT_TRUE(host::SettleDay(*db_, d2, t4).ok());
  ASSERT_TRUE(host::SettleDay(*db_, d3, t4).ok());
  EXPECT_EQ(Balance("payout"), payout);
  EXPECT_EQ(payout, 8'800 + 1'000 + 0 + 5'900);
  EXPECT_EQ(Run(kEntryCount, {std::string("settlement")}).rows.at(0).Int(0), settlements);
  reconciled(d1);
  auto rec3 = reconciled(d3);
  EXPECT_EQ(rec3.paid, 25'000);
  EXPECT_EQ(rec3.settled_merchants, 8'800 + 0 + 5'900);
  EXPECT_EQ(rec3.settled_creators, 1'000);
  EXPECT_EQ(rec3.platform_fee, 300);
  EXPECT_EQ(rec3.outstanding_receivables, -1'000);

  // A receivable never goes above zero (nor a payable below).
  auto over = PostLedger({"test",
                          "over",
                          std::nullopt,
                          {{{creator_owes, host::AccountKind::kCommissionReceivable}, 1'001},
                           {host::SandboxFundingAccount(), -1'001}}});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kConflict);
}

TEST_P(LedgerRepoTest, ReceivablesMigrationKeepsAccountsAndPostings) {
  // A database at v12 with postings, then v13: the accounts table is rebuilt (on SQLite)
  // under its postings; balances, postings and foreign keys survive.
  FreshDatabases fresh(GetParam());
  storage::DbOptions o;
  o.default_schema = "host";
  auto db = storage::OpenDb(fresh.host_db(), o);
  ASSERT_TRUE(db.ok()) << db.error().internal;
  std::vector<storage::Migration> before;
  for (const auto& m : host::HostMigrations())
    if (m.version < 13) before.push_back(m);
  ASSERT_TRUE(storage::Migrate(**db, before).ok());
  auto posted = (*db)->Write([&](storage::Tx& tx) {
    return host::PostEntry(tx,
                           {"payment",
                            "p1",
                            std::nullopt,
                            {{host::SandboxFundingAccount(), -700}, {host::ClearingAccount("p1"), 700}}},
                           1'700'000'000'000);
  });
  ASSERT_TRUE(posted.ok());
  std::vector<storage::Migration> through_13;  // later migrations are not this test's
  for (const auto& m : host::HostMigrations())
    if (m.version <= 13) through_13.push_back(m);
  auto migrated = storage::Migrate(**db, through_13);
  ASSERT_TRUE(migrated.ok()) << migrated.error().internal;
  EXPECT_EQ(*migrated, 1);
  EXPECT_EQ(RunQuery(**db, kAccountBalance, {std::string("clearing:p1")}).rows.at(0).Int(0), 700);
  EXPECT_EQ(RunQuery(**db, kPostingSum, {std::string("clearing:p1")}).rows.at(0).Int(0), 700);
  // Postings still need their account.
  constexpr Query kOrphan{"test.ledger.orphan", Access::kWrite,
                          "INSERT INTO ledger_postings (entry_id, account_id, amount_fen) "
                          "SELECT id, 'nowhere', 1 FROM ledger_entries WHERE kind = 'payment'"};
  auto orphan = (*db)->Write([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kOrphan, {}));
    return Ok();
  });
  EXPECT_FALSE(orphan.ok());
}

TEST_P(LedgerRepoTest, MovementsCreateOnlyAccountsThatTheyCanCredit) {
  constexpr Query kAccountExists{"test.ledger.account_exists", Access::kRead,
                                 "SELECT COUNT(*) FROM ledger_accounts WHERE id = $1"};
  const auto wallet = host::WalletAccount(user_);
  // A debit of an account never posted to: refused, and neither the account nor the
  // entry is left behind.
  auto overdraw =
      PostLedger({"payment", "p0", std::nullopt, {{wallet, -1}, {host::ClearingAccount("p0"), 1}}});
  ASSERT_FALSE(overdraw.ok());
  EXPECT_EQ(overdraw.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Run(kAccountExists, {wallet.id}).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kAccountExists, {std::string("clearing:p0")}).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kEntryCount, {std::string("payment")}).rows.at(0).Int(0), 0);
  // Credits create the account, then add to it.
  ASSERT_TRUE(
      PostLedger({"topup", "t1", std::nullopt, {{host::SandboxFundingAccount(), -300}, {wallet, 300}}}).ok());
  ASSERT_TRUE(
      PostLedger({"topup", "t2", std::nullopt, {{host::SandboxFundingAccount(), -200}, {wallet, 200}}}).ok());
  EXPECT_EQ(Balance(wallet.id), 500);
  // Three postings (one statement each) and two (one statement for both) balance alike.
  ASSERT_TRUE(
      PostLedger({"payment",
                  "p1",
                  std::nullopt,
                  {{wallet, -450}, {host::ClearingAccount("p1"), 400}, {host::PlatformFeeAccount(), 50}}})
          .ok());
  EXPECT_EQ(Balance(wallet.id), 50);
  EXPECT_EQ(Balance("clearing:p1"), 400);
  EXPECT_EQ(Balance("platform_fee"), 50);
  // A receivable may be created below zero, never rise above it.
  const auto receivable = *host::ReceivableOf(host::MerchantAccount(app_, "brand_1"));
  ASSERT_TRUE(
      PostLedger({"refund", "r1", std::nullopt, {{receivable, -300}, {host::PayoutAccount(), 300}}}).ok());
  EXPECT_EQ(Balance(receivable.id), -300);
  auto above =
      PostLedger({"settlement", "s1", std::nullopt, {{receivable, 301}, {host::PayoutAccount(), -301}}});
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Balance(receivable.id), -300);
  ASSERT_TRUE(
      PostLedger({"settlement", "s2", std::nullopt, {{receivable, 300}, {host::PayoutAccount(), -300}}})
          .ok());
  EXPECT_EQ(Balance(receivable.id), 0);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
  for (const std::string& account : {wallet.id, std::string("clearing:p1"), std::string("platform_fee"),
                                     receivable.id, std::string("payout"), std::string("funding:sandbox")}) {
    EXPECT_EQ(Run(kPostingSum, {account}).rows.at(0).Int(0), Balance(account)) << account;
  }
}

TEST_P(LedgerRepoTest, PayingChecksAndChangesTheOrderOnceAndReturnsTheBalance) {
  auto box = SecretBox::FromHex(SecretBox::NewHexKey());
  ASSERT_TRUE(box.ok());
  const std::string openid = "o_" + user_;
  Run(kInsertOpenId, {app_, openid, user_});
  const std::string other = NewId("usr");
  Run(kInsertUser, {other, std::string("13900000001")});
  ManualClockForTest clock(1'767'000'000'000);
  ASSERT_TRUE(host::SandboxWallet::TopUp(*db_, user_, 1'000, clock.NowMs()).ok());
  host::SandboxWallet wallet;
  auto create = [&](const std::string& trade_no, std::optional<int64_t> expires) {
    host::PayOrderInput in{trade_no, 400, "d", openid, std::nullopt, expires, std::nullopt};
    auto p = host::CreatePayOrder(*db_, *box, app_, in, clock.NowMs());
    EXPECT_TRUE(p.ok());
    return p.ok() ? p->id : std::string();
  };
  const std::string id = create("o1", clock.NowMs() + 60'000);
  // Another user's order: not found, nothing changes.
  bool enqueued = true;
  std::optional<Fen> balance = 7;
  auto wrong = host::PayPayOrder(*db_, wallet, id, other, clock.NowMs(), &enqueued, &balance);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(enqueued);
  EXPECT_FALSE(balance.has_value());
  // Paid: the balance after the charge comes back with it.
  auto paid = host::PayPayOrder(*db_, wallet, id, user_, clock.NowMs(), &enqueued, &balance);
  ASSERT_TRUE(paid.ok()) << paid.error().detail;
  EXPECT_EQ(paid->status, "paid");
  EXPECT_EQ(paid->paid_at.value_or(0), clock.NowMs());
  EXPECT_TRUE(enqueued);
  EXPECT_EQ(balance.value_or(-1), 600);
  // A retry: the paid order again, no second charge, no balance from a charge.
  clock.Set(clock.NowMs() + 1'000);
  auto again = host::PayPayOrder(*db_, wallet, id, user_, clock.NowMs(), &enqueued, &balance);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, "paid");
  EXPECT_EQ(again->paid_at.value_or(0), clock.NowMs() - 1'000);
  EXPECT_FALSE(enqueued);
  EXPECT_FALSE(balance.has_value());
  EXPECT_EQ(*host::SandboxWallet::Balance(*db_, user_), 600);
  EXPECT_EQ(Balance(host::WalletAccount(user_).id), 600);
  EXPECT_EQ(Balance("clearing:" + id), 400);
  // Expired (at its expiry exactly): refused, nothing written.
  const std::string late = create("o2", clock.NowMs() + 5'000);
  clock.Set(clock.NowMs() + 5'000);
  auto expired = host::PayPayOrder(*db_, wallet, late, user_, clock.NowMs(), &enqueued, &balance);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kConflict);
  EXPECT_EQ(expired.error().detail, "this pay order has expired");
  // Not enough money: refused, the order stays pending and nothing is written.
  const std::string big = create("o3", std::nullopt);
  const std::string big2 = create("o4", std::nullopt);
  ASSERT_TRUE(host::PayPayOrder(*db_, wallet, big, user_, clock.NowMs(), &enqueued, &balance).ok());
  EXPECT_EQ(balance.value_or(-1), 200);
  auto poor = host::PayPayOrder(*db_, wallet, big2, user_, clock.NowMs(), &enqueued, &balance);
  ASSERT_FALSE(poor.ok());
  EXPECT_EQ(poor.error().detail, "insufficient balance");
  EXPECT_FALSE(enqueued);
  auto still = host::GetPayOrderForUser(*db_, big2, user_);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->status, "pending");
  EXPECT_EQ(Run(kEntryCount, {std::string("payment")}).rows.at(0).Int(0), 2);
  EXPECT_EQ(Run(kWalletsDisagree).rows.at(0).Int(0), 0);
  EXPECT_EQ(Run(kUnbalanced).rows.at(0).Int(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerRepoTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

// ---------------------------------------------------------------------------------------
// The whole path over HTTP, and the reconcile command on the real binary.

constexpr Query kMountedDeal{
    "test.ledger.mounted_deal", Access::kRead,
    "SELECT vm.video_id, vm.app_id, vm.deal_id, d.commission_bps, v.creator_id "
    "FROM video_mounts vm JOIN app_deals d ON d.app_id = vm.app_id AND d.deal_id = vm.deal_id "
    "JOIN videos v ON v.id = vm.video_id "
    "WHERE d.brand_name = $1 AND d.type = 'set_meal' AND d.commission_bps > 0 "
    "ORDER BY vm.video_id LIMIT 1"};
constexpr Query kCreatorPhone{
    "test.ledger.creator_phone", Access::kRead,
    "SELECT u.phone FROM creators c JOIN users u ON u.id = c.user_id WHERE c.id = $1"};
constexpr Query kDealStore{"test.ledger.deal_store", Access::kRead,
                           "SELECT store_id FROM deal_stores WHERE deal_id = $1 ORDER BY store_id LIMIT 1"};
constexpr Query kReport{"test.ledger.report", Access::kRead,
                        "SELECT status, amount_fen, commission_fen, fee_fen, merchant_fen, brand_id "
                        "FROM redemption_reports WHERE redemption_id = $1"};
constexpr Query kOutboxPending{"test.ledger.outbox_pending", Access::kRead,
                               "SELECT COUNT(*) FROM redemption_outbox WHERE status = 'pending'"};

struct ChildResult {
  int exit_code = -1;
  std::string output;
};

// Runs the hutong binary with `args` (clean HUTONG_* environment) and waits for it.
ChildResult RunHutong(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<std::string> all = {HUTONG_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (!std::string_view(*e).starts_with("HUTONG_")) env_store.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  ChildResult r;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) return r;
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out_path);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  return r;
}

class LedgerApiTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    host_db_ = OpenHostDb();
    provider_db_ = OpenProviderDb();
  }
  int64_t HostBalance(const std::string& account) {
    auto rows = RunQuery(*host_db_, kAccountBalance, {account});
    return rows.empty() ? 0 : rows[0].Int(0);
  }
  json::object Earnings(const Headers& creator) {
    auto r = Get(node_->host_url() + "/api/creator/earnings", creator);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? ParseBody(r).as_object() : json::object{};
  }
  // Waits until the host booked `redemption_id` with `status` (the provider's outbox job
  // runs every 2 s).
  storage::Rows WaitForReport(const std::string& redemption_id, const std::string& status) {
    storage::Rows rows;
    for (int i = 0; i < 150; ++i) {
      rows = RunQuery(*host_db_, kReport, {redemption_id});
      if (!rows.empty() && rows[0].Str(0) == status) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rows;
  }

  std::unique_ptr<storage::Db> host_db_;
  std::unique_ptr<storage::Db> provider_db_;
};

TEST_P(LedgerApiTest, AttributedPurchaseRedeemedReversedSettledAndReconciled) {
  const std::string h = node_->host_url(), p = node_->provider_url();
  auto mounted = RunQuery(*host_db_, kMountedDeal, {std::string("湊湊")});
  ASSERT_EQ(mounted.size(), 1u);
  const std::string video_id = mounted[0].Str(0), app_id = mounted[0].Str(1), deal_id = mounted[0].Str(2);
  const int64_t bps = mounted[0].Int(3);
  const std::string creator_id = mounted[0].Str(4);
  const Headers creator = LoginViewer(h, RunQuery(*host_db_, kCreatorPhone, {creator_id}).rows.at(0).Str(0));
  const std::string store_id = RunQuery(*provider_db_, kDealStore, {deal_id}).rows.at(0).Str(0);

  // The viewer tops up (the ledger follows the wallet), launches from the video and buys.
  const Headers viewer = LoginViewer(h, "13800000000");
  auto topped = Post(h + "/api/wallet/topup", R"({"amount_fen":5000})", viewer);
  ASSERT_EQ(topped.status, 200) << topped.body;
  const MiniProgramSession opened = OpenMiniProgram(h, p, viewer, app_id, video_id);
  ASSERT_FALSE(HasFailure());
  const Headers& mp = opened.mp;
  auto ordered =
      Post(p + "/mp/v1/orders",
           json::serialize(json::object{
               {"deal_id", deal_id}, {"quantity", 1}, {"attribution_token", opened.attribution_token}}),
           mp);
  ASSERT_EQ(ordered.status, 201) << ordered.body;
  auto order = ParseBody(ordered).as_object();
  const std::string order_id(order.at("order_id").as_string());
  const std::string pay_order_id(order.at("pay_order_id").as_string());
  const int64_t amount = order.at("amount_fen").as_int64();
  auto paid = Post(h + "/api/cashier/" + pay_order_id + "/pay", "", viewer);
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(HostBalance("clearing:" + pay_order_id), amount);
  EXPECT_EQ(RunQuery(*host_db_, kWalletsDisagree).rows.at(0).Int(0), 0);

  // Paid, not redeemed: the commission is pending.
  const int64_t commission = amount * bps / 10'000;
  const int64_t fee = amount * host::kPlatformFeeBps / 10'000;
  auto e = Earnings(creator);
  EXPECT_EQ(e.at("pending_fen").as_int64(), commission);
  EXPECT_EQ(e.at("available_fen").as_int64(), 0);
  ExpectProblem(Get(h + "/api/creator/earnings", viewer), 404, "not_found");

  // Vouchers arrive; staff redeem one at the store.
  json::array vouchers;
  for (int i = 0; i < 100 && vouchers.empty(); ++i) {
    auto r = Get(p + "/mp/v1/orders/" + order_id, mp);
    auto o = ParseBody(r).as_object();
    if (o.at("status").as_string() == "paid")
      vouchers = o.at("vouchers").as_array();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(vouchers.size(), 1u);
  const Headers staff = LoginStaff(p, "coucou");
  auto prepared =
      Post(p + "/merchant/v1/vouchers/prepare",
           json::serialize(json::object{{"code", vouchers[0].at("code")}, {"store_id", store_id}}), staff);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  auto redeemed = Post(p + "/merchant/v1/vouchers/redeem",
                       json::serialize(json::object{{"verify_token", ParseBody(prepared).at("verify_token")},
                                                    {"store_id", store_id},
                                                    {"voucher_ids", json::array{vouchers[0].at("id")}}}),
                       staff);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  const std::string redemption_id(
      ParseBody(redeemed).at("redemptions").as_array().at(0).at("redemption_id").as_string());

  // The outbox tells the host; commission accrues at the deal's rate, floored.
  auto report = WaitForReport(redemption_id, "redeemed");
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0].Int(1), amount);
  EXPECT_EQ(report[0].Int(2), commission);
  EXPECT_EQ(report[0].Int(3), fee);
  EXPECT_EQ(report[0].Int(4), amount - commission - fee);
  const std::string merchant = "merchant:" + app_id + ":" + report[0].Str(5);
  EXPECT_EQ(HostBalance("clearing:" + pay_order_id), 0);
  EXPECT_EQ(HostBalance("creator:" + creator_id), commission);
  EXPECT_EQ(HostBalance(merchant), amount - commission - fee);
  e = Earnings(creator);
  EXPECT_EQ(e.at("pending_fen").as_int64(), 0);
  EXPECT_EQ(e.at("available_fen").as_int64(), commission);
  bool video_seen = false;
  for (const auto& v : e.at("by_video").as_array()) {
    if (v.at("video_id").as_string() == video_id) {
      video_seen = true;
      EXPECT_EQ(v.at("accrued_fen").as_int64(), commission);
    }
  }
  EXPECT_TRUE(video_seen);
  bool deal_seen = false;
  for (const auto& d : e.at("by_deal").as_array()) {
    if (d.at("deal_id") == json::value(deal_id)) {
      deal_seen = true;
      EXPECT_EQ(d.at("accrued_fen").as_int64(), commission);
    }
  }
  EXPECT_TRUE(deal_seen);

  // Reversal at the till: the accrual goes back, the commission is pending again.
  auto reversed = Post(p + "/merchant/v1/redemptions/" + redemption_id + "/reverse", "", staff);
  ASSERT_EQ(reversed.status, 200) << reversed.body;
  ASSERT_EQ(WaitForReport(redemption_id, "reversed").size(), 1u);
  EXPECT_EQ(HostBalance("clearing:" + pay_order_id), amount);
  EXPECT_EQ(HostBalance("creator:" + creator_id), 0);
  EXPECT_EQ(HostBalance(merchant), 0);
  e = Earnings(creator);
  EXPECT_EQ(e.at("available_fen").as_int64(), 0);
  EXPECT_EQ(e.at("pending_fen").as_int64(), commission);

  // Redeemed again, for good.
  prepared =
      Post(p + "/merchant/v1/vouchers/prepare",
           json::serialize(json::object{{"code", vouchers[0].at("code")}, {"store_id", store_id}}), staff);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  redeemed = Post(p + "/merchant/v1/vouchers/redeem",
                  json::serialize(json::object{{"verify_token", ParseBody(prepared).at("verify_token")},
                                               {"store_id", store_id},
                                               {"voucher_ids", json::array{vouchers[0].at("id")}}}),
                  staff);
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  const std::string second(
      ParseBody(redeemed).at("redemptions").as_array().at(0).at("redemption_id").as_string());
  ASSERT_EQ(WaitForReport(second, "redeemed").size(), 1u);
  for (int i = 0; i < 50 && RunQuery(*provider_db_, kOutboxPending).rows.at(0).Int(0) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(RunQuery(*provider_db_, kOutboxPending).rows.at(0).Int(0), 0);

  // Today's statement (the day is not over: open, nothing settled yet).
  const int64_t now = SystemClock::Instance().NowMs();
  const std::string today = host::BusinessDay(now);
  const Headers admin = {{"Authorization", "Bearer " + config_.admin_token}};
  auto statement = Get(h + "/api/admin/settlements?date=" + today, admin);
  ASSERT_EQ(statement.status, 200) << statement.body;
  auto st = ParseBody(statement).as_object();
  EXPECT_EQ(st.at("status").as_string(), "open");
  ExpectProblem(Post(h + "/api/admin/settlements", R"({"date":")" + today + R"("})", admin), 409, "conflict");
  ExpectProblem(Get(h + "/api/admin/settlements?date=2026-13-01", admin), 400, "validation_failed");
  ExpectProblem(Get(h + "/api/admin/settlements?date=" + today), 401, "unauthorized");

  // Settle the day as the job would once it is over (its clock a day ahead), twice.
  auto settled = host::SettleDay(*host_db_, today, now + 86'400'000);
  ASSERT_TRUE(settled.ok()) << settled.error().detail;
  ASSERT_TRUE(host::SettleDay(*host_db_, today, now + 86'400'000).ok());
  EXPECT_EQ(settled->at("status").as_string(), "settled");
  EXPECT_EQ(HostBalance(merchant), 0);
  EXPECT_EQ(HostBalance("creator:" + creator_id), 0);
  EXPECT_EQ(HostBalance("payout"), amount - fee);
  statement = Get(h + "/api/admin/settlements?date=" + today, admin);
  st = ParseBody(statement).as_object();
  bool merchant_line = false;
  for (const auto& m : st.at("merchants").as_array()) {
    if (m.at("app_id").as_string() != app_id) continue;
    merchant_line = true;
    EXPECT_EQ(m.at("redemptions").as_int64(), 2);
    EXPECT_EQ(m.at("redeemed_fen").as_int64(), 2 * amount);
    EXPECT_EQ(m.at("reversals").as_int64(), 1);
    EXPECT_EQ(m.at("reversed_fen").as_int64(), amount);
    EXPECT_EQ(m.at("commission_fen").as_int64(), commission);
    EXPECT_EQ(m.at("net_fen").as_int64(), amount - commission - fee);
    EXPECT_EQ(m.at("settled_fen").as_int64(), amount - commission - fee);
  }
  EXPECT_TRUE(merchant_line);
  e = Earnings(creator);
  EXPECT_EQ(e.at("available_fen").as_int64(), 0);
  EXPECT_EQ(e.at("settled_fen").as_int64(), commission);
  // The app reads its own statement over the signed open API: the same merchant line.
  const auto [local_app, local_secret] = LocalAppCredentials();
  ASSERT_EQ(local_app, app_id);
  auto client = protocol::OpenApiClient::Create({h, local_app, local_secret}, SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  auto own = client->CallJson("GET", "/open/v1/settlements?date=" + today, "");
  ASSERT_TRUE(own.ok()) << own.error().detail;
  ASSERT_EQ(own->at("merchants").as_array().size(), 1u);
  EXPECT_EQ(own->at("merchants").as_array().at(0).at("settled_fen").as_int64(), amount - commission - fee);
  EXPECT_TRUE(own->at("creators").as_array().empty());
  auto csv = Get(h + "/api/admin/settlements?date=" + today + "&format=csv", admin);
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_NE(csv.body.find("date,app_id,brand_id,redemptions,redeemed_fen"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(today + "," + app_id + "," + report[0].Str(5) + ",2," + std::to_string(2 * amount) +
                          ",1," + std::to_string(amount) + "," + std::to_string(commission) + "," +
                          std::to_string(fee) + "," + std::to_string(amount - commission - fee) + "," +
                          std::to_string(amount - commission - fee)),
            std::string::npos)
      << csv.body;

  // Nothing is owed back yet.
  auto owed = Get(h + "/api/admin/receivables", admin);
  ASSERT_EQ(owed.status, 200) << owed.body;
  EXPECT_TRUE(ParseBody(owed).at("items").as_array().empty());
  ExpectProblem(Get(h + "/api/admin/receivables"), 401, "unauthorized");
  ExpectProblem(Get(h + "/api/admin/receivables?kind=bogus", admin), 400, "validation_failed");

  // The settled redemption is reversed at the till (before its cancel deadline): the
  // host books it and the provider's outbox stops retrying; the merchant's and creator's
  // settled shares are owed back until their next settlements.
  auto late_reversal = Post(p + "/merchant/v1/redemptions/" + second + "/reverse", "", staff);
  ASSERT_EQ(late_reversal.status, 200) << late_reversal.body;
  ASSERT_EQ(WaitForReport(second, "reversed").size(), 1u);
  for (int i = 0; i < 50 && RunQuery(*provider_db_, kOutboxPending).rows.at(0).Int(0) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(RunQuery(*provider_db_, kOutboxPending).rows.at(0).Int(0), 0);
  EXPECT_EQ(HostBalance("clearing:" + pay_order_id), amount);
  EXPECT_EQ(HostBalance(merchant), 0);
  EXPECT_EQ(HostBalance("receivable:" + merchant), -(amount - commission - fee));
  EXPECT_EQ(HostBalance("receivable:creator:" + creator_id), -commission);
  owed = Get(h + "/api/admin/receivables", admin);
  ASSERT_EQ(owed.status, 200) << owed.body;
  auto owed_items = ParseBody(owed).at("items").as_array();
  ASSERT_EQ(owed_items.size(), commission > 0 ? 2u : 1u) << owed.body;
  EXPECT_EQ(owed_items.at(0).at("kind").as_string(), "merchant");
  EXPECT_EQ(owed_items.at(0).at("app_id").as_string(), app_id);
  EXPECT_EQ(owed_items.at(0).at("owed_fen").as_int64(), amount - commission - fee);
  EXPECT_TRUE(owed_items.at(0).at("oldest_outstanding_at").is_string());
  EXPECT_EQ(ParseBody(owed).at("totals").at("creators_owed_fen").as_int64(), commission);
  auto merchants_only = Get(h + "/api/admin/receivables?kind=merchant", admin);
  ASSERT_EQ(merchants_only.status, 200) << merchants_only.body;
  EXPECT_EQ(ParseBody(merchants_only).at("items").as_array().size(), 1u);

  // A second purchase, refunded through the provider while unused: clearing → wallet.
  ordered =
      Post(p + "/mp/v1/orders", json::serialize(json::object{{"deal_id", deal_id}, {"quantity", 1}}), mp);
  ASSERT_EQ(ordered.status, 201) << ordered.body;
  order = ParseBody(ordered).as_object();
  const std::string order2(order.at("order_id").as_string());
  const std::string pay2(order.at("pay_order_id").as_string());
  const int64_t amount2 = order.at("amount_fen").as_int64();
  ASSERT_EQ(Post(h + "/api/cashier/" + pay2 + "/pay", "", viewer).status, 200);
  json::array vouchers2;
  for (int i = 0; i < 100 && vouchers2.empty(); ++i) {
    auto o = ParseBody(Get(p + "/mp/v1/orders/" + order2, mp)).as_object();
    if (o.at("vouchers").as_array().size() == 1)
      vouchers2 = o.at("vouchers").as_array();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(vouchers2.size(), 1u);
  auto refunded = Post(p + "/mp/v1/orders/" + order2 + "/refunds",
                       json::serialize(json::object{{"voucher_ids", json::array{vouchers2[0].at("id")}},
                                                    {"reason", "plans changed"}}),
                       mp);
  ASSERT_EQ(refunded.status, 201) << refunded.body;
  for (int i = 0; i < 100 && HostBalance("clearing:" + pay2) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(HostBalance("clearing:" + pay2), 0);
  EXPECT_EQ(RunQuery(*host_db_, kWalletsDisagree).rows.at(0).Int(0), 0);

  // Reconcile, in process and with the real binary.
  auto rec = host::Reconcile(*host_db_, today);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->clean()) << host::FormatReconcileReport(*rec);
  EXPECT_EQ(rec->settled_merchants, amount - commission - fee);
  EXPECT_EQ(rec->settled_creators, commission);
  EXPECT_EQ(rec->refunded, amount2);
  EXPECT_EQ(rec->paid, amount + amount2);
  const std::string out = dbs_->dir() + "/reconcile.out";
  auto clean =
      RunHutong({"reconcile", "--date", today, "--host-db", config_.host_db, "--data-dir", dbs_->dir()}, out);
  EXPECT_EQ(clean.exit_code, 0) << clean.output;
  EXPECT_NE(clean.output.find("clean"), std::string::npos) << clean.output;
  EXPECT_NE(clean.output.find("paid         " + std::to_string(rec->paid) + " fen"), std::string::npos)
      << clean.output;

  // One fen more on a merchant posting: the entry no longer balances and the identity fails.
  RunQuery(*host_db_, kCorruptPosting);
  auto dirty =
      RunHutong({"reconcile", "--date", today, "--host-db", config_.host_db, "--data-dir", dbs_->dir()}, out);
  EXPECT_EQ(dirty.exit_code, 1) << dirty.output;
  EXPECT_NE(dirty.output.find("sums to 1 fen, not 0"), std::string::npos) << dirty.output;
  EXPECT_NE(dirty.output.find("NOT clean"), std::string::npos) << dirty.output;
  auto bad_date = RunHutong({"reconcile", "--date", "yesterday", "--host-db", config_.host_db}, out);
  EXPECT_EQ(bad_date.exit_code, 2) << bad_date.output;
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
