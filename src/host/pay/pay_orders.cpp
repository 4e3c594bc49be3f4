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

constexpr Query kOpenIdUser{"pay.openid_user", Access::kRead,
                            "SELECT user_id FROM app_openids WHERE app_id = $1 AND openid = $2"};
// RETURNING the columns FromRow reads: a new order needs no second statement to read it back.
constexpr Query kInsertPayOrder{
    "pay.insert_order", Access::kWrite,
    "INSERT INTO pay_orders (id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, "
    "video_id, "
    "status, expires_at, created_at, deal_id, commission_bps, attributed_at, request_fingerprint) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13, $14) "
    "ON CONFLICT (app_id, out_trade_no) DO NOTHING "
    "RETURNING id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, video_id, "
    "status, expires_at, created_at, paid_at, deal_id, commission_bps, attributed_at"};
constexpr Query kFingerprint{
    "pay.fingerprint", Access::kRead,
    "SELECT request_fingerprint FROM pay_orders WHERE app_id = $1 AND out_trade_no = $2"};
constexpr Query kByTradeNo{
    "pay.by_trade_no", Access::kRead,
    "SELECT id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, video_id, "
    "status, expires_at, created_at, paid_at, deal_id, commission_bps, attributed_at FROM pay_orders "
    "WHERE app_id = $1 AND out_trade_no = $2"};
constexpr Query kById{
    "pay.by_id", Access::kRead,
    "SELECT id, app_id, out_trade_no, user_id, amount_fen, description, creator_id, video_id, "
    "status, expires_at, created_at, paid_at, deal_id, commission_bps, attributed_at FROM pay_orders "
    "WHERE id = $1"};
constexpr Query kDealRate{"pay.deal_rate", Access::kRead,
                          "SELECT commission_bps FROM app_deals WHERE app_id = $1 AND deal_id = $2"};
constexpr Query kMarkPaid{
    "pay.mark_paid", Access::kWrite,
    "UPDATE pay_orders SET status = 'paid', paid_at = $2 WHERE id = $1 AND status = 'pending'"};

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
    ASSIGN_OR_RETURN(auto user, tx.Exec(kOpenIdUser, {app_id, in.openid}));
    if (user.empty()) return Invalid("unknown 'openid' for this app");
    ASSIGN_OR_RETURN(auto attribution, ResolveAttribution(tx, token, app_id, user[0].Str(0), now_ms));
    std::optional<std::string> creator_id, video_id;
    std::optional<int64_t> attributed_at;
    int64_t commission_bps = 0;
    if (attribution) {
      creator_id = attribution->creator_id;
      video_id = attribution->video_id;
      attributed_at = attribution->issued_at;
      if (in.deal_id) {
        ASSIGN_OR_RETURN(auto rate, tx.Exec(kDealRate, {app_id, *in.deal_id}));
        if (!rate.empty()) commission_bps = std::clamp<int64_t>(rate[0].Int(0), 0, 10'000);
      }
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
                             bool* event_enqueued) {
  *event_enqueued = false;
  return db.Write([&](storage::Tx& tx) -> Result<PayOrder> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kById, {pay_order_id}));
    if (rows.empty() || rows[0].Str(3) != user_id) return NotFound("pay order not found");
    PayOrder p = FromRow(rows[0]);
    if (p.status == "paid") return p;
    if (p.status != "pending") return Error(ErrorCode::kConflict, "this pay order is closed");
    if (p.expires_at && *p.expires_at <= now_ms)
      return Error(ErrorCode::kConflict, "this pay order has expired");
    // The state change first: its row lock makes a concurrent second payment wait, then
    // find nothing to change, so it never charges.
    ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkPaid, {p.id, now_ms}));
    if (marked.affected != 1) {
      ASSIGN_OR_RETURN(auto again, tx.Exec(kById, {pay_order_id}));
      PayOrder now_state = FromRow(again[0]);
      if (now_state.status == "paid") return now_state;
      return Error(ErrorCode::kConflict, "this pay order is closed");
    }
    RETURN_IF_ERROR(payments.Charge(tx, user_id, p.amount_fen, now_ms));
    RETURN_IF_ERROR(
        PostEntry(tx,
                  {"payment",
                   p.id,
                   p.id,
                   {{payments.PayerAccount(user_id), -p.amount_fen}, {ClearingAccount(p.id), p.amount_fen}}},
                  now_ms));
    p.status = "paid";
    p.paid_at = now_ms;
    RETURN_IF_ERROR(EnqueueEvent(tx, p.app_id, "payment.succeeded",
                                 json::object{{"pay_order_id", p.id},
                                              {"out_trade_no", p.out_trade_no},
                                              {"amount_fen", p.amount_fen},
                                              {"paid_at", FormatRfc3339(now_ms)}},
                                 now_ms));
    *event_enqueued = true;
    return p;
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
