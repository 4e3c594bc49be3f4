#include "provider/redemption/redemption.h"

#include <qrencode.h>

#include <algorithm>
#include <boost/json.hpp>
#include <memory>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "common/random.h"
#include "provider/redemption/redemption_reports.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kStoreBrand{"redemption.store_brand", Access::kRead,
                            "SELECT brand_id FROM stores WHERE id = $1"};
constexpr Query kVoucherByCode{
    "redemption.voucher_by_code", Access::kRead,
    "SELECT v.order_id, o.status, d.id, d.title, d.type, d.brand_id "
    "FROM vouchers v JOIN orders o ON o.id = v.order_id JOIN deals d ON d.id = o.deal_id "
    "WHERE v.code = $1"};
constexpr Query kDealStore{"redemption.deal_store", Access::kRead,
                           "SELECT 1 FROM deal_stores WHERE deal_id = $1 AND store_id = $2"};
constexpr Query kRedeemable{"redemption.redeemable", Access::kRead,
                            "SELECT id, code, uses_left, valid_to FROM vouchers WHERE order_id = $1 "
                            "AND status = 'unused' AND uses_left > 0 AND valid_to > $2 ORDER BY id"};
constexpr Query kInsertToken{
    "redemption.insert_token", Access::kWrite,
    "INSERT INTO verify_tokens (token_hash, staff_id, store_id, order_id, expires_at, "
    "created_at) VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kToken{
    "redemption.token", Access::kRead,
    "SELECT staff_id, store_id, order_id, expires_at, used_at, voucher_ids FROM verify_tokens "
    "WHERE token_hash = $1"};
constexpr Query kClaimToken{"redemption.claim_token", Access::kWrite,
                            "UPDATE verify_tokens SET used_at = $2, voucher_ids = $3 "
                            "WHERE token_hash = $1 AND used_at IS NULL"};
// One use, taken only while one is left: the row lock and the re-checked condition make
// concurrent redeems of the same voucher take each use at most once.
constexpr Query kTakeUse{"redemption.take_use", Access::kWrite,
                         "UPDATE vouchers SET uses_left = uses_left - 1, "
                         "status = CASE WHEN uses_left = 1 THEN 'redeemed' ELSE status END "
                         "WHERE id = $1 AND order_id = $2 AND status = 'unused' AND uses_left > 0 "
                         "AND valid_to > $3"};
constexpr Query kInsertRedemption{"redemption.insert", Access::kWrite,
                                  "INSERT INTO redemptions (id, voucher_id, order_id, store_id, staff_id, "
                                  "verify_token_hash, status, redeemed_at, cancel_deadline, amount_fen) "
                                  "VALUES ($1, $2, $3, $4, $5, $6, 'redeemed', $7, $8, $9)"};
// What the host needs to book a use: the sale behind the voucher, after the use was taken.
constexpr Query kVoucherSale{
    "redemption.voucher_sale", Access::kRead,
    "SELECT o.host, o.pay_order_id, o.unit_price_fen, o.deal_id, d.brand_id, v.uses_total, "
    "v.uses_left FROM vouchers v JOIN orders o ON o.id = v.order_id "
    "JOIN deals d ON d.id = o.deal_id WHERE v.id = $1"};
constexpr Query kActiveUses{"redemption.active_uses", Access::kRead,
                            "SELECT COUNT(*), COALESCE(SUM(amount_fen), 0) FROM redemptions "
                            "WHERE voucher_id = $1 AND status = 'redeemed'"};
constexpr Query kRedemptionSale{
    "redemption.redemption_sale", Access::kRead,
    "SELECT r.voucher_id, r.store_id, r.amount_fen, o.host, o.pay_order_id, o.deal_id, "
    "d.brand_id FROM redemptions r JOIN orders o ON o.id = r.order_id "
    "JOIN deals d ON d.id = o.deal_id WHERE r.id = $1"};
constexpr Query kTokenRedemptions{"redemption.by_token", Access::kRead,
                                  "SELECT id, voucher_id, redeemed_at, cancel_deadline FROM redemptions "
                                  "WHERE verify_token_hash = $1 ORDER BY voucher_id"};
constexpr Query kRedemption{"redemption.get", Access::kRead,
                            "SELECT r.voucher_id, r.status, r.cancel_deadline, r.store_id, s.brand_id "
                            "FROM redemptions r JOIN stores s ON s.id = r.store_id WHERE r.id = $1"};
