#include "jobs/job_runner.h"

#include <algorithm>
#include <exception>

#include "common/ids.h"
#include "common/log.h"
#include "jobs/job_leases.h"

namespace hutong::jobs {

JobRunner::JobRunner(storage::Db& db, const Clock& clock, std::string role, std::string node_id)
    : db_(db),
      clock_(clock),
      role_(std::move(role)),
      node_id_(node_id.empty() ? NewId("node") : std::move(node_id)) {}

JobRunner::~JobRunner() {
  Stop();
}

void JobRunner::Add(JobSpec spec) {
  auto job = std::make_unique<Job>();
  job->spec = std::move(spec);
  jobs_.push_back(std::move(job));
}

void JobRunner::Start() {
  for (auto& job : jobs_) {
    Job* j = job.get();
    threads_.emplace_back([this, j] { Loop(*j); });
  }
  if (!jobs_.empty()) threads_.emplace_back([this] { RenewLoop(); });
}

void JobRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

JobRunner::Job* JobRunner::Find(const std::string& name) {
  for (auto& job : jobs_) {
    if (job->spec.name == name) return job.get();
  }
  return nullptr;
}

std::vector<std::string> JobRunner::JobNames() const {
  std::vector<std::string> names;
  for (const auto& job : jobs_) names.push_back(job->spec.name);
  return names;
}

void JobRunner::Loop(Job& job) {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, job.spec.interval, [this] { return stop_; })) return;
    }
    RunOnce(job.spec.name);
  }
}

RunOutcome JobRunner::RunOnce(const std::string& name) {
  Job* job = Find(name);
  // Names come from our own wiring and tests, never from input.
  if (job == nullptr) return RunOutcome::kLeaseError;
  // One run per job per runner: the lease lets its holder in again, so callers on this
  // node are kept apart here.
  bool idle = false;
  if (!job->claimed.compare_exchange_strong(idle, true)) {
    job->busy.fetch_add(1);
    return RunOutcome::kBusy;
  }
  const int64_t lease_ms = job->spec.lease.count();
  auto taken = TryAcquireLease(db_, name, node_id_, clock_.NowMs(), lease_ms);
  if (!taken.ok() || !*taken) job->claimed.store(false);
  if (!taken.ok()) {
    job->lease_errors.fetch_add(1);
    LogWarn("job lease unavailable",
            {{"job", std::string_view(name)}, {"internal", std::string_view(taken.error().internal)}});
    return RunOutcome::kLeaseError;
  }
  if (!*taken) {
    job->busy.fetch_add(1);
    return RunOutcome::kBusy;
  }

  job->running.store(true);
  std::string error;
  try {
    Status s = job->spec.body();
    if (!s.ok()) error = s.error().detail + (s.error().internal.empty() ? "" : ": " + s.error().internal);
    if (!s.ok() && error.empty()) error = "failed";
  } catch (const std::exception& e) {
    // A job must never take the process down; it runs again next interval.
    error = std::string("exception: ") + e.what();
  }
  job->running.store(false);
  const int64_t finished = clock_.NowMs();
  auto released = ReleaseLease(db_, name, node_id_, finished, error);
  job->claimed.store(false);
  if (!released.ok() || !*released) {
    // The lease lapsed under us (a stall longer than the lease) or the write failed; the
    // body is idempotent, and the lease expires on its own.
    LogWarn("job lease lost before release", {{"job", std::string_view(name)}});
  }
  if (error.empty()) {
    job->succeeded.fetch_add(1);
    job->last_success_ms.store(finished);
    return RunOutcome::kSucceeded;
  }
  job->failed.fetch_add(1);
  LogWarn("background job failed", {{"job", std::string_view(name)}, {"error", std::string_view(error)}});
  return RunOutcome::kFailed;
}

void JobRunner::RenewRunning() {
  for (auto& job : jobs_) {
    if (!job->running.load()) continue;
    auto ok = RenewLease(db_, job->spec.name, node_id_, clock_.NowMs(), job->spec.lease.count());
    // (A run that ended meanwhile released its lease: nothing to report.)
    if ((!ok.ok() || !*ok) && job->running.load())
      LogWarn("job lease renewal failed", {{"job", std::string_view(job->spec.name)}});
  }
}

void JobRunner::RenewNowForTest() {
  RenewRunning();
}

void JobRunner::RenewLoop() {
  auto period = std::chrono::milliseconds::max();
  for (const auto& job : jobs_) period = std::min(period, job->spec.lease / 3);
  period = std::max(period, std::chrono::milliseconds(10));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_for(lock, period, [this] { return stop_; })) return;
    }
    RenewRunning();
  }
}

void JobRunner::AppendMetricSamples(std::string& out) const {
  for (const auto& job : jobs_) {
    const std::string labels = "{role=\"" + role_ + "\",job=\"" + job->spec.name + "\"";
    auto runs = [&](const char* outcome, uint64_t n) {
      out += "hutong_job_runs_total" + labels + ",outcome=\"" + outcome + "\"} " + std::to_string(n) + "\n";
    };
    runs("succeeded", job->succeeded.load());
    runs("failed", job->failed.load());
    runs("busy", job->busy.load());
    runs("lease_error", job->lease_errors.load());
    out += "hutong_job_running" + labels + "} " + (job->running.load() ? "1" : "0") + "\n";
    const int64_t last = job->last_success_ms.load();
    out += "hutong_job_last_success_seconds" + labels + "} " +
           (last == 0 ? std::string("0")
                      : std::to_string(last / 1000) + "." + std::to_string(last % 1000 / 100)) +
           "\n";
  }
}

void AppendJobMetrics(std::string& out, const std::vector<const JobRunner*>& runners) {
  // Prometheus wants each family's samples together, so one pass per family.
  std::string samples;
  for (const JobRunner* r : runners) r->AppendMetricSamples(samples);
  auto family = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    size_t pos = 0;
    const std::string prefix = std::string(name) + "{";
    while (pos < samples.size()) {
      size_t end = samples.find('\n', pos);
      if (samples.compare(pos, prefix.size(), prefix) == 0) out.append(samples, pos, end - pos + 1);
      pos = end + 1;
    }
  };
  family("hutong_job_runs_total", "counter",
         "Attempts of background jobs on this node by outcome (busy: another node held the lease)");
  family("hutong_job_running", "gauge", "1 while this node runs the job");
  family("hutong_job_last_success_seconds", "gauge",
         "Unix time of this node's last successful run (0: none)");
}

}  // namespace hutong::jobs
