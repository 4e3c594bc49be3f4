#include "host/pay/refunds.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/ids.h"
#include "host/ledger/redemptions.h"
#include "host/webhooks/outbox.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kRefundByNo{"refund.by_no", Access::kRead,
                            "SELECT id, app_id, pay_order_id, out_refund_no, user_id, amount_fen, reason, "
                            "status, created_at FROM pay_refunds WHERE app_id = $1 AND out_refund_no = $2"};
constexpr Query kPayOrderForRefund{"refund.pay_order", Access::kRead,
                                   "SELECT app_id, user_id, status, amount_fen, refunded_fen FROM pay_orders "
                                   "WHERE id = $1"};
constexpr Query kInsertRefund{
    "refund.insert", Access::kWrite,
    "INSERT INTO pay_refunds (id, app_id, pay_order_id, out_refund_no, user_id, amount_fen, reason, status, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'succeeded', $8) "
    "ON CONFLICT (app_id, out_refund_no) DO NOTHING"};
// The cap lives in the WHERE clause: the row lock orders concurrent refunds, and the
// second one re-evaluates the sum after the first committed.
constexpr Query kAddRefunded{"refund.add_refunded", Access::kWrite,
                             "UPDATE pay_orders SET refunded_fen = refunded_fen + $2 "
                             "WHERE id = $1 AND status = 'paid' AND refunded_fen + $2 <= amount_fen"};

PayRefund FromRow(const storage::Row& r) {
  PayRefund p;
  p.id = r.Str(0);
  p.app_id = r.Str(1);
  p.pay_order_id = r.Str(2);
  p.out_refund_no = r.Str(3);
  p.user_id = r.Str(4);
  p.amount_fen = r.Int(5);
  p.reason = r.Str(6);
  p.status = r.Str(7);
  p.created_at = r.Int(8);
  return p;
}

Result<PayRefund> SameRefundOrConflict(const storage::Row& row, const RefundInput& in) {
  PayRefund existing = FromRow(row);
  if (existing.pay_order_id != in.pay_order_id || existing.amount_fen != in.amount_fen) {
    return Error(ErrorCode::kConflict, "'out_refund_no' was already used for another refund");
  }
  return existing;
}

}  // namespace

Result<PayRefund> ApplyRefund(storage::Tx& tx, const PaymentProvider& payments, const std::string& app_id,
                              const RefundInput& in, int64_t now_ms, bool* created) {
  *created = false;
  if (in.out_refund_no.empty()) return Invalid("'out_refund_no' is required");
  if (in.amount_fen < 1) return Invalid("'amount_fen' must be at least 1");
  ASSIGN_OR_RETURN(auto seen, tx.Exec(kRefundByNo, {app_id, in.out_refund_no}));
  if (!seen.empty()) return SameRefundOrConflict(seen[0], in);

  ASSIGN_OR_RETURN(auto orders, tx.Exec(kPayOrderForRefund, {in.pay_order_id}));
  if (orders.empty() || orders[0].Str(0) != app_id) return NotFound("pay order not found");
  const std::string user_id = orders[0].Str(1);
  if (orders[0].Str(2) != "paid") return Error(ErrorCode::kConflict, "this pay order is not paid");

  PayRefund r;
  r.id = NewId("rfd");
  r.app_id = app_id;
  r.pay_order_id = in.pay_order_id;
  r.out_refund_no = in.out_refund_no;
  r.user_id = user_id;
  r.amount_fen = in.amount_fen;
  r.reason = in.reason;
  r.status = "succeeded";
  r.created_at = now_ms;
  ASSIGN_OR_RETURN(auto inserted, tx.Exec(kInsertRefund, {r.id, app_id, r.pay_order_id, r.out_refund_no,
                                                          user_id, r.amount_fen, r.reason, now_ms}));
  if (inserted.affected != 1) {
    // A concurrent request with the same out_refund_no committed first.
    ASSIGN_OR_RETURN(auto again, tx.Exec(kRefundByNo, {app_id, in.out_refund_no}));
    if (again.empty()) return Error(ErrorCode::kUnavailable, "concurrent refund, retry");
    return SameRefundOrConflict(again[0], in);
  }
  ASSIGN_OR_RETURN(auto capped, tx.Exec(kAddRefunded, {r.pay_order_id, r.amount_fen}));
  if (capped.affected != 1) {
    return Error(ErrorCode::kConflict, "refunds of this pay order would exceed the amount paid (" +
                                           std::to_string(orders[0].Int(3)) + " fen)");
  }
  RETURN_IF_ERROR(payments.Refund(tx, user_id, r.amount_fen, now_ms));
  RETURN_IF_ERROR(PostRefund(tx, r.id, r.pay_order_id, payments.PayerAccount(user_id), r.amount_fen, now_ms));
  RETURN_IF_ERROR(EnqueueEvent(tx, app_id, "refund.succeeded",
                               json::object{{"refund_id", r.id},
                                            {"pay_order_id", r.pay_order_id},
                                            {"out_refund_no", r.out_refund_no},
                                            {"amount_fen", r.amount_fen}},
                               now_ms));
  *created = true;
  return r;
}

Result<PayRefund> CreateRefund(storage::Db& db, const PaymentProvider& payments, const std::string& app_id,
                               const RefundInput& in, int64_t now_ms, bool* created) {
  return db.Write([&](storage::Tx& tx) { return ApplyRefund(tx, payments, app_id, in, now_ms, created); });
}

json::object PayRefundJson(const PayRefund& r) {
  return json::object{{"refund_id", r.id},
                      {"pay_order_id", r.pay_order_id},
                      {"out_refund_no", r.out_refund_no},
                      {"amount_fen", r.amount_fen},
                      {"status", r.status},
                      {"reason", r.reason},
                      {"created_at", FormatRfc3339(r.created_at)}};
}

}  // namespace hutong::host
