// A background job run every `interval` on its own thread until stopped. Superseded by
// jobs::JobRunner (src/jobs), which runs a job on one node at a time under a lease: register
// new jobs there. Jobs here must be safe
// to run on several nodes at once (conditional updates or leases), since every node runs
// its own copy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace hutong::app {

class PeriodicJob {
 public:
  PeriodicJob(std::string name, std::chrono::milliseconds interval, std::function<void()> run);
  ~PeriodicJob();
  PeriodicJob(const PeriodicJob&) = delete;
  PeriodicJob& operator=(const PeriodicJob&) = delete;

  void Start();
  // Lets a run in progress finish, then joins. Idempotent.
  void Stop();

 private:
  const std::string name_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> run_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace hutong::app
