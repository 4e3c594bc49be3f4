#include "jobs/job_leases.h"

namespace hutong::jobs {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kEnsure{"jobs.ensure", Access::kWrite,
                        "INSERT INTO job_leases (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"};
// The lease condition is re-checked on the row PostgreSQL locks, so of two nodes racing
// for a lapsed lease exactly one sees affected = 1.
constexpr Query kAcquire{"jobs.acquire", Access::kWrite,
                         "UPDATE job_leases SET holder = $2, lease_until = $3, last_started_at = $4 "
                         "WHERE name = $1 AND (lease_until <= $4 OR holder = $2)"};
constexpr Query kRenew{"jobs.renew", Access::kWrite,
                       "UPDATE job_leases SET lease_until = $3 WHERE name = $1 AND holder = $2"};
constexpr Query kReleaseOk{"jobs.release_ok", Access::kWrite,
                           "UPDATE job_leases SET holder = '', lease_until = 0, last_run_at = $3, "
                           "last_success_at = $3, last_error = '', runs = runs + 1 "
                           "WHERE name = $1 AND holder = $2"};
constexpr Query kReleaseFailed{"jobs.release_failed", Access::kWrite,
                               "UPDATE job_leases SET holder = '', lease_until = 0, last_run_at = $3, "
                               "last_error = $4, runs = runs + 1, failures = failures + 1 "
                               "WHERE name = $1 AND holder = $2"};
constexpr Query kList{"jobs.list", Access::kRead,
                      "SELECT name, holder, lease_until, last_started_at, last_run_at, last_success_at, "
                      "last_error, runs, failures FROM job_leases ORDER BY name"};

}  // namespace

Result<bool> TryAcquireLease(storage::Db& db, const std::string& name, const std::string& holder,
                             int64_t now_ms, int64_t lease_ms) {
  return db.Write([&](storage::Tx& tx) -> Result<bool> {
    RETURN_IF_ERROR(tx.Exec(kEnsure, {name}));
    ASSIGN_OR_RETURN(auto r, tx.Exec(kAcquire, {name, holder, now_ms + lease_ms, now_ms}));
    return r.affected == 1;
  });
}

Result<bool> RenewLease(storage::Db& db, const std::string& name, const std::string& holder, int64_t now_ms,
                        int64_t lease_ms) {
  return db.Write([&](storage::Tx& tx) -> Result<bool> {
    ASSIGN_OR_RETURN(auto r, tx.Exec(kRenew, {name, holder, now_ms + lease_ms}));
    return r.affected == 1;
  });
}

Result<bool> ReleaseLease(storage::Db& db, const std::string& name, const std::string& holder, int64_t now_ms,
                          const std::string& error) {
  std::string stored = error.size() > 500 ? error.substr(0, 500) : error;
  return db.Write([&](storage::Tx& tx) -> Result<bool> {
    auto r = stored.empty() ? tx.Exec(kReleaseOk, {name, holder, now_ms})
                            : tx.Exec(kReleaseFailed, {name, holder, now_ms, stored});
    if (!r.ok()) return std::move(r).error();
    return r->affected == 1;
  });
}

Result<std::vector<JobState>> ListJobStates(storage::Db& db) {
  return db.Read([&](storage::Tx& tx) -> Result<std::vector<JobState>> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kList));
    std::vector<JobState> out;
    for (const auto& r : rows) {
      out.push_back({r.Str(0), r.Str(1), r.Int(2), r.OptInt(3), r.OptInt(4), r.OptInt(5), r.Str(6), r.Int(7),
                     r.Int(8)});
    }
    return out;
  });
}

}  // namespace hutong::jobs
