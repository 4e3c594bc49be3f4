// Webhook delivery from the durable outbox: signed, retried with backoff while the
// receiver is down, every event delivered once it is back and processed once, attempts
// logged, replayable, and never posted twice at once by two dispatchers; a batch posted
// concurrently, each pay order's events in order, one event's failure leaving the others
// alone, and a slow batch's lease renewed.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "app/master_key.h"
#include "common/clock.h"
#include "host/host.h"
#include "host/openplatform/apps.h"
#include "host/webhooks/dispatcher.h"
#include "host/webhooks/outbox.h"
#include "http/server.h"
#include "protocol/webhook_signature.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

// A webhook receiver on loopback: verifies signatures, can be "down" (503), and counts
// what it saw and what it processed (deduplicated by event id).
class Receiver {
 public:
  // Verifies timestamps against `clock`: the dispatcher's, which tests move by hand.
  // `workers`: requests it can hold at once.
  Receiver(std::string secret, const Clock& clock, size_t workers = 2)
      : secret_(std::move(secret)), clock_(clock), runtime_(1, workers) {
    router_.Post("/hook", [this](http::Request& req) -> Result<http::Response> {
      std::unique_lock lock(mu_);
      ++received_;
      ++in_flight_;
      max_in_flight_ = std::max(max_in_flight_, in_flight_);
      changed_.notify_all();
      struct Leave {
        Receiver* r;
        ~Leave() {
          --r->in_flight_;
          r->changed_.notify_all();
        }
      } leave{this};  // runs with mu_ held: declared after `lock`
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      // Waits (without the lock) until `overlap_` requests were in flight at once, or
      // for 2 s once; a serial sender never gets there.
      if (overlap_ > 0 && !overlap_gave_up_ &&
          !changed_.wait_for(lock, std::chrono::seconds(2), [this] { return max_in_flight_ >= overlap_; })) {
        overlap_gave_up_ = true;
      }
      changed_.wait(lock, [this] { return !hold_; });
      if (down_) return http::Response::Text(503, "down");
      auto sig = req.Header("hutong-signature");
      if (!sig || !protocol::VerifyWebhook(*sig, req.body, {secret_}, clock_).ok()) {
        ++bad_signatures_;
        return http::Response::Text(401, "bad signature");
      }
      auto v = json::parse(req.body);
      if (v.as_object().contains("events")) {
        // A batched delivery (protocol/webhook_batch.h): one result per event.
        ++batches_;
        if (refuse_batches_) return http::Response::Text(400, "no batches here");
        json::array results;
        for (const auto& e : v.at("events").as_array()) {
          const json::object& ev = e.as_object();
          const std::string id(ev.at("id").as_string());
          const auto& data = ev.at("data").as_object();
          const std::string order =
              data.contains("pay_order_id") ? std::string(data.at("pay_order_id").as_string()) : "";
          ++batched_events_;
          if (fail_if_ && fail_if_(ev)) {
            results.push_back(json::object{{"event_id", id}, {"status", "failed"}, {"detail", "refused"}});
            continue;
          }
          const bool fresh = processed_.insert(id).second;
          if (fresh) {
            ++processed_count_;
            processed_log_.emplace_back(std::string(ev.at("type").as_string()), order);
          }
          // An event the answer leaves out counts as failed at the host.
          if (omit_ != id)
            results.push_back(json::object{{"event_id", id}, {"status", fresh ? "processed" : "duplicate"}});
        }
        auto r = http::Response::Json(200, json::object{{"results", std::move(results)}});
        if (batch_limit_ > 0) r.headers.emplace_back("Hutong-Webhook-Batch", std::to_string(batch_limit_));
        return r;
      }
      std::string id(v.at("id").as_string());
      const std::string type(v.at("type").as_string());
      const auto& data = v.at("data").as_object();
      const std::string order =
          data.contains("pay_order_id") ? std::string(data.at("pay_order_id").as_string()) : "";
      if (type == "payment.succeeded" && hold_payments_) {
        // A payment waits for its order's refund (300 ms at most): a sender posting the
        // two at once lets the refund be processed first.
        changed_.wait_for(lock, std::chrono::milliseconds(300),
                          [&] { return refunds_arrived_.count(order) > 0; });
      }
      if (type == "refund.succeeded") {
        refunds_arrived_.insert(order);
        changed_.notify_all();
      }
      if (fail_if_ && fail_if_(v.as_object())) return http::Response::Text(503, "refused");
      if (processed_.insert(id).second) {
        ++processed_count_;
        processed_log_.emplace_back(type, order);
      }
      auto r = http::Response::Text(200, "ok");
      if (batch_limit_ > 0) r.headers.emplace_back("Hutong-Webhook-Batch", std::to_string(batch_limit_));
      return r;
    });
    http::ServerOptions o;
    o.role = "receiver";
    o.access_log = false;
    server_ = std::make_unique<http::Server>(runtime_, router_, metrics_, o);
    EXPECT_TRUE(server_->Listen().ok());
    runtime_.Start();
  }
  ~Receiver() { runtime_.Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  void SetDown(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }
  void SetDelay(int ms) {
    std::lock_guard lock(mu_);
    delay_ms_ = ms;
  }
  int received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int processed() {
    std::lock_guard lock(mu_);
    return processed_count_;
  }
  int bad_signatures() {
    std::lock_guard lock(mu_);
    return bad_signatures_;
  }
  // Requests wait until `n` were in flight at once (see the handler).
  void WaitForOverlap(int n) {
    std::lock_guard lock(mu_);
    overlap_ = n;
  }
  int max_in_flight() {
    std::lock_guard lock(mu_);
    return max_in_flight_;
  }
  // Holds every request until Release.
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    changed_.notify_all();
  }
  // Waits until a request is being held (or 5 s).
  bool WaitForHeldRequest() {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [this] { return in_flight_ > 0; });
  }
  void HoldPaymentsUntilTheirRefund() {
    std::lock_guard lock(mu_);
    hold_payments_ = true;
  }
  // Answers 503 to the events `fail` picks.
  void FailIf(std::function<bool(const json::object&)> fail) {
    std::lock_guard lock(mu_);
    fail_if_ = std::move(fail);
  }
  // Its 2xx answers advertise batches of up to `n` events (0: never).
  void AdvertiseBatches(int n) {
    std::lock_guard lock(mu_);
    batch_limit_ = n;
  }
  // Answers batches with 400 (a receiver that stopped taking them).
  void RefuseBatches() {
    std::lock_guard lock(mu_);
    refuse_batches_ = true;
  }
  // Leaves the event out of its batch answers.
  void OmitFromAnswers(std::string id) {
    std::lock_guard lock(mu_);
    omit_ = std::move(id);
  }
  int batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  int batched_events() {
    std::lock_guard lock(mu_);
    return batched_events_;
  }
  // (type, pay_order_id) of each event processed, in processing order.
  std::vector<std::pair<std::string, std::string>> processed_log() {
    std::lock_guard lock(mu_);
    return processed_log_;
  }

 private:
  std::string secret_;
  std::mutex mu_;
  bool down_ = false;                                 // GUARDED_BY(mu_)
  int delay_ms_ = 0;                                  // GUARDED_BY(mu_)
  int received_ = 0;                                  // GUARDED_BY(mu_)
  int bad_signatures_ = 0;                            // GUARDED_BY(mu_)
  int processed_count_ = 0;                           // GUARDED_BY(mu_)
  std::set<std::string> processed_;                   // GUARDED_BY(mu_)
  std::condition_variable changed_;                   // in_flight_, hold_ or refunds_arrived_ changed
  int in_flight_ = 0;                                 // GUARDED_BY(mu_)
  int max_in_flight_ = 0;                             // GUARDED_BY(mu_)
  int overlap_ = 0;                                   // GUARDED_BY(mu_)
  bool overlap_gave_up_ = false;                      // GUARDED_BY(mu_)
  bool hold_ = false;                                 // GUARDED_BY(mu_)
  bool hold_payments_ = false;                        // GUARDED_BY(mu_)
  std::set<std::string> refunds_arrived_;             // GUARDED_BY(mu_)
  std::function<bool(const json::object&)> fail_if_;  // GUARDED_BY(mu_)
  int batch_limit_ = 0;                               // GUARDED_BY(mu_)
  bool refuse_batches_ = false;                       // GUARDED_BY(mu_)
  std::string omit_;                                  // GUARDED_BY(mu_)
  int batches_ = 0;                                   // GUARDED_BY(mu_): batch POSTs received
  int batched_events_ = 0;                            // GUARDED_BY(mu_)
  std::vector<std::pair<std::string, std::string>> processed_log_;  // GUARDED_BY(mu_)
  const Clock& clock_;
  http::Runtime runtime_;
  http::Router router_;
  http::Metrics metrics_;
  std::unique_ptr<http::Server> server_;
};

class WebhookDeliveryTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<FreshDatabases>(GetParam());
    storage::DbOptions o;
    o.default_schema = "host";
    db_ = storage::OpenDb(dbs_->host_db(), o).value();
    ASSERT_TRUE(storage::Migrate(*db_, host::HostMigrations()).ok());
    box_.emplace(SecretBox::FromHex(SecretBox::NewHexKey()).value());
  }

  // Registers an app whose notify_url is `url`; returns (app_id, secret).
  host::AppCredentials App(const std::string& url) {
    return db_
        ->Write([&](storage::Tx& tx) {
          return host::CreateApp(tx, {"receiver", "http://127.0.0.1:9", url}, *box_, clock_.NowMs());
        })
        .value();
  }
  std::vector<std::string> Enqueue(const std::string& app_id, int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(
          db_->Write([&](storage::Tx& tx) {
               return host::EnqueueEvent(tx, app_id, "app.test", json::object{{"n", i}}, clock_.NowMs());
             })
              .value());
    }
    return ids;
  }
  // An app whose notify_url is `receiver`'s, made for its secret.
  std::pair<host::AppCredentials, std::unique_ptr<Receiver>> AppWithReceiver(size_t workers) {
    auto app = App("http://127.0.0.1:9/hook");
    auto receiver = std::make_unique<Receiver>(app.app_secret, clock_, workers);
    static constexpr storage::Query kSetUrl{"test.set_notify3", storage::Access::kWrite,
                                            "UPDATE apps SET notify_url = $2 WHERE id = $1"};
    EXPECT_TRUE(db_->Write([&](storage::Tx& tx) {
                     return tx.Exec(kSetUrl, {app.app_id, receiver->url()});
                   })
                    .ok());
    return {app, std::move(receiver)};
  }
  std::string EnqueueAbout(const std::string& app_id, const std::string& type,
                           const std::string& pay_order_id) {
    return db_
        ->Write([&](storage::Tx& tx) {
          return host::EnqueueEvent(tx, app_id, type, json::object{{"pay_order_id", pay_order_id}},
                                    clock_.NowMs());
        })
        .value();
  }
  host::EventDelivery Delivery(const std::string& app_id, const std::string& id) {
    return host::GetDelivery(*db_, app_id, id).value();
  }

  std::unique_ptr<FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  std::optional<SecretBox> box_;
  ManualClockForTest clock_{SystemClock::Instance().NowMs()};
};

