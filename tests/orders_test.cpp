// The buying path over real HTTP, on SQLite and PostgreSQL: a viewer launches the
// mini-program from a video, orders (stock reserved atomically), pays at the host's
// cashier, and the provider issues vouchers when payment.succeeded arrives. Plus the
// stock rules at repository level under concurrency.
#include "provider/orders/orders.h"

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "protocol/open_api_client.h"
#include "protocol/webhook_signature.h"
#include "provider/hosts/webhook_receiver.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kCampaignDeal{"test.orders.campaign_deal", storage::Access::kRead,
                                       "SELECT cd.deal_id, cd.campaign_price_fen FROM campaign_deals cd "
                                       "JOIN deals d ON d.id = cd.deal_id WHERE d.type <> 'reservation' "
                                       "ORDER BY cd.deal_id LIMIT 1"};
constexpr storage::Query kSetStock{
    "test.orders.set_stock", storage::Access::kWrite,
    "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = $3, uses = $4 "
    "WHERE id = $1"};
constexpr storage::Query kStock{"test.orders.stock", storage::Access::kRead,
                                "SELECT stock_left, price_fen FROM deals WHERE id = $1"};
constexpr storage::Query kCampaignStock{"test.orders.campaign_stock", storage::Access::kRead,
                                        "SELECT stock_left FROM campaign_deals WHERE deal_id = $1"};
constexpr storage::Query kOrderCount{
    "test.orders.count", storage::Access::kRead,
    "SELECT COUNT(*) FROM orders WHERE deal_id = $1 AND status <> 'cancelled'"};
constexpr storage::Query kOrderStatus{"test.orders.status", storage::Access::kRead,
                                      "SELECT status FROM orders WHERE id = $1"};
constexpr storage::Query kPayOrder{
    "test.orders.pay_order", storage::Access::kRead,
    "SELECT status, creator_id, video_id, amount_fen FROM pay_orders WHERE id = $1"};
constexpr storage::Query kExpirePayOrder{"test.orders.expire_pay_order", storage::Access::kWrite,
                                         "UPDATE pay_orders SET expires_at = $2 WHERE id = $1"};
constexpr storage::Query kPayOrdersOfTradeNo{"test.orders.pay_orders_of_trade_no", storage::Access::kRead,
                                             "SELECT COUNT(*) FROM pay_orders WHERE out_trade_no = $1"};
constexpr storage::Query kIdempotencyRows{"test.orders.idempotency_rows", storage::Access::kRead,
                                          "SELECT COUNT(*) FROM idempotency_keys"};
constexpr storage::Query kSomeOpenId{"test.orders.some_openid", storage::Access::kRead,
                                     "SELECT openid FROM app_openids WHERE app_id = $1 LIMIT 1"};
constexpr storage::Query kPaymentEvents{
    "test.orders.payment_events", storage::Access::kRead,
    "SELECT COUNT(*) FROM webhook_events WHERE type = 'payment.succeeded'"};

constexpr storage::Query kReservationSlot{
    "test.orders.reservation_slot", storage::Access::kRead,
    "SELECT s.deal_id, s.slot FROM deal_slots s JOIN deals d ON d.id = s.deal_id "
    "WHERE d.status = 'online' AND d.id NOT IN (SELECT deal_id FROM campaign_deals) "
    "ORDER BY s.deal_id, s.slot LIMIT 1"};
constexpr storage::Query kSetSlotStock{
    "test.orders.set_slot_stock", storage::Access::kWrite,
    "UPDATE deal_slots SET stock_left = $3 WHERE deal_id = $1 AND slot = $2"};
constexpr storage::Query kSlotStock{"test.orders.slot_stock", storage::Access::kRead,
                                    "SELECT stock_left FROM deal_slots WHERE deal_id = $1 AND slot = $2"};
constexpr storage::Query kDealSold{"test.orders.deal_sold", storage::Access::kRead,
                                   "SELECT sold, valid_to, uses FROM deals WHERE id = $1"};
constexpr storage::Query kVoucherTerms{
    "test.orders.voucher_terms", storage::Access::kRead,
    "SELECT COUNT(*), MIN(valid_to), MAX(valid_to), MIN(uses_total), MAX(uses_left) FROM vouchers "
    "WHERE order_id = $1"};
constexpr storage::Query kPayOrdersByStatus{"test.orders.pay_orders_by_status", storage::Access::kRead,
                                            "SELECT COUNT(*) FROM pay_orders WHERE status = $1"};
constexpr storage::Query kPayOrdersOfAll{"test.orders.pay_orders_all", storage::Access::kRead,
                                         "SELECT COUNT(*) FROM pay_orders"};
constexpr storage::Query kOrderPayOrder{
    "test.orders.order_pay_order", storage::Access::kRead,
    "SELECT pay_order_id, cashier_url, amount_fen FROM orders WHERE id = $1"};
constexpr storage::Query kSetPrice{"test.orders.set_price", storage::Access::kWrite,
                                   "UPDATE deals SET price_fen = $2 WHERE id = $1"};
constexpr storage::Query kVoucherCount{"test.orders.voucher_count", storage::Access::kRead,
                                       "SELECT COUNT(*) FROM vouchers WHERE order_id = $1"};

class OrdersTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    host_db_ = OpenHostDb();
    provider_db_ = OpenProviderDb();
    plain_deal_ = PlainDeals(*provider_db_, 1).at(0);
  }

  storage::Rows ProviderQuery(const storage::Query& q, std::vector<storage::Value> params) {
    return RunQuery(*provider_db_, q, std::move(params));
  }
  storage::Rows HostQuery(const storage::Query& q, std::vector<storage::Value> params) {
    return RunQuery(*host_db_, q, std::move(params));
  }
  int64_t StockLeft(const std::string& deal_id) { return ProviderQuery(kStock, {deal_id}).rows.at(0).Int(0); }
  void SetStock(const std::string& deal_id, int64_t stock, int64_t per_user_limit, int64_t uses = 1) {
    ProviderQuery(kSetStock, {deal_id, stock, per_user_limit, uses});
  }

  struct Shopper {
    Headers host;  // the viewer's host token
    Headers mp;    // the mini-program session
    std::string attribution_token;
  };
  // Logs the viewer in at the host, launches the mini-program from the first video of the
  // feed and turns the code into a provider session.
  Shopper Launch(const std::string& phone) {
    Shopper s;
    const std::string h = node_->host_url();
    s.host = LoginViewer(h, phone);
    const FeedVideo video = FirstFeedVideo(h);
    auto opened = OpenMiniProgram(h, node_->provider_url(), s.host, video.app_id, video.video_id);
    s.mp = std::move(opened.mp);
    s.attribution_token = std::move(opened.attribution_token);
    return s;
  }

  http::ClientResponse Order(const Shopper& s, const std::string& deal_id, int64_t quantity,
                             const std::string& idempotency_key = "", bool with_attribution = false) {
    json::object body{{"deal_id", deal_id}, {"quantity", quantity}};
    if (with_attribution) body["attribution_token"] = s.attribution_token;
    Headers headers = s.mp;
    if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
    return Post(node_->provider_url() + "/mp/v1/orders", json::serialize(body), headers);
  }

  // A pending pay order of 1 yuan for `openid`, created by `client` over the signed open API
  // (its out_trade_no as the key, as the provider sends it); "" when refused.
  static std::string OpenPayOrder(protocol::OpenApiClient& client, const std::string& openid) {
    const std::string trade_no = NewId("ord");
    auto r = client.Call(
        "POST", "/open/v1/pay/orders",
        json::serialize(json::object{
            {"out_trade_no", trade_no}, {"amount_fen", 100}, {"description", "test"}, {"openid", openid}}),
        {{"Idempotency-Key", trade_no}});
    EXPECT_TRUE(r.ok() && r->status == 201) << (r.ok() ? r->body : r.error().internal);
    if (!r.ok() || r->status != 201) return "";
    return std::string(ParseBody(*r).at("pay_order_id").as_string());
  }

  int64_t Balance(const Shopper& s) {
    auto r = Get(node_->host_url() + "/api/wallet", s.host);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseBody(r).at("balance_fen").as_int64();
  }

  // `threads` buyers (new users) each try `attempts` orders of one unit of plain_deal_ at
  // once; a serialization failure is retried as a client would. Counts of the outcomes.
  struct RaceOutcome {
    int sold = 0;
    int out_of_stock = 0;
  };
  RaceOutcome RaceForPlainDeal(const FakePayOrderGateway& gateway, int threads, int attempts,
                               provider::PayOrderTiming timing) {
    std::vector<provider::MpUser> users;
    for (int t = 0; t < threads; ++t) {
      users.push_back(InsertMpUser(*provider_db_, NewId("mpu"), "o_race_" + std::to_string(t)));
    }
    std::atomic<int> sold{0}, out_of_stock{0}, retried{0};
    std::vector<std::thread> buyers;
    for (int t = 0; t < threads; ++t) {
      buyers.emplace_back([&, t] {
        for (int i = 0; i < attempts; ++i) {
          auto r = provider::PlaceOrder(*provider_db_, gateway, users[t], {plain_deal_, 1, {}, {}},
                                        SystemClock::Instance().NowMs(), timing);
          if (r.ok()) {
            ++sold;
          } else if (r.error().code == ErrorCode::kOutOfStock) {
            ++out_of_stock;
          } else if (r.error().code == ErrorCode::kUnavailable && ++retried < 10'000) {
            --i;  // a serialization failure under contention: the client would retry
          } else {
            ADD_FAILURE() << r.error().detail << " " << r.error().internal;
          }
        }
      });
    }
    for (auto& b : buyers) b.join();
    return {sold.load(), out_of_stock.load()};
  }

  std::unique_ptr<storage::Db> host_db_;
  std::unique_ptr<storage::Db> provider_db_;
  std::string plain_deal_;
};

