// Payment orders at the host: an app (signed) asks for one per order of its own
// (out_trade_no, unique per app); the viewer pays it at the cashier; the change and its
// `payment.succeeded` event commit together (webhooks/outbox.h).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "common/money.h"
#include "common/result.h"
#include "common/secret_box.h"
#include "host/pay/payment_provider.h"
#include "storage/db.h"

namespace hutong::host {

struct PayOrderInput {
  std::string out_trade_no;
  Fen amount_fen = 0;
  std::string description;
  std::string openid;
  std::optional<std::string> attribution_token;
  std::optional<int64_t> expires_at;
  // The app's deal (as synced to the host): its commission_bps is the creator's rate.
  std::optional<std::string> deal_id;
  // Set when the request's Idempotency-Key is its out_trade_no: the pay order row is then
  // the key's record (a fingerprint of the request, as protocol/idempotency.h computes it),
  // so a retry needs no separate idempotency row and its two extra commits.
  std::optional<std::string> request_fingerprint;
};

struct PayOrder {
  std::string id;  // pay_…
  std::string app_id;
  std::string out_trade_no;
  std::string user_id;
  Fen amount_fen = 0;
  std::string description;
  std::optional<std::string> creator_id;
  std::optional<std::string> video_id;
  std::string status;  // pending | paid | closed
  std::optional<int64_t> expires_at;
  int64_t created_at = 0;
  std::optional<int64_t> paid_at;
  std::optional<std::string> deal_id;
  int64_t commission_bps = 0;  // of the deal, when bought; 0 without attribution
  std::optional<int64_t> attributed_at;
  bool replayed = false;  // CreatePayOrder found it already there (a retry)
};

// Creates the pay order, or returns the existing one for the same (app, out_trade_no)
// when the amount matches (another amount → kConflict; with a request_fingerprint, another
// fingerprint → kIdempotencyMismatch, whatever differs). An openid this app never received
// or a forged attribution token → kValidationFailed. Attribution: last click within 7 days
// wins (openplatform/attribution.h); a stale token leaves the order unattributed.
Result<PayOrder> CreatePayOrder(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                const PayOrderInput& in, int64_t now_ms);

// The pay order's own user pays it through `payments`: pending → paid, the charge, its
// ledger entry (payer → the order's clearing account) and the `payment.succeeded` event
// in one transaction. Already paid → the paid order again
// (never a second charge). Another user's or unknown → kNotFound; closed or expired →
// kConflict; not enough money → kConflict "insufficient balance", nothing written.
// `*event_enqueued` says whether this call paid it (so the caller wakes the dispatcher);
// then `*balance_after` (when given) is the payer's balance left by the charge, read in the
// same statement; otherwise it is left empty.
Result<PayOrder> PayPayOrder(storage::Db& db, const PaymentProvider& payments,
                             const std::string& pay_order_id, const std::string& user_id, int64_t now_ms,
                             bool* event_enqueued, std::optional<Fen>* balance_after = nullptr);

// The app closes one of its pending pay orders (e.g. the order it was asked for could not
// be placed after all): pending → closed, so the cashier refuses it. Closing a closed one
// again answers it as it is; a paid one → kConflict; another app's or unknown → kNotFound.
// One conditional UPDATE, so a payment racing it either lands first (→ kConflict) or finds
// the order closed.
Result<PayOrder> ClosePayOrder(storage::Db& db, const std::string& app_id, const std::string& pay_order_id);

// The pay order if it is `user_id`'s, else kNotFound.
Result<PayOrder> GetPayOrderForUser(storage::Db& db, const std::string& pay_order_id,
                                    const std::string& user_id);

boost::json::object PayOrderJson(const PayOrder& p);

}  // namespace hutong::host
