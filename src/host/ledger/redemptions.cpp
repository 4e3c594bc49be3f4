#include "host/ledger/redemptions.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/clock.h"
#include "host/ledger/ledger.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kPayOrder{"redemptions.pay_order", Access::kRead,
                          "SELECT app_id, status, creator_id, video_id, commission_bps, deal_id "
                          "FROM pay_orders WHERE id = $1"};
constexpr Query kDealRate{"redemptions.deal_rate", Access::kRead,
                          "SELECT commission_bps FROM app_deals WHERE app_id = $1 AND deal_id = $2"};
constexpr Query kReport{
    "redemptions.report", Access::kRead,
    "SELECT pay_order_id, voucher_id, amount_fen, commission_fen, fee_fen, merchant_fen, status, "
    "brand_id FROM redemption_reports WHERE app_id = $1 AND redemption_id = $2"};
constexpr Query kInsertReport{
    "redemptions.insert", Access::kWrite,
    "INSERT INTO redemption_reports (app_id, redemption_id, event_id, pay_order_id, voucher_id, deal_id, "
    "brand_id, "
    "store_id, amount_fen, commission_fen, fee_fen, merchant_fen, creator_id, video_id, status, redeemed_at, "
    "reported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'redeemed', $15, $16) "
    "ON CONFLICT (app_id, redemption_id) DO NOTHING"};
constexpr Query kInsertTombstone{
    "redemptions.insert_tombstone", Access::kWrite,
    "INSERT INTO redemption_reports (app_id, redemption_id, event_id, pay_order_id, voucher_id, deal_id, "
    "brand_id, "
    "store_id, amount_fen, commission_fen, fee_fen, merchant_fen, status, redeemed_at, reported_at, "
    "reversed_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, 'reversed', $10, $11, $11) "
    "ON CONFLICT (app_id, redemption_id) DO NOTHING"};
constexpr Query kRedeemedOfPayOrder{"redemptions.redeemed_of_pay_order", Access::kRead,
                                    "SELECT app_id, redemption_id, amount_fen FROM redemption_reports "
                                    "WHERE pay_order_id = $1 AND status = 'redeemed' "
                                    "ORDER BY reported_at DESC, redemption_id DESC"};
constexpr Query kMarkRefunded{"redemptions.mark_refunded", Access::kWrite,
                              "UPDATE redemption_reports SET status = 'refunded', reversed_at = $3 "
                              "WHERE app_id = $1 AND redemption_id = $2 AND status = 'redeemed'"};
constexpr Query kMarkReversed{"redemptions.mark_reversed", Access::kWrite,
                              "UPDATE redemption_reports SET status = 'reversed', reversed_at = $3 "
                              "WHERE app_id = $1 AND redemption_id = $2 AND status = 'redeemed'"};

json::object Answer(const std::string& redemption_id, const storage::Row& r) {
  return json::object{{"redemption_id", redemption_id}, {"status", r.Str(6)},
                      {"pay_order_id", r.Str(0)},       {"voucher_id", r.Str(1)},
                      {"amount_fen", r.Int(2)},         {"commission_fen", r.Int(3)},
                      {"platform_fee_fen", r.Int(4)},   {"merchant_fen", r.Int(5)}};
}

std::string EntryRef(const std::string& app_id, const std::string& redemption_id) {
  return app_id + ":" + redemption_id;
}

// Locks, in account-id order, every account the take-back of these redemptions can post
// to: their own accounts and the receivables of their payables.
Status LockRedemptionAccounts(storage::Tx& tx, const std::vector<std::string>& refs) {
  std::set<std::string> ids;
  for (const auto& ref : refs) {
    ASSIGN_OR_RETURN(auto original, EntryPostings(tx, "redemption", ref));
    for (const auto& p : original) {
      ids.insert(p.account.id);
      if (auto receivable = ReceivableOf(p.account)) ids.insert(receivable->id);
    }
  }
  for (const auto& id : ids) RETURN_IF_ERROR(LockedAccountBalance(tx, id));
  return Ok();
}

