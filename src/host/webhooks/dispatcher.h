// Delivers outbox events to apps' notify URLs: signed, at least once, with exponential
// backoff and jitter, every attempt logged. Events are claimed with a lease, so several
// nodes can run dispatchers against one database without posting an event twice at once,
// and an event claimed by a node that crashed is picked up again when its lease lapses.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/secret_box.h"
#include "storage/db.h"

namespace hutong::host {

struct DispatcherOptions {
  int64_t poll_interval_ms = 200;
  int64_t lease_ms = 60'000;      // longer than one batch of posts can take
  int batch_size = 16;
  int64_t request_timeout_ms = 10'000;
};

class WebhookDispatcher {
 public:
  // `db`, `box` and `clock` must outlive the dispatcher.
  WebhookDispatcher(storage::Db& db, const SecretBox& box, const Clock& clock, DispatcherOptions options = {});
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Starts the background thread. Call once.
  void Start();
  // Asks the thread to finish its current post and stop; joins it. Idempotent.
  void Stop();
  // Wakes the thread now (e.g. right after an event was committed).
  void Notify();

  // Claims and delivers the events due now, on the calling thread. Returns how many were
  // attempted. For tests (with a manual clock) and for the thread's loop.
  int RunOnce();

 private:
  void Loop();

  storage::Db& db_;
  const SecretBox& box_;
  const Clock& clock_;
  const DispatcherOptions options_;
  const std::string node_id_;  // this dispatcher's lease owner name

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;    // GUARDED_BY(mu_)
  bool notified_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;   // started by Start, joined by Stop
};

}  // namespace hutong::host