constexpr Query kReverse{"redemption.reverse", Access::kWrite,
                         "UPDATE redemptions SET status = 'reversed', reversed_at = $2 "
                         "WHERE id = $1 AND status = 'redeemed' AND cancel_deadline > $2"};
constexpr Query kGiveUseBack{"redemption.give_use_back", Access::kWrite,
                             "UPDATE vouchers SET uses_left = uses_left + 1, status = 'unused' "
                             "WHERE id = $1 AND status IN ('unused', 'redeemed') AND uses_left < uses_total "
                             "RETURNING uses_left"};
constexpr Query kInsertAudit{
    "redemption.audit", Access::kWrite,
    "INSERT INTO redemption_audit (id, staff_id, store_id, action, subject, outcome, at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr Query kOwnedVoucher{"redemption.owned_voucher", Access::kRead,
                              "SELECT v.code FROM vouchers v JOIN orders o ON o.id = v.order_id "
                              "WHERE v.id = $1 AND o.user_id = $2"};

// One use's share of what the buyer paid for the voucher. With k uses redeemed (not
// reversed) after this one, those uses together are worth floor(price × k / uses_total):
// all uses are exactly the price, and any reversal order keeps it so.
Result<Fen> UseAmount(storage::Tx& tx, const std::string& voucher_id, Fen unit_price, int64_t uses_total) {
  ASSIGN_OR_RETURN(auto active, tx.Exec(kActiveUses, {voucher_id}));
  const int64_t k = active[0].Int(0) + 1;
  return unit_price * std::min(k, uses_total) / std::max<int64_t>(uses_total, 1) - active[0].Int(1);
}

Status Audit(storage::Tx& tx, const Staff& staff, const std::string& store_id, const char* action,
             const std::string& subject, std::string_view outcome, int64_t now) {
  RETURN_IF_ERROR(tx.Exec(kInsertAudit, {NewId("aud"), staff.id, store_id, std::string(action), subject,
                                         std::string(outcome), now}));
  return Ok();
}

// A failed attempt's row, in its own transaction: the attempt's own was rolled back.
void AuditFailure(storage::Db& db, const Staff& staff, const std::string& store_id, const char* action,
                  const std::string& subject, const Error& error, int64_t now) {
  (void)db.WithWrite([&](storage::Tx& tx) {
    return Audit(tx, staff, store_id, action, subject, ErrorCodeName(error.code), now);
  });
}

bool IsCode(const std::string& code) {
  return code.size() == static_cast<size_t>(12) &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += id;
  }
  return out;
}

Result<json::object> RedemptionsAnswer(storage::Tx& tx, const std::string& token_hash) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kTokenRedemptions, {token_hash}));
  json::array items;
  for (const auto& r : rows) {
    items.push_back(json::object{{"redemption_id", r.Str(0)},
                                 {"voucher_id", r.Str(1)},
                                 {"redeemed_at", FormatRfc3339(r.Int(2))},
                                 {"cancel_deadline", FormatRfc3339(r.Int(3))}});
  }
  return json::object{{"redemptions", std::move(items)}};
}

}  // namespace

