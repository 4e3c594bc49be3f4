#include "host/ledger/settlement.h"

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
// they were made: a day settled late never pays twice).
constexpr Query kUnsettled{
    "settlement.unsettled", Access::kRead,
    "SELECT p.account_id, a.kind, SUM(p.amount_fen) FROM ledger_postings p "
    "JOIN ledger_entries e ON e.id = p.entry_id JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE a.kind IN ('merchant_payable', 'commission_payable') "
    "AND (e.kind = 'settlement' OR e.created_at < $1) "
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
constexpr Query kDayReversals{"settlement.day_reversals", Access::kRead,
                              "SELECT app_id, brand_id, COUNT(*), SUM(amount_fen), SUM(commission_fen), "
                              "SUM(fee_fen), SUM(merchant_fen) FROM redemption_reports "
                              "WHERE status IN ('reversed', 'refunded') AND reversed_at >= $1 AND reversed_at < $2 "
                              "GROUP BY app_id, brand_id"};

struct MerchantLine {
  std::string app_id, brand_id;
  int64_t redemptions = 0, reversals = 0;
  Fen redeemed = 0, reversed = 0, commission = 0, fee = 0, net = 0, settled = 0;
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
    for (const auto& r : rows) {
      const Fen amount = r.Int(2);
      if (amount <= 0) continue;
      const AccountKind kind =
          r.Str(1) == "merchant_payable" ? AccountKind::kMerchantPayable : AccountKind::kCommissionPayable;
      RETURN_IF_ERROR(PostEntry(tx,
                                {"settlement",
                                 day + "|" + r.Str(0),
                                 std::nullopt,
                                 {{{r.Str(0), kind}, -amount}, {PayoutAccount(), amount}}},
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
    json::array creators;
    Fen creators_total = 0;
    ASSIGN_OR_RETURN(auto settled, tx.Exec(kDaySettlements, {day + "|%"}));
    for (const auto& r : settled) {
      if (!app_id.empty() && r.Str(1) != "merchant_payable") continue;  // creators are not the app's
      if (r.Str(1) == "merchant_payable") {
        auto it = merchants.find(r.Str(0));
        if (it == merchants.end()) {
          // Settled today for earlier days' activity: "merchant:<app_id>:<brand_id>".
          const std::string rest = r.Str(0).substr(std::string("merchant:").size());
          const size_t colon = rest.find(':');
          it = merchants.emplace(r.Str(0), MerchantLine{rest.substr(0, colon), rest.substr(colon + 1)}).first;
        }
        it->second.settled += r.Int(2);
      } else {
        creators.push_back(json::object{{"creator_id", r.Str(0).substr(std::string("creator:").size())},
                                        {"settled_fen", r.Int(2)}});
        creators_total += r.Int(2);
      }
    }
    json::array lines;
    Fen redeemed_total = 0, reversed_total = 0, commission_total = 0, fee_total = 0, net_total = 0,
        settled_total = 0;
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
                                   {"settled_fen", m.settled}});
      redeemed_total += m.redeemed;
      reversed_total += m.reversed;
      commission_total += m.commission;
      fee_total += m.fee;
      net_total += m.net;
      settled_total += m.settled;
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
                                                {"creators_settled_fen", creators_total}}}};
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
                                   "net_fen",   "settled_fen"};
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
