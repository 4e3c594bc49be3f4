// A creator's commission: pending (attributed payments not yet redeemed), available
// (accrued on redemption, not yet settled) and settled, in total, per video and per deal.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

// GET /api/creator/earnings for the creator whose account is `user_id`; a user who is
// not a creator → kNotFound. Pending commission is floor(unredeemed paid amount × rate)
// per pay order: what redeeming everything left would accrue.
Result<boost::json::object> CreatorEarnings(storage::Db& db, const std::string& user_id);

}  // namespace hutong::host