Result<json::object> PrepareRedemption(storage::Db& db, RateLimiter& limiter, const Staff& staff,
                                       const std::string& code, const std::string& store_id, int64_t now_ms) {
  const std::string key = "redeem.prepare_failures:" + store_id;
  RateDecision decision = limiter.Acquire(key, kFailedPrepareLimit);
  if (!decision.allowed) {
    Error e(ErrorCode::kRateLimited, "too many failed prepares at this store; try again later");
    AuditFailure(db, staff, store_id, "prepare", code, e, now_ms);
    return e;
  }
  auto result = db.Write([&](storage::Tx& tx) -> Result<json::object> {
    if (staff.brand_id.empty()) return Error(ErrorCode::kForbidden, "only a brand's staff redeem vouchers");
    if (!IsCode(code)) return Invalid("'code' must be 12 digits");
    ASSIGN_OR_RETURN(auto store, tx.Exec(kStoreBrand, {store_id}));
    if (store.empty() || store[0].Str(0) != staff.brand_id) return NotFound("store not found");
    ASSIGN_OR_RETURN(auto voucher, tx.Exec(kVoucherByCode, {code}));
    if (voucher.empty() || voucher[0].Str(5) != staff.brand_id) return NotFound("no voucher with this code");
    const auto& v = voucher[0];
    ASSIGN_OR_RETURN(auto usable, tx.Exec(kDealStore, {v.Str(2), store_id}));
    if (usable.empty()) return NotFound("this voucher's deal is not usable at this store");
    if (v.Str(1) != "paid") return Error(ErrorCode::kConflict, "the order is not paid");
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kRedeemable, {v.Str(0), now_ms}));
    if (rows.empty()) return Error(ErrorCode::kConflict, "this order has no voucher left to redeem");
    json::array vouchers;
    for (const auto& r : rows) {
      vouchers.push_back(json::object{{"id", r.Str(0)},
                                      {"code", r.Str(1)},
                                      {"uses_left", r.Int(2)},
                                      {"valid_to", FormatRfc3339(r.Int(3))}});
    }
    const std::string token = "vt_" + RandomHex(24);
    RETURN_IF_ERROR(tx.Exec(
        kInsertToken, {Sha256Hex(token), staff.id, store_id, v.Str(0), now_ms + kVerifyTokenTtlMs, now_ms}));
    RETURN_IF_ERROR(Audit(tx, staff, store_id, "prepare", code, "ok", now_ms));
    return json::object{{"verify_token", token},
                        {"order_id", v.Str(0)},
                        {"expires_at", FormatRfc3339(now_ms + kVerifyTokenTtlMs)},
                        {"deal", json::object{{"id", v.Str(2)}, {"title", v.Str(3)}, {"type", v.Str(4)}}},
                        {"vouchers", std::move(vouchers)}};
  });
  if (result.ok()) {
    limiter.Release(key);  // only failures count
  } else {
    AuditFailure(db, staff, store_id, "prepare", code, result.error(), now_ms);
  }
  return result;
}

Result<json::object> RedeemVouchers(storage::Db& db, const Staff& staff, const std::string& verify_token,
                                    const std::string& store_id, std::vector<std::string> voucher_ids,
                                    int64_t now_ms) {
  std::sort(voucher_ids.begin(), voucher_ids.end());
  const std::string subject = Join(voucher_ids);
  auto result = db.Write([&](storage::Tx& tx) -> Result<json::object> {
    if (voucher_ids.empty() || voucher_ids.size() > kMaxVouchersPerRedeem) {
      return Invalid("'voucher_ids' lists 1.." + std::to_string(kMaxVouchersPerRedeem) + " vouchers");
    }
    if (std::adjacent_find(voucher_ids.begin(), voucher_ids.end()) != voucher_ids.end()) {
      return Invalid("'voucher_ids' lists a voucher twice");
    }
    const std::string hash = Sha256Hex(verify_token);
    ASSIGN_OR_RETURN(auto token, tx.Exec(kToken, {hash}));
    if (token.empty() || token[0].Str(0) != staff.id || token[0].Str(1) != store_id) {
      return NotFound("verify_token not found for this store");
    }
    const std::string order_id = token[0].Str(2);
    auto replay = [&]() -> Result<json::object> {
      ASSIGN_OR_RETURN(auto again, tx.Exec(kToken, {hash}));
      if (again.empty() || again[0].Str(5) != subject) {
        return Error(ErrorCode::kConflict, "this verify_token was already used for other vouchers");
      }
      RETURN_IF_ERROR(Audit(tx, staff, store_id, "redeem", subject, "replayed", now_ms));
      return RedemptionsAnswer(tx, hash);
    };
    if (!token[0].IsNull(4)) return replay();
    if (token[0].Int(3) <= now_ms)
      return Error(ErrorCode::kConflict, "verify_token has expired; prepare again");
    ASSIGN_OR_RETURN(auto claimed, tx.Exec(kClaimToken, {hash, now_ms, subject}));
    // A concurrent retry with the same token got there first (PostgreSQL re-reads the row
    // once that transaction commits).
    if (claimed.affected == 0) return replay();
    for (const auto& voucher_id : voucher_ids) {
      ASSIGN_OR_RETURN(auto taken, tx.Exec(kTakeUse, {voucher_id, order_id, now_ms}));
      if (taken.affected == 0) {
        return Error(ErrorCode::kConflict,
                     "voucher " + voucher_id + " cannot be redeemed (used, expired, or not of this order)");
      }
      ASSIGN_OR_RETURN(auto sale, tx.Exec(kVoucherSale, {voucher_id}));
      if (sale.empty()) return Internal("voucher " + voucher_id + " without its order");
      const auto& v = sale[0];
      ASSIGN_OR_RETURN(const Fen amount, UseAmount(tx, voucher_id, v.Int(2), v.Int(5)));
      const std::string redemption_id = NewId("rdm");
      RETURN_IF_ERROR(tx.Exec(kInsertRedemption, {redemption_id, voucher_id, order_id, store_id, staff.id,
                                                  hash, now_ms, now_ms + kRedemptionCancelWindowMs, amount}));
      if (!v.IsNull(1)) {
        RETURN_IF_ERROR(EnqueueRedemptionReport(
            tx, v.Str(0),
            {"redeemed", v.Str(1), voucher_id, redemption_id, amount, v.Str(4), store_id, v.Str(3), now_ms},
            now_ms));
      }
    }
    RETURN_IF_ERROR(Audit(tx, staff, store_id, "redeem", subject, "ok", now_ms));
    return RedemptionsAnswer(tx, hash);
  });
  if (!result.ok()) AuditFailure(db, staff, store_id, "redeem", subject, result.error(), now_ms);
  return result;
}

