#include "host/pay/pay_orders.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/clock.h"
#include "common/ids.h"
#include "host/ledger/ledger.h"
#include "host/openplatform/attribution.h"
#include "host/webhooks/outbox.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

// The buyer behind the openid, their last click for this app (attribution.h) and the
// deal's commission rate, in one statement.
constexpr Query kBuyer{"pay.buyer", Access::kRead,
                       "SELECT o.user_id, c.creator_id, c.video_id, c.clicked_at, d.commission_bps "
                       "FROM app_openids o "
                       "LEFT JOIN attribution_clicks c ON c.app_id = o.app_id AND c.user_id = o.user_id "
                       "LEFT JOIN app_deals d ON d.app_id = o.app_id AND d.deal_id = $3 "
                       "WHERE o.app_id = $1 AND o.openid = $2"};
// The columns FromRow reads, in its order.
#define HUTONG_PAY_ORDER_COLUMNS                                                                           \
  "id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, video_id, status, expires_at, " \
  "created_at, paid_at, deal_id, commission_bps, attributed_at"

// RETURNING the columns FromRow reads: a new order needs no second statement to read it back.
constexpr Query kInsertPayOrder{
    "pay.insert_order", Access::kWrite,
    "INSERT INTO pay_orders (id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, "
    "video_id, "
    "status, expires_at, created_at, deal_id, commission_bps, attributed_at, request_fingerprint) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (app_id, out_trade_no) DO NOTHING "
    "RETURNING " HUTONG_PAY_ORDER_COLUMNS};
constexpr Query kFingerprint{
    "pay.fingerprint", Access::kRead,
    "SELECT request_fingerprint FROM pay_orders WHERE app_id = $1 AND out_trade_no = $2"};
constexpr Query kByTradeNo{"pay.by_trade_no", Access::kRead,
                           "SELECT " HUTONG_PAY_ORDER_COLUMNS
                           " FROM pay_orders WHERE app_id = $1 AND out_trade_no = $2"};
constexpr Query kById{"pay.by_id", Access::kRead,
                      "SELECT " HUTONG_PAY_ORDER_COLUMNS " FROM pay_orders WHERE id = $1"};
// The payment's check and state change in one statement: only the buyer's own pending,
// unexpired order turns paid, and the row comes back for the answer. Nothing returned → a
// second read says why (rare: a retry, another user, closed or expired). On PostgreSQL the
// row lock makes a concurrent second payment wait, re-check and find nothing to change.
constexpr Query kMarkPaid{
    "pay.mark_paid", Access::kWrite,
    "UPDATE pay_orders SET status = 'paid', paid_at = $2 WHERE id = $1 AND status = 'pending' "
    "AND user_id = $3 AND (expires_at IS NULL OR expires_at > $2) "
    "RETURNING " HUTONG_PAY_ORDER_COLUMNS};

constexpr Query kClose{
    "pay.close", Access::kWrite,
    "UPDATE pay_orders SET status = 'closed' WHERE id = $1 AND app_id = $2 AND status = 'pending' "
    "RETURNING " HUTONG_PAY_ORDER_COLUMNS};
#undef HUTONG_PAY_ORDER_COLUMNS

PayOrder FromRow(const storage::Row& r) {
  PayOrder p;
  p.id = r.Str(0);
  p.app_id = r.Str(1);
  p.out_trade_no = r.Str(2);
  p.user_id = r.Str(3);
  p.amount_fen = r.Int(4);
  p.description = r.Str(5);
  p.creator_id = r.OptStr(6);
  p.video_id = r.OptStr(7);
  p.status = r.Str(8);
  p.expires_at = r.OptInt(9);
  p.created_at = r.Int(10);
  p.paid_at = r.OptInt(11);
  p.deal_id = r.OptStr(12);
  p.commission_bps = r.Int(13);
  p.attributed_at = r.OptInt(14);
  return p;
}

}  // namespace

Result<PayOrder> CreatePayOrder(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                const PayOrderInput& in, int64_t now_ms) {
  if (in.out_trade_no.empty()) return Invalid("'out_trade_no' is required");
  if (in.amount_fen < 1) return Invalid("'amount_fen' must be at least 1");
  std::optional<Attribution> token;
  if (in.attribution_token) {
    ASSIGN_OR_RETURN(auto a, ParseAttributionToken(box, *in.attribution_token, app_id));
    token = std::move(a);
  }
  return db.Write([&](storage::Tx& tx) -> Result<PayOrder> {
    ASSIGN_OR_RETURN(auto user, tx.Exec(kBuyer, {app_id, in.openid, storage::Opt(in.deal_id)}));
    if (user.empty()) return Invalid("unknown 'openid' for this app");
    const storage::Row& buyer = user[0];
    std::optional<Attribution> last_click;
    if (!buyer.IsNull(1)) last_click = Attribution{buyer.Str(1), buyer.Str(2), app_id, buyer.Int(3)};
    const auto attribution = ChooseAttribution(token, last_click, now_ms);
    std::optional<std::string> creator_id, video_id;
    std::optional<int64_t> attributed_at;
    int64_t commission_bps = 0;
    if (attribution) {
      creator_id = attribution->creator_id;
      video_id = attribution->video_id;
      attributed_at = attribution->issued_at;
      if (in.deal_id && !buyer.IsNull(4)) commission_bps = std::clamp<int64_t>(buyer.Int(4), 0, 10'000);
    }
    ASSIGN_OR_RETURN(auto inserted,
                     tx.Exec(kInsertPayOrder,
                             {NewId("pay"), app_id, in.out_trade_no, user[0].Str(0), in.amount_fen,
                              in.description, storage::Opt(creator_id), storage::Opt(video_id),
                              storage::Opt(in.expires_at), now_ms, storage::Opt(in.deal_id), commission_bps,
                              storage::Opt(attributed_at), storage::Opt(in.request_fingerprint)}));
    if (!inserted.empty()) return FromRow(inserted[0]);
    // Already there: a retry of this request, or out_trade_no reused for another one.
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kByTradeNo, {app_id, in.out_trade_no}));
    if (rows.empty()) return Internal("pay order vanished after insert");
    PayOrder p = FromRow(rows[0]);
    p.replayed = true;
    if (in.request_fingerprint) {
      ASSIGN_OR_RETURN(auto stored, tx.Exec(kFingerprint, {app_id, in.out_trade_no}));
      if (!stored.empty() && !stored[0].IsNull(0)) {
        if (stored[0].Str(0) != *in.request_fingerprint) {
          return Error(ErrorCode::kIdempotencyMismatch,
                       "this Idempotency-Key was already used for a different request");
        }
        return p;
      }
    }
    if (p.amount_fen != in.amount_fen || p.user_id != user[0].Str(0)) {
      return Error(ErrorCode::kConflict, "'out_trade_no' was already used for another payment");
    }
    return p;
  });
}

