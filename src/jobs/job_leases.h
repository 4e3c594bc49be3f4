// Cluster-wide leases on named background jobs, kept in each role's `job_leases` table
// (host migration v12, provider v10): a node runs a job only while it holds the job's
// lease, so two nodes never run one job at once, and a lease a crashed node never
// released simply lapses and another node takes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::jobs {

// One row of job_leases: who holds the job now and how its last runs went. Times are
// Unix ms; `holder` is empty (and `lease_until` 0) when nobody holds it.
struct JobState {
  std::string name;
  std::string holder;
  int64_t lease_until = 0;
  std::optional<int64_t> last_started_at;
  std::optional<int64_t> last_run_at;  // when the last run finished, successfully or not
  std::optional<int64_t> last_success_at;
  std::string last_error;  // empty after a successful run
  int64_t runs = 0;
  int64_t failures = 0;
};

// Takes the lease of `name` for `holder` until now + lease_ms with one conditional UPDATE
// (the lease has lapsed, or `holder` already holds it). True when taken; false when
// another holder's lease is still running.
Result<bool> TryAcquireLease(storage::Db& db, const std::string& name, const std::string& holder,
                             int64_t now_ms, int64_t lease_ms);
// Extends a lease `holder` holds to now + lease_ms. False when it no longer holds it.
Result<bool> RenewLease(storage::Db& db, const std::string& name, const std::string& holder, int64_t now_ms,
                        int64_t lease_ms);
// Gives the lease back and records the run's outcome (`error` empty = success). False when
// `holder` had lost the lease meanwhile (nothing is recorded then).
Result<bool> ReleaseLease(storage::Db& db, const std::string& name, const std::string& holder, int64_t now_ms,
                          const std::string& error);
// Every job that ever ran against this database, by name.
Result<std::vector<JobState>> ListJobStates(storage::Db& db);

}  // namespace hutong::jobs
