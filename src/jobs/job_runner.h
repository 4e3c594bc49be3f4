// Runs a role's named background jobs periodically, each only while this node holds the
// job's lease (job_leases.h): two nodes never run one job at once, a run that takes long
// keeps its lease renewed, and a node that crashed mid-run lets its lease lapse so that
// another node picks the job up. Job bodies must still be idempotent: a lease can lapse
// under a node that stalls longer than the lease.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::jobs {

struct JobSpec {
  std::string name;                                            // unique per role database; the lease's key
  std::chrono::milliseconds interval;                          // pause between this node's attempts
  std::function<Status()> body;                                // one idempotent pass (a `RunOnce` function)
  std::chrono::milliseconds lease = std::chrono::seconds(60);  // renewed every lease/3 while running
};

enum class RunOutcome {
  kSucceeded,   // held the lease and the body returned ok
  kFailed,      // held the lease and the body failed (recorded as last_error)
  kBusy,        // another node holds the lease: not run
  kLeaseError,  // the lease could not be read or written: not run
};

class JobRunner {
 public:
  // `db` and `clock` must outlive the runner. `role` labels metrics ("host", "provider");
  // `node_id` names this runner as a lease holder (a fresh id by default).
  JobRunner(storage::Db& db, const Clock& clock, std::string role, std::string node_id = "");
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Before Start only.
  void Add(JobSpec spec);
  // One thread per job (first attempt after one interval) and one renewing leases.
  void Start();
  // Lets runs in progress finish (releasing their leases), then joins. Idempotent.
  void Stop();

  // One attempt of job `name` on the calling thread, as the job's thread makes it. Safe
  // to call while the runner's threads run; for tests and one-shot commands.
  RunOutcome RunOnce(const std::string& name);
  // Renews now the lease of every job this runner is running. For tests with a manual
  // clock (the renewer thread does this every lease/3).
  void RenewNowForTest();

  const std::string& node_id() const { return node_id_; }
  const std::string& role() const { return role_; }
  std::vector<std::string> JobNames() const;

  // Prometheus lines for this runner's jobs (without # HELP/# TYPE; see AppendJobMetrics).
  void AppendMetricSamples(std::string& out) const;

 private:
  struct Job {
    JobSpec spec;
    std::atomic<bool> claimed{false};  // a caller on this runner is attempting or running it
    std::atomic<bool> running{false};  // the lease is held and the body runs
    std::atomic<uint64_t> succeeded{0}, failed{0}, busy{0}, lease_errors{0};
    std::atomic<int64_t> last_success_ms{0};
  };
  Job* Find(const std::string& name);
  void Loop(Job& job);
  void RenewLoop();
  void RenewRunning();

  storage::Db& db_;
  const Clock& clock_;
  const std::string role_;
  const std::string node_id_;
  std::vector<std::unique_ptr<Job>> jobs_;  // fixed once started

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                 // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;  // started by Start, joined by Stop
};

// Writes the # HELP/# TYPE headers and the samples of every runner, for one /metrics
// collector per process (both roles' runners in one exposition).
void AppendJobMetrics(std::string& out, const std::vector<const JobRunner*>& runners);

}  // namespace hutong::jobs
