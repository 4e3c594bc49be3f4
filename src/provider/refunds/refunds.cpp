#include "provider/refunds/refunds.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "provider/catalog/deal_page_cache.h"
#include "provider/orders/orders.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kOrderForRefund{
    "refunds.order", Access::kRead,
    "SELECT o.status, o.host, o.pay_order_id, o.unit_price_fen, o.user_id, d.brand_id, d.refund_policy "
    "FROM orders o JOIN deals d ON d.id = o.deal_id WHERE o.id = $1"};
constexpr Query kVoucherOfOrder{"refunds.voucher", Access::kRead,
                                "SELECT status, uses_left, uses_total, valid_to FROM vouchers "
                                "WHERE id = $1 AND order_id = $2"};
// The holds: the row lock and the re-checked state make a refund and a redemption (or two
// refunds) of one voucher exclusive.
constexpr Query kHoldUnused{"refunds.hold_unused", Access::kWrite,
                            "UPDATE vouchers SET status = 'refunding' "
                            "WHERE id = $1 AND order_id = $2 AND status = 'unused' AND uses_left > 0 "
                            "RETURNING uses_left, uses_total, valid_to"};
constexpr Query kHoldRedeemed{"refunds.hold_redeemed", Access::kWrite,
                              "UPDATE vouchers SET status = 'refunding' "
                              "WHERE id = $1 AND order_id = $2 AND status = 'redeemed' RETURNING uses_total"};
constexpr Query kHoldExpired{"refunds.hold_expired", Access::kWrite,
                             "UPDATE vouchers SET status = 'refunding' WHERE id = $1 AND status = 'expired'"};
constexpr Query kLastRedemption{"refunds.last_redemption", Access::kRead,
                                "SELECT MAX(redeemed_at) FROM redemptions "
                                "WHERE voucher_id = $1 AND status = 'redeemed'"};
constexpr Query kInsertRefund{
    "refunds.insert", Access::kWrite,
    "INSERT INTO refunds (id, order_id, user_id, host, brand_id, pay_order_id, kind, status, amount_fen, "
    "reason, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"};
constexpr Query kInsertRefundVoucher{
    "refunds.insert_voucher", Access::kWrite,
    "INSERT INTO refund_vouchers (refund_id, voucher_id, amount_fen, prior_status) VALUES ($1, $2, $3, $4)"};
constexpr Query kRefund{
    "refunds.get", Access::kRead,
    "SELECT id, order_id, kind, status, amount_fen, reason, brand_id, decided_by, "
    "decided_at, created_at, succeeded_at, attempts, next_attempt_at, last_error FROM refunds "
    "WHERE id = $1"};
constexpr Query kOrderRefunds{"refunds.of_order", Access::kRead,
                              "SELECT id, order_id, kind, status, amount_fen, reason, brand_id, decided_by, "
                              "decided_at, created_at, succeeded_at, attempts, next_attempt_at, last_error "
                              "FROM refunds WHERE order_id = $1 ORDER BY id"};
// A stuck refund is stored `failed` with no next attempt; the filter tells the two apart.
// $1 = '' lists every brand (operations staff).
constexpr Query kBrandRefunds{
    "refunds.of_brand", Access::kRead,
    "SELECT id, order_id, kind, status, amount_fen, reason, brand_id, decided_by, decided_at, created_at, "
    "succeeded_at, attempts, next_attempt_at, last_error FROM refunds "
    "WHERE (CAST($1 AS TEXT) = '' OR brand_id = $1) AND (CAST($2 AS TEXT) = '' "
    "OR ($2 = 'stuck' AND status = 'failed' AND next_attempt_at IS NULL) "
    "OR ($2 = 'failed' AND status = 'failed' AND next_attempt_at IS NOT NULL) "
    "OR ($2 NOT IN ('stuck', 'failed') AND status = $2)) "
    "AND (CAST($3 AS TEXT) = '' OR id < $3) ORDER BY id DESC LIMIT $4"};