TEST_P(OrdersTest, OrderPayAndReceiveVouchers) {
  SetStock(plain_deal_, 50, 0, 3);
  const int64_t price = ProviderQuery(kStock, {plain_deal_}).rows.at(0).Int(1);
  Shopper viewer = Launch("13800000000");
  // The deal page is cached once read; an order must still show on it at once.
  const std::string deal_url = node_->provider_url() + "/mp/v1/deals/" + plain_deal_;
  EXPECT_EQ(ParseBody(Get(deal_url)).at("stock_left").as_int64(), 50);
  EXPECT_EQ(ParseBody(Get(deal_url)).at("stock_left").as_int64(), 50);

  // A retried create with the same Idempotency-Key is the same order, reserved once.
  auto first = Order(viewer, plain_deal_, 2, "buy-1", true);
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = Order(viewer, plain_deal_, 2, "buy-1", true);
  ASSERT_EQ(again.status, 201) << again.body;
  auto created = ParseBody(first).as_object();
  EXPECT_EQ(ParseBody(again).at("order_id"), created.at("order_id"));
  EXPECT_EQ(created.at("status").as_string(), "pending_payment");
  EXPECT_EQ(created.at("amount_fen").as_int64(), 2 * price);
  EXPECT_EQ(StockLeft(plain_deal_), 48);
  EXPECT_EQ(ParseBody(Get(deal_url)).at("stock_left").as_int64(), 48);
  const std::string order_id(created.at("order_id").as_string());
  const std::string pay_order_id(created.at("pay_order_id").as_string());
  EXPECT_TRUE(IsWellFormedId(order_id, "ord"));
  EXPECT_TRUE(IsWellFormedId(pay_order_id, "pay"));
  EXPECT_EQ(created.at("cashier_url").as_string(), node_->host_url() + "/cashier/" + pay_order_id);

  // The host's pay order carries the verified attribution.
  auto pay_row = HostQuery(kPayOrder, {pay_order_id});
  ASSERT_EQ(pay_row.size(), 1u);
  EXPECT_EQ(pay_row[0].Str(0), "pending");
  EXPECT_FALSE(pay_row[0].IsNull(1));
  EXPECT_FALSE(pay_row[0].IsNull(2));
  EXPECT_EQ(pay_row[0].Int(3), 2 * price);

  // Pay; paying again answers the same paid order and never charges twice.
  const int64_t before = Balance(viewer);
  EXPECT_EQ(before, 100'000);
  const std::string pay_url = node_->host_url() + "/api/cashier/" + pay_order_id + "/pay";
  auto paid = Post(pay_url, "", viewer.host);
  ASSERT_EQ(paid.status, 200) << paid.body;
  EXPECT_EQ(ParseBody(paid).at("status").as_string(), "paid");
  auto paid_again = Post(pay_url, "", viewer.host);
  ASSERT_EQ(paid_again.status, 200) << paid_again.body;
  EXPECT_EQ(ParseBody(paid_again).at("paid_at"), ParseBody(paid).at("paid_at"));
  EXPECT_EQ(Balance(viewer), before - 2 * price);
  EXPECT_EQ(HostQuery(kPaymentEvents, {}).rows.at(0).Int(0), 1);

  // The webhook arrives: the order is paid with one voucher per unit.
  const std::string order_url = node_->provider_url() + "/mp/v1/orders/" + order_id;
  json::object order;
  for (int i = 0; i < 100; ++i) {
    auto r = Get(order_url, viewer.mp);
    ASSERT_EQ(r.status, 200) << r.body;
    order = ParseBody(r).as_object();
    if (order.at("status").as_string() == "paid") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(order.at("status").as_string(), "paid");
  auto vouchers = order.at("vouchers").as_array();
  ASSERT_EQ(vouchers.size(), 2u);
  const std::regex twelve_digits("[0-9]{12}");
  for (const auto& v : vouchers) {
    EXPECT_TRUE(std::regex_match(std::string(v.at("code").as_string()), twelve_digits)) << v;
    EXPECT_EQ(v.at("status").as_string(), "unused");
    EXPECT_EQ(v.at("uses_left").as_int64(), 3);
  }
  EXPECT_NE(vouchers[0].at("code"), vouchers[1].at("code"));

  auto list = Get(node_->provider_url() + "/mp/v1/orders", viewer.mp);
  ASSERT_EQ(list.status, 200) << list.body;
  auto items = ParseBody(list).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("order_id").as_string(), order_id);

  // Someone else sees neither the order nor the pay order.
  Shopper other = Launch("13800000001");
  ExpectProblem(Get(order_url, other.mp), 404, "not_found");
  EXPECT_EQ(ParseBody(Get(node_->provider_url() + "/mp/v1/orders", other.mp)).at("items").as_array().size(),
            0u);
  ExpectProblem(Post(pay_url, "", other.host), 404, "not_found");
  ExpectProblem(Get(order_url), 401, "unauthorized");
}

// Apps key a pay order by its out_trade_no (the provider does): the pay order row itself is
// then the key's record, and the host keeps no separate idempotency row for it.
TEST_P(OrdersTest, PayOrderKeyedByItsTradeNoIsIdempotentWithoutAKeyRow) {
  Launch("13800000000");  // gives the local app an openid
  const auto [app_id, secret] = LocalAppCredentials();
  auto client = protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  const std::string openid = HostQuery(kSomeOpenId, {app_id}).rows.at(0).Str(0);
  const std::string trade_no = NewId("ord");
  auto body = [&](int64_t amount) {
    return json::serialize(json::object{
        {"out_trade_no", trade_no}, {"amount_fen", amount}, {"description", "test"}, {"openid", openid}});
  };
  const int64_t keys_before = HostQuery(kIdempotencyRows, {}).rows.at(0).Int(0);

  auto first = client->Call("POST", "/open/v1/pay/orders", body(990), {{"Idempotency-Key", trade_no}});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 201) << first->body;
  auto again = client->Call("POST", "/open/v1/pay/orders", body(990), {{"Idempotency-Key", trade_no}});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->status, 201) << again->body;
  EXPECT_EQ(ParseBody(*again).at("pay_order_id"), ParseBody(*first).at("pay_order_id"));
  EXPECT_EQ(ParseBody(*again).at("status").as_string(), "pending");
  EXPECT_EQ(again->Header("idempotent-replayed"), "true");
  EXPECT_EQ(first->Header("idempotent-replayed"), "");
  // The same key with another body is refused and changes nothing.
  auto other = client->Call("POST", "/open/v1/pay/orders", body(991), {{"Idempotency-Key", trade_no}});
  ASSERT_TRUE(other.ok());
  ExpectProblem(*other, 422, "idempotency_key_reused");
  EXPECT_EQ(HostQuery(kPayOrdersOfTradeNo, {trade_no}).rows.at(0).Int(0), 1);
  EXPECT_EQ(
      HostQuery(kPayOrder, {std::string(ParseBody(*first).at("pay_order_id").as_string())}).rows.at(0).Int(3),
      990);
  EXPECT_EQ(HostQuery(kIdempotencyRows, {}).rows.at(0).Int(0), keys_before);

  // Any other key still goes through the generic guard: replayed, and kept in its table.
  const std::string trade_no_2 = NewId("ord");
  const std::string body_2 = json::serialize(json::object{
      {"out_trade_no", trade_no_2}, {"amount_fen", 500}, {"description", "test"}, {"openid", openid}});
  auto keyed = client->Call("POST", "/open/v1/pay/orders", body_2, {{"Idempotency-Key", "k-" + trade_no_2}});
  ASSERT_TRUE(keyed.ok());
  ASSERT_EQ(keyed->status, 201) << keyed->body;
  auto replay = client->Call("POST", "/open/v1/pay/orders", body_2, {{"Idempotency-Key", "k-" + trade_no_2}});
  ASSERT_TRUE(replay.ok());
  EXPECT_EQ(replay->Header("idempotent-replayed"), "true");
  EXPECT_EQ(ParseBody(*replay).at("pay_order_id"), ParseBody(*keyed).at("pay_order_id"));
  EXPECT_EQ(HostQuery(kIdempotencyRows, {}).rows.at(0).Int(0), keys_before + 1);
}

TEST_P(OrdersTest, OutOfStockWritesNothing) {
  SetStock(plain_deal_, 1, 0);
  Shopper viewer = Launch("13800000000");
  ExpectProblem(Order(viewer, plain_deal_, 2), 409, "out_of_stock");
  EXPECT_EQ(StockLeft(plain_deal_), 1);
  EXPECT_EQ(ProviderQuery(kOrderCount, {plain_deal_}).rows.at(0).Int(0), 0);
  ASSERT_EQ(Order(viewer, plain_deal_, 1).status, 201);
  ExpectProblem(Order(viewer, plain_deal_, 1), 409, "out_of_stock");
  EXPECT_EQ(StockLeft(plain_deal_), 0);

  ExpectProblem(Order(viewer, "deal_01ZZZZZZZZZZZZZZZZZZZZZZZZ", 1), 404, "not_found");
  ExpectProblem(Order(viewer, plain_deal_, 0), 400, "validation_failed");
  ExpectProblem(
      Post(node_->provider_url() + "/mp/v1/orders", R"({"deal_id":")" + plain_deal_ + R"(","quantity":1})"),
      401, "unauthorized");
}

