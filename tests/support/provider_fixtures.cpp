#include "support/provider_fixtures.h"

#include "support/test_env.h"

namespace hutong::testing {
namespace {

constexpr storage::Query kInsertMpUser{
    "test.support.insert_mp_user", storage::Access::kWrite,
    "INSERT INTO mp_users (id, host, openid, created_at) VALUES ($1, 'local', $2, 0)"};
constexpr storage::Query kPlainDeals{
    "test.support.plain_deals", storage::Access::kRead,
    "SELECT id FROM deals WHERE type IN ('set_meal', 'voucher') AND status = 'online' "
    "AND id NOT IN (SELECT deal_id FROM campaign_deals) ORDER BY id LIMIT $1"};

}  // namespace

Result<provider::PayOrderCreated> FakePayOrderGateway::CreatePayOrder(
    const std::string&, const provider::PayOrderRequest& req) const {
  if (on_create_for_test) on_create_for_test(req);
  if (fail_) return Error(ErrorCode::kUnavailable, "host down");
  {
    std::lock_guard lock(mu_);
    created_.push_back(req);
  }
  return provider::PayOrderCreated{"pay_for_" + req.out_trade_no, "/cashier/pay_for_" + req.out_trade_no};
}

Status FakePayOrderGateway::ClosePayOrder(const std::string&, const std::string& pay_order_id) const {
  if (fail_) return Error(ErrorCode::kUnavailable, "host down");
  std::lock_guard lock(mu_);
  closed_.push_back(pay_order_id);
  return Ok();
}

std::vector<provider::PayOrderRequest> FakePayOrderGateway::Created() const {
  std::lock_guard lock(mu_);
  return created_;
}

std::vector<std::string> FakePayOrderGateway::Closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

provider::MpUser InsertMpUser(storage::Db& provider_db, const std::string& id, const std::string& openid) {
  RunQuery(provider_db, kInsertMpUser, {id, openid});
  return {id, "local", openid};
}

std::vector<std::string> PlainDeals(storage::Db& provider_db, int64_t n) {
  std::vector<std::string> ids;
  for (const auto& row : RunQuery(provider_db, kPlainDeals, {n})) ids.push_back(row.Str(0));
  EXPECT_EQ(static_cast<int64_t>(ids.size()), n) << "plain deals in the demo";
  return ids;
}

}  // namespace hutong::testing