constexpr Query kRefundVouchers{"refunds.vouchers", Access::kRead,
                                "SELECT voucher_id, amount_fen FROM refund_vouchers WHERE refund_id = $1 "
                                "ORDER BY voucher_id"};
// A sender claims a due refund by moving its next attempt past the claim window.
constexpr Query kClaim{
    "refunds.claim", Access::kWrite,
    "UPDATE refunds SET next_attempt_at = $2 WHERE id = $1 AND status IN ('requested', 'failed') "
    "AND next_attempt_at <= $3 RETURNING host, pay_order_id, amount_fen, reason, attempts"};
constexpr Query kDue{
    "refunds.due", Access::kRead,
    "SELECT id FROM refunds WHERE status IN ('requested', 'failed') AND next_attempt_at <= $1 "
    "ORDER BY next_attempt_at LIMIT $2"};
constexpr Query kMarkSucceeded{
    "refunds.mark_succeeded", Access::kWrite,
    "UPDATE refunds SET status = 'succeeded', succeeded_at = $2, next_attempt_at = NULL, "
    "host_refund_id = COALESCE(CAST($3 AS TEXT), host_refund_id) "
    "WHERE id = $1 AND status IN ('requested', 'failed')"};
constexpr Query kVouchersRefunded{
    "refunds.vouchers_refunded", Access::kWrite,
    "UPDATE vouchers SET status = 'refunded' WHERE status = 'refunding' AND id IN "
    "(SELECT voucher_id FROM refund_vouchers WHERE refund_id = $1)"};
constexpr Query kMarkFailed{"refunds.mark_failed", Access::kWrite,
                            "UPDATE refunds SET status = 'failed', attempts = attempts + 1, last_error = $2, "
                            "next_attempt_at = $3 WHERE id = $1 AND status IN ('requested', 'failed')"};
// Given up: still `failed`, but no job picks it up again (next_attempt_at NULL).
constexpr Query kMarkStuck{"refunds.mark_stuck", Access::kWrite,
                           "UPDATE refunds SET status = 'failed', attempts = attempts + 1, last_error = $2, "
                           "next_attempt_at = NULL WHERE id = $1 AND status IN ('requested', 'failed')"};
constexpr Query kRetryStuck{"refunds.retry_stuck", Access::kWrite,
                            "UPDATE refunds SET next_attempt_at = $2 "
                            "WHERE id = $1 AND status = 'failed' AND next_attempt_at IS NULL"};
constexpr Query kApprove{"refunds.approve", Access::kWrite,
                         "UPDATE refunds SET status = 'requested', decided_by = $2, decided_at = $3, "
                         "next_attempt_at = $3 WHERE id = $1 AND status = 'awaiting_merchant'"};
constexpr Query kReject{"refunds.reject", Access::kWrite,
                        "UPDATE refunds SET status = 'rejected', decided_by = $2, decided_at = $3 "
                        "WHERE id = $1 AND status = 'awaiting_merchant'"};
constexpr Query kVouchersRedeemedAgain{
    "refunds.vouchers_redeemed_again", Access::kWrite,
    "UPDATE vouchers SET status = 'redeemed' WHERE status = 'refunding' AND id IN "
    "(SELECT voucher_id FROM refund_vouchers WHERE refund_id = $1)"};
constexpr Query kAwaitingDue{"refunds.awaiting_due", Access::kRead,
                             "SELECT id FROM refunds WHERE status = 'awaiting_merchant' AND created_at <= $1 "
                             "ORDER BY created_at LIMIT $2"};
constexpr Query kExpiringVouchers{"refunds.expiring_vouchers", Access::kRead,
                                  "SELECT order_id FROM vouchers WHERE status = 'unused' AND valid_to <= $1 "
                                  "GROUP BY order_id ORDER BY MIN(valid_to) LIMIT $2"};