// An app closes a pay order it will not use: the cashier refuses it from then on; closing
// is idempotent; a paid one cannot be closed; another app's or an unknown one is 404.
TEST_P(OrdersTest, ClosedPayOrdersCannotBePaid) {
  Shopper viewer = Launch("13800000000");
  const auto [app_id, secret] = LocalAppCredentials();
  auto client = protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  const std::string openid = HostQuery(kSomeOpenId, {app_id}).rows.at(0).Str(0);
  auto create = [&] { return OpenPayOrder(*client, openid); };
  auto close = [&](const std::string& id) {
    auto r = client->Call("POST", "/open/v1/pay/orders/" + id + "/close", "");
    EXPECT_TRUE(r.ok());
    return *r;
  };
  const std::string unused = create();
  auto closed = close(unused);
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(ParseBody(closed).at("status").as_string(), "closed");
  EXPECT_EQ(close(unused).status, 200);  // again: the same answer
  EXPECT_EQ(HostQuery(kPayOrder, {unused}).rows.at(0).Str(0), "closed");
  const int64_t before = Balance(viewer);
  ExpectProblem(Post(node_->host_url() + "/api/cashier/" + unused + "/pay", "", viewer.host), 409,
                "conflict");
  EXPECT_EQ(Balance(viewer), before);
  EXPECT_EQ(HostQuery(kPaymentEvents, {}).rows.at(0).Int(0), 0);

  const std::string paid = create();
  ASSERT_EQ(Post(node_->host_url() + "/api/cashier/" + paid + "/pay", "", viewer.host).status, 200);
  ExpectProblem(close(paid), 409, "conflict");
  EXPECT_EQ(HostQuery(kPayOrder, {paid}).rows.at(0).Str(0), "paid");
  ExpectProblem(close("pay_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "not_found");
  // Unsigned: refused.
  ExpectProblem(Post(node_->host_url() + "/open/v1/pay/orders/" + paid + "/close", ""), 401,
                "invalid_signature");
}

// The cashier says by the server's clock whether a pending pay order has expired (the page
// then offers no pay button); paying it is refused and charges nothing.
TEST_P(OrdersTest, CashierSaysWhenAPendingPayOrderHasExpired) {
  Shopper viewer = Launch("13800000000");
  const auto [app_id, secret] = LocalAppCredentials();
  auto client = protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  const std::string openid = HostQuery(kSomeOpenId, {app_id}).rows.at(0).Str(0);
  const std::string id = OpenPayOrder(*client, openid);
  ASSERT_FALSE(id.empty());
  const std::string url = node_->host_url() + "/api/cashier/" + id;

  auto fresh = Get(url, viewer.host);
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(ParseBody(fresh).at("status").as_string(), "pending");
  EXPECT_FALSE(ParseBody(fresh).at("expired").as_bool());

  HostQuery(kExpirePayOrder, {id, SystemClock::Instance().NowMs() - 1'000});
  auto late = Get(url, viewer.host);
  ASSERT_EQ(late.status, 200) << late.body;
  EXPECT_EQ(ParseBody(late).at("status").as_string(), "pending");
  EXPECT_TRUE(ParseBody(late).at("expired").as_bool());
  const int64_t before = Balance(viewer);
  ExpectProblem(Post(url + "/pay", "", viewer.host), 409, "conflict");
  EXPECT_EQ(Balance(viewer), before);
  EXPECT_EQ(HostQuery(kPayOrder, {id}).rows.at(0).Str(0), "pending");
  EXPECT_EQ(HostQuery(kPaymentEvents, {}).rows.at(0).Int(0), 0);
}

// The route asks the host for the pay order before it takes the stock when no refusal of
// the deal is remembered: an attempt that finds the stock gone after all leaves its pay
// order closed, never payable, and a later attempt on the known sold-out deal asks nothing.
TEST_P(OrdersTest, SoldOutAfterThePayOrderClosesIt) {
  SetStock(plain_deal_, 1, 0);
  Shopper viewer = Launch("13800000000");
  const int64_t pending_before = HostQuery(kPayOrdersByStatus, {std::string("pending")}).rows.at(0).Int(0);
  const int64_t closed_before = HostQuery(kPayOrdersByStatus, {std::string("closed")}).rows.at(0).Int(0);
  ExpectProblem(Order(viewer, plain_deal_, 2), 409, "out_of_stock");
  EXPECT_EQ(HostQuery(kPayOrdersByStatus, {std::string("closed")}).rows.at(0).Int(0), closed_before + 1);
  EXPECT_EQ(HostQuery(kPayOrdersByStatus, {std::string("pending")}).rows.at(0).Int(0), pending_before);
  EXPECT_EQ(StockLeft(plain_deal_), 1);
  // The refusal is remembered now: the next order takes the stock first, then asks.
  auto placed = Order(viewer, plain_deal_, 1);
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string order_id(ParseBody(placed).at("order_id").as_string());
  const std::string pay_order_id(ParseBody(placed).at("pay_order_id").as_string());
  auto row = ProviderQuery(kOrderPayOrder, {order_id});
  EXPECT_EQ(row.rows.at(0).Str(0), pay_order_id);
  EXPECT_EQ(HostQuery(kPayOrder, {pay_order_id}).rows.at(0).Str(0), "pending");
  // That sale cleared the marker (stock was there): the next attempt asks first again and
  // its pay order is closed; from the refusal it leaves on, attempts ask nothing.
  ExpectProblem(Order(viewer, plain_deal_, 1), 409, "out_of_stock");
  EXPECT_EQ(HostQuery(kPayOrdersByStatus, {std::string("closed")}).rows.at(0).Int(0), closed_before + 2);
  const int64_t pay_orders = HostQuery(kPayOrdersOfAll, {}).rows.at(0).Int(0);
  ExpectProblem(Order(viewer, plain_deal_, 1), 409, "out_of_stock");
  EXPECT_EQ(HostQuery(kPayOrdersOfAll, {}).rows.at(0).Int(0), pay_orders);
  EXPECT_EQ(HostQuery(kPayOrdersByStatus, {std::string("pending")}).rows.at(0).Int(0), pending_before + 1);
  EXPECT_EQ(StockLeft(plain_deal_), 0);
}

TEST_P(OrdersTest, PerUserLimitIsEnforced) {
  SetStock(plain_deal_, 50, 2);
  Shopper viewer = Launch("13800000000");
  ExpectProblem(Order(viewer, plain_deal_, 3), 400, "validation_failed");
  ASSERT_EQ(Order(viewer, plain_deal_, 2).status, 201);
  auto over = Order(viewer, plain_deal_, 1);
  ExpectProblem(over, 409, "conflict");
  EXPECT_NE(over.body.find("per-user limit"), std::string::npos) << over.body;
  EXPECT_EQ(StockLeft(plain_deal_), 48);
  // Another user has a limit of their own.
  Shopper other = Launch("13800000001");
  EXPECT_EQ(Order(other, plain_deal_, 2).status, 201);
}

TEST_P(OrdersTest, CampaignPriceAndStockApply) {
  auto row = ProviderQuery(kCampaignDeal, {});
  ASSERT_FALSE(row.empty());
  const std::string deal = row[0].Str(0);
  const int64_t campaign_price = row[0].Int(1);
  const int64_t deal_stock = StockLeft(deal);
  const int64_t campaign_stock = ProviderQuery(kCampaignStock, {deal}).rows.at(0).Int(0);
  Shopper viewer = Launch("13800000000");
  auto r = Order(viewer, deal, 1);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(ParseBody(r).at("amount_fen").as_int64(), campaign_price);
  EXPECT_EQ(StockLeft(deal), deal_stock);
  EXPECT_EQ(ProviderQuery(kCampaignStock, {deal}).rows.at(0).Int(0), campaign_stock - 1);
}

TEST_P(OrdersTest, InsufficientBalanceChangesNothing) {
  SetStock(plain_deal_, 50, 0);
  Shopper poor = Launch("13800000001");  // a creator's account: no sandbox money
  EXPECT_EQ(Balance(poor), 0);
  auto created = Order(poor, plain_deal_, 1);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string pay_order_id(ParseBody(created).at("pay_order_id").as_string());
  const std::string pay_url = node_->host_url() + "/api/cashier/" + pay_order_id + "/pay";
  auto refused = Post(pay_url, "", poor.host);
  ExpectProblem(refused, 409, "conflict");
  EXPECT_NE(refused.body.find("insufficient balance"), std::string::npos);
  EXPECT_EQ(HostQuery(kPayOrder, {pay_order_id}).rows.at(0).Str(0), "pending");
  EXPECT_EQ(HostQuery(kPaymentEvents, {}).rows.at(0).Int(0), 0);
  EXPECT_EQ(Balance(poor), 0);

  // Top up (sandbox), then the same pay order goes through.
  ExpectProblem(Post(node_->host_url() + "/api/wallet/topup", R"({"amount_fen":1000001})", poor.host), 400,
                "validation_failed");
  auto topped = Post(node_->host_url() + "/api/wallet/topup", R"({"amount_fen":1000000})", poor.host);
  ASSERT_EQ(topped.status, 200) << topped.body;
  EXPECT_EQ(ParseBody(topped).at("balance_fen").as_int64(), 1'000'000);
  ASSERT_EQ(Post(pay_url, "", poor.host).status, 200);
  EXPECT_EQ(HostQuery(kPaymentEvents, {}).rows.at(0).Int(0), 1);
}

TEST_P(OrdersTest, HostFailureCancelsTheOrderAndReturnsTheStock) {
  SetStock(plain_deal_, 5, 0);
  const std::string user_id = NewId("mpu");
  const provider::MpUser user = InsertMpUser(*provider_db_, user_id, "o_test_down");
  auto r = provider::PlaceOrder(*provider_db_, FakePayOrderGateway(/*fail=*/true), user,
                                {plain_deal_, 2, {}, {}}, SystemClock::Instance().NowMs());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(StockLeft(plain_deal_), 5);
  EXPECT_EQ(ProviderQuery(kOrderCount, {plain_deal_}).rows.at(0).Int(0), 0);
}

TEST_P(OrdersTest, ConcurrentBuyersNeverOversell) {
  SetStock(plain_deal_, 100, 0);
  constexpr int kThreads = 8;
  constexpr int kAttemptsPerThread = 20;
  const RaceOutcome race = RaceForPlainDeal(FakePayOrderGateway(), kThreads, kAttemptsPerThread,
                                            provider::PayOrderTiming::kAfterReservation);
  EXPECT_EQ(race.sold, 100);
  EXPECT_EQ(race.out_of_stock, kThreads * kAttemptsPerThread - 100);
  EXPECT_EQ(StockLeft(plain_deal_), 0);
  EXPECT_EQ(ProviderQuery(kOrderCount, {plain_deal_}).rows.at(0).Int(0), 100);
}

// The pay order asked for before the reservation: one commit writes the order with it.
TEST_P(OrdersTest, PayOrderFirstWritesTheOrderWithItsPayOrder) {
  SetStock(plain_deal_, 5, 0);
  const int64_t price = ProviderQuery(kStock, {plain_deal_}).rows.at(0).Int(1);
  const provider::MpUser user = InsertMpUser(*provider_db_, NewId("mpu"), "o_test_first");
  FakePayOrderGateway gateway;
  auto placed =
      provider::PlaceOrder(*provider_db_, gateway, user, {plain_deal_, 2, {}, {}},
                           SystemClock::Instance().NowMs(), provider::PayOrderTiming::kBeforeReservation);
  ASSERT_TRUE(placed.ok()) << placed.error().detail;
  EXPECT_EQ(placed->pay_order_id, "pay_for_" + placed->order_id);
  EXPECT_EQ(placed->amount_fen, 2 * price);
  auto row = ProviderQuery(kOrderPayOrder, {placed->order_id});
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0].Str(0), placed->pay_order_id);
  EXPECT_EQ(row[0].Str(1), "/cashier/pay_for_" + placed->order_id);
  EXPECT_EQ(row[0].Int(2), 2 * price);
  ASSERT_EQ(gateway.Created().size(), 1u);
  EXPECT_EQ(gateway.Created()[0].amount_fen, 2 * price);
  EXPECT_TRUE(gateway.Closed().empty());
  EXPECT_EQ(StockLeft(plain_deal_), 3);

  // Bad requests are answered before the host is asked for anything.
  auto unknown =
      provider::PlaceOrder(*provider_db_, gateway, user, {"deal_01ZZZZZZZZZZZZZZZZZZZZZZZZ", 1, {}, {}},
                           SystemClock::Instance().NowMs(), provider::PayOrderTiming::kBeforeReservation);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gateway.Created().size(), 1u);
}

TEST_P(OrdersTest, PayOrderFirstWithTheHostDownReservesNothing) {
  SetStock(plain_deal_, 5, 0);
  const provider::MpUser user = InsertMpUser(*provider_db_, NewId("mpu"), "o_test_first_down");
  auto r =
      provider::PlaceOrder(*provider_db_, FakePayOrderGateway(/*fail=*/true), user, {plain_deal_, 2, {}, {}},
                           SystemClock::Instance().NowMs(), provider::PayOrderTiming::kBeforeReservation);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(StockLeft(plain_deal_), 5);
  static constexpr storage::Query kAnyOrder{"test.orders.any_order", storage::Access::kRead,
                                            "SELECT COUNT(*) FROM orders WHERE deal_id = $1"};
  EXPECT_EQ(ProviderQuery(kAnyOrder, {plain_deal_}).rows.at(0).Int(0), 0);  // not even cancelled
}

// Between the pay order and the reservation the stock ran out: nothing reserved, the pay
// order closed. The price changed: the first pay order closed, the order placed at the new
// price with a pay order of that amount.
TEST_P(OrdersTest, PayOrderFirstClosesThePayOrderWhenTheQuoteNoLongerHolds) {
  SetStock(plain_deal_, 5, 0);
  const int64_t price = ProviderQuery(kStock, {plain_deal_}).rows.at(0).Int(1);
  const provider::MpUser user = InsertMpUser(*provider_db_, NewId("mpu"), "o_test_first_race");
  const int64_t now = SystemClock::Instance().NowMs();
  {
    FakePayOrderGateway gateway;
    gateway.on_create_for_test = [&](const provider::PayOrderRequest&) { SetStock(plain_deal_, 1, 0); };
    auto r = provider::PlaceOrder(*provider_db_, gateway, user, {plain_deal_, 2, {}, {}}, now,
                                  provider::PayOrderTiming::kBeforeReservation);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kOutOfStock);
    ASSERT_EQ(gateway.Created().size(), 1u);
    EXPECT_EQ(gateway.Closed(), std::vector<std::string>{"pay_for_" + gateway.Created()[0].out_trade_no});
    EXPECT_EQ(StockLeft(plain_deal_), 1);
    EXPECT_EQ(ProviderQuery(kOrderCount, {plain_deal_}).rows.at(0).Int(0), 0);
  }
  {
    SetStock(plain_deal_, 5, 0);
    FakePayOrderGateway gateway;
    bool changed = false;
    gateway.on_create_for_test = [&](const provider::PayOrderRequest&) {
      if (!changed) ProviderQuery(kSetPrice, {plain_deal_, price + 100});
      changed = true;
    };
    auto r = provider::PlaceOrder(*provider_db_, gateway, user, {plain_deal_, 1, {}, {}}, now,
                                  provider::PayOrderTiming::kBeforeReservation);
    ASSERT_TRUE(r.ok()) << r.error().detail;
    EXPECT_EQ(r->amount_fen, price + 100);
    auto created = gateway.Created();
    ASSERT_EQ(created.size(), 2u);
    EXPECT_EQ(created[0].amount_fen, price);
    EXPECT_EQ(created[1].amount_fen, price + 100);
    EXPECT_EQ(gateway.Closed(), std::vector<std::string>{"pay_for_" + created[0].out_trade_no});
    EXPECT_EQ(r->pay_order_id, "pay_for_" + created[1].out_trade_no);
    EXPECT_EQ(ProviderQuery(kOrderPayOrder, {r->order_id}).rows.at(0).Str(0), r->pay_order_id);
    EXPECT_EQ(StockLeft(plain_deal_), 4);
    ProviderQuery(kSetPrice, {plain_deal_, price});
  }
}

