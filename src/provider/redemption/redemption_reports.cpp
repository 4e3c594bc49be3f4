#include "provider/redemption/redemption_reports.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kEnqueue{
    "reports.enqueue", Access::kWrite,
    "INSERT INTO redemption_outbox (id, host, type, redemption_id, payload, status, attempts, "
    "next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)"};
constexpr Query kDue{"reports.due", Access::kRead,
                     "SELECT id, host, payload, attempts FROM redemption_outbox "
                     "WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"};
constexpr Query kDelivered{"reports.delivered", Access::kWrite,
                           "UPDATE redemption_outbox SET status = 'delivered', delivered_at = $2, "
                           "attempts = attempts + 1, last_error = '' WHERE id = $1 AND status = 'pending'"};
constexpr Query kFailed{
    "reports.failed", Access::kWrite,
    "UPDATE redemption_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 "
    "WHERE id = $1 AND status = 'pending'"};

int64_t Backoff(int64_t attempts) {
  int64_t delay = kReportFirstRetryMs;
  for (int64_t i = 0; i < attempts && delay < kReportMaxRetryMs; ++i) delay *= 2;
  return std::min(delay, kReportMaxRetryMs);
}

}  // namespace

Status EnqueueRedemptionReport(storage::Tx& tx, const std::string& host, const RedemptionReportEvent& e,
                               int64_t now_ms) {
  const std::string id = NewId("rre");
  json::object payload{{"event_id", id},
                       {"type", e.type},
                       {"pay_order_id", e.pay_order_id},
                       {"voucher_id", e.voucher_id},
                       {"redemption_id", e.redemption_id},
                       {"amount_fen", e.amount_fen},
                       {"brand_id", e.brand_id},
                       {"store_id", e.store_id},
                       {"deal_id", e.deal_id},
                       {"at", FormatRfc3339(e.at)}};
  RETURN_IF_ERROR(tx.Exec(kEnqueue, {id, host, e.type, e.redemption_id, json::serialize(payload), now_ms}));
  return Ok();
}

Result<int> DeliverRedemptionReports(storage::Db& db, const HostDirectory& hosts, int64_t now_ms,
                                     int64_t limit) {
  ASSIGN_OR_RETURN(auto due, db.Read([&](storage::Tx& tx) { return tx.Exec(kDue, {now_ms, limit}); }));
  std::set<std::string> stalled;  // hosts that failed in this run
  int delivered = 0;
  for (const auto& row : due) {
    const std::string id = row.Str(0);
    const std::string host = row.Str(1);
    if (stalled.count(host)) continue;
    std::string error;
    const protocol::OpenApiClient* client = hosts.Client(host);
    if (client == nullptr) {
      error = "host " + host + " is not connected";
    } else {
      auto answer = client->CallJson("POST", "/open/v1/redemptions", row.Str(2));
      if (!answer.ok()) {
        error = std::string(ErrorCodeName(answer.error().code)) + ": " + answer.error().detail;
        // The host refused this report (4xx): retry it later, but let the host's other
        // reports go on. Only an unreachable host holds back the rest.
        if (answer.error().code != ErrorCode::kUnavailable) {
          LogWarn("redemption report refused", {{"event_id", std::string_view(id)},
                                                {"host", std::string_view(host)},
                                                {"error", std::string_view(error)}});
          RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) {
            return tx.Exec(kFailed, {id, now_ms + Backoff(row.Int(3)), error.substr(0, 500)});
          }));
          continue;
        }
      }
    }
    if (error.empty()) {
      RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) { return tx.Exec(kDelivered, {id, now_ms}); }));
      ++delivered;
      continue;
    }
    stalled.insert(host);
    LogWarn("redemption report not delivered", {{"event_id", std::string_view(id)},
                                                {"host", std::string_view(host)},
                                                {"error", std::string_view(error)}});
    RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) {
      return tx.Exec(kFailed, {id, now_ms + Backoff(row.Int(3)), error.substr(0, 500)});
    }));
  }
  return delivered;
}

}  // namespace hutong::provider
