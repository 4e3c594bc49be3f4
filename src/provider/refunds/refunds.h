// Refunds of mini-program orders: the user's refund of unused vouchers, automatic refunds
// of expired vouchers and of payments that could not become vouchers, and after-sale
// refunds of redeemed vouchers that wait for the merchant. The money moves at the host
// (POST /open/v1/pay/refunds, out_refund_no = our refund id, so every retry is the same
// refund there); `refund.succeeded` closes it.
//
// Refund: awaiting_merchant → requested (approved by staff, or automatically after 24 h)
//         awaiting_merchant → rejected (vouchers back to redeemed)
//         requested → succeeded (the host's answer or its refund.succeeded webhook)
//         requested → failed → … → succeeded (the host call failed; retried with backoff)
//         failed → stuck (the host refused it kMaxRefundAttempts times; stored as failed
//         with no next attempt, shown as `stuck`) → failed (sent again by operations)
// Voucher: unused → refunding → refunded; unused → expired (→ refunding → refunded when
//          the deal allows refunds); redeemed → refunding (after-sale) → refunded, or
//          → redeemed again when the merchant rejects.
// Every transition is a conditional UPDATE on the expected state, so concurrent requests,
// redemptions and jobs on several nodes never apply one twice.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"
#include "provider/hosts/host_directory.h"
#include "provider/merchant/staff_auth.h"
#include "provider/miniprogram/mp_session.h"
#include "storage/db.h"

namespace hutong::provider {

inline constexpr int64_t kAfterSaleWindowMs = 30LL * 24 * 3600 * 1000;  // after the redemption
inline constexpr int64_t kMerchantAnswerWindowMs = 24LL * 3600 * 1000;  // then auto-approved
inline constexpr int64_t kRefundClaimMs = 60LL * 1000;  // a sender's hold on a refund it is sending
inline constexpr size_t kMaxVouchersPerRefund = 100;
// Attempts after which a refund the host keeps refusing (a 4xx answer) stops as `stuck`
// (10 s doubling: the last one about 21 min after the first). An unreachable host is
// retried without a bound.
inline constexpr int kMaxRefundAttempts = 8;

// What the host is asked for.
struct HostRefundRequest {
  std::string pay_order_id;
  std::string out_refund_no;  // our refund id
  Fen amount_fen = 0;
  std::string reason;
};

// The host's refund API, behind an interface so tests can make it fail. Thread-safe.
class RefundGateway {
 public:
  virtual ~RefundGateway() = default;
  // The host's refund id on success.
  virtual Result<std::string> Refund(const std::string& host, const HostRefundRequest& req) const = 0;
};

// Calls POST /open/v1/pay/refunds (signed) on the order's host, Idempotency-Key = refund id.
class HostRefundGateway final : public RefundGateway {
 public:
  explicit HostRefundGateway(const HostDirectory& hosts) : hosts_(hosts) {}
  Result<std::string> Refund(const std::string& host, const HostRefundRequest& req) const override;

 private:
  const HostDirectory& hosts_;
};

struct RefundRequest {
  std::string order_id;
  std::vector<std::string> voucher_ids;
  std::string reason;
  bool after_sale = false;
};

// POST /mp/v1/orders/{id}/refunds. The user's own order only (else kNotFound; a voucher
// not of this order → kNotFound). Without after_sale: unused vouchers of a deal whose
// refund_policy is `anytime` (no_refund → kConflict; a voucher not unused → kConflict);
// in one transaction the vouchers become refunding, the refund row is written and the
// stock comes back; then the host is asked for the money (a failure leaves the refund
// `failed`, retried by RunRefundRetriesOnce). With after_sale: redeemed vouchers whose
// redemption is at most 30 days old become refunding and the refund waits for the
// merchant (awaiting_merchant). A multi-use card refunds its unused share:
// unit price × uses_left / uses_total (rounded down). Returns the refund as RefundJson.
Result<boost::json::object> RequestRefund(storage::Db& db, const RefundGateway& gateway, const MpUser& user,
                                          const RefundRequest& in, int64_t now_ms);

// Merchant staff of the deal's brand (else kNotFound): awaiting_merchant → requested then
// sent to the host, or → rejected with the vouchers redeemed again. Any other state →
// kConflict (approving twice, approving a rejected one, …).
Result<boost::json::object> DecideRefund(storage::Db& db, const RefundGateway& gateway, const Staff& staff,
                                         const std::string& refund_id, bool approve, int64_t now_ms);

// GET /merchant/v1/refunds?status=: the staff's brand's refunds, newest first. `stuck`
// lists the refunds the host kept refusing; `failed` those still being retried.
Result<boost::json::object> ListBrandRefunds(storage::Db& db, const Staff& staff, const std::string& status,
                                             const std::string& cursor, int64_t limit);

// GET /ops/v1/refunds?status=: every brand's refunds, newest first (operations staff).
Result<boost::json::object> ListAllRefunds(storage::Db& db, const std::string& status,
                                           const std::string& cursor, int64_t limit);

// POST /ops/v1/refunds/{id}/retry: a stuck refund is sent again at once (one attempt;
// refused again, it is stuck again). Unknown → kNotFound; not stuck → kConflict.
Result<boost::json::object> RetryStuckRefund(storage::Db& db, const RefundGateway& gateway,
                                             const std::string& refund_id, int64_t now_ms);

// Refunds this process stopped as stuck since it started, and that counter as Prometheus
// text (hutong_refunds_stuck) for the node's /metrics.
uint64_t RefundsStuckForMetrics();
void AppendRefundMetrics(std::string& out);

// The refunds of one order, oldest first, for GET /mp/v1/orders/{id}.
Result<boost::json::array> OrderRefundsJson(storage::Tx& tx, const std::string& order_id);

// Job bodies. Each is safe on several nodes at once (conditional updates; a refund is
// claimed for kRefundClaimMs before it is sent, and the host is idempotent anyway).
// Sends requested and failed refunds that are due; returns how many succeeded.
Result<int> RunRefundRetriesOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                 int64_t limit = 100);
// Unused vouchers past valid_to → expired; when the deal allows refunds, each order's
// expired vouchers get one refund (sent at once). Returns how many vouchers expired.
Result<int> RunVoucherExpiryOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                 int64_t limit = 500);
// After-sale refunds awaiting the merchant for kMerchantAnswerWindowMs → approved and
// sent. Returns how many were approved.
Result<int> RunAfterSaleAutoApprovalOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                         int64_t limit = 100);

// Inside the payment.succeeded transaction: the payment of an order that can no longer
// get vouchers (cancelled) is refunded in full. The refund is written `requested` and due
// now; RunRefundRetriesOnce sends it.
Status RefundUnissuablePayment(storage::Tx& tx, const std::string& order_id, const std::string& pay_order_id,
                               Fen amount_fen, int64_t now_ms);

// The "refund.succeeded" webhook handler (inside the receiver's deduplicating
// transaction): the refund named by out_refund_no → succeeded, its vouchers → refunded.
Status HandleRefundSucceeded(storage::Tx& tx, const std::string& host, const boost::json::object& event,
                             int64_t now_ms);

// Backoff after the n-th failed host call (n ≥ 1): 10 s doubling, at most 1 h.
int64_t RefundRetryDelayMs(int attempts);

}  // namespace hutong::provider
