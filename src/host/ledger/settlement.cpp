#include "host/ledger/settlement.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "host/ledger/ledger.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

// What each payable account held at `$1` (the end of the day), less every settlement
// already made (settlements are posted after their day, so they are counted whenever
// they were made: a day settled late never pays twice), less whatever was taken back from
// it since (reversals and refunds after the day: money it no longer holds is never paid
// out; a take-back of the next day's earnings only moves that much to the next day's
// settlement). Receivables: what the holder owes back now, less what settlements deducted.
constexpr Query kUnsettled{
    "settlement.unsettled", Access::kRead,
    "SELECT p.account_id, a.kind, SUM(p.amount_fen) FROM ledger_postings p "
    "JOIN ledger_entries e ON e.id = p.entry_id JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE a.kind IN ('merchant_payable', 'commission_payable', 'merchant_receivable', "
    "'commission_receivable') "
    "AND (e.kind = 'settlement' OR e.created_at < $1 OR p.amount_fen < 0) "
    "GROUP BY p.account_id, a.kind ORDER BY p.account_id"};
constexpr Query kMarkDay{
    "settlement.mark_day", Access::kWrite,
    "INSERT INTO settlement_days (day, settled_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING"};
constexpr Query kDaySettledAt{"settlement.day", Access::kRead,
                              "SELECT settled_at FROM settlement_days WHERE day = $1"};
constexpr Query kDaySettlements{
    "settlement.day_postings", Access::kRead,
    "SELECT p.account_id, a.kind, -p.amount_fen FROM ledger_entries e "
    "JOIN ledger_postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE e.kind = 'settlement' AND e.ref LIKE $1 AND a.kind <> 'payout' "
    "ORDER BY p.account_id"};
constexpr Query kDayRedemptions{"settlement.day_redemptions", Access::kRead,
                                "SELECT app_id, brand_id, COUNT(*), SUM(amount_fen), SUM(commission_fen), "
                                "SUM(fee_fen), SUM(merchant_fen) FROM redemption_reports "
                                "WHERE reported_at >= $1 AND reported_at < $2 GROUP BY app_id, brand_id"};
constexpr Query kDayReversals{
    "settlement.day_reversals", Access::kRead,
    "SELECT app_id, brand_id, COUNT(*), SUM(amount_fen), SUM(commission_fen), "
    "SUM(fee_fen), SUM(merchant_fen) FROM redemption_reports "
    "WHERE status IN ('reversed', 'refunded') AND reversed_at >= $1 AND reversed_at < $2 "
    "GROUP BY app_id, brand_id"};

struct MerchantLine {
  std::string app_id, brand_id;
  int64_t redemptions = 0, reversals = 0;
  Fen redeemed = 0, reversed = 0, commission = 0, fee = 0, net = 0, settled = 0, deducted = 0;
};

Result<std::pair<int64_t, int64_t>> Range(const std::string& day) {
  auto range = BusinessDayRange(day);
  if (!range) return Invalid("'date' must be a day as YYYY-MM-DD");
  return *range;
}

}  // namespace

Result<json::object> SettleDay(storage::Db& db, const std::string& day, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto range, Range(day));
  if (range.second > now_ms) return Error(ErrorCode::kConflict, "business day " + day + " is not over yet");
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kUnsettled, {range.second}));
    std::map<std::string, Fen> owed_back;  // receivable account id → what its holder owes
    for (const auto& r : rows) {
      if (r.Str(1) == "merchant_receivable" || r.Str(1) == "commission_receivable")
        owed_back[r.Str(0)] = -r.Int(2);
    }
    for (const auto& r : rows) {
      if (r.Int(2) <= 0 || (r.Str(1) != "merchant_payable" && r.Str(1) != "commission_payable")) continue;
      const LedgerAccount payable{r.Str(0), r.Str(1) == "merchant_payable" ? AccountKind::kMerchantPayable
                                                                           : AccountKind::kCommissionPayable};
      // Read locked, in account-id order: a refund or reversal that committed after the
      // sums were read took its share from the payable, and is not paid out.
      ASSIGN_OR_RETURN(Fen held, LockedAccountBalance(tx, payable.id));
      const Fen amount = std::min(r.Int(2), held);
      if (amount <= 0) continue;
      const LedgerAccount receivable = *ReceivableOf(payable);
      // A carry-over from refunds after an earlier settlement is deducted first; what
      // the payable holds beyond it is paid out. What is left of it waits for the next day.
      const Fen deducted = std::clamp<Fen>(owed_back[receivable.id], 0, amount);
      RETURN_IF_ERROR(
          PostEntry(tx,
                    {"settlement",
                     day + "|" + r.Str(0),
                     std::nullopt,
                     {{payable, -amount}, {receivable, deducted}, {PayoutAccount(), amount - deducted}}},
                    now_ms));
    }
    RETURN_IF_ERROR(tx.Exec(kMarkDay, {day, now_ms}));
    return Ok();
  }));
  return SettlementStatement(db, day, now_ms);
}

Status SettlePreviousDay(storage::Db& db, int64_t now_ms) {
  const std::string today = BusinessDay(now_ms);
  auto range = BusinessDayRange(today);
  if (!range) return Internal("no range for business day " + today);
  const std::string yesterday = BusinessDay(range->first - 1);
  RETURN_IF_ERROR(SettleDay(db, yesterday, now_ms));
  return Ok();
}