// Posts the opposite of the redemption entry `ref` as (`kind`, `ref`). What a payable no
// longer holds was settled to its holder: that part goes to the holder's receivable (what
// they owe back) instead, and their next settlement deducts it. Balances are read with
// their rows locked, so a concurrent settlement cannot empty a payable in between.
Status TakeBackRedemption(storage::Tx& tx, const char* kind, const std::string& ref,
                          const std::string& pay_order_id, int64_t now_ms) {
  RETURN_IF_ERROR(LockRedemptionAccounts(tx, {ref}));
  ASSIGN_OR_RETURN(auto original, EntryPostings(tx, "redemption", ref));
  std::vector<Posting> back;
  for (const auto& p : original) {
    const Fen take = -p.amount_fen;
    auto receivable = ReceivableOf(p.account);
    if (!receivable || take >= 0) {
      back.push_back({p.account, take});
      continue;
    }
    ASSIGN_OR_RETURN(Fen held_by_payee, LockedAccountBalance(tx, p.account.id));
    const Fen from_payable = std::max<Fen>(take, -std::max<Fen>(held_by_payee, 0));
    back.push_back({p.account, from_payable});
    back.push_back({*receivable, take - from_payable});
  }
  RETURN_IF_ERROR(PostEntry(tx, {kind, ref, pay_order_id, back}, now_ms));
  return Ok();
}

Result<json::object> Redeemed(storage::Tx& tx, const std::string& app_id, const RedemptionReport& in,
                              int64_t now_ms) {
  ASSIGN_OR_RETURN(auto existing, tx.Exec(kReport, {app_id, in.redemption_id}));
  if (!existing.empty()) {
    const auto& r = existing[0];
    if (r.Str(0) != in.pay_order_id || r.Str(1) != in.voucher_id || r.Int(2) != in.amount_fen) {
      return Error(ErrorCode::kConflict, "this redemption_id was reported with other details");
    }
    return Answer(in.redemption_id, r);  // a retry, or a redemption already reversed or refunded
  }
  ASSIGN_OR_RETURN(auto pay, tx.Exec(kPayOrder, {in.pay_order_id}));
  if (pay.empty() || pay[0].Str(0) != app_id) return NotFound("pay order not found");
  const auto& p = pay[0];
  if (p.Str(1) != "paid") return Error(ErrorCode::kConflict, "the pay order is not paid");
  const std::optional<std::string> creator_id = p.OptStr(2);
  int64_t bps = p.Int(4);
  if (creator_id && p.IsNull(5) && in.deal_id) {
    // The pay order named no deal: the rate of the deal the app reports now.
    ASSIGN_OR_RETURN(auto rate, tx.Exec(kDealRate, {app_id, *in.deal_id}));
    if (!rate.empty()) bps = rate[0].Int(0);
  }
  const RedemptionSplit split = SplitRedemption(in.amount_fen, bps, creator_id.has_value());
  RETURN_IF_ERROR(tx.Exec(
      kInsertReport,
      {app_id, in.redemption_id, in.event_id, in.pay_order_id, in.voucher_id, storage::Opt(in.deal_id),
       in.brand_id, in.store_id, in.amount_fen, split.commission_fen, split.fee_fen, split.merchant_fen,
       storage::Opt(creator_id), storage::Opt(p.OptStr(3)), in.at, now_ms}));
  ASSIGN_OR_RETURN(auto row, tx.Exec(kReport, {app_id, in.redemption_id}));
  if (row.empty()) return Internal("redemption report vanished after insert");
  if (row[0].Str(0) != in.pay_order_id || row[0].Int(2) != in.amount_fen) {
    return Error(ErrorCode::kConflict, "this redemption_id was reported with other details");
  }
  std::vector<Posting> postings = {{ClearingAccount(in.pay_order_id), -in.amount_fen},
                                   {MerchantAccount(app_id, in.brand_id), split.merchant_fen},
                                   {PlatformFeeAccount(), split.fee_fen}};
  if (creator_id) postings.push_back({CreatorAccount(*creator_id), split.commission_fen});
  auto posted =
      PostEntry(tx, {"redemption", EntryRef(app_id, in.redemption_id), in.pay_order_id, postings}, now_ms);
  if (!posted.ok()) {
    if (posted.error().code == ErrorCode::kConflict) {
      return Error(ErrorCode::kConflict, "more was redeemed than is left paid on this pay order",
                   posted.error().internal);
    }
    return std::move(posted).error();
  }
  return Answer(in.redemption_id, row[0]);
}

