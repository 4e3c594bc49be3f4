// The host's refunds over the signed open API, on SQLite and PostgreSQL: money goes back
// to the payer's wallet with a refund.succeeded event, retries never pay twice, refunds
// never sum past the amount paid (also from many threads), another app's pay order is 404.
#include <atomic>
#include <thread>

#include "common/clock.h"
#include "protocol/open_api_client.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kRefundEvents{"test.pay_refunds.events", storage::Access::kRead,
                                       "SELECT COUNT(*) FROM webhook_events WHERE type = 'refund.succeeded'"};
constexpr storage::Query kRefunded{"test.pay_refunds.refunded", storage::Access::kRead,
                                   "SELECT refunded_fen, amount_fen FROM pay_orders WHERE id = $1"};
constexpr storage::Query kRefundRows{"test.pay_refunds.rows", storage::Access::kRead,
                                     "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM pay_refunds "
                                     "WHERE pay_order_id = $1"};

class PayRefundsTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    host_db_ = OpenHostDb();
    auto provider_db = OpenProviderDb();
    deal_ = PlainDeals(*provider_db, 1).at(0);
    auto [app_id, secret] = LocalAppCredentials();
    app_id_ = app_id;
    client_.emplace(
        protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance())
            .value());
  }

  // Logs the viewer in, opens the mini-program, orders `quantity` of the plain deal;
  // returns the host's pay order id (paid at the cashier when `pay`).
  std::string OrderAndPay(int64_t quantity, bool pay = true) {
    const std::string h = node_->host_url();
    viewer_ = LoginViewer(h, "13800000000");
    const Headers mp = OpenMiniProgram(h, node_->provider_url(), viewer_, app_id_).mp;
    auto order = Post(node_->provider_url() + "/mp/v1/orders",
                      json::serialize(json::object{{"deal_id", deal_}, {"quantity", quantity}}), mp);
    EXPECT_EQ(order.status, 201) << order.body;
    const std::string pay_order_id(ParseBody(order).at("pay_order_id").as_string());
    if (pay) {
      auto paid = Post(h + "/api/cashier/" + pay_order_id + "/pay", "", viewer_);
      EXPECT_EQ(paid.status, 200) << paid.body;
    }
    return pay_order_id;
  }

  http::ClientResponse Refund(const protocol::OpenApiClient& client, const std::string& pay_order_id,
                              const std::string& out_refund_no, int64_t amount, const std::string& key = "") {
    json::object body{{"pay_order_id", pay_order_id},
                      {"out_refund_no", out_refund_no},
                      {"amount_fen", amount},
                      {"reason", "test"}};
    protocol::HeaderList headers;
    if (!key.empty()) headers.emplace_back("Idempotency-Key", key);
    auto r = client.Call("POST", "/open/v1/pay/refunds", json::serialize(body), headers);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  }

  int64_t Balance() {
    return ParseBody(Get(node_->host_url() + "/api/wallet", viewer_)).at("balance_fen").as_int64();
  }
  int64_t Count(const storage::Query& q, std::vector<storage::Value> p = {}) {
    return RunQuery(*host_db_, q, std::move(p)).rows.at(0).Int(0);
  }

  std::unique_ptr<storage::Db> host_db_;
  std::string deal_;
  std::string app_id_;
  std::optional<protocol::OpenApiClient> client_;
  Headers viewer_;
};

TEST_P(PayRefundsTest, RefundsGiveMoneyBackOnceAndNeverExceedThePayment) {
  const std::string pay_order_id = OrderAndPay(2);
  const int64_t paid = RunQuery(*host_db_, kRefunded, {pay_order_id}).rows.at(0).Int(1);
  ASSERT_GT(paid, 2);
  const int64_t before = Balance();

  auto first = Refund(*client_, pay_order_id, "r-1", 1, "key-1");
  ASSERT_EQ(first.status, 201) << first.body;
  auto refund = ParseBody(first).as_object();
  EXPECT_EQ(refund.at("status").as_string(), "succeeded");
  EXPECT_EQ(refund.at("pay_order_id").as_string(), pay_order_id);
  EXPECT_EQ(refund.at("out_refund_no").as_string(), "r-1");
  EXPECT_EQ(refund.at("amount_fen").as_int64(), 1);
  EXPECT_TRUE(std::string(refund.at("refund_id").as_string()).starts_with("rfd_"));
  EXPECT_EQ(Balance(), before + 1);
  EXPECT_EQ(Count(kRefundEvents), 1);

  // Retries (same Idempotency-Key, or none but the same out_refund_no) are the same refund.
  auto again = Refund(*client_, pay_order_id, "r-1", 1, "key-1");
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(ParseBody(again).at("refund_id"), refund.at("refund_id"));
  auto same_no = Refund(*client_, pay_order_id, "r-1", 1);
  ASSERT_EQ(same_no.status, 201) << same_no.body;
  EXPECT_EQ(ParseBody(same_no).at("refund_id"), refund.at("refund_id"));
  EXPECT_EQ(Balance(), before + 1);
  EXPECT_EQ(Count(kRefundEvents), 1);
  // The same out_refund_no for another amount is refused.
  ExpectProblem(Refund(*client_, pay_order_id, "r-1", 2), 409, "conflict");

  // More than what is left → 409 and nothing moves; exactly what is left → fine; then nothing.
  ExpectProblem(Refund(*client_, pay_order_id, "r-2", paid), 409, "conflict");
  EXPECT_EQ(Balance(), before + 1);
  ASSERT_EQ(Refund(*client_, pay_order_id, "r-3", paid - 1).status, 201);
  ExpectProblem(Refund(*client_, pay_order_id, "r-4", 1), 409, "conflict");
  EXPECT_EQ(Balance(), before + paid);
  auto row = RunQuery(*host_db_, kRefunded, {pay_order_id});
  EXPECT_EQ(row.rows.at(0).Int(0), paid);
  EXPECT_EQ(Count(kRefundRows, {pay_order_id}), 2);
  EXPECT_EQ(Count(kRefundEvents), 2);
}