TEST_P(WebhookDeliveryTest, ReceiverDownThenBackGetsEveryEventOnce) {
  // The receiver needs the app's secret and the app needs the receiver's URL: create the
  // app first, then point it at the receiver.
  host::AppCredentials app;
  std::unique_ptr<Receiver> receiver;
  {
    app = App("http://127.0.0.1:9/hook");
    receiver = std::make_unique<Receiver>(app.app_secret, clock_);
    static constexpr storage::Query kSetUrl{"test.set_notify", storage::Access::kWrite,
                                            "UPDATE apps SET notify_url = $2 WHERE id = $1"};
    ASSERT_TRUE(db_->Write([&](storage::Tx& tx) {
                     return tx.Exec(kSetUrl, {app.app_id, receiver->url()});
                   })
                    .ok());
  }
  auto ids = Enqueue(app.app_id, 5);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_);

  receiver->SetDown(true);
  EXPECT_EQ(dispatcher.RunOnce(), 5);
  EXPECT_EQ(receiver->received(), 5);
  EXPECT_EQ(receiver->processed(), 0);
  for (const auto& id : ids) {
    auto d = Delivery(app.app_id, id);
    EXPECT_EQ(d.status, "pending");
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.last_error, "HTTP 503");
    EXPECT_GE(d.next_attempt_at, clock_.NowMs() + 8'000);  // 10 s − 20% jitter
  }
  // Not due yet: nothing is attempted.
  clock_.Advance(5'000);
  EXPECT_EQ(dispatcher.RunOnce(), 0);
  // Still down at the second attempt; the delay grows.
  clock_.Advance(8'000);
  EXPECT_EQ(dispatcher.RunOnce(), 5);
  for (const auto& id : ids) EXPECT_GE(Delivery(app.app_id, id).next_attempt_at, clock_.NowMs() + 24'000);

  receiver->SetDown(false);
  clock_.Advance(40'000);
  EXPECT_EQ(dispatcher.RunOnce(), 5);
  EXPECT_EQ(receiver->processed(), 5);
  EXPECT_EQ(receiver->bad_signatures(), 0);
  for (const auto& id : ids) {
    auto d = Delivery(app.app_id, id);
    EXPECT_EQ(d.status, "delivered");
    ASSERT_EQ(d.log.size(), 3u);
    EXPECT_EQ(d.log[0].status_code, 503);
    EXPECT_EQ(d.log[2].status_code, 200);
  }
  // Delivered events are not sent again.
  clock_.Advance(3'600'000);
  EXPECT_EQ(dispatcher.RunOnce(), 0);

  // A replay sends the same event id again; the receiver's dedup keeps it processed once.
  ASSERT_TRUE(host::ReplayDelivery(*db_, app.app_id, ids[0], clock_.NowMs()).ok());
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  EXPECT_EQ(receiver->processed(), 5);
  EXPECT_EQ(receiver->received(), 16);
  auto replayed = Delivery(app.app_id, ids[0]);
  EXPECT_EQ(replayed.status, "delivered");
  EXPECT_TRUE(replayed.log.back().replay);
}

TEST_P(WebhookDeliveryTest, GivesUpAfterThreeDaysAndCanBeReplayed) {
  auto app = App("http://127.0.0.1:1/nobody-listens");
  auto ids = Enqueue(app.app_id, 1);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.request_timeout_ms = 2000});
  int attempts = 0;
  for (int i = 0; i < 60; ++i) {
    attempts += dispatcher.RunOnce();
    auto d = Delivery(app.app_id, ids[0]);
    if (d.status == "failed") break;
    clock_.Set(d.next_attempt_at);
  }
  auto d = Delivery(app.app_id, ids[0]);
  EXPECT_EQ(d.status, "failed");
  EXPECT_GE(clock_.NowMs() - d.created_at, 24LL * 3600 * 1000) << "retried for less than 24 h";
  EXPECT_EQ(static_cast<int>(d.log.size()), attempts);
  EXPECT_GE(attempts, 10);
  ASSERT_TRUE(host::ReplayDelivery(*db_, app.app_id, ids[0], clock_.NowMs()).ok());
  EXPECT_EQ(Delivery(app.app_id, ids[0]).status, "pending");
  EXPECT_EQ(dispatcher.RunOnce(), 1);
}

TEST_P(WebhookDeliveryTest, TwoDispatchersNeverPostOneEventTwice) {
  auto app = App("http://127.0.0.1:9/hook");
  Receiver receiver(app.app_secret, clock_);
  static constexpr storage::Query kSetUrl{"test.set_notify2", storage::Access::kWrite,
                                          "UPDATE apps SET notify_url = $2 WHERE id = $1"};
  ASSERT_TRUE(db_->Write([&](storage::Tx& tx) {
                   return tx.Exec(kSetUrl, {app.app_id, receiver.url()});
                 })
                  .ok());
  Enqueue(app.app_id, 20);
  receiver.SetDelay(20);
  host::WebhookDispatcher a(*db_, *box_, clock_, {.batch_size = 4});
  host::WebhookDispatcher b(*db_, *box_, clock_, {.batch_size = 4});
  std::atomic<int> total{0};
  auto run = [&](host::WebhookDispatcher& d) {
    for (int i = 0; i < 10; ++i) total += d.RunOnce();
  };
  std::thread ta([&] { run(a); });
  std::thread tb([&] { run(b); });
  ta.join();
  tb.join();
  EXPECT_EQ(total.load(), 20);
  EXPECT_EQ(receiver.received(), 20);
  EXPECT_EQ(receiver.processed(), 20);
}

TEST_P(WebhookDeliveryTest, ABatchIsPostedConcurrently) {
  auto [app, receiver] = AppWithReceiver(8);
  auto ids = Enqueue(app.app_id, 24);
  receiver->WaitForOverlap(4);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.batch_size = 64, .concurrency = 8});
  EXPECT_EQ(dispatcher.RunOnce(), 24);
  EXPECT_GE(receiver->max_in_flight(), 4) << "the posts never overlapped at the receiver";
  EXPECT_EQ(receiver->processed(), 24);
  for (const auto& id : ids) EXPECT_EQ(Delivery(app.app_id, id).status, "delivered");
}

