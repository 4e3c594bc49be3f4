// Delivers outbox events to apps' notify URLs: signed, at least once, with exponential
// backoff and jitter, every attempt logged. Events are claimed with a lease, so several
// nodes can run dispatchers against one database without posting an event twice at once,
// and an event claimed by a node that crashed is picked up again when its lease lapses.
//
// A claimed batch is posted concurrently (DispatcherOptions::concurrency posts in flight,
// over the keep-alive connections of http::Fetch), except that events about one pay order
// (data.pay_order_id: payment.succeeded, then refund.succeeded) are posted one after the
// other in the order they were created, and when one of them fails the later ones wait
// (unattempted) until it is retried. The batch's bookkeeping (attempt rows, delivered or
// rescheduled) is one transaction, and the batch's lease is renewed while it is posted.
//
// To a receiver whose answers advertise batched delivery (Hutong-Webhook-Batch), the events
// of a claimed batch that have no other event of their pay order in it go in one POST
// (up to the advertised number, or max_events_per_post); each event still gets its own
// attempt row and outcome from the receiver's per-event results. A receiver that answers a
// batch with anything but a 2xx is sent single events from then on (those of that POST at
// once), until an answer advertises batches again.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/secret_box.h"
#include "storage/db.h"

namespace hutong::host {

struct DispatcherOptions {
  int64_t poll_interval_ms = 200;
  int64_t lease_ms = 60'000;  // renewed every third of it while a batch is being posted
  int batch_size = 64;
  int concurrency = 32;  // posts in flight at once (threads of the dispatcher)
  int64_t request_timeout_ms = 10'000;
  // Events per POST to a receiver that advertised batched delivery (protocol/webhook_batch.h);
  // 1 posts every event alone. A full claimed batch (64) goes as four POSTs at once: on
  // PostgreSQL each is a transaction of its own on its own connection, and one of 64 events
  // (about 250 statements, one round trip each) left vouchers trailing the payments.
  int max_events_per_post = 16;
};

class WebhookDispatcher {
 public:
  // `db`, `box` and `clock` must outlive the dispatcher.
  WebhookDispatcher(storage::Db& db, const SecretBox& box, const Clock& clock,
                    DispatcherOptions options = {});
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Starts the background thread. Call once.
  void Start();
  // Asks the thread to finish its current post and stop; joins it. Idempotent.
  void Stop();
  // Wakes the thread now (e.g. right after an event was committed).
  void Notify();

  // Claims and delivers the events due now; the calling thread waits for the batch's
  // posts (made by the dispatcher's posting threads) and renews its lease meanwhile.
  // Returns how many events were claimed. For tests (with a manual clock) and for the
  // thread's loop; one call at a time per dispatcher.
  int RunOnce();

 private:
  void Loop();
  // Runs `body` on `workers` posting threads at once (starting them the first time) and
  // returns when all are done, calling `tick` every `period` meanwhile.
  void RunOnPosters(int workers, const std::function<void()>& body, const std::function<void()>& tick,
                    std::chrono::milliseconds period);
  void PosterLoop(int index);

  storage::Db& db_;
  const SecretBox& box_;
  const Clock& clock_;
  const DispatcherOptions options_;
  const std::string node_id_;  // this dispatcher's lease owner name

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;      // GUARDED_BY(mu_)
  bool notified_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;     // started by Start, joined by Stop

  // App id → events per POST its receiver's last answer advertised (absent: single events).
  std::mutex batch_mu_;
  std::map<std::string, int> batch_limit_;  // GUARDED_BY(batch_mu_)

  // The posting threads, started by the first RunOnPosters, joined by the destructor.
  std::mutex posters_mu_;
  std::condition_variable posters_wake_, posters_done_;
  std::vector<std::thread> posters_;             // touched by RunOnce's thread only
  uint64_t generation_ = 0;                      // GUARDED_BY(posters_mu_): one per batch
  int active_ = 0;                               // GUARDED_BY(posters_mu_): posters taking part
  int running_ = 0;                              // GUARDED_BY(posters_mu_): not finished yet
  const std::function<void()>* body_ = nullptr;  // GUARDED_BY(posters_mu_)
  bool posters_stop_ = false;                    // GUARDED_BY(posters_mu_)
};

}  // namespace hutong::host
