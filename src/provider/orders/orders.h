// Mini-program orders: atomic stock reservation (deal, reservation slot or campaign
// stock), per-user limits and campaign prices, the host's payment order, and vouchers
// issued when the host reports the payment.
//
// Order states kept in the `status` column (the payment level): pending_payment → paid,
// pending_payment → cancelled. What responses show as the order's `status` is derived from
// it and the vouchers' and refunds' states (order_state.h); the column is `payment_status`.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/money.h"
#include "common/result.h"
#include "provider/hosts/host_directory.h"
#include "provider/miniprogram/mp_session.h"
#include "storage/db.h"

namespace hutong::provider {

inline constexpr int64_t kOrderPaymentWindowMs = 15LL * 60 * 1000;
inline constexpr int64_t kMaxUnitsPerOrder = 20;  // when the deal sets no per-user limit
inline constexpr int kVoucherCodeDigits = 12;
// How a per-user limit refusal's detail begins (a 409 `conflict`, like other conflicts):
// the orders route recognises it by this prefix to remember the refusal in hot stock.
inline constexpr std::string_view kPerUserLimitDetail = "per-user limit reached";

struct OrderInput {
  std::string deal_id;
  int64_t quantity = 1;
  std::optional<std::string> slot;               // reservation deals only
  std::optional<std::string> attribution_token;  // opaque, from the host's launch
};

// What the host is asked for: a payment order for one provider order.
struct PayOrderRequest {
  std::string out_trade_no;  // the order id
  Fen amount_fen = 0;
  std::string description;
  std::string openid;
  std::optional<std::string> attribution_token;
  int64_t expires_at = 0;
  std::string deal_id;  // the host takes the creator's commission rate from its synced copy
};

struct PayOrderCreated {
  std::string pay_order_id;
  std::string cashier_url;  // absolute when the host's base URL is known
};

// The host's payment-order API, behind an interface so tests can exercise the stock logic
// without a host. Implementations are thread-safe.
class PayOrderGateway {
 public:
  virtual ~PayOrderGateway() = default;
  virtual Result<PayOrderCreated> CreatePayOrder(const std::string& host,
                                                 const PayOrderRequest& req) const = 0;
  // Gives up a pending pay order created for an order that was then not placed, so it can
  // never be paid. kConflict when it was paid already.
  virtual Status ClosePayOrder(const std::string& host, const std::string& pay_order_id) const = 0;
};

// Calls POST /open/v1/pay/orders (signed) on the user's host, Idempotency-Key = order id.
class HostPayOrderGateway final : public PayOrderGateway {
 public:
  explicit HostPayOrderGateway(const HostDirectory& hosts) : hosts_(hosts) {}
  Result<PayOrderCreated> CreatePayOrder(const std::string& host, const PayOrderRequest& req) const override;
  // POST /open/v1/pay/orders/{id}/close (signed).
  Status ClosePayOrder(const std::string& host, const std::string& pay_order_id) const override;

 private:
  const HostDirectory& hosts_;
};

struct PlacedOrder {
  std::string order_id;
  std::string status;
  Fen amount_fen = 0;
  std::string pay_order_id;
  std::string cashier_url;
};

// When the host's pay order is asked for.
enum class PayOrderTiming {
  // Reserve (one transaction), ask the host, attach the pay order (a second transaction).
  // When the host cannot be reached the order is cancelled and its stock given back in a
  // third transaction (→ kUnavailable); a host that refuses the request (e.g. a bad
  // attribution token) → its kValidationFailed, also after cancelling. A sold-out attempt
  // never reaches the host: right when refusals are likely (a flash sale).
  kAfterReservation,
  // Quote the order from a read (deal, price, campaign), ask the host for the pay order,
  // then reserve the stock and write the order with its pay order in one transaction: one
  // commit less per purchase. The host unreachable or refusing → nothing reserved, no
  // order. Refused after all (sold out, limit, deal changed) → the pay order is closed at
  // the host (best effort: if that call fails too it stays unpayable by anyone but the
  // buyer, who never saw its cashier URL, and expires with the payment window). A quote
  // that no longer holds inside the transaction (price or campaign changed) → the pay order
  // is closed and the order placed kAfterReservation. Right when stock is likely (no
  // hot-stock marker on the deal).
  kBeforeReservation,
};

// Reserves stock and writes the order (out of stock → kOutOfStock, limit broken →
// kConflict, nothing written) with the host's payment order, in the order `timing` says.
Result<PlacedOrder> PlaceOrder(storage::Db& db, const PayOrderGateway& gateway, const MpUser& user,
                               const OrderInput& in, int64_t now_ms,
                               PayOrderTiming timing = PayOrderTiming::kAfterReservation);

// GET /mp/v1/orders/{id}: only the user's own orders (else kNotFound), with vouchers.
Result<boost::json::object> GetOrderJson(storage::Db& db, const MpUser& user, const std::string& order_id);
// GET /mp/v1/orders: the user's orders, newest first, {items, next_cursor}.
Result<boost::json::object> ListOrdersJson(storage::Db& db, const MpUser& user, const std::string& cursor,
                                           int64_t limit);

// How long after its payment window an unpaid order is cancelled. The host's cashier
// refuses a pay order after the same window, so the margin only absorbs clock skew and a
// payment already in flight at the deadline.
inline constexpr int64_t kUnpaidOrderGraceMs = 2LL * 60 * 1000;

// Cancels up to `limit` orders still pending_payment whose payment window ended more than
// kUnpaidOrderGraceMs ago, giving their stock back; returns how many. Each order is its
// own conditional transaction, so several nodes running this at once never cancel one
// order twice or return its stock twice.
Result<int> ExpireUnpaidOrders(storage::Db& db, int64_t now_ms, int64_t limit = 100);

// Gives `units` of an order's deal back to the stock it was taken from (slot, campaign or
// deal stock) and takes them off the deal's sold count: for refunds of unused vouchers.
Status ReturnOrderStock(storage::Tx& tx, const std::string& order_id, int64_t units);

// The "payment.succeeded" webhook handler: marks the order paid and issues one voucher per
// unit. Runs inside the webhook receiver's transaction, so it is exactly-once per event, as
// that transaction's last step: when it issues vouchers its last statement is an ExecLast
// (the deal's sold count, with the COMMIT on PostgreSQL), so nothing may run after it.
// Events that cannot apply (unknown order, amount mismatch) are logged and acknowledged;
// the payment of a cancelled order is refunded in full (refunds/refunds.h).
Status HandlePaymentSucceeded(storage::Tx& tx, const std::string& host, const boost::json::object& event,
                              int64_t now_ms);

}  // namespace hutong::provider