TEST_P(OrdersTest, PayOrderFirstNeverOversells) {
  SetStock(plain_deal_, 50, 0);
  constexpr int kThreads = 8;
  constexpr int kAttemptsPerThread = 10;
  FakePayOrderGateway gateway;
  const RaceOutcome race =
      RaceForPlainDeal(gateway, kThreads, kAttemptsPerThread, provider::PayOrderTiming::kBeforeReservation);
  EXPECT_EQ(race.sold, 50);
  EXPECT_EQ(race.out_of_stock, kThreads * kAttemptsPerThread - 50);
  EXPECT_EQ(StockLeft(plain_deal_), 0);
  EXPECT_EQ(ProviderQuery(kOrderCount, {plain_deal_}).rows.at(0).Int(0), 50);
  // Every refused attempt's pay order was closed; every sold one is its order's.
  EXPECT_EQ(gateway.Closed().size(), static_cast<size_t>(race.out_of_stock));
  static constexpr storage::Query kWithPayOrder{
      "test.orders.with_pay_order", storage::Access::kRead,
      "SELECT COUNT(*) FROM orders WHERE deal_id = $1 AND pay_order_id = 'pay_for_' || id"};
  EXPECT_EQ(ProviderQuery(kWithPayOrder, {plain_deal_}).rows.at(0).Int(0), 50);
}

