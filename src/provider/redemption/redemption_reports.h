// Redemption reports to the hosts: the host books a sale as the merchant's (and the
// creator's commission) only when told that its voucher was redeemed, so every redemption
// and reversal leaves a report in an outbox written in its own transaction, delivered to
// the voucher's host (signed POST /open/v1/redemptions) and retried until the host says yes.
#pragma once

#include <cstdint>
#include <string>

#include "common/money.h"
#include "common/result.h"
#include "provider/hosts/host_directory.h"
#include "storage/db.h"

namespace hutong::provider {

struct RedemptionReportEvent {
  std::string type;  // redeemed | reversed
  std::string pay_order_id;
  std::string voucher_id;
  std::string redemption_id;
  Fen amount_fen = 0;
  std::string brand_id;
  std::string store_id;
  std::string deal_id;
  int64_t at = 0;
};

// Retries back off from 10 s, doubling, up to an hour between attempts.
inline constexpr int64_t kReportFirstRetryMs = 10'000;
inline constexpr int64_t kReportMaxRetryMs = 3'600'000;

// Adds the report to the outbox inside the caller's transaction.
Status EnqueueRedemptionReport(storage::Tx& tx, const std::string& host, const RedemptionReportEvent& event,
                               int64_t now_ms);

// The job's body: sends due reports oldest first (when a host cannot be reached, its later
// reports wait for the next run); a 2xx marks one delivered, anything else schedules a
// retry (the host keeps a reversal that overtakes its redemption). Returns how many were
// delivered. Safe on several nodes at once: the host books each redemption once.
Result<int> DeliverRedemptionReports(storage::Db& db, const HostDirectory& hosts, int64_t now_ms,
                                     int64_t limit = 100);

}  // namespace hutong::provider
