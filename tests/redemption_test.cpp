// Redemption at the till over real HTTP, on SQLite and PostgreSQL: staff of 湊湊 prepare a
// code and redeem it, reverse before the cancel_deadline; other brands' stores and
// vouchers are invisible; 50 concurrent redeems of one voucher take it once; every
// attempt is audited; the owner gets the voucher's QR code.
#include "provider/redemption/redemption.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "provider/orders/orders.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kBrandDeal{
    "test.redeem.brand_deal", storage::Access::kRead,
    "SELECT d.id, ds.store_id FROM deals d JOIN brands b ON b.id = d.brand_id "
    "JOIN deal_stores ds ON ds.deal_id = d.id "
    "WHERE b.name = $1 AND d.type IN ('set_meal', 'voucher') AND d.status = 'online' "
    "AND d.id NOT IN (SELECT deal_id FROM campaign_deals) ORDER BY d.id, ds.store_id LIMIT 1"};
constexpr storage::Query kOtherBrandDeal{
    "test.redeem.other_deal", storage::Access::kRead,
    "SELECT d.id, ds.store_id FROM deals d JOIN brands b ON b.id = d.brand_id "
    "JOIN deal_stores ds ON ds.deal_id = d.id "
    "WHERE b.name <> $1 AND d.type IN ('set_meal', 'voucher') AND d.status = 'online' "
    "AND d.id NOT IN (SELECT deal_id FROM campaign_deals) ORDER BY d.id, ds.store_id LIMIT 1"};
constexpr storage::Query kSetStock{
    "test.redeem.set_stock", storage::Access::kWrite,
    "UPDATE deals SET stock_left = 100, stock_total = 100, per_user_limit = 0, "
    "uses = $2 WHERE id = $1"};
constexpr storage::Query kOrderVouchers{"test.redeem.vouchers", storage::Access::kRead,
                                        "SELECT id, code, status, uses_left FROM vouchers "
                                        "WHERE order_id = $1 ORDER BY id"};
constexpr storage::Query kVoucher{"test.redeem.voucher", storage::Access::kRead,
                                  "SELECT status, uses_left FROM vouchers WHERE id = $1"};
constexpr storage::Query kStaff{"test.redeem.staff", storage::Access::kRead,
                                "SELECT id, account, name, role, brand_id FROM staff WHERE account = $1"};
constexpr storage::Query kAudit{"test.redeem.audit", storage::Access::kRead,
                                "SELECT COUNT(*) FROM redemption_audit WHERE action = $1 AND outcome = $2"};
constexpr storage::Query kRedemptionCount{"test.redeem.count", storage::Access::kRead,
                                          "SELECT COUNT(*) FROM redemptions WHERE voucher_id = $1"};

struct Voucher {
  std::string id;
  std::string code;
};

class RedeemTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = OpenProviderDb();
    auto deal = Query(kBrandDeal, {std::string("湊湊")});
    deal_ = deal.rows.at(0).Str(0);
    store_ = deal.rows.at(0).Str(1);
    auto other = Query(kOtherBrandDeal, {std::string("湊湊")});
    other_deal_ = other.rows.at(0).Str(0);
    other_store_ = other.rows.at(0).Str(1);
    staff_ = LoginStaff(node_->provider_url(), "coucou");
  }

  storage::Rows Query(const storage::Query& q, std::vector<storage::Value> params) {
    return RunQuery(*db_, q, std::move(params));
  }
  int64_t Count(const storage::Query& q, std::vector<storage::Value> params) {
    return Query(q, std::move(params)).rows.at(0).Int(0);
  }

  // A paid order of `deal` through the repository (the HTTP buying path is orders_test's).
  std::vector<Voucher> PaidVouchers(const std::string& deal, int64_t quantity, int64_t uses = 1) {
    Query(kSetStock, {deal, uses});
    const std::string user_id = NewId("mpu");
    const provider::MpUser user = InsertMpUser(*db_, user_id, "o_" + user_id);
    const int64_t now = SystemClock::Instance().NowMs();
    auto placed = provider::PlaceOrder(*db_, FakePayOrderGateway(), user, {deal, quantity, {}, {}}, now);
    EXPECT_TRUE(placed.ok());
    json::object event{
        {"id", NewId("evt")},
        {"type", "payment.succeeded"},
        {"data", json::object{{"out_trade_no", placed->order_id}, {"amount_fen", placed->amount_fen}}}};
    EXPECT_TRUE(db_->WithWrite([&](storage::Tx& tx) {
                     return provider::HandlePaymentSucceeded(tx, "local", event, now);
                   })
                    .ok());
    std::vector<Voucher> out;
    for (const auto& r : Query(kOrderVouchers, {placed->order_id})) out.push_back({r.Str(0), r.Str(1)});
    return out;
  }

  http::ClientResponse Prepare(const std::string& code, const std::string& store) {
    return Post(node_->provider_url() + "/merchant/v1/vouchers/prepare",
                json::serialize(json::object{{"code", code}, {"store_id", store}}), staff_);
  }
  http::ClientResponse Redeem(const std::string& token, const std::string& store,
                              const std::vector<std::string>& ids) {
    json::array arr;
    for (const auto& id : ids) arr.emplace_back(id);
    return Post(
        node_->provider_url() + "/merchant/v1/vouchers/redeem",
        json::serialize(json::object{{"verify_token", token}, {"store_id", store}, {"voucher_ids", arr}}),
        staff_);
  }
  std::string PrepareToken(const std::string& code) {
    auto r = Prepare(code, store_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? std::string(ParseBody(r).at("verify_token").as_string()) : "";
  }
  provider::Staff StaffRow() {
    auto r = Query(kStaff, {std::string("coucou")}).rows.at(0);
    return {r.Str(0), r.Str(1), r.Str(2), r.Str(3), r.Str(4)};
  }

  std::unique_ptr<storage::Db> db_;
  std::string deal_, store_, other_deal_, other_store_;
  Headers staff_;
};

TEST_P(RedeemTest, RedeemPrepareRedeemReverseOverHttp) {
  auto vouchers = PaidVouchers(deal_, 2);
  ASSERT_EQ(vouchers.size(), 2u);

  auto prepared = Prepare(vouchers[0].code, store_);
  ASSERT_EQ(prepared.status, 200) << prepared.body;
  auto p = ParseBody(prepared).as_object();
  EXPECT_EQ(p.at("deal").at("id").as_string(), deal_);
  EXPECT_EQ(p.at("vouchers").as_array().size(), 2u);
  EXPECT_EQ(Query(kVoucher, {vouchers[0].id}).rows.at(0).Str(0), "unused");  // prepare changes nothing
  const std::string token(p.at("verify_token").as_string());

  auto redeemed = Redeem(token, store_, {vouchers[0].id});
  ASSERT_EQ(redeemed.status, 200) << redeemed.body;
  auto rd = ParseBody(redeemed).at("redemptions").as_array();
  ASSERT_EQ(rd.size(), 1u);
  const std::string redemption_id(rd[0].at("redemption_id").as_string());
  auto at = ParseRfc3339(rd[0].at("redeemed_at").as_string());
  auto deadline = ParseRfc3339(rd[0].at("cancel_deadline").as_string());
  ASSERT_TRUE(at && deadline);
  EXPECT_EQ(*deadline - *at, 3600 * 1000);
  EXPECT_EQ(Query(kVoucher, {vouchers[0].id}).rows.at(0).Str(0), "redeemed");

  // A retry with the same token answers the same; the same token for other vouchers → 409.
  auto retried = Redeem(token, store_, {vouchers[0].id});
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(ParseBody(retried), ParseBody(redeemed));
  ExpectProblem(Redeem(token, store_, {vouchers[1].id}), 409, "conflict");
  EXPECT_EQ(Count(kRedemptionCount, {vouchers[0].id}), 1);

  // The redeemed voucher is no longer offered; the other still is.
  auto again = Prepare(vouchers[0].code, store_);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(ParseBody(again).at("vouchers").as_array().size(), 1u);

  // Reverse: the use comes back; twice → 409.
  const std::string reverse_url =
      node_->provider_url() + "/merchant/v1/redemptions/" + redemption_id + "/reverse";
  auto reversed = Post(reverse_url, "", staff_);
  ASSERT_EQ(reversed.status, 200) << reversed.body;
  EXPECT_EQ(ParseBody(reversed).at("voucher").at("status").as_string(), "unused");
  auto v = Query(kVoucher, {vouchers[0].id}).rows.at(0);
  EXPECT_EQ(v.Str(0), "unused");
  EXPECT_EQ(v.Int(1), 1);
  ExpectProblem(Post(reverse_url, "", staff_), 409, "conflict");
  ExpectProblem(Post(reverse_url, ""), 401, "unauthorized");

  // Unknown codes and bad input are refused (and audited).
  ExpectProblem(Prepare("000000000000", store_), 404, "not_found");
  ExpectProblem(Prepare("12ab", store_), 400, "validation_failed");
  ExpectProblem(Redeem("vt_nope", store_, {vouchers[0].id}), 404, "not_found");

  EXPECT_EQ(Count(kAudit, {std::string("prepare"), std::string("ok")}), 2);
  EXPECT_EQ(Count(kAudit, {std::string("prepare"), std::string("not_found")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("prepare"), std::string("validation_failed")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("redeem"), std::string("ok")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("redeem"), std::string("replayed")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("redeem"), std::string("conflict")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("redeem"), std::string("not_found")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("reverse"), std::string("ok")}), 1);
  EXPECT_EQ(Count(kAudit, {std::string("reverse"), std::string("conflict")}), 1);
}