constexpr Query kExpireOrderVouchers{
    "refunds.expire_vouchers", Access::kWrite,
    "UPDATE vouchers SET status = 'expired' WHERE order_id = $1 "
    "AND status = 'unused' AND valid_to <= $2 RETURNING id, uses_left, uses_total"};
constexpr Query kRefundOfKind{
    "refunds.of_kind", Access::kRead,
    "SELECT id FROM refunds WHERE order_id = $1 AND kind = $2 AND status <> 'rejected'"};
constexpr Query kRefundByHost{"refunds.by_host", Access::kRead,
                              "SELECT amount_fen FROM refunds WHERE id = $1 AND host = $2"};

struct OrderForRefund {
  std::string status, host, pay_order_id;
  Fen unit_price = 0;
  std::string user_id, brand_id, refund_policy;
};

Result<std::optional<OrderForRefund>> LoadOrder(storage::Tx& tx, const std::string& order_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kOrderForRefund, {order_id}));
  if (rows.empty()) return std::optional<OrderForRefund>();
  const auto& r = rows[0];
  return std::optional<OrderForRefund>(
      OrderForRefund{r.Str(0), r.Str(1), r.Str(2), r.Int(3), r.Str(4), r.Str(5), r.Str(6)});
}

// The unused share of a voucher: the whole unit price for a single-use one.
Fen ShareFen(Fen unit_price, int64_t uses_left, int64_t uses_total) {
  if (uses_total <= 0) return 0;
  return unit_price * uses_left / uses_total;
}

struct HeldVoucher {
  std::string id;
  Fen amount = 0;
  std::string prior_status;
};

Status InsertRefund(storage::Tx& tx, const std::string& refund_id, const std::string& order_id,
                    const OrderForRefund& o, const std::string& pay_order_id, const char* kind,
                    const char* status, Fen amount, const std::string& reason,
                    std::optional<int64_t> next_attempt_at, const std::vector<HeldVoucher>& vouchers,
                    int64_t now_ms) {
  RETURN_IF_ERROR(tx.Exec(
      kInsertRefund, {refund_id, order_id, o.user_id, o.host, o.brand_id, pay_order_id, std::string(kind),
                      std::string(status), amount, reason, storage::Opt(next_attempt_at), now_ms}));
  for (const auto& v : vouchers) {
    RETURN_IF_ERROR(tx.Exec(kInsertRefundVoucher, {refund_id, v.id, v.amount, v.prior_status}));
  }
  return Ok();
}

json::value OptTime(const storage::Row& r, size_t i) {
  return r.IsNull(i) ? json::value(nullptr) : json::value(FormatRfc3339(r.Int(i)));
}

std::atomic<uint64_t> refunds_stuck{0};  // refunds this process gave up on

Result<json::object> RefundJson(storage::Tx& tx, const storage::Row& r) {
  ASSIGN_OR_RETURN(auto vouchers, tx.Exec(kRefundVouchers, {r.Str(0)}));
  json::array ids;
  for (const auto& v : vouchers) ids.push_back(json::value(v.Str(0)));
  const bool stuck = r.Str(3) == "failed" && r.IsNull(12);
  const bool open_failure = r.Str(3) == "failed" || r.Str(3) == "requested";
  return json::object{{"refund_id", r.Str(0)},
                      {"order_id", r.Str(1)},
                      {"kind", r.Str(2)},
                      {"status", stuck ? std::string("stuck") : r.Str(3)},
                      {"next_attempt_at", open_failure && !stuck ? OptTime(r, 12) : json::value(nullptr)},
                      {"last_error", r.Str(13)},
                      {"amount_fen", r.Int(4)},
                      {"reason", r.Str(5)},
                      {"voucher_ids", std::move(ids)},
                      {"decided_at", OptTime(r, 8)},
                      {"created_at", FormatRfc3339(r.Int(9))},
                      {"succeeded_at", OptTime(r, 10)},
                      {"attempts", r.Int(11)}};
}

