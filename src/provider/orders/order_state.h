// The order's visible status, derived from its payment-level state (orders.status) and
// its vouchers' and refunds' states: one model, two levels, so the two never disagree.
// Every response that shows an order's status goes through DeriveOrderStatus.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hutong::provider {

// The states a voucher or refund can be in that matter here (stored as text).
struct OrderFacts {
  std::string payment_status;               // orders.status: pending_payment | paid | cancelled
  std::vector<std::string> voucher_status;  // unused | redeemed | refunding | refunded | expired
  std::vector<std::string> refund_status;   // awaiting_merchant | requested | failed | succeeded | rejected
};

// The rule, first match wins:
//   payment pending_payment                               → pending_payment
//   payment cancelled: a refund not yet closed            → refunding
//                      a refund succeeded                 → refunded   (paid after cancelling)
//                      otherwise                          → cancelled
//   paid: any voucher refunding, or a refund open         → refunding
//         vouchers, all refunded                          → refunded
//         some refunded                                   → partially_refunded
//         any unused                                      → paid
//         vouchers, none unused (redeemed or expired)     → completed
//         no vouchers                                     → paid
// A refund is open while awaiting_merchant, requested or failed (failed ones are retried).
std::string DeriveOrderStatus(const OrderFacts& facts);

bool IsOpenRefundStatus(std::string_view status);

}  // namespace hutong::provider
