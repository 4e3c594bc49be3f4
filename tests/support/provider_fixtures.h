// Repository-level fixtures of the provider for integration tests: a pay-order gateway
// standing in for the host, mini-program users and plain demo deals written or read
// straight in the provider's database.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "provider/miniprogram/mp_session.h"
#include "provider/orders/orders.h"
#include "storage/db.h"

namespace hutong::testing {

// Stands in for the host where an order is placed through the repository: the pay order
// is "pay_for_<out_trade_no>", or kUnavailable ("host down") when made to fail. It keeps
// what it was asked (pay orders created, closed) for tests to check.
class FakePayOrderGateway final : public provider::PayOrderGateway {
 public:
  explicit FakePayOrderGateway(bool fail = false) : fail_(fail) {}
  Result<provider::PayOrderCreated> CreatePayOrder(const std::string& host,
                                                   const provider::PayOrderRequest& req) const override;
  Status ClosePayOrder(const std::string& host, const std::string& pay_order_id) const override;

  // Runs in CreatePayOrder before it answers (e.g. to change the deal meanwhile).
  std::function<void(const provider::PayOrderRequest&)> on_create_for_test;
  std::vector<provider::PayOrderRequest> Created() const;
  std::vector<std::string> Closed() const;

 private:
  bool fail_;
  mutable std::mutex mu_;
  mutable std::vector<provider::PayOrderRequest> created_;  // GUARDED_BY(mu_)
  mutable std::vector<std::string> closed_;                 // GUARDED_BY(mu_)
};

// A mini-program user of host "local", written straight into the provider's database.
provider::MpUser InsertMpUser(storage::Db& provider_db, const std::string& id, const std::string& openid);

// The ids of the first `n` online set meals and cash vouchers (by id) that are in no
// campaign; a failure if there are fewer.
std::vector<std::string> PlainDeals(storage::Db& provider_db, int64_t n);

}  // namespace hutong::testing
