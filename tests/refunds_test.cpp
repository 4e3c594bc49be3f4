// Refunds of mini-program orders, on SQLite and PostgreSQL: the whole path over real HTTP
// (money back at the host's wallet, the order's derived status), and the voucher and
// refund state machines through the repository with a host that can be made to fail:
// every allowed and forbidden transition, expiry and the 24 h auto-approval on a manual
// clock, refunds racing redemptions, retries that never pay twice, failed issuance.
#include "provider/refunds/refunds.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "common/rate_limiter.h"
#include "provider/orders/orders.h"
#include "provider/redemption/redemption.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kBrandDeal{
    "test.refunds.brand_deal", storage::Access::kRead,
    "SELECT d.id, ds.store_id FROM deals d JOIN brands b ON b.id = d.brand_id "
    "JOIN deal_stores ds ON ds.deal_id = d.id "
    "WHERE b.name = $1 AND d.type IN ('set_meal', 'voucher') AND d.status = 'online' "
    "AND d.id NOT IN (SELECT deal_id FROM campaign_deals) ORDER BY d.id, ds.store_id LIMIT 1"};
constexpr storage::Query kSetDeal{
    "test.refunds.set_deal", storage::Access::kWrite,
    "UPDATE deals SET stock_left = 100, stock_total = 100, per_user_limit = 0, uses = $2, refund_policy = $3 "
    "WHERE id = $1"};
constexpr storage::Query kStock{"test.refunds.stock", storage::Access::kRead,
                                "SELECT stock_left, price_fen FROM deals WHERE id = $1"};
constexpr storage::Query kOrderVouchers{"test.refunds.vouchers", storage::Access::kRead,
                                        "SELECT id, code, status, uses_left, valid_to FROM vouchers "
                                        "WHERE order_id = $1 ORDER BY id"};
constexpr storage::Query kVoucherStatus{"test.refunds.voucher", storage::Access::kRead,
                                        "SELECT status FROM vouchers WHERE id = $1"};
constexpr storage::Query kRefundRow{"test.refunds.refund", storage::Access::kRead,
                                    "SELECT status, amount_fen, kind, attempts FROM refunds WHERE id = $1"};
constexpr storage::Query kRefundDue{"test.refunds.refund_due", storage::Access::kRead,
                                    "SELECT next_attempt_at FROM refunds WHERE id = $1"};
constexpr storage::Query kRefundCount{"test.refunds.count", storage::Access::kRead,
                                      "SELECT COUNT(*) FROM refunds WHERE order_id = $1"};
constexpr storage::Query kRedemptionCount{"test.refunds.redemptions", storage::Access::kRead,
                                          "SELECT COUNT(*) FROM redemptions WHERE voucher_id = $1"};
constexpr storage::Query kRefundVoucherCount{"test.refunds.refund_vouchers", storage::Access::kRead,
                                             "SELECT COUNT(*) FROM refund_vouchers WHERE voucher_id = $1"};
constexpr storage::Query kStaff{"test.refunds.staff", storage::Access::kRead,
                                "SELECT id, account, name, role, brand_id FROM staff WHERE account = $1"};
constexpr storage::Query kSetValidTo{"test.refunds.set_valid_to", storage::Access::kWrite,
                                     "UPDATE vouchers SET valid_to = $2 WHERE order_id = $1"};
constexpr storage::Query kHostRefunds{"test.refunds.host_refunds", storage::Access::kRead,
                                      "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM pay_refunds "
                                      "WHERE pay_order_id = $1"};

// The host's refund API in repository tests: records every call; fails while told to.
class FakeRefundGateway final : public provider::RefundGateway {
 public:
  Result<std::string> Refund(const std::string&, const provider::HostRefundRequest& req) const override {
    std::lock_guard lock(mu_);
    calls_.push_back(req);
    if (fail_) return Error(fail_code_, fail_code_ == ErrorCode::kUnavailable ? "host down" : "host refuses");
    return "rfd_for_" + req.out_refund_no;
  }
  // Fails with `code`: kUnavailable is a host that cannot be reached, others a refusal.
  void SetFailing(bool fail, ErrorCode code = ErrorCode::kUnavailable) {
    std::lock_guard lock(mu_);
    fail_ = fail;
    fail_code_ = code;
  }
  std::vector<provider::HostRefundRequest> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<provider::HostRefundRequest> calls_;
  bool fail_ = false;
  ErrorCode fail_code_ = ErrorCode::kUnavailable;
};

class RefundsTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    db_ = OpenProviderDb();
    host_db_ = OpenHostDb();
    auto deal = Query(kBrandDeal, {std::string("湊湊")});
    deal_ = deal.rows.at(0).Str(0);
    store_ = deal.rows.at(0).Str(1);
    auto staff = Query(kStaff, {std::string("coucou")}).rows.at(0);
    staff_ = {staff.Str(0), staff.Str(1), staff.Str(2), staff.Str(3), staff.Str(4)};
    auto ops = Query(kStaff, {std::string("ops")}).rows.at(0);
    ops_ = {ops.Str(0), ops.Str(1), ops.Str(2), ops.Str(3), ops.Str(4)};
  }

  storage::Rows Query(const storage::Query& q, std::vector<storage::Value> params) {
    return RunQuery(*db_, q, std::move(params));
  }
  int64_t Count(const storage::Query& q, std::vector<storage::Value> params) {
    return Query(q, std::move(params)).rows.at(0).Int(0);
  }
  std::string VoucherStatus(const std::string& id) { return Query(kVoucherStatus, {id}).rows.at(0).Str(0); }
  std::string RefundStatus(const std::string& id) { return Query(kRefundRow, {id}).rows.at(0).Str(0); }
  int64_t StockLeft() { return Query(kStock, {deal_}).rows.at(0).Int(0); }
  int64_t Price() { return Query(kStock, {deal_}).rows.at(0).Int(1); }

  struct Paid {
    provider::MpUser user;
    std::string order_id;
    std::vector<std::string> vouchers;
  };
  // A paid order of the 湊湊 deal through the repository (no host involved).
  Paid PaidOrder(int64_t quantity, int64_t uses = 1, const std::string& policy = "anytime") {
    Query(kSetDeal, {deal_, uses, policy});
    Paid p;
    const std::string user_id = NewId("mpu");
    p.user = InsertMpUser(*db_, user_id, "o_" + user_id);
    const int64_t now = SystemClock::Instance().NowMs();
    auto placed = provider::PlaceOrder(*db_, FakePayOrderGateway(), p.user, {deal_, quantity, {}, {}}, now);
    EXPECT_TRUE(placed.ok());
    p.order_id = placed->order_id;
    json::object event{{"id", NewId("evt")},
                       {"type", "payment.succeeded"},
                       {"data", json::object{{"out_trade_no", placed->order_id},
                                             {"pay_order_id", placed->pay_order_id},
                                             {"amount_fen", placed->amount_fen}}}};
    EXPECT_TRUE(db_->WithWrite([&](storage::Tx& tx) {
                     return provider::HandlePaymentSucceeded(tx, "local", event, now);
                   })
                    .ok());
    for (const auto& r : Query(kOrderVouchers, {p.order_id})) p.vouchers.push_back(r.Str(0));
    return p;
  }

  Result<json::object> Refund(const Paid& p, std::vector<std::string> vouchers, bool after_sale, int64_t now,
                              const provider::RefundGateway& gateway) {
    return provider::RequestRefund(*db_, gateway, p.user,
                                   {p.order_id, std::move(vouchers), "test", after_sale}, now);
  }
  std::string DerivedStatus(const Paid& p) {
    auto o = provider::GetOrderJson(*db_, p.user, p.order_id);
    EXPECT_TRUE(o.ok());
    return o.ok() ? std::string(o->at("status").as_string()) : "";
  }
  // Redeems one voucher at the till through the repository.
  Status RedeemOne(const Paid& p, const std::string& voucher_id, int64_t now) {
    ManualClockForTest clock(now);
    InMemoryRateLimiter limiter(clock);
    const std::string code = Query(kOrderVouchers, {p.order_id}).rows.at(0).Str(1);
    ASSIGN_OR_RETURN(auto prepared, provider::PrepareRedemption(*db_, limiter, staff_, code, store_, now));
    auto r = provider::RedeemVouchers(*db_, staff_, std::string(prepared.at("verify_token").as_string()),
                                      store_, {voucher_id}, now);
    if (!r.ok()) return std::move(r).error();
    return Ok();
  }

  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<storage::Db> host_db_;
  std::string deal_, store_;
  provider::Staff staff_, ops_;
};

void ExpectCode(const Result<json::object>& r, ErrorCode code) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, code) << r.error().detail;
}