Result<json::object> LoadRefundJson(storage::Db& db, const std::string& refund_id) {
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kRefund, {refund_id}));
    if (rows.empty()) return NotFound("refund not found");
    return RefundJson(tx, rows[0]);
  });
}

Status MarkSucceeded(storage::Tx& tx, const std::string& refund_id, std::optional<std::string> host_refund_id,
                     int64_t now_ms) {
  ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkSucceeded, {refund_id, now_ms, storage::Opt(host_refund_id)}));
  if (marked.affected == 1) RETURN_IF_ERROR(tx.Exec(kVouchersRefunded, {refund_id}));
  return Ok();
}

// Claims a due refund and asks the host for the money; records the outcome. True when
// the refund succeeded now; false when someone else holds it or the host call failed.
Result<bool> ClaimAndSend(storage::Db& db, const RefundGateway& gateway, const std::string& refund_id,
                          int64_t now_ms) {
  ASSIGN_OR_RETURN(auto claimed, db.Write([&](storage::Tx& tx) {
    return tx.Exec(kClaim, {refund_id, now_ms + kRefundClaimMs, now_ms});
  }));
  if (claimed.empty()) return false;
  const auto& c = claimed[0];
  const std::string host = c.Str(0);
  const HostRefundRequest req{c.Str(1), refund_id, c.Int(2), c.Str(3)};
  const int attempts = static_cast<int>(c.Int(4));
  auto sent = gateway.Refund(host, req);
  if (sent.ok()) {
    RETURN_IF_ERROR(
        db.WithWrite([&](storage::Tx& tx) { return MarkSucceeded(tx, refund_id, *sent, now_ms); }));
    return true;
  }
  // The host answered and said no (4xx): retrying the same request rarely changes its
  // mind, so after kMaxRefundAttempts the refund stops as `stuck` for people to look at.
  // An unreachable or busy host is retried without a bound.
  const ErrorCode code = sent.error().code;
  const bool refused = code != ErrorCode::kUnavailable && code != ErrorCode::kRateLimited;
  const bool give_up = refused && attempts + 1 >= kMaxRefundAttempts;
  const std::string error = std::string(ErrorCodeName(code)) + ": " + sent.error().detail;
  bool marked_stuck = false;
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    if (give_up) {
      ASSIGN_OR_RETURN(auto stuck, tx.Exec(kMarkStuck, {refund_id, error.substr(0, 500)}));
      marked_stuck = stuck.affected == 1;
      return Ok();
    }
    RETURN_IF_ERROR(
        tx.Exec(kMarkFailed, {refund_id, error.substr(0, 500), now_ms + RefundRetryDelayMs(attempts + 1)}));
    return Ok();
  }));
  if (marked_stuck) {
    refunds_stuck.fetch_add(1, std::memory_order_relaxed);
    LogError("refund refused by the host too often; stopped as stuck, needs operations",
             {{"refund_id", std::string_view(refund_id)},
              {"attempts", attempts + 1},
              {"error", std::string_view(error)},
              {"internal", std::string_view(sent.error().internal)}});
  } else {
    LogWarn("refund not accepted by the host; will retry",
            {{"refund_id", std::string_view(refund_id)},
             {"attempts", attempts + 1},
             {"error", std::string_view(error)},
             {"internal", std::string_view(sent.error().internal)}});
  }
  return false;
}

}  // namespace

int64_t RefundRetryDelayMs(int attempts) {
  int64_t delay = 10'000;
  for (int i = 1; i < attempts && delay < 3'600'000; ++i) delay *= 2;
  return std::min<int64_t>(delay, 3'600'000);
}