Result<json::object> ReverseRedemption(storage::Db& db, const Staff& staff, const std::string& redemption_id,
                                       int64_t now_ms) {
  std::string store_id;
  auto result = db.Write([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kRedemption, {redemption_id}));
    if (rows.empty() || staff.brand_id.empty() || rows[0].Str(4) != staff.brand_id) {
      return NotFound("redemption not found");
    }
    const auto& r = rows[0];
    store_id = r.Str(3);
    ASSIGN_OR_RETURN(auto reversed, tx.Exec(kReverse, {redemption_id, now_ms}));
    if (reversed.affected == 0) {
      if (r.Str(1) == "reversed") return Error(ErrorCode::kConflict, "this redemption is already reversed");
      return Error(ErrorCode::kConflict, "the cancel_deadline of this redemption has passed");
    }
    ASSIGN_OR_RETURN(auto back, tx.Exec(kGiveUseBack, {r.Str(0)}));
    if (back.empty()) return Error(ErrorCode::kConflict, "the voucher can no longer take a use back");
    ASSIGN_OR_RETURN(auto sale, tx.Exec(kRedemptionSale, {redemption_id}));
    // Redemptions made before reporting existed were never reported, so neither is their reversal.
    if (!sale.empty() && !sale[0].IsNull(2) && !sale[0].IsNull(4)) {
      const auto& v = sale[0];
      RETURN_IF_ERROR(EnqueueRedemptionReport(
          tx, v.Str(3),
          {"reversed", v.Str(4), v.Str(0), redemption_id, v.Int(2), v.Str(6), v.Str(1), v.Str(5), now_ms},
          now_ms));
    }
    RETURN_IF_ERROR(Audit(tx, staff, store_id, "reverse", redemption_id, "ok", now_ms));
    return json::object{
        {"redemption_id", redemption_id},
        {"status", "reversed"},
        {"reversed_at", FormatRfc3339(now_ms)},
        {"voucher", json::object{{"id", r.Str(0)}, {"status", "unused"}, {"uses_left", back[0].Int(0)}}}};
  });
  if (!result.ok()) AuditFailure(db, staff, store_id, "reverse", redemption_id, result.error(), now_ms);
  return result;
}

Result<std::string> QrSvg(const std::string& text) {
  std::unique_ptr<QRcode, void (*)(QRcode*)> qr(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  if (!qr) return Internal("QRcode_encodeString failed");
  const int width = qr->width;
  const int size = width + 8;  // 4 modules of quiet zone on each side
  std::string svg =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
      std::to_string(size) + " " + std::to_string(size) + "\" width=\"" + std::to_string(size * 8) +
      "\" height=\"" + std::to_string(size * 8) +
      "\" shape-rendering=\"crispEdges\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>";
  for (int y = 0; y < width; ++y) {
    // Runs of dark modules on a row become one rect.
    for (int x = 0; x < width;) {
      if (!(qr->data[y * width + x] & 1)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (qr->data[y * width + x + run] & 1)) ++run;
      svg += "<rect x=\"" + std::to_string(x + 4) + "\" y=\"" + std::to_string(y + 4) + "\" width=\"" +
             std::to_string(run) + "\" height=\"1\"/>";
      x += run;
    }
  }
  svg += "</svg>\n";
  return svg;
}

Result<std::string> VoucherQrSvg(storage::Db& db, const MpUser& user, const std::string& voucher_id) {
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kOwnedVoucher, {voucher_id, user.id});
  }));
  if (rows.empty()) return NotFound("voucher not found");
  return QrSvg(rows[0].Str(0));
}

}  // namespace hutong::provider