TEST_P(OrdersTest, ReservationSlotsHaveTheirOwnStock) {
  auto row = ProviderQuery(kReservationSlot, {});
  ASSERT_FALSE(row.empty());
  const std::string deal = row[0].Str(0);
  const std::string slot = row[0].Str(1);
  SetStock(deal, 10, 0);
  ProviderQuery(kSetSlotStock, {deal, slot, 1});
  Shopper viewer = Launch("13800000000");
  const std::string url = node_->provider_url() + "/mp/v1/orders";
  ExpectProblem(Post(url, R"({"deal_id":")" + deal + R"(","quantity":1})", viewer.mp), 400,
                "validation_failed");
  ExpectProblem(Post(url, R"({"deal_id":")" + deal + R"(","quantity":1,"slot":"nope"})", viewer.mp), 400,
                "validation_failed");
  const std::string with_slot = R"({"deal_id":")" + deal + R"(","quantity":1,"slot":")" + slot + R"("})";
  auto r = Post(url, with_slot, viewer.mp);
  ASSERT_EQ(r.status, 201) << r.body;
  ExpectProblem(Post(url, with_slot, viewer.mp), 409, "out_of_stock");
  EXPECT_EQ(ProviderQuery(kSlotStock, {deal, slot}).rows.at(0).Int(0), 0);
  EXPECT_EQ(StockLeft(deal), 9);
  // A slot on a deal that has none is refused.
  ExpectProblem(Post(url, R"({"deal_id":")" + plain_deal_ + R"(","quantity":1,"slot":"x"})", viewer.mp), 400,
                "validation_failed");
}