TEST_P(WebhookDeliveryTest, EventsOfOnePayOrderArriveInTheOrderTheyWereCreated) {
  auto [app, receiver] = AppWithReceiver(16);
  receiver->HoldPaymentsUntilTheirRefund();
  std::vector<std::string> orders;
  for (int i = 0; i < 6; ++i) orders.push_back("pay_" + std::to_string(i));
  for (const auto& o : orders) EnqueueAbout(app.app_id, "payment.succeeded", o);
  for (const auto& o : orders) EnqueueAbout(app.app_id, "refund.succeeded", o);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 16});
  EXPECT_EQ(dispatcher.RunOnce(), 12);
  const auto log = receiver->processed_log();
  ASSERT_EQ(log.size(), 12u);
  for (const auto& o : orders) {
    const auto payment =
        std::find(log.begin(), log.end(), std::make_pair(std::string("payment.succeeded"), o));
    const auto refund = std::find(log.begin(), log.end(), std::make_pair(std::string("refund.succeeded"), o));
    EXPECT_LT(payment, refund) << o << ": refund processed before its payment";
  }
  // Different orders still went out together.
  EXPECT_GE(receiver->max_in_flight(), 2);
}

TEST_P(WebhookDeliveryTest, OneFailingEventLeavesTheOthersAloneAndHoldsBackItsOrderOnly) {
  auto [app, receiver] = AppWithReceiver(8);
  receiver->FailIf([](const json::object& ev) {
    return ev.at("type").as_string() == "payment.succeeded" &&
           ev.at("data").as_object().at("pay_order_id").as_string() == "pay_a";
  });
  auto others = Enqueue(app.app_id, 6);
  const std::string pay_a = EnqueueAbout(app.app_id, "payment.succeeded", "pay_a");
  const std::string pay_b = EnqueueAbout(app.app_id, "payment.succeeded", "pay_b");
  const std::string refund_a = EnqueueAbout(app.app_id, "refund.succeeded", "pay_a");
  const std::string refund_b = EnqueueAbout(app.app_id, "refund.succeeded", "pay_b");
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 8});
  EXPECT_EQ(dispatcher.RunOnce(), 10);
  for (const auto& id : others) EXPECT_EQ(Delivery(app.app_id, id).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, pay_b).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, refund_b).status, "delivered");
  const auto failed = Delivery(app.app_id, pay_a);
  EXPECT_EQ(failed.status, "pending");
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_EQ(failed.last_error, "HTTP 503");
  // The refund of that order was not posted; it waits until just after the payment's retry.
  const auto waiting = Delivery(app.app_id, refund_a);
  EXPECT_EQ(waiting.status, "pending");
  EXPECT_EQ(waiting.attempts, 0);
  EXPECT_TRUE(waiting.log.empty());
  EXPECT_GT(waiting.next_attempt_at, failed.next_attempt_at);
  EXPECT_EQ(receiver->received(), 9);

  receiver->FailIf(nullptr);
  clock_.Set(waiting.next_attempt_at);
  EXPECT_EQ(dispatcher.RunOnce(), 2);
  EXPECT_EQ(Delivery(app.app_id, pay_a).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, refund_a).status, "delivered");
  const auto log = receiver->processed_log();
  ASSERT_EQ(log.size(), 10u);
  EXPECT_EQ(log[8], std::make_pair(std::string("payment.succeeded"), std::string("pay_a")));
  EXPECT_EQ(log[9], std::make_pair(std::string("refund.succeeded"), std::string("pay_a")));
}