TEST_P(PayRefundsTest, ForbiddenRefundsChangeNothing) {
  const std::string unpaid = OrderAndPay(1, /*pay=*/false);
  const std::string paid = OrderAndPay(1);
  const int64_t before = Balance();
  ExpectProblem(Refund(*client_, unpaid, "u-1", 1), 409, "conflict");
  ExpectProblem(Refund(*client_, "pay_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "u-2", 1), 404, "not_found");
  ExpectProblem(Refund(*client_, paid, "u-3", 0), 400, "validation_failed");
  auto missing = client_->Call("POST", "/open/v1/pay/refunds", R"({"pay_order_id":")" + paid + R"("})");
  ASSERT_TRUE(missing.ok());
  ExpectProblem(*missing, 400, "validation_failed");
  // Unsigned → 401.
  ExpectProblem(Post(node_->host_url() + "/open/v1/pay/refunds",
                     R"({"pay_order_id":")" + paid + R"(","out_refund_no":"x","amount_fen":1})"),
                401, "invalid_signature");

  // Another app may not refund this app's pay order.
  auto reg = Post(node_->host_url() + "/api/admin/apps",
                  json::serialize(json::object{{"name", "other"},
                                               {"service_url", "http://127.0.0.1:9/mp"},
                                               {"notify_url", "http://127.0.0.1:9/hook"}}),
                  {{"Authorization", "Bearer " + config_.admin_token}});
  ASSERT_EQ(reg.status, 201) << reg.body;
  auto other = protocol::OpenApiClient::Create(
                   {node_->host_url(), std::string(ParseBody(reg).at("app_id").as_string()),
                    std::string(ParseBody(reg).at("app_secret").as_string())},
                   SystemClock::Instance())
                   .value();
  ExpectProblem(Refund(other, paid, "o-1", 1), 404, "not_found");

  EXPECT_EQ(Balance(), before);
  EXPECT_EQ(Count(kRefundEvents), 0);
  EXPECT_EQ(Count(kRefundRows, {paid}), 0);
  EXPECT_EQ(RunQuery(*host_db_, kRefunded, {paid}).rows.at(0).Int(0), 0);
}

TEST_P(PayRefundsTest, ConcurrentRefundsNeverSumPastThePayment) {
  const std::string pay_order_id = OrderAndPay(4);
  const int64_t paid = RunQuery(*host_db_, kRefunded, {pay_order_id}).rows.at(0).Int(1);
  ASSERT_EQ(paid % 4, 0);
  const int64_t before = Balance();
  constexpr int kThreads = 8;
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread asks for a quarter under its own out_refund_no, and also retries the
      // shared "same" refund: only 4 quarters fit, and "same" is one refund at most.
      for (const std::string& no : {"q-" + std::to_string(t), std::string("same")}) {
        for (int attempt = 0; attempt < 50; ++attempt) {
          auto r = Refund(*client_, pay_order_id, no, paid / 4);
          if (r.status == 503) continue;  // a serialization failure: retry
          if (r.status == 201) {
            if (no != "same") ++ok;
          } else {
            EXPECT_EQ(r.status, 409) << r.body;
            if (no != "same") ++refused;
          }
          break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const int64_t refunds = Count(kRefundRows, {pay_order_id});
  EXPECT_EQ(refunds, 4);
  EXPECT_EQ(RunQuery(*host_db_, kRefunded, {pay_order_id}).rows.at(0).Int(0), paid);
  EXPECT_EQ(Balance(), before + paid);
  EXPECT_EQ(Count(kRefundEvents), 4);
  EXPECT_EQ(ok.load() + refused.load(), kThreads);
  EXPECT_LE(ok.load(), 4);
}

INSTANTIATE_TEST_SUITE_P(Backends, PayRefundsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
