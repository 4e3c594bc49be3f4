#include "provider/orders/order_state.h"

#include <gtest/gtest.h>

namespace hutong::provider {
namespace {

std::string Derive(std::string payment, std::vector<std::string> vouchers,
                   std::vector<std::string> refunds = {}) {
  return DeriveOrderStatus({std::move(payment), std::move(vouchers), std::move(refunds)});
}

TEST(OrderState, PaymentLevelStatesComeFirst) {
  EXPECT_EQ(Derive("pending_payment", {}), "pending_payment");
  EXPECT_EQ(Derive("cancelled", {}), "cancelled");
  EXPECT_EQ(Derive("cancelled", {}, {"requested"}), "refunding");  // paid after it was cancelled
  EXPECT_EQ(Derive("cancelled", {}, {"failed"}), "refunding");
  EXPECT_EQ(Derive("cancelled", {}, {"succeeded"}), "refunded");
}

TEST(OrderState, PaidOrdersFollowTheirVouchers) {
  EXPECT_EQ(Derive("paid", {}), "paid");
  EXPECT_EQ(Derive("paid", {"unused", "unused"}), "paid");
  EXPECT_EQ(Derive("paid", {"unused", "redeemed"}), "paid");
  EXPECT_EQ(Derive("paid", {"redeemed", "redeemed"}), "completed");
  EXPECT_EQ(Derive("paid", {"redeemed", "expired"}), "completed");
  EXPECT_EQ(Derive("paid", {"unused", "refunding"}, {"requested"}), "refunding");
  EXPECT_EQ(Derive("paid", {"redeemed", "refunding"}, {"awaiting_merchant"}), "refunding");
  EXPECT_EQ(Derive("paid", {"refunded", "refunded"}, {"succeeded"}), "refunded");
  EXPECT_EQ(Derive("paid", {"refunded", "unused"}, {"succeeded"}), "partially_refunded");
  EXPECT_EQ(Derive("paid", {"refunded", "redeemed"}, {"succeeded"}), "partially_refunded");
  // A rejected after-sale leaves the redeemed voucher as it was.
  EXPECT_EQ(Derive("paid", {"redeemed"}, {"rejected"}), "completed");
  // An open refund shows even before its vouchers move (never happens, but never hides).
  EXPECT_EQ(Derive("paid", {"unused"}, {"failed"}), "refunding");
}

}  // namespace
}  // namespace hutong::provider