TEST_P(WebhookDeliveryTest, ASlowBatchKeepsItsLeaseAndIsNotPostedTwice) {
  auto [app, receiver] = AppWithReceiver(2);
  auto ids = Enqueue(app.app_id, 1);
  // Lease of 300 ms on the (manual) clock, renewed every 100 ms of real time.
  host::WebhookDispatcher slow(*db_, *box_, clock_, {.lease_ms = 300});
  host::WebhookDispatcher other(*db_, *box_, clock_, {.lease_ms = 300});
  static constexpr storage::Query kLease{"test.lease_until", storage::Access::kRead,
                                         "SELECT lease_until FROM webhook_events WHERE id = $1"};
  const auto lease_until = [&] {
    return db_->Read([&](storage::Tx& tx) { return tx.Exec(kLease, {ids[0]}); })
        .value()
        .rows.at(0)
        .OptInt(0)
        .value_or(0);
  };
  receiver->Hold();
  std::thread posting([&] { EXPECT_EQ(slow.RunOnce(), 1); });
  ASSERT_TRUE(receiver->WaitForHeldRequest());
  const int64_t first_lease = lease_until();
  clock_.Advance(250);  // inside the first lease
  bool renewed = false;
  for (int i = 0; i < 500 && !renewed; ++i) {
    renewed = lease_until() >= clock_.NowMs() + 300;
    if (!renewed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(renewed) << "the lease was not renewed while the post was in flight";
  clock_.Advance(250);  // past the first lease, inside the renewed one
  EXPECT_GT(clock_.NowMs(), first_lease);
  EXPECT_EQ(other.RunOnce(), 0) << "another dispatcher claimed an event still being posted";
  receiver->Release();
  posting.join();
  EXPECT_EQ(receiver->received(), 1);
  EXPECT_EQ(Delivery(app.app_id, ids[0]).status, "delivered");
}

// Batched delivery (protocol/webhook_batch.h): only to a receiver that advertised it.
TEST_P(WebhookDeliveryTest, LoneEventsGoInOnePostOnceTheReceiverAdvertisesBatches) {
  auto [app, receiver] = AppWithReceiver(8);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 8, .max_events_per_post = 8});
  // A receiver that never advertised gets single events only.
  auto first = Enqueue(app.app_id, 3);
  EXPECT_EQ(dispatcher.RunOnce(), 3);
  EXPECT_EQ(receiver->batches(), 0);
  EXPECT_EQ(receiver->received(), 3);
  receiver->AdvertiseBatches(64);
  auto learnt = Enqueue(app.app_id, 1);  // its answer advertises
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  EXPECT_EQ(receiver->batches(), 0);
  auto ids = Enqueue(app.app_id, 20);
  EXPECT_EQ(dispatcher.RunOnce(), 20);
  // 8 per POST (the dispatcher's bound is below the receiver's 64): 8 + 8 + 4.
  EXPECT_EQ(receiver->batches(), 3);
  EXPECT_EQ(receiver->batched_events(), 20);
  EXPECT_EQ(receiver->received(), 4 + 3);
  EXPECT_EQ(receiver->processed(), 24);
  EXPECT_EQ(receiver->bad_signatures(), 0);
  for (const auto& id : ids) {
    const auto d = Delivery(app.app_id, id);
    EXPECT_EQ(d.status, "delivered");
    ASSERT_EQ(d.log.size(), 1u);
    EXPECT_EQ(d.log[0].status_code, 200);
  }
}