TEST_P(RedeemTest, RedeemOtherBrandsStoreOrVoucherIsNotFound) {
  auto mine = PaidVouchers(deal_, 1);
  auto theirs = PaidVouchers(other_deal_, 1);
  ExpectProblem(Prepare(mine[0].code, other_store_), 404, "not_found");
  ExpectProblem(Prepare(theirs[0].code, store_), 404, "not_found");
  ExpectProblem(Prepare(theirs[0].code, other_store_), 404, "not_found");
  // A token prepared at our store cannot be spent at theirs.
  const std::string token = PrepareToken(mine[0].code);
  ExpectProblem(Redeem(token, other_store_, {mine[0].id}), 404, "not_found");
  // Nor can our token take their voucher.
  ExpectProblem(Redeem(token, store_, {theirs[0].id}), 409, "conflict");
  EXPECT_EQ(Query(kVoucher, {mine[0].id}).rows.at(0).Str(0), "unused");
  EXPECT_EQ(Query(kVoucher, {theirs[0].id}).rows.at(0).Str(0), "unused");
  EXPECT_EQ(Count(kRedemptionCount, {theirs[0].id}), 0);
}

TEST_P(RedeemTest, RedeemFiftyConcurrentRedeemsTakeTheVoucherOnce) {
  auto vouchers = PaidVouchers(deal_, 1);
  constexpr int kN = 50;
  std::vector<std::string> tokens;
  for (int i = 0; i < kN; ++i) tokens.push_back(PrepareToken(vouchers[0].code));
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      auto r = Redeem(tokens[i], store_, {vouchers[0].id});
      if (r.status == 200)
        ++ok;
      else if (r.status == 409)
        ++conflict;
      else
        ++other;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(ok.load() + conflict.load() + other.load(), kN);
  EXPECT_EQ(Count(kRedemptionCount, {vouchers[0].id}), 1);
  auto v = Query(kVoucher, {vouchers[0].id}).rows.at(0);
  EXPECT_EQ(v.Str(0), "redeemed");
  EXPECT_EQ(v.Int(1), 0);
}

TEST_P(RedeemTest, RedeemMultiUseCardTakesNUsesThenRefuses) {
  auto vouchers = PaidVouchers(deal_, 1, /*uses=*/3);
  for (int i = 0; i < 3; ++i) {
    auto r = Redeem(PrepareToken(vouchers[0].code), store_, {vouchers[0].id});
    ASSERT_EQ(r.status, 200) << r.body;
    auto v = Query(kVoucher, {vouchers[0].id}).rows.at(0);
    EXPECT_EQ(v.Int(1), 2 - i);
    EXPECT_EQ(v.Str(0), i < 2 ? "unused" : "redeemed");
  }
  ExpectProblem(Prepare(vouchers[0].code, store_), 409, "conflict");
  EXPECT_EQ(Count(kRedemptionCount, {vouchers[0].id}), 3);
}