// The whole path over HTTP with the real host: buy two, refund one (money back, stock
// back), redeem the other, after-sale refund of it approved by the merchant.
TEST_P(RefundsTest, RefundsOverHttpGiveTheMoneyBack) {
  Query(kSetDeal, {deal_, int64_t{1}, std::string("anytime")});
  const int64_t price = Price();
  const std::string h = node_->host_url(), p = node_->provider_url();
  const Headers viewer = LoginViewer(h, "13800000000");
  const std::string app_id = LocalAppCredentials().first;
  const Headers mp = OpenMiniProgram(h, p, viewer, app_id).mp;
  ASSERT_FALSE(HasFailure());
  auto created = Post(p + "/mp/v1/orders", R"({"deal_id":")" + deal_ + R"(","quantity":2})", mp);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string order_id(ParseBody(created).at("order_id").as_string());
  const std::string pay_order_id(ParseBody(created).at("pay_order_id").as_string());
  ASSERT_EQ(Post(h + "/api/cashier/" + pay_order_id + "/pay", "", viewer).status, 200);
  auto balance = [&] { return ParseBody(Get(h + "/api/wallet", viewer)).at("balance_fen").as_int64(); };
  const int64_t after_payment = balance();

  const std::string order_url = p + "/mp/v1/orders/" + order_id;
  json::object order;
  for (int i = 0; i < 200; ++i) {
    order = ParseBody(Get(order_url, mp)).as_object();
    if (order.at("status").as_string() == "paid") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(order.at("status").as_string(), "paid");
  EXPECT_EQ(order.at("payment_status").as_string(), "paid");
  const std::string v0(order.at("vouchers").as_array().at(0).at("id").as_string());
  const std::string v1(order.at("vouchers").as_array().at(1).at("id").as_string());
  const int64_t stock = StockLeft();

  // Refund one unused voucher; a retry with the key is the same refund, without it a 409.
  const std::string refund_url = order_url + "/refunds";
  const std::string body = R"({"voucher_ids":[")" + v0 + R"("],"reason":"plans changed"})";
  Headers keyed = mp;
  keyed.emplace_back("Idempotency-Key", "refund-1");
  auto refunded = Post(refund_url, body, keyed);
  ASSERT_EQ(refunded.status, 201) << refunded.body;
  auto refund = ParseBody(refunded).as_object();
  EXPECT_EQ(refund.at("status").as_string(), "succeeded");
  EXPECT_EQ(refund.at("kind").as_string(), "user");
  EXPECT_EQ(refund.at("amount_fen").as_int64(), price);
  auto again = Post(refund_url, body, keyed);
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(ParseBody(again).at("refund_id"), refund.at("refund_id"));
  ExpectProblem(Post(refund_url, body, mp), 409, "conflict");
  EXPECT_EQ(balance(), after_payment + price);
  EXPECT_EQ(StockLeft(), stock + 1);
  auto host_refunds = RunQuery(*host_db_, kHostRefunds, {pay_order_id});
  EXPECT_EQ(host_refunds.rows.at(0).Int(0), 1);
  order = ParseBody(Get(order_url, mp)).as_object();
  EXPECT_EQ(order.at("status").as_string(), "partially_refunded");
  EXPECT_EQ(order.at("refunded_fen").as_int64(), price);
  EXPECT_EQ(order.at("vouchers").as_array().at(0).at("status").as_string(), "refunded");
  ASSERT_EQ(order.at("refunds").as_array().size(), 1u);

  // Someone else's order: 404, nothing changes.
  const Headers other = OpenMiniProgram(h, p, LoginViewer(h, "13800000001"), app_id).mp;
  ExpectProblem(Post(refund_url, R"({"voucher_ids":[")" + v1 + R"("]})", other), 404, "not_found");
  ExpectProblem(Post(refund_url, R"({"voucher_ids":[]})", mp), 400, "validation_failed");
  ExpectProblem(Post(refund_url, R"({"voucher_ids":[")" + v1 + R"("]})"), 401, "unauthorized");
  EXPECT_EQ(VoucherStatus(v1), "unused");

  // Redeem the other at the till: nothing unused is left → still partially_refunded.
  ASSERT_TRUE(RedeemOne({{}, order_id, {}}, v1, SystemClock::Instance().NowMs()).ok());
  EXPECT_EQ(ParseBody(Get(order_url, mp)).at("status").as_string(), "partially_refunded");
  // A redeemed voucher needs an after-sale refund, which waits for the merchant.
  ExpectProblem(Post(refund_url, R"({"voucher_ids":[")" + v1 + R"("]})", mp), 409, "conflict");
  auto after_sale =
      Post(refund_url, R"({"voucher_ids":[")" + v1 + R"("],"after_sale":true,"reason":"cold"})", mp);
  ASSERT_EQ(after_sale.status, 201) << after_sale.body;
  EXPECT_EQ(ParseBody(after_sale).at("status").as_string(), "awaiting_merchant");
  const std::string after_sale_id(ParseBody(after_sale).at("refund_id").as_string());
  EXPECT_EQ(ParseBody(Get(order_url, mp)).at("status").as_string(), "refunding");
  EXPECT_EQ(balance(), after_payment + price);

  const Headers staff = LoginStaff(p, "coucou");
  const Headers ops = LoginStaff(p, "ops");
  auto listed = Get(p + "/merchant/v1/refunds?status=awaiting_merchant", staff);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(ParseBody(listed).at("items").as_array().size(), 1u);
  EXPECT_EQ(ParseBody(listed).at("items").as_array()[0].at("refund_id").as_string(), after_sale_id);
  EXPECT_EQ(ParseBody(Get(p + "/merchant/v1/refunds", ops)).at("items").as_array().size(), 0u);
  ExpectProblem(Get(p + "/merchant/v1/refunds?status=bogus", staff), 400, "validation_failed");
  ExpectProblem(Post(p + "/merchant/v1/refunds/" + after_sale_id + "/approve", "", ops), 404, "not_found");
  EXPECT_EQ(RefundStatus(after_sale_id), "awaiting_merchant");
  auto approved = Post(p + "/merchant/v1/refunds/" + after_sale_id + "/approve", "", staff);
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(ParseBody(approved).at("status").as_string(), "succeeded");
  ExpectProblem(Post(p + "/merchant/v1/refunds/" + after_sale_id + "/approve", "", staff), 409, "conflict");
  ExpectProblem(Post(p + "/merchant/v1/refunds/" + after_sale_id + "/reject", "", staff), 409, "conflict");
  EXPECT_EQ(balance(), after_payment + 2 * price);
  order = ParseBody(Get(order_url, mp)).as_object();
  EXPECT_EQ(order.at("status").as_string(), "refunded");
  EXPECT_EQ(order.at("refunded_fen").as_int64(), 2 * price);
  EXPECT_EQ(RunQuery(*host_db_, kHostRefunds, {pay_order_id}).rows.at(0).Int(1), 2 * price);

  // The refund.succeeded webhooks arrive later and change nothing more.
  EXPECT_EQ(VoucherStatus(v0), "refunded");
  EXPECT_EQ(VoucherStatus(v1), "refunded");

  // The provider resending a refund (its answer lost) gets the same refund: paid once.
  auto [local_app, local_secret] = LocalAppCredentials();
  auto hosts =
      provider::HostDirectory::Create({{"local", h, local_app, local_secret}}, SystemClock::Instance());
  ASSERT_TRUE(hosts.ok());
  provider::HostRefundGateway real(**hosts);
  auto resent = real.Refund(
      "local", {pay_order_id, std::string(refund.at("refund_id").as_string()), price, "plans changed"});
  ASSERT_TRUE(resent.ok()) << resent.error().detail;
  EXPECT_EQ(balance(), after_payment + 2 * price);
  EXPECT_EQ(RunQuery(*host_db_, kHostRefunds, {pay_order_id}).rows.at(0).Int(0), 2);
}

TEST_P(RefundsTest, ForbiddenRefundsChangeNothing) {
  FakeRefundGateway gateway;
  const int64_t now = SystemClock::Instance().NowMs();
  Paid none = PaidOrder(1, 1, "no_refund");
  ExpectCode(Refund(none, none.vouchers, false, now, gateway), ErrorCode::kConflict);
  EXPECT_EQ(VoucherStatus(none.vouchers[0]), "unused");

  Paid a = PaidOrder(2);
  Paid b = PaidOrder(1);
  // Another user's order, a voucher of another order, an unknown order → 404.
  ExpectCode(provider::RequestRefund(*db_, gateway, b.user, {a.order_id, {a.vouchers[0]}, "", false}, now),
             ErrorCode::kNotFound);
  ExpectCode(Refund(a, {b.vouchers[0]}, false, now, gateway), ErrorCode::kNotFound);
  ExpectCode(Refund({a.user, "ord_01ZZZZZZZZZZZZZZZZZZZZZZZZ", {}}, {a.vouchers[0]}, false, now, gateway),
             ErrorCode::kNotFound);
  ExpectCode(Refund(a, {a.vouchers[0], a.vouchers[0]}, false, now, gateway), ErrorCode::kValidationFailed);
  // After-sale of an unused voucher → 409; one bad voucher refuses the whole request.
  ExpectCode(Refund(a, {a.vouchers[0]}, true, now, gateway), ErrorCode::kConflict);
  ASSERT_TRUE(RedeemOne(a, a.vouchers[1], now).ok());
  ExpectCode(Refund(a, {a.vouchers[0], a.vouchers[1]}, false, now, gateway), ErrorCode::kConflict);
  EXPECT_EQ(VoucherStatus(a.vouchers[0]), "unused");
  // After-sale more than 30 days after the redemption → 409.
  ExpectCode(Refund(a, {a.vouchers[1]}, true, now + provider::kAfterSaleWindowMs + 1000, gateway),
             ErrorCode::kConflict);
  EXPECT_EQ(VoucherStatus(a.vouchers[1]), "redeemed");
  EXPECT_EQ(Count(kRefundCount, {a.order_id}), 0);
  EXPECT_EQ(Count(kRefundCount, {none.order_id}), 0);
  EXPECT_TRUE(gateway.calls().empty());

  // An unpaid order cannot be refunded.
  const std::string user_id = NewId("mpu");
  const provider::MpUser u = InsertMpUser(*db_, user_id, "o_" + user_id);
  auto unpaid = provider::PlaceOrder(*db_, FakePayOrderGateway(), u, {deal_, 1, {}, {}}, now);
  ASSERT_TRUE(unpaid.ok());
  ExpectCode(provider::RequestRefund(*db_, gateway, u, {unpaid->order_id, {"vch_x"}, "", false}, now),
             ErrorCode::kConflict);
}

TEST_P(RefundsTest, VoucherRefundAndRedemptionTransitions) {
  FakeRefundGateway gateway;
  // An hour ahead, so the node's own retry job (real time, real host) never takes these.
  const int64_t now = SystemClock::Instance().NowMs() + 3'600'000;
  Paid o = PaidOrder(3);
  EXPECT_EQ(DerivedStatus(o), "paid");

  // unused → refunding (host down: the refund is failed and retried) → refunded.
  gateway.SetFailing(true);
  auto r = Refund(o, {o.vouchers[0]}, false, now, gateway);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const std::string refund_id(r->at("refund_id").as_string());
  EXPECT_EQ(r->at("status").as_string(), "failed");
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), "refunding");
  EXPECT_EQ(DerivedStatus(o), "refunding");
  // A refunding voucher can be neither redeemed nor refunded again.
  auto redeem_refunding = RedeemOne(o, o.vouchers[0], now);
  ASSERT_FALSE(redeem_refunding.ok());
  EXPECT_EQ(redeem_refunding.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Count(kRedemptionCount, {o.vouchers[0]}), 0);
  ExpectCode(Refund(o, {o.vouchers[0]}, false, now, gateway), ErrorCode::kConflict);
  ExpectCode(Refund(o, {o.vouchers[0]}, true, now, gateway), ErrorCode::kConflict);

  // Not due yet → nothing sent; due → sent with the same out_refund_no, succeeded; never twice.
  gateway.SetFailing(false);
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, now + 1000), 0);
  EXPECT_EQ(gateway.calls().size(), 1u);
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, now + provider::RefundRetryDelayMs(1)), 1);
  ASSERT_EQ(gateway.calls().size(), 2u);
  EXPECT_EQ(gateway.calls()[0].out_refund_no, refund_id);
  EXPECT_EQ(gateway.calls()[1].out_refund_no, refund_id);
  EXPECT_EQ(gateway.calls()[1].amount_fen, Price());
  EXPECT_EQ(RefundStatus(refund_id), "succeeded");
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), "refunded");
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, now + 3'600'000), 0);
  EXPECT_EQ(gateway.calls().size(), 2u);
  // refunded is final.
  ExpectCode(Refund(o, {o.vouchers[0]}, false, now, gateway), ErrorCode::kConflict);
  ExpectCode(Refund(o, {o.vouchers[0]}, true, now, gateway), ErrorCode::kConflict);
  EXPECT_EQ(DerivedStatus(o), "partially_refunded");

  // A late refund.succeeded webhook for it changes nothing; for an unknown refund, nothing.
  auto deliver = [&](const std::string& out_refund_no) {
    json::object event{
        {"id", NewId("evt")},
        {"type", "refund.succeeded"},
        {"data",
         json::object{{"refund_id", "rfd_x"}, {"out_refund_no", out_refund_no}, {"amount_fen", Price()}}}};
    return db_->WithWrite(
        [&](storage::Tx& tx) { return provider::HandleRefundSucceeded(tx, "local", event, now); });
  };
  EXPECT_TRUE(deliver(refund_id).ok());
  EXPECT_TRUE(deliver("rfn_01ZZZZZZZZZZZZZZZZZZZZZZZZ").ok());
  EXPECT_EQ(RefundStatus(refund_id), "succeeded");

  // The webhook alone closes a refund the host answered but we never heard back from.
  gateway.SetFailing(true);
  auto second = Refund(o, {o.vouchers[1]}, false, now + 7'200'000, gateway);
  ASSERT_TRUE(second.ok());
  const std::string second_id(second->at("refund_id").as_string());
  EXPECT_TRUE(deliver(second_id).ok());
  EXPECT_EQ(RefundStatus(second_id), "succeeded");
  EXPECT_EQ(VoucherStatus(o.vouchers[1]), "refunded");
  gateway.SetFailing(false);
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, now + 9'000'000), 0);

  // redeemed → (after-sale) refunding → rejected: redeemed again; then approve → 409.
  ASSERT_TRUE(RedeemOne(o, o.vouchers[2], now).ok());
  EXPECT_EQ(DerivedStatus(o), "partially_refunded");
  auto as = Refund(o, {o.vouchers[2]}, true, now, gateway);
  ASSERT_TRUE(as.ok()) << as.error().detail;
  const std::string as_id(as->at("refund_id").as_string());
  EXPECT_EQ(as->at("status").as_string(), "awaiting_merchant");
  EXPECT_EQ(VoucherStatus(o.vouchers[2]), "refunding");
  // Its redemption cannot be reversed while the after-sale is open.
  static constexpr storage::Query kRedemptionOf{"test.refunds.redemption_of", storage::Access::kRead,
                                                "SELECT id FROM redemptions WHERE voucher_id = $1"};
  auto reverse =
      provider::ReverseRedemption(*db_, staff_, Query(kRedemptionOf, {o.vouchers[2]}).rows.at(0).Str(0), now);
  ASSERT_FALSE(reverse.ok());
  EXPECT_EQ(reverse.error().code, ErrorCode::kConflict);
  EXPECT_EQ(VoucherStatus(o.vouchers[2]), "refunding");
  // Staff of another brand, or operations without one, do not see it.
  static constexpr storage::Query kOtherBrand{"test.refunds.other_brand", storage::Access::kRead,
                                              "SELECT id FROM brands WHERE id <> $1 ORDER BY id LIMIT 1"};
  provider::Staff stranger = staff_;
  stranger.brand_id = Query(kOtherBrand, {staff_.brand_id}).rows.at(0).Str(0);
  ExpectCode(provider::DecideRefund(*db_, gateway, stranger, as_id, true, now), ErrorCode::kNotFound);
  auto stranger_list = provider::ListBrandRefunds(*db_, stranger, "", "", 50);
  ASSERT_TRUE(stranger_list.ok());
  EXPECT_EQ(stranger_list->at("items").as_array().size(), 0u);
  EXPECT_EQ(RefundStatus(as_id), "awaiting_merchant");
  ExpectCode(provider::DecideRefund(*db_, gateway, ops_, as_id, false, now), ErrorCode::kNotFound);
  auto rejected = provider::DecideRefund(*db_, gateway, staff_, as_id, false, now);
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->at("status").as_string(), "rejected");
  EXPECT_EQ(VoucherStatus(o.vouchers[2]), "redeemed");
  ExpectCode(provider::DecideRefund(*db_, gateway, staff_, as_id, true, now), ErrorCode::kConflict);
  ExpectCode(provider::DecideRefund(*db_, gateway, staff_, as_id, false, now), ErrorCode::kConflict);
  EXPECT_EQ(RefundStatus(as_id), "rejected");
  EXPECT_EQ(DerivedStatus(o), "partially_refunded");
  // Rejected is not the end of the voucher: a new after-sale request can be approved.
  auto as2 = Refund(o, {o.vouchers[2]}, true, now, gateway);
  ASSERT_TRUE(as2.ok());
  auto approved =
      provider::DecideRefund(*db_, gateway, staff_, std::string(as2->at("refund_id").as_string()), true, now);
  ASSERT_TRUE(approved.ok());
  EXPECT_EQ(approved->at("status").as_string(), "succeeded");
  EXPECT_EQ(VoucherStatus(o.vouchers[2]), "refunded");
  EXPECT_EQ(DerivedStatus(o), "refunded");
}