TEST_P(OrdersTest, UnpaidOrdersExpireAndGiveTheirStockBack) {
  SetStock(plain_deal_, 10, 0);
  const std::string user_id = NewId("mpu");
  const provider::MpUser user = InsertMpUser(*provider_db_, user_id, "o_test_expiry");
  const int64_t now = SystemClock::Instance().NowMs();
  auto unpaid =
      provider::PlaceOrder(*provider_db_, FakePayOrderGateway(), user, {plain_deal_, 3, {}, {}}, now);
  auto paid = provider::PlaceOrder(*provider_db_, FakePayOrderGateway(), user, {plain_deal_, 2, {}, {}}, now);
  ASSERT_TRUE(unpaid.ok() && paid.ok());
  json::object event{
      {"id", NewId("evt")},
      {"type", "payment.succeeded"},
      {"data", json::object{{"out_trade_no", paid->order_id}, {"amount_fen", paid->amount_fen}}}};
  ASSERT_TRUE(provider_db_
                  ->WithWrite([&](storage::Tx& tx) {
                    return provider::HandlePaymentSucceeded(tx, "local", event, now);
                  })
                  .ok());
  EXPECT_EQ(StockLeft(plain_deal_), 5);
  auto status = [&](const std::string& id) { return ProviderQuery(kOrderStatus, {id}).rows.at(0).Str(0); };

  // Inside the payment window and its grace: nothing happens.
  const int64_t deadline = now + provider::kOrderPaymentWindowMs + provider::kUnpaidOrderGraceMs;
  EXPECT_EQ(*provider::ExpireUnpaidOrders(*provider_db_, deadline - 1000), 0);
  EXPECT_EQ(status(unpaid->order_id), "pending_payment");
  // After it: the unpaid order is cancelled once and its 3 units come back; the paid one stays.
  EXPECT_EQ(*provider::ExpireUnpaidOrders(*provider_db_, deadline + 1000), 1);
  EXPECT_EQ(status(unpaid->order_id), "cancelled");
  EXPECT_EQ(status(paid->order_id), "paid");
  EXPECT_EQ(StockLeft(plain_deal_), 8);
  EXPECT_EQ(*provider::ExpireUnpaidOrders(*provider_db_, deadline + 2000), 0);
  EXPECT_EQ(StockLeft(plain_deal_), 8);
}

TEST_P(OrdersTest, PaymentEventsThatCannotApplyAreAcknowledgedWithoutVouchers) {
  SetStock(plain_deal_, 10, 0, 4);
  const int64_t sold_before = ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0);
  const std::string user_id = NewId("mpu");
  const provider::MpUser user = InsertMpUser(*provider_db_, user_id, "o_test_events");
  const int64_t now = SystemClock::Instance().NowMs();
  auto placed =
      provider::PlaceOrder(*provider_db_, FakePayOrderGateway(), user, {plain_deal_, 2, {}, {}}, now);
  ASSERT_TRUE(placed.ok());
  auto deliver = [&](const std::string& order_id, int64_t amount) {
    json::object event{{"id", NewId("evt")},
                       {"type", "payment.succeeded"},
                       {"data", json::object{{"out_trade_no", order_id}, {"amount_fen", amount}}}};
    return provider_db_->WithWrite(
        [&](storage::Tx& tx) { return provider::HandlePaymentSucceeded(tx, "local", event, now); });
  };
  auto status = [&](const std::string& id) { return ProviderQuery(kOrderStatus, {id}).rows.at(0).Str(0); };
  auto vouchers = [&](const std::string& id) { return ProviderQuery(kVoucherCount, {id}).rows.at(0).Int(0); };

  EXPECT_TRUE(
      deliver(placed->order_id, placed->amount_fen + 1).ok());  // amount mismatch: logged, acknowledged
  EXPECT_EQ(status(placed->order_id), "pending_payment");
  EXPECT_EQ(vouchers(placed->order_id), 0);
  EXPECT_TRUE(deliver("ord_01ZZZZZZZZZZZZZZZZZZZZZZZZ", 1).ok());  // unknown order
  EXPECT_EQ(ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0), sold_before);
  EXPECT_TRUE(deliver(placed->order_id, placed->amount_fen).ok());
  EXPECT_EQ(status(placed->order_id), "paid");
  // The sale is counted once and the vouchers carry the deal's validity and uses.
  auto deal = ProviderQuery(kDealSold, {plain_deal_});
  EXPECT_EQ(deal.rows.at(0).Int(0), sold_before + 2);
  auto terms = ProviderQuery(kVoucherTerms, {placed->order_id});
  EXPECT_EQ(terms.rows.at(0).Int(0), 2);
  EXPECT_EQ(terms.rows.at(0).Int(1), deal.rows.at(0).Int(1));
  EXPECT_EQ(terms.rows.at(0).Int(2), deal.rows.at(0).Int(1));
  EXPECT_EQ(terms.rows.at(0).Int(3), 4);
  EXPECT_EQ(terms.rows.at(0).Int(4), 4);
  EXPECT_TRUE(deliver(placed->order_id, placed->amount_fen).ok());  // a second event: nothing more
  EXPECT_EQ(vouchers(placed->order_id), 2);
  EXPECT_EQ(ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0), sold_before + 2);

  // An order cancelled because the host was down: a late payment is logged, not honoured.
  auto failed = provider::PlaceOrder(*provider_db_, FakePayOrderGateway(/*fail=*/true), user,
                                     {plain_deal_, 1, {}, {}}, now);
  ASSERT_FALSE(failed.ok());
  static constexpr storage::Query kCancelled{"test.orders.cancelled", storage::Access::kRead,
                                             "SELECT id, amount_fen FROM orders WHERE status = 'cancelled'"};
  auto cancelled = ProviderQuery(kCancelled, {});
  ASSERT_EQ(cancelled.size(), 1u);
  EXPECT_TRUE(deliver(cancelled[0].Str(0), cancelled[0].Int(1)).ok());
  EXPECT_EQ(status(cancelled[0].Str(0)), "cancelled");
  EXPECT_EQ(vouchers(cancelled[0].Str(0)), 0);
}