TEST_P(RedeemTest, RedeemReverseAfterDeadlineIsConflict) {
  auto vouchers = PaidVouchers(deal_, 1);
  const provider::Staff staff = StaffRow();
  ManualClockForTest clock(SystemClock::Instance().NowMs());
  InMemoryRateLimiter limiter(clock);
  auto prepared = provider::PrepareRedemption(*db_, limiter, staff, vouchers[0].code, store_, clock.NowMs());
  ASSERT_TRUE(prepared.ok());
  auto redeemed = provider::RedeemVouchers(*db_, staff, std::string(prepared->at("verify_token").as_string()),
                                           store_, {vouchers[0].id}, clock.NowMs());
  ASSERT_TRUE(redeemed.ok());
  const std::string id(redeemed->at("redemptions").as_array().at(0).at("redemption_id").as_string());
  clock.Advance(provider::kRedemptionCancelWindowMs);
  auto late = provider::ReverseRedemption(*db_, staff, id, clock.NowMs());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Query(kVoucher, {vouchers[0].id}).rows.at(0).Str(0), "redeemed");
}

TEST_P(RedeemTest, RedeemFailedPreparesAreRateLimitedPerStore) {
  const provider::Staff staff = StaffRow();
  ManualClockForTest clock(SystemClock::Instance().NowMs());
  InMemoryRateLimiter limiter(clock);
  for (int i = 0; i < provider::kFailedPrepareLimit.max_events; ++i) {
    auto r = provider::PrepareRedemption(*db_, limiter, staff, "000000000000", store_, clock.NowMs());
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.error().code, ErrorCode::kNotFound);
  }
  auto vouchers = PaidVouchers(deal_, 1);
  auto limited = provider::PrepareRedemption(*db_, limiter, staff, vouchers[0].code, store_, clock.NowMs());
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, ErrorCode::kRateLimited);
  clock.Advance(provider::kFailedPrepareLimit.window_ms + 1);
  EXPECT_TRUE(
      provider::PrepareRedemption(*db_, limiter, staff, vouchers[0].code, store_, clock.NowMs()).ok());
  EXPECT_EQ(Count(kAudit, {std::string("prepare"), std::string("rate_limited")}), 1);
}

TEST_P(RedeemTest, RedeemVoucherQrIsOnlyTheOwners) {
  // The HTTP buying path: launch, order, pay at the cashier, wait for the vouchers.
  const std::string h = node_->host_url();
  auto launch = [&](const std::string& phone) {
    Headers host = LoginViewer(h, phone);
    const FeedVideo video = FirstFeedVideo(h);
    Headers mp = OpenMiniProgram(h, node_->provider_url(), host, video.app_id, video.video_id).mp;
    return std::make_pair(host, mp);
  };
  Query(kSetStock, {deal_, int64_t{1}});
  auto [host, mp] = launch("13800000000");
  auto ordered = Post(node_->provider_url() + "/mp/v1/orders",
                      json::serialize(json::object{{"deal_id", deal_}, {"quantity", 1}}), mp);
  ASSERT_EQ(ordered.status, 201) << ordered.body;
  auto o = ParseBody(ordered).as_object();
  auto paid = Post(h + "/api/cashier/" + std::string(o.at("pay_order_id").as_string()) + "/pay", "", host);
  ASSERT_EQ(paid.status, 200) << paid.body;
  const std::string order_url =
      node_->provider_url() + "/mp/v1/orders/" + std::string(o.at("order_id").as_string());
  json::object order;
  for (int i = 0; i < 100; ++i) {
    order = ParseBody(Get(order_url, mp)).as_object();
    if (order.at("status").as_string() == "paid") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(order.at("status").as_string(), "paid");
  const std::string voucher_id(order.at("vouchers").as_array().at(0).at("id").as_string());

  const std::string qr_url = node_->provider_url() + "/mp/v1/vouchers/" + voucher_id + "/qr.svg";
  auto qr = Get(qr_url, mp);
  ASSERT_EQ(qr.status, 200) << qr.body;
  EXPECT_NE(qr.body.find("<svg"), std::string::npos);
  EXPECT_NE(qr.body.find("<rect x="), std::string::npos);
  auto [other_host, other_mp] = launch("13800000001");
  ExpectProblem(Get(qr_url, other_mp), 404, "not_found");
  ExpectProblem(Get(qr_url), 401, "unauthorized");

  // And the bought voucher redeems at the store.
  const std::string code(order.at("vouchers").as_array().at(0).at("code").as_string());
  auto r = Redeem(PrepareToken(code), store_, {voucher_id});
  EXPECT_EQ(r.status, 200) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, RedeemTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