Result<json::object> Reversed(storage::Tx& tx, const std::string& app_id, const RedemptionReport& in,
                              int64_t now_ms) {
  ASSIGN_OR_RETURN(auto existing, tx.Exec(kReport, {app_id, in.redemption_id}));
  if (existing.empty()) {
    // The reversal overtook its redemption (or the redemption could never apply): keep
    // it, with nothing booked, so the late redemption changes nothing either.
    ASSIGN_OR_RETURN(auto pay, tx.Exec(kPayOrder, {in.pay_order_id}));
    if (pay.empty() || pay[0].Str(0) != app_id) return NotFound("pay order not found");
    RETURN_IF_ERROR(tx.Exec(kInsertTombstone, {app_id, in.redemption_id, in.event_id, in.pay_order_id,
                                               in.voucher_id, storage::Opt(in.deal_id), in.brand_id,
                                               in.store_id, in.amount_fen, in.at, now_ms}));
    ASSIGN_OR_RETURN(auto row, tx.Exec(kReport, {app_id, in.redemption_id}));
    if (row.empty()) return Internal("redemption report vanished after insert");
    return Answer(in.redemption_id, row[0]);
  }
  if (existing[0].Str(0) != in.pay_order_id) {
    return Error(ErrorCode::kConflict, "this redemption_id belongs to another pay order");
  }
  ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkReversed, {app_id, in.redemption_id, now_ms}));
  if (marked.affected == 1) {
    // Shares already settled to the merchant or the creator become what they owe back,
    // deducted from their next settlements, as for a refund after settlement.
    auto posted =
        TakeBackRedemption(tx, "reversal", EntryRef(app_id, in.redemption_id), in.pay_order_id, now_ms);
    if (!posted.ok()) {
      if (posted.error().code == ErrorCode::kConflict) {
        return Error(ErrorCode::kConflict, "the redemption's money was already refunded",
                     posted.error().internal);
      }
      return std::move(posted).error();
    }
  }
  ASSIGN_OR_RETURN(auto row, tx.Exec(kReport, {app_id, in.redemption_id}));
  return Answer(in.redemption_id, row[0]);
}

}  // namespace

Status PostRefund(storage::Tx& tx, const std::string& refund_id, const std::string& pay_order_id,
                  const LedgerAccount& payer, Fen amount, int64_t now_ms) {
  const LedgerAccount clearing = ClearingAccount(pay_order_id);
  // Clearing first: its id sorts before every payable, fee and receivable account.
  ASSIGN_OR_RETURN(Fen held, LockedAccountBalance(tx, clearing.id));
  if (held < amount) {
    ASSIGN_OR_RETURN(auto redeemed, tx.Exec(kRedeemedOfPayOrder, {pay_order_id}));
    // Lock every account the take-backs may touch before reading any payable, all in
    // account-id order.
    std::vector<std::string> refs;
    Fen would_hold = held;
    for (const auto& r : redeemed) {
      if (would_hold >= amount) break;
      refs.push_back(EntryRef(r.Str(0), r.Str(1)));
      would_hold += r.Int(2);
    }
    RETURN_IF_ERROR(LockRedemptionAccounts(tx, refs));
    for (const auto& r : redeemed) {
      if (held >= amount) break;
      ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkRefunded, {r.Str(0), r.Str(1), now_ms}));
      if (marked.affected != 1) continue;
      auto posted =
          TakeBackRedemption(tx, "refund_reversal", EntryRef(r.Str(0), r.Str(1)), pay_order_id, now_ms);
      if (!posted.ok()) {
        if (posted.error().code == ErrorCode::kConflict) {
          return Error(ErrorCode::kConflict, "the redeemed voucher's money cannot be taken back",
                       posted.error().internal);
        }
        return std::move(posted).error();
      }
      held += r.Int(2);
    }
  }
  auto posted =
      PostEntry(tx, {"refund", refund_id, pay_order_id, {{clearing, -amount}, {payer, amount}}}, now_ms);
  if (!posted.ok() && posted.error().code == ErrorCode::kConflict) {
    return Error(ErrorCode::kConflict, "the refund exceeds what the pay order still holds",
                 posted.error().internal);
  }
  if (!posted.ok()) return std::move(posted).error();
  return Ok();
}

RedemptionSplit SplitRedemption(Fen amount_fen, int64_t commission_bps, bool attributed) {
  RedemptionSplit s;
  // amount ≤ 10^10 fen and bps ≤ 10^4 (both validated), so the products fit in 64 bits.
  s.fee_fen = amount_fen * kPlatformFeeBps / 10'000;
  if (attributed) {
    s.commission_fen = amount_fen * std::clamp<int64_t>(commission_bps, 0, 10'000) / 10'000;
    s.commission_fen = std::min(s.commission_fen, amount_fen - s.fee_fen);
  }
  s.merchant_fen = amount_fen - s.fee_fen - s.commission_fen;
  return s;
}

Result<json::object> ApplyRedemptionReport(storage::Db& db, const std::string& app_id,
                                           const RedemptionReport& in, int64_t now_ms) {
  if (in.type != "redeemed" && in.type != "reversed") return Invalid("'type' must be redeemed or reversed");
  if (in.amount_fen < 0) return Invalid("'amount_fen' must not be negative");
  return db.Write([&](storage::Tx& tx) -> Result<json::object> {
    return in.type == "redeemed" ? Redeemed(tx, app_id, in, now_ms) : Reversed(tx, app_id, in, now_ms);
  });
}

}  // namespace hutong::host