Result<std::string> HostRefundGateway::Refund(const std::string& host, const HostRefundRequest& req) const {
  const protocol::OpenApiClient* client = hosts_.Client(host);
  if (client == nullptr) return Error(ErrorCode::kUnavailable, "the order's host is not connected");
  json::object body{{"pay_order_id", req.pay_order_id},
                    {"out_refund_no", req.out_refund_no},
                    {"amount_fen", req.amount_fen},
                    {"reason", req.reason}};
  ASSIGN_OR_RETURN(auto answer, client->CallJson("POST", "/open/v1/pay/refunds", json::serialize(body),
                                                 {{"Idempotency-Key", req.out_refund_no}}));
  const json::value* id = answer.is_object() ? answer.as_object().if_contains("refund_id") : nullptr;
  if (id == nullptr || !id->is_string()) return Error(ErrorCode::kUnavailable, "bad answer from the host");
  return std::string(id->as_string());
}

Result<json::object> RequestRefund(storage::Db& db, const RefundGateway& gateway, const MpUser& user,
                                   const RefundRequest& in, int64_t now_ms) {
  if (in.voucher_ids.empty() || in.voucher_ids.size() > kMaxVouchersPerRefund) {
    return Invalid("'voucher_ids' lists 1.." + std::to_string(kMaxVouchersPerRefund) + " vouchers");
  }
  if (std::set<std::string>(in.voucher_ids.begin(), in.voucher_ids.end()).size() != in.voucher_ids.size()) {
    return Invalid("'voucher_ids' lists a voucher twice");
  }
  const std::string refund_id = NewId("rfn");
  bool stock_returned = false;
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto order, LoadOrder(tx, in.order_id));
    if (!order || order->user_id != user.id) return NotFound("order not found");
    if (order->status != "paid") return Error(ErrorCode::kConflict, "only a paid order can be refunded");
    if (!in.after_sale && order->refund_policy == "no_refund") {
      return Error(ErrorCode::kConflict, "this deal cannot be refunded (refund_policy no_refund)");
    }
    std::vector<HeldVoucher> held;
    Fen total = 0;
    int64_t units_back = 0;
    for (const auto& vid : in.voucher_ids) {
      ASSIGN_OR_RETURN(auto v, tx.Exec(kVoucherOfOrder, {vid, in.order_id}));
      if (v.empty()) return NotFound("voucher " + vid + " is not in this order");
      const std::string status = v[0].Str(0);
      if (!in.after_sale) {
        ASSIGN_OR_RETURN(auto h, tx.Exec(kHoldUnused, {vid, in.order_id}));
        if (h.empty()) {
          return Error(ErrorCode::kConflict,
                       "voucher " + vid + " is " + status + ": only unused vouchers can be refunded" +
                           (status == "redeemed" ? " (a redeemed one needs an after-sale refund)" : ""));
        }
        const int64_t uses_left = h[0].Int(0), uses_total = h[0].Int(1);
        const Fen share = ShareFen(order->unit_price, uses_left, uses_total);
        held.push_back({vid, share, "unused"});
        total += share;
        // A whole unit still valid goes back on sale; a used-up or expired one does not.
        if (uses_left == uses_total && h[0].Int(2) > now_ms) ++units_back;
      } else {
        if (status != "redeemed") {
          return Error(ErrorCode::kConflict,
                       "voucher " + vid + " is " + status + ": after-sale refunds are for redeemed vouchers");
        }
        ASSIGN_OR_RETURN(auto last, tx.Exec(kLastRedemption, {vid}));
        if (last.empty() || last[0].IsNull(0) || last[0].Int(0) + kAfterSaleWindowMs < now_ms) {
          return Error(ErrorCode::kConflict, "voucher " + vid + " was redeemed more than 30 days ago");
        }
        ASSIGN_OR_RETURN(auto h, tx.Exec(kHoldRedeemed, {vid, in.order_id}));
        if (h.empty()) return Error(ErrorCode::kConflict, "voucher " + vid + " changed meanwhile; try again");
        held.push_back({vid, order->unit_price, "redeemed"});
        total += order->unit_price;
      }
    }
    if (total < 1) return Error(ErrorCode::kConflict, "nothing is left to refund on these vouchers");
    RETURN_IF_ERROR(InsertRefund(
        tx, refund_id, in.order_id, *order, order->pay_order_id, in.after_sale ? "after_sale" : "user",
        in.after_sale ? "awaiting_merchant" : "requested", total, in.reason,
        in.after_sale ? std::nullopt : std::optional<int64_t>(now_ms), held, now_ms));
    if (units_back > 0) {
      RETURN_IF_ERROR(ReturnOrderStock(tx, in.order_id, units_back));
      stock_returned = true;
    }
    return Ok();
  }));
  if (stock_returned) BumpCatalogVersion();
  if (!in.after_sale) {
    // A failure is recorded on the refund and retried by the job; the request succeeded.
    auto sent = ClaimAndSend(db, gateway, refund_id, now_ms);
    if (!sent.ok()) LogWarn("refund send failed", {{"refund_id", std::string_view(refund_id)}});
  }
  return LoadRefundJson(db, refund_id);
}

