#include "app/periodic_job.h"

#include <exception>

#include "common/log.h"

namespace hutong::app {

PeriodicJob::PeriodicJob(std::string name, std::chrono::milliseconds interval, std::function<void()> run)
    : name_(std::move(name)), interval_(interval), run_(std::move(run)) {}

PeriodicJob::~PeriodicJob() { Stop(); }

void PeriodicJob::Start() {
  thread_ = std::thread([this] {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (wake_.wait_for(lock, interval_, [this] { return stop_; })) return;
      }
      try {
        run_();
      } catch (const std::exception& e) {
        // A job must never take the process down; it runs again next interval.
        LogError("background job failed", {{"job", std::string_view(name_)}, {"what", std::string_view(e.what())}});
      }
    }
  });
}

void PeriodicJob::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace hutong::app