// Batched delivery (protocol/webhook_batch.h) to the provider over real HTTP: the provider
// advertises it, a batch's payments issue vouchers once each however often it is resent,
// a payment in it that cannot apply is acknowledged without vouchers, a malformed element
// fails alone, and a refund event arriving before its order's payment changes nothing.
TEST_P(OrdersTest, BatchedPaymentEventsIssueVouchersExactlyOnce) {
  SetStock(plain_deal_, 20, 0, 1);
  const int64_t sold_before = ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0);
  const provider::MpUser user = InsertMpUser(*provider_db_, NewId("mpu"), "o_test_batch");
  const int64_t now = SystemClock::Instance().NowMs();
  std::vector<provider::PlacedOrder> orders;
  for (int64_t q : {1, 2, 3}) {
    auto placed =
        provider::PlaceOrder(*provider_db_, FakePayOrderGateway(), user, {plain_deal_, q, {}, {}}, now);
    ASSERT_TRUE(placed.ok());
    orders.push_back(*placed);
  }
  const std::string secret = LocalAppCredentials().second;
  const std::string url = node_->provider_url() + "/mp/v1/webhooks/local";
  auto payment = [&](const provider::PlacedOrder& o, int64_t amount) {
    return json::object{{"id", NewId("evt")},
                        {"type", "payment.succeeded"},
                        {"data", json::object{{"pay_order_id", o.pay_order_id},
                                              {"out_trade_no", o.order_id},
                                              {"amount_fen", amount}}}};
  };
  auto post = [&](const json::array& events) {
    const std::string body = json::serialize(json::object{{"events", events}});
    return Post(url, body,
                {{"Hutong-Signature", protocol::SignWebhook({secret}, body, SystemClock::Instance())}});
  };
  auto statuses = [&](const http::ClientResponse& r) {
    std::vector<std::string> out;
    const json::value body = ParseBody(r);  // kept alive for the loop (a temporary would not be)
    for (const auto& item : body.at("results").as_array()) out.emplace_back(item.at("status").as_string());
    return out;
  };
  // A single event's answer advertises batches.
  const json::object ping{{"id", NewId("evt")}, {"type", "test.ping"}, {"data", json::object{}}};
  const std::string ping_body = json::serialize(ping);
  auto single =
      Post(url, ping_body,
           {{"Hutong-Signature", protocol::SignWebhook({secret}, ping_body, SystemClock::Instance())}});
  ASSERT_EQ(single.status, 200) << single.body;
  EXPECT_EQ(single.Header("hutong-webhook-batch"), std::to_string(provider::kWebhookBatchMax));

  // A refund about orders[0] before its payment: out of order, acknowledged, changes nothing.
  const json::object early_refund{{"id", NewId("evt")},
                                  {"type", "refund.succeeded"},
                                  {"data", json::object{{"refund_id", "rfd_01ZZZZZZZZZZZZZZZZZZZZZZZZ"},
                                                        {"pay_order_id", orders[0].pay_order_id},
                                                        {"out_refund_no", "nope"},
                                                        {"amount_fen", orders[0].amount_fen}}}};
  const json::array batch{payment(orders[0], orders[0].amount_fen), early_refund,
                          payment(orders[1], orders[1].amount_fen + 1),  // wrong amount: no vouchers
                          json::value(json::object{{"type", "payment.succeeded"}}),  // no id: fails alone
                          payment(orders[2], orders[2].amount_fen)};
  auto first = post(batch);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("hutong-webhook-batch"), std::to_string(provider::kWebhookBatchMax));
  EXPECT_EQ(statuses(first),
            (std::vector<std::string>{"processed", "processed", "processed", "failed", "processed"}));
  auto status = [&](const std::string& id) { return ProviderQuery(kOrderStatus, {id}).rows.at(0).Str(0); };
  auto vouchers = [&](const std::string& id) { return ProviderQuery(kVoucherCount, {id}).rows.at(0).Int(0); };
  EXPECT_EQ(status(orders[0].order_id), "paid");
  EXPECT_EQ(vouchers(orders[0].order_id), 1);
  EXPECT_EQ(status(orders[1].order_id), "pending_payment");
  EXPECT_EQ(vouchers(orders[1].order_id), 0);
  EXPECT_EQ(status(orders[2].order_id), "paid");
  EXPECT_EQ(vouchers(orders[2].order_id), 3);
  EXPECT_EQ(ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0), sold_before + 4);

  // Resent (the answer was lost), and again with a new event for orders[2]'s payment: no
  // voucher and no sale twice.
  auto again = post(batch);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(statuses(again),
            (std::vector<std::string>{"duplicate", "duplicate", "duplicate", "failed", "duplicate"}));
  auto another =
      post(json::array{payment(orders[2], orders[2].amount_fen), payment(orders[1], orders[1].amount_fen)});
  ASSERT_EQ(another.status, 200) << another.body;
  EXPECT_EQ(statuses(another), (std::vector<std::string>{"processed", "processed"}));
  EXPECT_EQ(vouchers(orders[0].order_id), 1);
  EXPECT_EQ(vouchers(orders[1].order_id), 2);
  EXPECT_EQ(vouchers(orders[2].order_id), 3);
  EXPECT_EQ(ProviderQuery(kDealSold, {plain_deal_}).rows.at(0).Int(0), sold_before + 6);

  // Signed over other bytes, or not an array: refused whole, nothing changed.
  const std::string body = json::serialize(json::object{{"events", json::array{payment(orders[0], 1)}}});
  ExpectProblem(
      Post(url, body,
           {{"Hutong-Signature", protocol::SignWebhook({secret}, body + " ", SystemClock::Instance())}}),
      401, "invalid_signature");
  const std::string not_array = R"({"events":{"id":"evt_1"}})";
  ExpectProblem(
      Post(url, not_array,
           {{"Hutong-Signature", protocol::SignWebhook({secret}, not_array, SystemClock::Instance())}}),
      400, "validation_failed");
}

INSTANTIATE_TEST_SUITE_P(Backends, OrdersTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