Result<json::object> DecideRefund(storage::Db& db, const RefundGateway& gateway, const Staff& staff,
                                  const std::string& refund_id, bool approve, int64_t now_ms) {
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kRefund, {refund_id}));
    if (rows.empty() || staff.brand_id.empty() || rows[0].Str(6) != staff.brand_id) {
      return NotFound("refund not found");
    }
    ASSIGN_OR_RETURN(auto decided, tx.Exec(approve ? kApprove : kReject, {refund_id, staff.id, now_ms}));
    if (decided.affected != 1) {
      return Error(ErrorCode::kConflict, "this refund is " + rows[0].Str(3) + ", not awaiting the merchant");
    }
    if (!approve) RETURN_IF_ERROR(tx.Exec(kVouchersRedeemedAgain, {refund_id}));
    return Ok();
  }));
  if (approve) {
    auto sent = ClaimAndSend(db, gateway, refund_id, now_ms);
    if (!sent.ok()) LogWarn("refund send failed", {{"refund_id", std::string_view(refund_id)}});
  }
  return LoadRefundJson(db, refund_id);
}

namespace {

Status ValidateListArgs(const std::string& status, const std::string& cursor) {
  static const std::set<std::string> kStatuses{"",          "awaiting_merchant", "requested", "failed",
                                               "succeeded", "rejected",          "stuck"};
  if (!kStatuses.contains(status)) {
    return Invalid("'status' must be awaiting_merchant, requested, failed, stuck, succeeded or rejected");
  }
  if (!cursor.empty() && !IsWellFormedId(cursor, "rfn")) return Invalid("'cursor' is not valid");
  return Ok();
}

Result<json::object> ListRefunds(storage::Db& db, const std::string& brand_id, const std::string& status,
                                 const std::string& cursor, int64_t limit) {
  RETURN_IF_ERROR(ValidateListArgs(status, cursor));
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kBrandRefunds, {brand_id, status, cursor, limit + 1}));
    const bool more = static_cast<int64_t>(rows.size()) > limit;
    json::array items;
    for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < limit; ++i) {
      ASSIGN_OR_RETURN(auto o, RefundJson(tx, rows[i]));
      items.push_back(std::move(o));
    }
    json::object out;
    out["next_cursor"] = more ? json::value(items.back().as_object().at("refund_id")) : json::value(nullptr);
    out["items"] = std::move(items);
    return out;
  });
}

}  // namespace

Result<json::object> ListBrandRefunds(storage::Db& db, const Staff& staff, const std::string& status,
                                      const std::string& cursor, int64_t limit) {
  if (staff.brand_id.empty()) {
    RETURN_IF_ERROR(ValidateListArgs(status, cursor));
    return json::object{{"items", json::array()}, {"next_cursor", nullptr}};
  }
  return ListRefunds(db, staff.brand_id, status, cursor, limit);
}

Result<json::object> ListAllRefunds(storage::Db& db, const std::string& status, const std::string& cursor,
                                    int64_t limit) {
  return ListRefunds(db, "", status, cursor, limit);
}