TEST_P(RefundsTest, AfterSaleIsApprovedAutomaticallyAfter24Hours) {
  FakeRefundGateway gateway;
  ManualClockForTest clock(SystemClock::Instance().NowMs() + 3'600'000);
  Paid o = PaidOrder(1);
  ASSERT_TRUE(RedeemOne(o, o.vouchers[0], clock.NowMs()).ok());
  EXPECT_EQ(DerivedStatus(o), "completed");
  auto as = Refund(o, {o.vouchers[0]}, true, clock.NowMs(), gateway);
  ASSERT_TRUE(as.ok());
  const std::string id(as->at("refund_id").as_string());
  clock.Advance(provider::kMerchantAnswerWindowMs - 1000);
  EXPECT_EQ(*provider::RunAfterSaleAutoApprovalOnce(*db_, gateway, clock.NowMs()), 0);
  EXPECT_EQ(RefundStatus(id), "awaiting_merchant");
  clock.Advance(1000);
  EXPECT_EQ(*provider::RunAfterSaleAutoApprovalOnce(*db_, gateway, clock.NowMs()), 1);
  EXPECT_EQ(RefundStatus(id), "succeeded");
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), "refunded");
  EXPECT_EQ(*provider::RunAfterSaleAutoApprovalOnce(*db_, gateway, clock.NowMs()), 0);
  ASSERT_EQ(gateway.calls().size(), 1u);
  EXPECT_EQ(gateway.calls()[0].amount_fen, Price());
  // The merchant answering after the auto-approval → 409.
  ExpectCode(provider::DecideRefund(*db_, gateway, staff_, id, false, clock.NowMs()), ErrorCode::kConflict);
  EXPECT_EQ(DerivedStatus(o), "refunded");
}

