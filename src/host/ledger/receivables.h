// What merchants and creators owe the platform back: refunds and reversals of money
// already settled to them (receivable accounts), until their next settlements deduct it.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

// GET /api/admin/receivables: every receivable still owed, largest first:
// {kind: merchant|creator, app_id, brand_id | creator_id, owed_fen, deducted_fen (by
// settlements so far), oldest_outstanding_at (the earliest take-back not yet deducted,
// first in first out), last_change_at}, and totals. `kind` "" (both), merchant or creator
// (else kInvalid).
Result<boost::json::object> OutstandingReceivables(storage::Db& db, const std::string& kind);

}  // namespace hutong::host