Result<json::object> RetryStuckRefund(storage::Db& db, const RefundGateway& gateway,
                                      const std::string& refund_id, int64_t now_ms) {
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kRefund, {refund_id}));
    if (rows.empty()) return NotFound("refund not found");
    ASSIGN_OR_RETURN(auto retried, tx.Exec(kRetryStuck, {refund_id, now_ms}));
    if (retried.affected != 1) {
      ASSIGN_OR_RETURN(auto j, RefundJson(tx, rows[0]));
      return Error(ErrorCode::kConflict,
                   "this refund is " + std::string(j.at("status").as_string()) + ", not stuck");
    }
    return Ok();
  }));
  LogInfo("stuck refund sent again by operations", {{"refund_id", std::string_view(refund_id)}});
  auto sent = ClaimAndSend(db, gateway, refund_id, now_ms);
  if (!sent.ok()) LogWarn("refund send failed", {{"refund_id", std::string_view(refund_id)}});
  return LoadRefundJson(db, refund_id);
}

uint64_t RefundsStuckForMetrics() {
  return refunds_stuck.load(std::memory_order_relaxed);
}

void AppendRefundMetrics(std::string& out) {
  out += "# HELP hutong_refunds_stuck Refunds the host kept refusing, stopped as stuck by this node\n";
  out += "# TYPE hutong_refunds_stuck counter\n";
  out += "hutong_refunds_stuck " + std::to_string(RefundsStuckForMetrics()) + "\n";
}

Result<json::array> OrderRefundsJson(storage::Tx& tx, const std::string& order_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kOrderRefunds, {order_id}));
  json::array out;
  for (const auto& r : rows) {
    ASSIGN_OR_RETURN(auto o, RefundJson(tx, r));
    out.push_back(std::move(o));
  }
  return out;
}

Result<int> RunRefundRetriesOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                 int64_t limit) {
  ASSIGN_OR_RETURN(auto due, db.Read([&](storage::Tx& tx) { return tx.Exec(kDue, {now_ms, limit}); }));
  int succeeded = 0;
  for (const auto& row : due) {
    ASSIGN_OR_RETURN(bool ok, ClaimAndSend(db, gateway, row.Str(0), now_ms));
    if (ok) ++succeeded;
  }
  return succeeded;
}

Result<int> RunVoucherExpiryOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                 int64_t limit) {
  ASSIGN_OR_RETURN(auto orders, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kExpiringVouchers, {now_ms, limit});
  }));
  int expired = 0;
  std::vector<std::string> to_send;
  for (const auto& row : orders) {
    const std::string order_id = row.Str(0);
    std::optional<std::string> refund_id;
    RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
      refund_id.reset();
      ASSIGN_OR_RETURN(auto order, LoadOrder(tx, order_id));
      if (!order) return Ok();
      // Conditional: a voucher redeemed or refunded meanwhile, or expired by another
      // node, is not touched again.
      ASSIGN_OR_RETURN(auto vouchers, tx.Exec(kExpireOrderVouchers, {order_id, now_ms}));
      expired += static_cast<int>(vouchers.size());
      if (vouchers.empty() || order->refund_policy == "no_refund" || order->status != "paid") return Ok();
      std::vector<HeldVoucher> held;
      Fen total = 0;
      for (const auto& v : vouchers) {
        const Fen share = ShareFen(order->unit_price, v.Int(1), v.Int(2));
        RETURN_IF_ERROR(tx.Exec(kHoldExpired, {v.Str(0)}));
        held.push_back({v.Str(0), share, "expired"});
        total += share;
      }
      if (total < 1) return Ok();
      refund_id = NewId("rfn");
      return InsertRefund(tx, *refund_id, order_id, *order, order->pay_order_id, "expiry", "requested", total,
                          "voucher expired unused", now_ms, held, now_ms);
    }));
    if (refund_id) to_send.push_back(*refund_id);
  }
  for (const auto& id : to_send) {
    auto sent = ClaimAndSend(db, gateway, id, now_ms);
    if (!sent.ok()) LogWarn("refund send failed", {{"refund_id", std::string_view(id)}});
  }
  if (expired > 0) LogInfo("vouchers expired", {{"count", expired}});
  return expired;
}

