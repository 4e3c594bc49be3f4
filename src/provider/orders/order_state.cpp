#include "provider/orders/order_state.h"

#include <algorithm>

namespace hutong::provider {

bool IsOpenRefundStatus(std::string_view status) {
  return status == "awaiting_merchant" || status == "requested" || status == "failed";
}

std::string DeriveOrderStatus(const OrderFacts& f) {
  auto any_refund = [&](auto pred) {
    return std::any_of(f.refund_status.begin(), f.refund_status.end(), pred);
  };
  auto count_vouchers = [&](std::string_view s) {
    return std::count(f.voucher_status.begin(), f.voucher_status.end(), s);
  };
  const bool refund_open = any_refund([](const std::string& s) { return IsOpenRefundStatus(s); });
  if (f.payment_status == "pending_payment") return "pending_payment";
  if (f.payment_status == "cancelled") {
    if (refund_open) return "refunding";
    if (any_refund([](const std::string& s) { return s == "succeeded"; })) return "refunded";
    return "cancelled";
  }
  const auto total = static_cast<std::ptrdiff_t>(f.voucher_status.size());
  if (refund_open || count_vouchers("refunding") > 0) return "refunding";
  if (total == 0) return "paid";
  const auto refunded = count_vouchers("refunded");
  if (refunded == total) return "refunded";
  if (refunded > 0) return "partially_refunded";
  if (count_vouchers("unused") > 0) return "paid";
  return "completed";
}

}  // namespace hutong::provider
