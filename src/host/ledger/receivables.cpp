#include "host/ledger/receivables.h"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "common/clock.h"
#include "common/money.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kOwed{"receivables.owed", Access::kRead,
                      "SELECT id, kind, balance_fen FROM ledger_accounts "
                      "WHERE kind IN ('merchant_receivable', 'commission_receivable') AND balance_fen < 0 "
                      "AND (CAST($1 AS TEXT) = '' OR kind = $1) ORDER BY balance_fen, id"};
constexpr Query kPostings{"receivables.postings", Access::kRead,
                          "SELECT p.amount_fen, e.created_at FROM ledger_postings p "
                          "JOIN ledger_entries e ON e.id = p.entry_id WHERE p.account_id = $1 "
                          "ORDER BY e.created_at, e.id"};

}  // namespace

Result<json::object> OutstandingReceivables(storage::Db& db, const std::string& kind) {
  std::string account_kind;
  if (kind == "merchant")
    account_kind = "merchant_receivable";
  else if (kind == "creator")
    account_kind = "commission_receivable";
  else if (!kind.empty())
    return Invalid("'kind' must be merchant or creator");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto owed, tx.Exec(kOwed, {account_kind}));
    json::array items;
    Fen merchants_total = 0, creators_total = 0;
    for (const auto& a : owed) {
      const std::string& id = a.Str(0);
      const bool merchant = a.Str(1) == "merchant_receivable";
      json::object item{{"kind", merchant ? "merchant" : "creator"}};
      if (merchant) {
        // "receivable:merchant:<app_id>:<brand_id>"
        const std::string rest = id.substr(std::string("receivable:merchant:").size());
        const size_t colon = rest.find(':');
        item["app_id"] = rest.substr(0, colon);
        item["brand_id"] = colon == std::string::npos ? std::string() : rest.substr(colon + 1);
      } else {
        item["creator_id"] = id.substr(std::string("receivable:creator:").size());
      }
      ASSIGN_OR_RETURN(auto postings, tx.Exec(kPostings, {id}));
      // Deductions (positive postings) pay the oldest take-backs first.
      Fen deducted = 0;
      for (const auto& p : postings)
        if (p.Int(0) > 0) deducted += p.Int(0);
      Fen covered = deducted;
      int64_t oldest = 0, last = 0;
      for (const auto& p : postings) {
        last = std::max(last, p.Int(1));
        if (p.Int(0) >= 0 || oldest != 0) continue;
        covered += p.Int(0);
        if (covered < 0) oldest = p.Int(1);
      }
      const Fen owed_fen = -a.Int(2);
      (merchant ? merchants_total : creators_total) += owed_fen;
      item["owed_fen"] = owed_fen;
      item["deducted_fen"] = deducted;
      item["oldest_outstanding_at"] = oldest != 0 ? json::value(FormatRfc3339(oldest)) : json::value(nullptr);
      item["last_change_at"] = last != 0 ? json::value(FormatRfc3339(last)) : json::value(nullptr);
      items.push_back(std::move(item));
    }
    return json::object{{"items", std::move(items)},
                        {"totals", json::object{{"merchants_owed_fen", merchants_total},
                                                {"creators_owed_fen", creators_total}}}};
  });
}

}  // namespace hutong::host