Result<int> RunAfterSaleAutoApprovalOnce(storage::Db& db, const RefundGateway& gateway, int64_t now_ms,
                                         int64_t limit) {
  ASSIGN_OR_RETURN(auto due, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kAwaitingDue, {now_ms - kMerchantAnswerWindowMs, limit});
  }));
  int approved = 0;
  for (const auto& row : due) {
    const std::string refund_id = row.Str(0);
    ASSIGN_OR_RETURN(auto decided, db.Write([&](storage::Tx& tx) {
      return tx.Exec(kApprove, {refund_id, std::string("auto"), now_ms});
    }));
    if (decided.affected != 1) continue;  // the merchant (or another node) answered first
    ++approved;
    LogInfo("after-sale refund approved automatically", {{"refund_id", std::string_view(refund_id)}});
    auto sent = ClaimAndSend(db, gateway, refund_id, now_ms);
    if (!sent.ok()) LogWarn("refund send failed", {{"refund_id", std::string_view(refund_id)}});
  }
  return approved;
}

Status RefundUnissuablePayment(storage::Tx& tx, const std::string& order_id, const std::string& pay_order_id,
                               Fen amount_fen, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto order, LoadOrder(tx, order_id));
  if (!order) return Ok();
  const std::string pay_id = pay_order_id.empty() ? order->pay_order_id : pay_order_id;
  if (pay_id.empty() || amount_fen < 1) {
    LogError("payment of an order that cannot be issued, without a pay order to refund",
             {{"order_id", order_id}, {"amount_fen", amount_fen}});
    return Ok();
  }
  ASSIGN_OR_RETURN(auto existing, tx.Exec(kRefundOfKind, {order_id, std::string("failed_issuance")}));
  if (!existing.empty()) return Ok();  // a second payment event for the same order
  const std::string refund_id = NewId("rfn");
  LogWarn("payment for an order that cannot get vouchers; refunding it in full",
          {{"order_id", order_id}, {"refund_id", std::string_view(refund_id)}, {"amount_fen", amount_fen}});
  return InsertRefund(tx, refund_id, order_id, *order, pay_id, "failed_issuance", "requested", amount_fen,
                      "the order was cancelled before its payment arrived", now_ms, {}, now_ms);
}

Status HandleRefundSucceeded(storage::Tx& tx, const std::string& host, const json::object& event,
                             int64_t now_ms) {
  const json::value* data = event.if_contains("data");
  if (data == nullptr || !data->is_object()) {
    LogError("refund.succeeded without data", {{"host", host}});
    return Ok();
  }
  auto refund_id = RequireString(data->as_object(), "out_refund_no", 64);
  auto host_refund_id = OptionalString(data->as_object(), "refund_id", 64);
  auto amount = RequireInt(data->as_object(), "amount_fen", 0, INT64_MAX);
  if (!refund_id.ok() || !host_refund_id.ok() || !amount.ok()) {
    LogError("malformed refund.succeeded", {{"host", host}});
    return Ok();
  }
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kRefundByHost, {*refund_id, host}));
  if (rows.empty()) {
    LogError("refund.succeeded for an unknown refund", {{"out_refund_no", *refund_id}, {"host", host}});
    return Ok();
  }
  if (rows[0].Int(0) != *amount) {
    LogError("refund.succeeded amount differs from the refund",
             {{"out_refund_no", *refund_id}, {"amount_fen", *amount}, {"refund_amount_fen", rows[0].Int(0)}});
  }
  return MarkSucceeded(tx, *refund_id, *host_refund_id, now_ms);
}

}  // namespace hutong::provider
