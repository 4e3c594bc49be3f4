// Refunds at the host: an app (signed) gives money of one of its paid pay orders back to
// the payer. The refund row, the pay order's refunded total, the money (PaymentProvider)
// and the `refund.succeeded` event commit in one transaction (ApplyRefund).
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/money.h"
#include "common/result.h"
#include "host/pay/payment_provider.h"
#include "storage/db.h"

namespace hutong::host {

struct RefundInput {
  std::string pay_order_id;
  std::string out_refund_no;  // the app's own id of the refund, unique per app
  Fen amount_fen = 0;
  std::string reason;
};

struct PayRefund {
  std::string id;  // rfd_…
  std::string app_id;
  std::string pay_order_id;
  std::string out_refund_no;
  std::string user_id;
  Fen amount_fen = 0;
  std::string reason;
  std::string status;  // succeeded (refunds at the sandbox wallet complete at once)
  int64_t created_at = 0;
};

// The whole refund inside `tx`, so further bookkeeping (the ledger) can join the same
// transaction: nothing of it commits unless all of it does.
// - (app, out_refund_no) seen before with the same pay order and amount → that refund
//   again, nothing moved (`*created` false); with another pay order or amount → kConflict.
// - Unknown pay order or another app's → kNotFound; not paid → kConflict.
// - The pay order's refunds would exceed the amount paid → kConflict, nothing written.
// - Otherwise: the refund row, pay_orders.refunded_fen raised by a conditional update
//   (so concurrent refunds can never sum past the amount paid), the money back through
//   `payments`, and the `refund.succeeded` event {refund_id, pay_order_id,
//   out_refund_no, amount_fen}; `*created` true.
Result<PayRefund> ApplyRefund(storage::Tx& tx, const PaymentProvider& payments, const std::string& app_id,
                              const RefundInput& in, int64_t now_ms, bool* created);

// ApplyRefund in its own write transaction.
Result<PayRefund> CreateRefund(storage::Db& db, const PaymentProvider& payments, const std::string& app_id,
                               const RefundInput& in, int64_t now_ms, bool* created);

// {refund_id, pay_order_id, out_refund_no, amount_fen, status, reason, created_at}
boost::json::object PayRefundJson(const PayRefund& r);

}  // namespace hutong::host
