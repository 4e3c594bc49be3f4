// Redemptions reported by apps (signed POST /open/v1/redemptions): only when the app says
// a voucher was redeemed does the paid money become the merchant's, the creator's
// commission and the platform's fee; a reversal takes exactly that back.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "common/money.h"
#include "common/result.h"
#include "host/ledger/ledger.h"
#include "storage/db.h"

namespace hutong::host {

struct RedemptionReport {
  std::string event_id;
  std::string type;  // redeemed | reversed
  std::string pay_order_id;
  std::string voucher_id;
  std::string redemption_id;
  Fen amount_fen = 0;  // what the buyer paid for this use of the voucher
  std::string brand_id;
  std::string store_id;
  std::optional<std::string> deal_id;
  int64_t at = 0;  // when it happened at the store (unix ms)
};

// How one redeemed amount splits. Commission = floor(amount × commission_bps / 10000),
// fee = floor(amount × kPlatformFeeBps / 10000) (both floored to the fen; the merchant
// gets every remaining fen), commission capped so the three never exceed the amount.
struct RedemptionSplit {
  Fen commission_fen = 0;
  Fen fee_fen = 0;
  Fen merchant_fen = 0;
};
RedemptionSplit SplitRedemption(Fen amount_fen, int64_t commission_bps, bool attributed);

// Applies a report in one transaction, idempotent per (app, redemption_id): `redeemed`
// moves the amount from the pay order's clearing account to merchant payable (app+brand),
// creator commission payable and platform fee; `reversed` posts the exact opposite, and
// when a share was already settled (the payable no longer holds it) that part becomes the
// merchant's (creator's) receivable, deducted from their next settlements. A reversal
// that overtakes its redemption is kept (no money moves) and the late redemption then
// changes nothing. Unknown or another app's pay order → kNotFound; an unpaid one, or more
// redeemed than left paid → kConflict.
Result<boost::json::object> ApplyRedemptionReport(storage::Db& db, const std::string& app_id,
                                                  const RedemptionReport& report, int64_t now_ms);

// The ledger side of a refund, inside the refund's transaction: `amount` leaves the pay
// order's clearing account for `payer`. When clearing holds less (an after-sale refund of
// a redeemed voucher), the pay order's latest redemptions are taken back first (status
// `refunded`, their accruals reversed: merchant, creator commission, fee → clearing; a
// share already settled is taken from the holder's receivable instead). The accounts are
// read locked, so a concurrent settlement never turns the refund into a conflict.
Status PostRefund(storage::Tx& tx, const std::string& refund_id, const std::string& pay_order_id,
                  const LedgerAccount& payer, Fen amount, int64_t now_ms);

}  // namespace hutong::host