Result<json::object> SettlementStatement(storage::Db& db, const std::string& day, int64_t now_ms,
                                         const std::string& app_id) {
  ASSIGN_OR_RETURN(auto range, Range(day));
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    std::map<std::string, MerchantLine> merchants;  // by ledger account id
    auto line = [&](const std::string& app_id, const std::string& brand_id) -> MerchantLine& {
      MerchantLine& m = merchants[MerchantAccount(app_id, brand_id).id];
      m.app_id = app_id;
      m.brand_id = brand_id;
      return m;
    };
    ASSIGN_OR_RETURN(auto redeemed, tx.Exec(kDayRedemptions, {range.first, range.second}));
    for (const auto& r : redeemed) {
      MerchantLine& m = line(r.Str(0), r.Str(1));
      m.redemptions = r.Int(2);
      m.redeemed = r.Int(3);
      m.commission += r.Int(4);
      m.fee += r.Int(5);
      m.net += r.Int(6);
    }
    ASSIGN_OR_RETURN(auto reversed, tx.Exec(kDayReversals, {range.first, range.second}));
    for (const auto& r : reversed) {
      MerchantLine& m = line(r.Str(0), r.Str(1));
      m.reversals = r.Int(2);
      m.reversed = r.Int(3);
      m.commission -= r.Int(4);
      m.fee -= r.Int(5);
      m.net -= r.Int(6);
    }
    // A settlement entry takes the payable's amount out; what a receivable got back of it
    // (the carry-over deducted) was not paid out: settled = payable taken − deducted.
    std::map<std::string, std::pair<Fen, Fen>> creator_lines;  // creator id → (settled, deducted)
    Fen creators_total = 0, creators_deducted = 0;
    ASSIGN_OR_RETURN(auto settled, tx.Exec(kDaySettlements, {day + "|%"}));
    for (const auto& r : settled) {
      const std::string& kind = r.Str(1);
      const bool receivable = kind == "merchant_receivable" || kind == "commission_receivable";
      const std::string payable_id =
          receivable ? r.Str(0).substr(std::string("receivable:").size()) : r.Str(0);
      const Fen deducted = receivable ? -r.Int(2) : 0;
      const Fen settled_fen = receivable ? -deducted : r.Int(2);
      if (kind == "merchant_payable" || kind == "merchant_receivable") {
        auto it = merchants.find(payable_id);
        if (it == merchants.end()) {
          // Settled today for earlier days' activity: "merchant:<app_id>:<brand_id>".
          const std::string rest = payable_id.substr(std::string("merchant:").size());
          const size_t colon = rest.find(':');
          it = merchants.emplace(payable_id, MerchantLine{rest.substr(0, colon), rest.substr(colon + 1)})
                   .first;
        }
        it->second.settled += settled_fen;
        it->second.deducted += deducted;
      } else if (app_id.empty()) {  // creators are not the app's
        auto& c = creator_lines[payable_id.substr(std::string("creator:").size())];
        c.first += settled_fen;
        c.second += deducted;
        creators_total += settled_fen;
        creators_deducted += deducted;
      }
    }
    json::array creators;
    for (const auto& [creator_id, c] : creator_lines) {
      creators.push_back(
          json::object{{"creator_id", creator_id}, {"settled_fen", c.first}, {"deducted_fen", c.second}});
    }
    json::array lines;
    Fen redeemed_total = 0, reversed_total = 0, commission_total = 0, fee_total = 0, net_total = 0,
        settled_total = 0, deducted_total = 0;
    for (const auto& [_, m] : merchants) {
      if (!app_id.empty() && m.app_id != app_id) continue;
      lines.push_back(json::object{{"app_id", m.app_id},
                                   {"brand_id", m.brand_id},
                                   {"redemptions", m.redemptions},
                                   {"redeemed_fen", m.redeemed},
                                   {"reversals", m.reversals},
                                   {"reversed_fen", m.reversed},
                                   {"commission_fen", m.commission},
                                   {"platform_fee_fen", m.fee},
                                   {"net_fen", m.net},
                                   {"settled_fen", m.settled},
                                   {"deducted_fen", m.deducted}});
      redeemed_total += m.redeemed;
      reversed_total += m.reversed;
      commission_total += m.commission;
      fee_total += m.fee;
      net_total += m.net;
      settled_total += m.settled;
      deducted_total += m.deducted;
    }
    ASSIGN_OR_RETURN(auto marker, tx.Exec(kDaySettledAt, {day}));
    std::string status = range.second > now_ms ? "open" : marker.empty() ? "unsettled" : "settled";
    return json::object{{"date", day},
                        {"timezone", "+08:00"},
                        {"status", status},
                        {"merchants", std::move(lines)},
                        {"creators", std::move(creators)},
                        {"totals", json::object{{"redeemed_fen", redeemed_total},
                                                {"reversed_fen", reversed_total},
                                                {"commission_fen", commission_total},
                                                {"platform_fee_fen", fee_total},
                                                {"net_fen", net_total},
                                                {"merchants_settled_fen", settled_total},
                                                {"creators_settled_fen", creators_total},
                                                {"merchants_deducted_fen", deducted_total},
                                                {"creators_deducted_fen", creators_deducted}}}};
  });
}

std::string SettlementCsv(const json::object& statement) {
  auto field = [](const json::value& v) -> std::string {
    if (v.is_int64()) return std::to_string(v.as_int64());
    std::string s(v.as_string());
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string quoted = "\"";
    for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
  };
  static const char* kColumns[] = {"app_id",    "brand_id",     "redemptions",    "redeemed_fen",
                                   "reversals", "reversed_fen", "commission_fen", "platform_fee_fen",
                                   "net_fen",   "settled_fen",  "deducted_fen"};
  std::string out = "date";
  for (const char* c : kColumns) out += std::string(",") + c;
  out += "\r\n";
  const std::string day(statement.at("date").as_string());
  for (const auto& l : statement.at("merchants").as_array()) {
    out += day;
    for (const char* c : kColumns) out += "," + field(l.as_object().at(c));
    out += "\r\n";
  }
  return out;
}

}  // namespace hutong::host
