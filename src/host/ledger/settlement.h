// Daily settlement per merchant (app + brand) and per creator, for a business day in
// UTC+8: whatever their payable accounts held at the end of the day, not settled before,
// is paid out through the ledger (payable → payout), once per day and account.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

// Settles `day` ("YYYY-MM-DD", UTC+8). Idempotent: a second run (on any node, even at the
// same time) changes nothing. A day not yet over → kConflict; a malformed date →
// kValidationFailed. Returns the statement.
Result<boost::json::object> SettleDay(storage::Db& db, const std::string& day, int64_t now_ms);

// The background job's body: settles the business day before the current one.
Status SettlePreviousDay(storage::Db& db, int64_t now_ms);

// The day's statement: per merchant the redemptions reported that day and those taken
// back that day (reversed at the till, or refunded after sale)
// (gross, commission, platform fee, net) and what was settled for it; per creator what
// was settled. status: "open" (day not over), "unsettled" or "settled".
// With `app_id`, only that app's merchants (what GET /open/v1/settlements shows the app).
Result<boost::json::object> SettlementStatement(storage::Db& db, const std::string& day, int64_t now_ms,
                                                const std::string& app_id = "");

// One CSV line per merchant, with a header line.
std::string SettlementCsv(const boost::json::object& statement);

}  // namespace hutong::host