Result<PayOrder> PayPayOrder(storage::Db& db, const PaymentProvider& payments,
                             const std::string& pay_order_id, const std::string& user_id, int64_t now_ms,
                             bool* event_enqueued, std::optional<Fen>* balance_after) {
  *event_enqueued = false;
  if (balance_after) balance_after->reset();
  return db.Write([&](storage::Tx& tx) -> Result<PayOrder> {
    ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkPaid, {pay_order_id, now_ms, user_id}));
    if (marked.empty()) {
      // Not this user's pending, unexpired order: say which, changing nothing.
      ASSIGN_OR_RETURN(auto rows, tx.Exec(kById, {pay_order_id}));
      if (rows.empty() || rows[0].Str(3) != user_id) return NotFound("pay order not found");
      PayOrder p = FromRow(rows[0]);
      if (p.status == "paid") return p;  // a retry: the paid order again, never a second charge
      if (p.status == "pending" && p.expires_at && *p.expires_at <= now_ms)
        return Error(ErrorCode::kConflict, "this pay order has expired");
      return Error(ErrorCode::kConflict, "this pay order is closed");
    }
    PayOrder p = FromRow(marked[0]);
    ASSIGN_OR_RETURN(std::optional<Fen> balance, payments.Charge(tx, user_id, p.amount_fen, now_ms));
    // Queued: on PostgreSQL the entry's four statements go with the outbox insert and the
    // COMMIT (the pending → paid change above makes the entry new).
    RETURN_IF_ERROR(QueueNewEntry(
        tx,
        {"payment",
         p.id,
         p.id,
         {{payments.PayerAccount(user_id), -p.amount_fen}, {ClearingAccount(p.id), p.amount_fen}}},
        now_ms));
    // The transaction's last statement (PostgreSQL sends the COMMIT with it).
    RETURN_IF_ERROR(EnqueueEvent(tx, p.app_id, "payment.succeeded",
                                 json::object{{"pay_order_id", p.id},
                                              {"out_trade_no", p.out_trade_no},
                                              {"amount_fen", p.amount_fen},
                                              {"paid_at", FormatRfc3339(now_ms)}},
                                 now_ms, /*last_statement=*/true));
    *event_enqueued = true;
    if (balance_after) *balance_after = balance;
    return p;
  });
}

Result<PayOrder> ClosePayOrder(storage::Db& db, const std::string& app_id, const std::string& pay_order_id) {
  if (!IsWellFormedId(pay_order_id, "pay")) return NotFound("pay order not found");
  return db.Write([&](storage::Tx& tx) -> Result<PayOrder> {
    ASSIGN_OR_RETURN(auto closed, tx.Exec(kClose, {pay_order_id, app_id}));
    if (!closed.empty()) return FromRow(closed[0]);
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kById, {pay_order_id}));
    if (rows.empty() || rows[0].Str(1) != app_id) return NotFound("pay order not found");
    PayOrder p = FromRow(rows[0]);
    if (p.status == "paid") return Error(ErrorCode::kConflict, "this pay order is already paid");
    return p;  // closed already
  });
}

Result<PayOrder> GetPayOrderForUser(storage::Db& db, const std::string& pay_order_id,
                                    const std::string& user_id) {
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) { return tx.Exec(kById, {pay_order_id}); }));
  if (rows.empty() || rows[0].Str(3) != user_id) return NotFound("pay order not found");
  return FromRow(rows[0]);
}

json::object PayOrderJson(const PayOrder& p) {
  auto time = [](const std::optional<int64_t>& t) {
    return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
  };
  return json::object{{"pay_order_id", p.id},
                      {"app_id", p.app_id},
                      {"out_trade_no", p.out_trade_no},
                      {"amount_fen", p.amount_fen},
                      {"description", p.description},
                      {"status", p.status},
                      {"cashier_url", "/cashier/" + p.id},
                      {"expires_at", time(p.expires_at)},
                      {"created_at", FormatRfc3339(p.created_at)},
                      {"paid_at", time(p.paid_at)}};
}

}  // namespace hutong::host