TEST_P(RefundsTest, ExpiredVouchersAreRefundedAutomatically) {
  FakeRefundGateway gateway;
  ManualClockForTest clock(SystemClock::Instance().NowMs() + 3'600'000);
  const int64_t valid_to = clock.NowMs() + 1000;
  Paid o = PaidOrder(2, /*uses=*/4);
  Query(kSetValidTo, {o.order_id, valid_to});
  // One use of the card is taken: its refund is the unused share, 3/4.
  ASSERT_TRUE(RedeemOne(o, o.vouchers[0], clock.NowMs()).ok());
  const int64_t stock = StockLeft();

  EXPECT_EQ(*provider::RunVoucherExpiryOnce(*db_, gateway, valid_to - 1), 0);
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), "unused");
  clock.Set(valid_to);
  EXPECT_EQ(*provider::RunVoucherExpiryOnce(*db_, gateway, clock.NowMs()), 2);
  EXPECT_EQ(*provider::RunVoucherExpiryOnce(*db_, gateway, clock.NowMs() + 1000), 0);
  ASSERT_EQ(gateway.calls().size(), 1u);
  EXPECT_EQ(gateway.calls()[0].amount_fen, Price() * 3 / 4 + Price());
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), "refunded");
  EXPECT_EQ(VoucherStatus(o.vouchers[1]), "refunded");
  EXPECT_EQ(DerivedStatus(o), "refunded");
  auto order = provider::GetOrderJson(*db_, o.user, o.order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->at("refunds").as_array().at(0).at("kind").as_string(), "expiry");
  // Expired units do not go back on sale.
  EXPECT_EQ(StockLeft(), stock);

  // A no_refund deal's voucher just expires, and can no longer be redeemed.
  Paid kept = PaidOrder(1, 1, "no_refund");
  Query(kSetValidTo, {kept.order_id, valid_to + 5000});
  clock.Set(valid_to + 5000);
  EXPECT_EQ(*provider::RunVoucherExpiryOnce(*db_, gateway, clock.NowMs()), 1);
  EXPECT_EQ(VoucherStatus(kept.vouchers[0]), "expired");
  EXPECT_EQ(Count(kRefundCount, {kept.order_id}), 0);
  EXPECT_EQ(DerivedStatus(kept), "completed");
  EXPECT_FALSE(RedeemOne(kept, kept.vouchers[0], clock.NowMs()).ok());
  EXPECT_EQ(gateway.calls().size(), 1u);
}

