// Merchant staff and operations accounts: password login to a bearer token, and the
// token back to who is calling. Staff of a brand act only for that brand's stores.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/message.h"
#include "storage/db.h"

namespace hutong::provider {

struct Staff {
  std::string id;
  std::string account;
  std::string name;
  std::string role;      // merchant | ops
  std::string brand_id;  // empty for ops
};

struct StaffSession {
  std::string token;  // shown once; only its SHA-256 is stored
  int64_t expires_at;
  Staff staff;
};

inline constexpr int64_t kStaffSessionTtlMs = 12LL * 3600 * 1000;  // one working day

// Wrong account or password → kUnauthorized with the same message either way.
Result<StaffSession> StaffLogin(storage::Db& db, const std::string& account, const std::string& password,
                                int64_t now_ms);
// From the request's `Authorization: Bearer <token>`; missing, unknown or expired →
// kUnauthorized.
Result<Staff> AuthenticateStaff(storage::Db& db, const http::Request& req, int64_t now_ms);
// AuthenticateStaff, then kForbidden "only operations staff may <action>" unless the caller
// is an operations account.
Result<Staff> AuthenticateOpsStaff(storage::Db& db, const http::Request& req, int64_t now_ms,
                                   std::string_view action);

}  // namespace hutong::provider
