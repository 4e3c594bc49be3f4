#include "host/ledger/earnings.h"

#include <boost/json.hpp>
#include <map>

#include "host/ledger/ledger.h"
#include "host/ledger/redemptions.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kCreator{"earnings.creator", Access::kRead, "SELECT id FROM creators WHERE user_id = $1"};
constexpr Query kPending{"earnings.pending", Access::kRead,
                         "SELECT p.video_id, p.app_id, COALESCE(p.deal_id, ''), p.commission_bps, "
                         "COALESCE(a.balance_fen, 0) FROM pay_orders p "
                         "LEFT JOIN ledger_accounts a ON a.id = 'clearing:' || p.id "
                         "WHERE p.creator_id = $1 AND p.status = 'paid'"};
constexpr Query kAccrued{
    "earnings.accrued", Access::kRead,
    "SELECT video_id, app_id, COALESCE(deal_id, ''), SUM(commission_fen) FROM redemption_reports "
    "WHERE creator_id = $1 AND status = 'redeemed' GROUP BY video_id, app_id, deal_id"};
constexpr Query kSettled{
    "earnings.settled", Access::kRead,
    "SELECT COALESCE(-SUM(p.amount_fen), 0) FROM ledger_postings p "
    "JOIN ledger_entries e ON e.id = p.entry_id WHERE (p.account_id = $1 OR p.account_id = $2) "
    "AND e.kind = 'settlement'"};  // paid out: the payable taken less the receivable deducted
constexpr Query kVideoTitle{"earnings.video_title", Access::kRead, "SELECT title FROM videos WHERE id = $1"};
constexpr Query kDealTitle{"earnings.deal_title", Access::kRead,
                           "SELECT title FROM app_deals WHERE app_id = $1 AND deal_id = $2"};

struct Figures {
  Fen pending = 0;
  Fen accrued = 0;
};

}  // namespace

Result<json::object> CreatorEarnings(storage::Db& db, const std::string& user_id) {
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto creator, tx.Exec(kCreator, {user_id}));
    if (creator.empty()) return NotFound("you are not a creator");
    const std::string creator_id = creator[0].Str(0);
    std::map<std::string, Figures> by_video;
    std::map<std::pair<std::string, std::string>, Figures> by_deal;
    Fen pending = 0;
    ASSIGN_OR_RETURN(auto paid, tx.Exec(kPending, {creator_id}));
    for (const auto& r : paid) {
      const Fen left = r.Int(4);
      if (left <= 0) continue;
      const Fen commission = SplitRedemption(left, r.Int(3), true).commission_fen;
      pending += commission;
      by_video[r.Str(0)].pending += commission;
      by_deal[{r.Str(1), r.Str(2)}].pending += commission;
    }
    ASSIGN_OR_RETURN(auto accrued, tx.Exec(kAccrued, {creator_id}));
    for (const auto& r : accrued) {
      by_video[r.Str(0)].accrued += r.Int(3);
      by_deal[{r.Str(1), r.Str(2)}].accrued += r.Int(3);
    }
    ASSIGN_OR_RETURN(Fen available, AccountBalance(tx, CreatorAccount(creator_id).id));
    ASSIGN_OR_RETURN(auto settled, tx.Exec(kSettled, {CreatorAccount(creator_id).id,
                                                      ReceivableOf(CreatorAccount(creator_id))->id}));
    json::array videos;
    for (const auto& [video_id, f] : by_video) {
      ASSIGN_OR_RETURN(auto title, tx.Exec(kVideoTitle, {video_id}));
      videos.push_back(json::object{{"video_id", video_id},
                                    {"title", title.empty() ? "" : title[0].Str(0)},
                                    {"pending_fen", f.pending},
                                    {"accrued_fen", f.accrued}});
    }
    json::array deals;
    for (const auto& [key, f] : by_deal) {
      ASSIGN_OR_RETURN(auto title, tx.Exec(kDealTitle, {key.first, key.second}));
      deals.push_back(
          json::object{{"app_id", key.first},
                       {"deal_id", key.second.empty() ? json::value(nullptr) : json::value(key.second)},
                       {"title", title.empty() ? "" : title[0].Str(0)},
                       {"pending_fen", f.pending},
                       {"accrued_fen", f.accrued}});
    }
    return json::object{
        {"creator_id", creator_id},      {"pending_fen", pending},
        {"available_fen", available},    {"settled_fen", settled.empty() ? Fen{0} : settled[0].Int(0)},
        {"by_video", std::move(videos)}, {"by_deal", std::move(deals)}};
  });
}

}  // namespace hutong::host