TEST_P(RefundsTest, RefundRacingRedeemHasExactlyOneWinner) {
  FakeRefundGateway gateway;
  const int64_t now = SystemClock::Instance().NowMs();
  constexpr int kVouchers = 3;
  constexpr int kPerSide = 6;
  for (int round = 0; round < kVouchers; ++round) {
    Paid o = PaidOrder(1);
    const std::string voucher = o.vouchers[0];
    const std::string code = Query(kOrderVouchers, {o.order_id}).rows.at(0).Str(1);
    ManualClockForTest clock(now);
    InMemoryRateLimiter limiter(clock);
    std::vector<std::string> tokens;
    for (int i = 0; i < kPerSide; ++i) {
      auto prepared = provider::PrepareRedemption(*db_, limiter, staff_, code, store_, now);
      ASSERT_TRUE(prepared.ok());
      tokens.emplace_back(prepared->at("verify_token").as_string());
    }
    std::atomic<int> redeemed{0}, refunded{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kPerSide; ++i) {
      threads.emplace_back([&, i] {
        for (int attempt = 0; attempt < 50; ++attempt) {
          auto r = provider::RedeemVouchers(*db_, staff_, tokens[i], store_, {voucher}, now);
          if (!r.ok() && r.error().code == ErrorCode::kUnavailable) continue;
          if (r.ok()) ++redeemed;
          break;
        }
      });
      threads.emplace_back([&] {
        for (int attempt = 0; attempt < 50; ++attempt) {
          auto r = Refund(o, {voucher}, false, now, gateway);
          if (!r.ok() && r.error().code == ErrorCode::kUnavailable) continue;
          if (r.ok()) ++refunded;
          break;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(redeemed.load() + refunded.load(), 1) << "round " << round;
    EXPECT_EQ(Count(kRedemptionCount, {voucher}) + Count(kRefundVoucherCount, {voucher}), 1);
    const std::string status = VoucherStatus(voucher);
    EXPECT_EQ(status, redeemed.load() == 1 ? "redeemed" : "refunded");
  }
}

TEST_P(RefundsTest, PaymentOfACancelledOrderIsRefundedInFull) {
  FakeRefundGateway gateway;
  Query(kSetDeal, {deal_, int64_t{1}, std::string("anytime")});
  const std::string user_id = NewId("mpu");
  const provider::MpUser user = InsertMpUser(*db_, user_id, "o_" + user_id);
  const int64_t now = SystemClock::Instance().NowMs();
  auto placed = provider::PlaceOrder(*db_, FakePayOrderGateway(), user, {deal_, 2, {}, {}}, now);
  ASSERT_TRUE(placed.ok());
  const int64_t late = now + provider::kOrderPaymentWindowMs + provider::kUnpaidOrderGraceMs + 1000;
  ASSERT_EQ(*provider::ExpireUnpaidOrders(*db_, late), 1);
  auto deliver = [&] {
    json::object event{{"id", NewId("evt")},
                       {"type", "payment.succeeded"},
                       {"data", json::object{{"out_trade_no", placed->order_id},
                                             {"pay_order_id", placed->pay_order_id},
                                             {"amount_fen", placed->amount_fen}}}};
    return db_->WithWrite(
        [&](storage::Tx& tx) { return provider::HandlePaymentSucceeded(tx, "local", event, late); });
  };
  ASSERT_TRUE(deliver().ok());
  ASSERT_TRUE(deliver().ok());  // another event for the same payment: still one refund
  EXPECT_EQ(Count(kRefundCount, {placed->order_id}), 1);
  auto order = provider::GetOrderJson(*db_, user, placed->order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->at("status").as_string(), "refunding");
  EXPECT_EQ(order->at("payment_status").as_string(), "cancelled");
  EXPECT_EQ(order->at("vouchers").as_array().size(), 0u);
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, late), 1);
  ASSERT_EQ(gateway.calls().size(), 1u);
  EXPECT_EQ(gateway.calls()[0].amount_fen, placed->amount_fen);
  EXPECT_EQ(gateway.calls()[0].pay_order_id, placed->pay_order_id);
  order = provider::GetOrderJson(*db_, user, placed->order_id);
  EXPECT_EQ(order->at("status").as_string(), "refunded");
  EXPECT_EQ(order->at("refunded_fen").as_int64(), placed->amount_fen);
}

TEST_P(RefundsTest, ConcurrentDecisionsAndSendersActOnce) {
  FakeRefundGateway gateway;
  const int64_t now = SystemClock::Instance().NowMs() + 3'600'000;
  Paid o = PaidOrder(2);

  // Staff approving and rejecting at once, with the auto-approval job: one decision wins.
  ASSERT_TRUE(RedeemOne(o, o.vouchers[0], now).ok());
  auto as = Refund(o, {o.vouchers[0]}, true, now, gateway);
  ASSERT_TRUE(as.ok());
  const std::string as_id(as->at("refund_id").as_string());
  const int64_t due = now + provider::kMerchantAnswerWindowMs;
  std::atomic<int> decided{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int attempt = 0; attempt < 50; ++attempt) {
        if (i == 0) {
          auto n = provider::RunAfterSaleAutoApprovalOnce(*db_, gateway, due);
          if (!n.ok() && n.error().code == ErrorCode::kUnavailable) continue;
          if (n.ok()) decided += *n;
          break;
        }
        auto r = provider::DecideRefund(*db_, gateway, staff_, as_id, i % 2 == 0, due);
        if (!r.ok() && r.error().code == ErrorCode::kUnavailable) continue;
        if (r.ok()) ++decided;
        break;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(decided.load(), 1);
  const std::string final_status = RefundStatus(as_id);
  EXPECT_TRUE(final_status == "succeeded" || final_status == "rejected") << final_status;
  EXPECT_EQ(VoucherStatus(o.vouchers[0]), final_status == "succeeded" ? "refunded" : "redeemed");
  EXPECT_EQ(gateway.calls().size(), final_status == "succeeded" ? 1u : 0u);

  // A failed refund retried by several nodes at once is sent once more, not once per node.
  const size_t calls_before = gateway.calls().size();
  gateway.SetFailing(true);
  auto r = Refund(o, {o.vouchers[1]}, false, now, gateway);
  ASSERT_TRUE(r.ok());
  const std::string id(r->at("refund_id").as_string());
  EXPECT_EQ(RefundStatus(id), "failed");
  gateway.SetFailing(false);
  std::atomic<int> sent{0};
  threads.clear();
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      for (int attempt = 0; attempt < 50; ++attempt) {
        auto n = provider::RunRefundRetriesOnce(*db_, gateway, now + provider::RefundRetryDelayMs(1));
        if (!n.ok() && n.error().code == ErrorCode::kUnavailable) continue;
        if (n.ok()) sent += *n;
        break;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sent.load(), 1);
  EXPECT_EQ(gateway.calls().size(), calls_before + 2);
  EXPECT_EQ(RefundStatus(id), "succeeded");
  EXPECT_EQ(Query(kRefundRow, {id}).rows.at(0).Int(3), 1);  // one failed attempt recorded
}

// A refund the host keeps refusing is retried with backoff a bounded number of times,
// then stops as `stuck`: shown to the merchant and operations, counted in
// hutong_refunds_stuck, sent again only when operations ask. An unreachable host is
// retried without a bound.
TEST_P(RefundsTest, RefundTheHostKeepsRefusingStopsAsStuck) {
  FakeRefundGateway gateway;
  const int64_t now = SystemClock::Instance().NowMs() + 3'600'000;  // ahead of the node's own jobs
  const uint64_t stuck_before = provider::RefundsStuckForMetrics();
  Paid o = PaidOrder(2);
  auto due = [&](const std::string& id) { return Query(kRefundDue, {id}).rows.at(0); };

  // Unreachable: retried well past the bound, never stuck.
  gateway.SetFailing(true, ErrorCode::kUnavailable);
  auto down = Refund(o, {o.vouchers[0]}, false, now, gateway);
  ASSERT_TRUE(down.ok());
  const std::string down_id(down->at("refund_id").as_string());
  int64_t t = now;
  for (int i = 0; i < provider::kMaxRefundAttempts + 3; ++i) {
    t = due(down_id).Int(0);
    ASSERT_TRUE(provider::RunRefundRetriesOnce(*db_, gateway, t).ok());
  }
  EXPECT_EQ(Query(kRefundRow, {down_id}).rows.at(0).Int(3), provider::kMaxRefundAttempts + 4);
  EXPECT_FALSE(due(down_id).IsNull(0));
  auto listed = provider::ListBrandRefunds(*db_, staff_, "failed", "", 50);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->at("items").as_array().size(), 1u);
  EXPECT_EQ(listed->at("items").as_array()[0].at("status").as_string(), "failed");
  EXPECT_TRUE(listed->at("items").as_array()[0].at("next_attempt_at").is_string());
  gateway.SetFailing(false);
  ASSERT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, due(down_id).Int(0)), 1);
  EXPECT_EQ(RefundStatus(down_id), "succeeded");

  // Refused (the host answers 409 every time): backoff, then stuck after the bound.
  gateway.SetFailing(true, ErrorCode::kConflict);
  auto refused = Refund(o, {o.vouchers[1]}, false, now, gateway);
  ASSERT_TRUE(refused.ok());
  const std::string id(refused->at("refund_id").as_string());
  EXPECT_EQ(refused->at("status").as_string(), "failed");
  EXPECT_TRUE(refused->at("next_attempt_at").is_string());
  t = now;
  int64_t previous_gap = 0;
  for (int attempt = 1; attempt < provider::kMaxRefundAttempts; ++attempt) {
    const int64_t next = due(id).Int(0);
    EXPECT_GT(next - t, previous_gap) << "attempt " << attempt;  // backing off
    previous_gap = next - t;
    t = next;
    // Not due yet: nothing is sent.
    EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, next - 1), 0);
    ASSERT_TRUE(provider::RunRefundRetriesOnce(*db_, gateway, next).ok());
  }
  const size_t calls = gateway.calls().size();
  auto row = Query(kRefundRow, {id}).rows.at(0);
  EXPECT_EQ(row.Str(0), "failed");  // stored failed, with no next attempt
  EXPECT_EQ(row.Int(3), provider::kMaxRefundAttempts);
  EXPECT_TRUE(due(id).IsNull(0));
  EXPECT_EQ(provider::RefundsStuckForMetrics(), stuck_before + 1);
  // Nobody sends it again, however late.
  EXPECT_EQ(*provider::RunRefundRetriesOnce(*db_, gateway, t + 30LL * 24 * 3600 * 1000), 0);
  EXPECT_EQ(gateway.calls().size(), calls);

  // The merchant sees it stuck (the order is still refunding), and so do operations.
  auto order = provider::GetOrderJson(*db_, o.user, o.order_id);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->at("status").as_string(), "refunding");
  const auto& in_order = order->at("refunds").as_array().back().as_object();
  EXPECT_EQ(in_order.at("status").as_string(), "stuck");
  EXPECT_TRUE(in_order.at("next_attempt_at").is_null());
  EXPECT_NE(std::string(in_order.at("last_error").as_string()).find("host refuses"), std::string::npos);
  auto stuck = provider::ListBrandRefunds(*db_, staff_, "stuck", "", 50);
  ASSERT_TRUE(stuck.ok());
  ASSERT_EQ(stuck->at("items").as_array().size(), 1u);
  EXPECT_EQ(stuck->at("items").as_array()[0].at("refund_id").as_string(), id);
  EXPECT_TRUE(provider::ListBrandRefunds(*db_, staff_, "failed", "", 50)->at("items").as_array().empty());
  auto all_stuck = provider::ListAllRefunds(*db_, "stuck", "", 50);
  ASSERT_TRUE(all_stuck.ok());
  ASSERT_EQ(all_stuck->at("items").as_array().size(), 1u);

  // Over HTTP: operations list it and send it again; the real host does not know the
  // pay order of this test order (404), so it is refused and stuck again at once.
  const std::string p = node_->provider_url();
  const Headers ops = LoginStaff(p, "ops"), staff = LoginStaff(p, "coucou");
  auto ops_list = Get(p + "/ops/v1/refunds?status=stuck", ops);
  ASSERT_EQ(ops_list.status, 200) << ops_list.body;
  ASSERT_EQ(ParseBody(ops_list).at("items").as_array().size(), 1u);
  EXPECT_EQ(ParseBody(ops_list).at("items").as_array()[0].at("refund_id").as_string(), id);
  ExpectProblem(Get(p + "/ops/v1/refunds?status=stuck", staff), 403, "forbidden");
  ExpectProblem(Get(p + "/ops/v1/refunds?status=bogus", ops), 400, "validation_failed");
  auto merchant_list = Get(p + "/merchant/v1/refunds?status=stuck", staff);
  ASSERT_EQ(merchant_list.status, 200) << merchant_list.body;
  EXPECT_EQ(ParseBody(merchant_list).at("items").as_array().size(), 1u);
  auto retried = Post(p + "/ops/v1/refunds/" + id + "/retry", "", ops);
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(ParseBody(retried).at("status").as_string(), "stuck");
  EXPECT_EQ(ParseBody(retried).at("attempts").as_int64(), provider::kMaxRefundAttempts + 1);
  ExpectProblem(Post(p + "/ops/v1/refunds/" + down_id + "/retry", "", ops), 409, "conflict");
  ExpectProblem(Post(p + "/ops/v1/refunds/rfn_nope/retry", "", ops), 404, "not_found");
  ExpectProblem(Post(p + "/ops/v1/refunds/" + id + "/retry", "", staff), 403, "forbidden");
  auto metrics = Get(p + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE hutong_refunds_stuck counter"), std::string::npos);
  EXPECT_NE(metrics.body.find("hutong_refunds_stuck " + std::to_string(provider::RefundsStuckForMetrics())),
            std::string::npos)
      << metrics.body;

  // Once the host takes it, operations send it again and it succeeds.
  auto sent = provider::RetryStuckRefund(*db_, gateway, id, t);
  ASSERT_TRUE(sent.ok()) << sent.error().detail;
  EXPECT_EQ(sent->at("status").as_string(), "stuck");  // the fake still refuses
  gateway.SetFailing(false);
  sent = provider::RetryStuckRefund(*db_, gateway, id, t);
  ASSERT_TRUE(sent.ok()) << sent.error().detail;
  EXPECT_EQ(sent->at("status").as_string(), "succeeded");
  EXPECT_EQ(VoucherStatus(o.vouchers[1]), "refunded");
  auto again = provider::RetryStuckRefund(*db_, gateway, id, t);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
}

INSTANTIATE_TEST_SUITE_P(Backends, RefundsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