TEST_P(WebhookDeliveryTest, AnEventFailedInABatchIsRetriedAndTheOthersAreDeliveredOnce) {
  auto [app, receiver] = AppWithReceiver(4);
  receiver->AdvertiseBatches(64);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 4});
  Enqueue(app.app_id, 1);
  EXPECT_EQ(dispatcher.RunOnce(), 1);  // learns that batches are taken
  receiver->FailIf([](const json::object& ev) {
    return ev.at("data").as_object().contains("pay_order_id") &&
           ev.at("data").as_object().at("pay_order_id").as_string() == "pay_x";
  });
  auto before = Enqueue(app.app_id, 5);
  const std::string failing = EnqueueAbout(app.app_id, "payment.succeeded", "pay_x");
  auto after = Enqueue(app.app_id, 5);
  const std::string omitted = Enqueue(app.app_id, 1)[0];
  receiver->OmitFromAnswers(omitted);
  EXPECT_EQ(dispatcher.RunOnce(), 12);
  EXPECT_EQ(receiver->batches(), 1);
  for (const auto& id : before) EXPECT_EQ(Delivery(app.app_id, id).status, "delivered");
  for (const auto& id : after) EXPECT_EQ(Delivery(app.app_id, id).status, "delivered");
  const auto failed = Delivery(app.app_id, failing);
  EXPECT_EQ(failed.status, "pending");
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_EQ(failed.last_error, "receiver: refused");
  EXPECT_GT(failed.next_attempt_at, clock_.NowMs());
  // An event the answer says nothing about is not taken as delivered.
  const auto unanswered = Delivery(app.app_id, omitted);
  EXPECT_EQ(unanswered.status, "pending");
  EXPECT_EQ(unanswered.attempts, 1);

  // The retry: both go again (together), the others are not posted again.
  receiver->FailIf(nullptr);
  receiver->OmitFromAnswers("");
  clock_.Set(std::max(failed.next_attempt_at, unanswered.next_attempt_at));
  EXPECT_EQ(dispatcher.RunOnce(), 2);
  EXPECT_EQ(Delivery(app.app_id, failing).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, omitted).status, "delivered");
  EXPECT_EQ(receiver->batched_events(), 12 + 2);
  EXPECT_EQ(receiver->processed(), 13);  // the omitted one was processed the first time: a duplicate now
  EXPECT_EQ(dispatcher.RunOnce(), 0);
}

