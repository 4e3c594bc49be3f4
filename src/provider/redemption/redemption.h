// Redeeming vouchers at the till: staff prepare a code (a read that hands out a one-use
// verify_token), redeem with that token, and may reverse a redemption before its
// cancel_deadline. Every attempt, successful or not, is written to redemption_audit.
//
// Voucher transitions made here: unused → redeemed (the last use is taken; a multi-use
// card stays unused while uses are left) and redeemed → unused by reversal. Each use is
// taken by a conditional UPDATE (uses_left > 0), so a use is taken at most once whatever
// the concurrency.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rate_limiter.h"
#include "common/result.h"
#include "provider/merchant/staff_auth.h"
#include "provider/miniprogram/mp_session.h"
#include "storage/db.h"

namespace hutong::provider {

inline constexpr int64_t kVerifyTokenTtlMs = 10LL * 60 * 1000;
inline constexpr int64_t kRedemptionCancelWindowMs = 3600LL * 1000;
// Failed prepares per store (guessing codes), then 429.
inline constexpr RateLimit kFailedPrepareLimit{100, 3600LL * 1000};
inline constexpr size_t kMaxVouchersPerRedeem = 100;

// POST /merchant/v1/vouchers/prepare: changes no voucher. Another brand's store or
// voucher, or a store the deal is not usable at → kNotFound. Failures count against the
// store's limit; past it → kRateLimited.
Result<boost::json::object> PrepareRedemption(storage::Db& db, RateLimiter& limiter, const Staff& staff,
                                              const std::string& code, const std::string& store_id,
                                              int64_t now_ms);

// POST /merchant/v1/vouchers/redeem: one transaction. A retry with the same token and the
// same voucher ids answers the same redemptions; a different set → kConflict.
Result<boost::json::object> RedeemVouchers(storage::Db& db, const Staff& staff,
                                           const std::string& verify_token, const std::string& store_id,
                                           std::vector<std::string> voucher_ids, int64_t now_ms);

// POST /merchant/v1/redemptions/{id}/reverse: before cancel_deadline only (else
// kConflict). Reversing twice → kConflict (the first reversal stands).
Result<boost::json::object> ReverseRedemption(storage::Db& db, const Staff& staff,
                                              const std::string& redemption_id, int64_t now_ms);

// GET /mp/v1/vouchers/{id}/qr.svg: the owner's voucher code as a QR code (level M) in
// SVG; someone else's → kNotFound.
Result<std::string> VoucherQrSvg(storage::Db& db, const MpUser& user, const std::string& voucher_id);

// The code as an SVG of black module rects on a white background with a 4-module margin.
Result<std::string> QrSvg(const std::string& text);

}  // namespace hutong::provider