TEST_P(WebhookDeliveryTest, EventsOfOnePayOrderAreNeverBatchedAndKeepTheirOrder) {
  auto [app, receiver] = AppWithReceiver(16);
  receiver->AdvertiseBatches(64);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 16});
  Enqueue(app.app_id, 1);
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  receiver->HoldPaymentsUntilTheirRefund();
  // A refund created before the payment's retry would be out of order: one pay order's
  // events go one after the other, failing first ones holding back the rest.
  receiver->FailIf([](const json::object& ev) {
    return ev.at("type").as_string() == "payment.succeeded" &&
           ev.at("data").as_object().at("pay_order_id").as_string() == "pay_a";
  });
  const std::string pay_a = EnqueueAbout(app.app_id, "payment.succeeded", "pay_a");
  const std::string lone_b = EnqueueAbout(app.app_id, "payment.succeeded", "pay_b");
  const std::string lone_c = EnqueueAbout(app.app_id, "payment.succeeded", "pay_c");
  const std::string refund_a = EnqueueAbout(app.app_id, "refund.succeeded", "pay_a");
  EXPECT_EQ(dispatcher.RunOnce(), 4);
  EXPECT_EQ(receiver->batches(), 1);
  EXPECT_EQ(receiver->batched_events(), 2);  // pay_b and pay_c
  EXPECT_EQ(Delivery(app.app_id, lone_b).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, lone_c).status, "delivered");
  EXPECT_EQ(Delivery(app.app_id, pay_a).attempts, 1);
  const auto waiting = Delivery(app.app_id, refund_a);
  EXPECT_EQ(waiting.attempts, 0) << "the refund overtook its failed payment";
  receiver->FailIf(nullptr);
  clock_.Set(waiting.next_attempt_at);
  EXPECT_EQ(dispatcher.RunOnce(), 2);
  const auto log = receiver->processed_log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[3], std::make_pair(std::string("payment.succeeded"), std::string("pay_a")));
  EXPECT_EQ(log[4], std::make_pair(std::string("refund.succeeded"), std::string("pay_a")));
}

TEST_P(WebhookDeliveryTest, AReceiverThatRefusesABatchGetsItsEventsOneByOne) {
  auto [app, receiver] = AppWithReceiver(4);
  receiver->AdvertiseBatches(64);
  host::WebhookDispatcher dispatcher(*db_, *box_, clock_, {.concurrency = 4});
  Enqueue(app.app_id, 1);
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  // Replaced by a receiver that knows nothing of batches (it still sent the header before).
  receiver->RefuseBatches();
  receiver->AdvertiseBatches(0);
  auto ids = Enqueue(app.app_id, 6);
  EXPECT_EQ(dispatcher.RunOnce(), 6);
  EXPECT_EQ(receiver->batches(), 1);
  for (const auto& id : ids) {
    const auto d = Delivery(app.app_id, id);
    EXPECT_EQ(d.status, "delivered");
    EXPECT_EQ(d.log.size(), 1u);  // the refused batch is no attempt of theirs
  }
  EXPECT_EQ(receiver->processed(), 7);
  auto more = Enqueue(app.app_id, 3);
  EXPECT_EQ(dispatcher.RunOnce(), 3);
  EXPECT_EQ(receiver->batches(), 1) << "batches sent again without a new advertisement";
  EXPECT_EQ(receiver->processed(), 10);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookDeliveryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

// End to end in one node: the host's own dispatcher delivers a test event to the
// provider's receiver, which records it; a replay is acknowledged as a duplicate.
class WebhookEndToEndTest : public ::testing::TestWithParam<Backend> {};

TEST_P(WebhookEndToEndTest, HostDeliversToTheLocalProvider) {
  FreshDatabases dbs(GetParam());
  auto config = TestConfig(dbs);
  TestNode node(config);
  const std::vector<std::pair<std::string, std::string>> admin = {
      {"Authorization", "Bearer " + config.admin_token}};
  auto apps = ParseBody(Get(node.host_url() + "/api/admin/apps", admin)).at("items").as_array();
  ASSERT_EQ(apps.size(), 1u);  // the local provider, registered at start
  const std::string app_id(apps[0].at("app_id").as_string());
  EXPECT_EQ(apps[0].at("notify_url").as_string(), node.provider_url() + "/mp/v1/webhooks/local");

  auto queued = Post(node.host_url() + "/api/admin/apps/" + app_id + "/test-event", "{}", admin);
  ASSERT_EQ(queued.status, 201) << queued.body;
  const std::string event_id(ParseBody(queued).at("event_id").as_string());
  const std::string delivery_url = node.host_url() + "/api/admin/apps/" + app_id + "/deliveries/" + event_id;
  auto wait_delivered = [&](size_t attempts) {
    for (int i = 0; i < 200; ++i) {
      auto d = ParseBody(Get(delivery_url, admin)).as_object();
      if (d.at("status").as_string() == "delivered" && d.at("log").as_array().size() >= attempts) return d;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "not delivered: " << Get(delivery_url, admin).body;
    return json::object();
  };
  auto d = wait_delivered(1);
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.at("log").as_array().at(0).at("status_code").as_int64(), 200);

  auto list = ParseBody(Get(node.host_url() + "/api/admin/apps/" + app_id + "/deliveries", admin));
  EXPECT_EQ(list.at("items").as_array().at(0).at("event_id").as_string(), event_id);

  ASSERT_EQ(Post(delivery_url + "/replay", "", admin).status, 202);
  d = wait_delivered(2);
  ASSERT_EQ(d.at("log").as_array().size(), 2u);
  EXPECT_TRUE(d.at("log").as_array().at(1).at("replay").as_bool());

  ExpectProblem(Get(node.host_url() + "/api/admin/apps/" + app_id + "/deliveries/evt_nope", admin), 404,
                "not_found");
  ExpectProblem(Get(node.host_url() + "/api/admin/apps/" + app_id + "/deliveries"), 401, "unauthorized");
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookEndToEndTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace hutong::testing
