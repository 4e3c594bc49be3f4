#include "host/webhooks/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <optional>
#include <tuple>

#include "common/ids.h"
#include "common/log.h"
#include "common/random.h"
#include "host/webhooks/outbox.h"
#include "http/client.h"
#include "protocol/webhook_batch.h"
#include "protocol/webhook_signature.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

// The lease conditions sit in the outer WHERE too, so that on PostgreSQL a row another
// node claimed meanwhile is re-checked and skipped rather than claimed twice.
constexpr Query kClaim{
    "dispatcher.claim", Access::kWrite,
    "UPDATE webhook_events SET lease_owner = $1, lease_until = $2 "
    "WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3) "
    "AND id IN (SELECT id FROM webhook_events WHERE status = 'pending' AND next_attempt_at <= $3 "
    "AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, created_at, id LIMIT $4) "
    "RETURNING id, app_id, payload, attempts, created_at, replay_pending"};
constexpr Query kAppTarget{"dispatcher.app_target", Access::kRead,
                           "SELECT notify_url, status, secret_sealed, previous_secret_sealed, "
                           "previous_secret_expires_at FROM apps WHERE id = $1"};
constexpr Query kRecordAttempt{"dispatcher.record_attempt", Access::kWrite,
                               "INSERT INTO webhook_attempts (id, event_id, attempt, started_at, "
                               "duration_ms, status_code, error, replay) "
                               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr Query kDelivered{"dispatcher.delivered", Access::kWrite,
                           "UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, "
                           "delivered_at = $3, last_error = '', lease_owner = NULL, lease_until = NULL, "
                           "replay_pending = 0 WHERE id = $1 AND lease_owner = $2"};
constexpr Query kFailed{
    "dispatcher.failed", Access::kWrite,
    "UPDATE webhook_events SET status = $3, attempts = attempts + 1, next_attempt_at = $4, "
    "last_error = $5, lease_owner = NULL, lease_until = NULL, replay_pending = 0 "
    "WHERE id = $1 AND lease_owner = $2"};

// This node still posting: push the lease of what it holds further out.
constexpr Query kRenew{
    "dispatcher.renew", Access::kWrite,
    "UPDATE webhook_events SET lease_until = $2 WHERE lease_owner = $1 AND status = 'pending'"};
// An event whose predecessor about the same pay order failed in this batch: not attempted,
// it waits until just after the predecessor's retry.
constexpr Query kPostpone{
    "dispatcher.postpone", Access::kWrite,
    "UPDATE webhook_events SET next_attempt_at = $3, lease_owner = NULL, lease_until = NULL "
    "WHERE id = $1 AND lease_owner = $2"};

struct Claimed {
  std::string id, app_id, payload;
  int attempts;
  int64_t created_at;
  bool replay;
};

// Where an app's events go, read once per batch.
struct Target {
  std::string url;
  std::vector<std::string> secrets;
  std::string error;  // non-empty: not deliverable now
};

// What happened to one claimed event.
struct Outcome {
  bool postponed = false;  // a predecessor failed: not attempted
  int64_t started = 0, finished = 0;
  std::optional<int> status_code;
  std::string error;
  int64_t next = 0;  // failed: when to try again
  std::string status = "pending";
};

// Events about the same pay order keep their order; anything else is independent.
std::string OrderingKey(const Claimed& ev) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(ev.payload, ec);
  if (!ec && v.is_object()) {
    if (const auto* data = v.as_object().if_contains("data"); data && data->is_object()) {
      if (const auto* ref = data->as_object().if_contains("pay_order_id"); ref && ref->is_string()) {
        return ev.app_id + "\n" + std::string(ref->as_string());
      }
    }
  }
  return ev.id;
}

}  // namespace

WebhookDispatcher::WebhookDispatcher(storage::Db& db, const SecretBox& box, const Clock& clock,
                                     DispatcherOptions options)
    : db_(db), box_(box), clock_(clock), options_(options), node_id_(NewId("node")) {}

WebhookDispatcher::~WebhookDispatcher() {
  Stop();
  {
    std::lock_guard lock(posters_mu_);
    posters_stop_ = true;
  }
  posters_wake_.notify_all();
  for (auto& t : posters_) t.join();
}

void WebhookDispatcher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WebhookDispatcher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebhookDispatcher::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  wake_.notify_all();
}

void WebhookDispatcher::Loop() {
  for (;;) {
    int attempted = RunOnce();
    std::unique_lock lock(mu_);
    if (stop_) return;
    if (attempted > 0 && !notified_) continue;  // more may be due: drain before sleeping
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                   [this] { return stop_ || notified_; });
    notified_ = false;
    if (stop_) return;
  }
}

void WebhookDispatcher::RunOnPosters(int workers, const std::function<void()>& body,
                                     const std::function<void()>& tick, std::chrono::milliseconds period) {
  while (static_cast<int>(posters_.size()) < workers) {
    const int index = static_cast<int>(posters_.size());
    posters_.emplace_back([this, index] { PosterLoop(index); });
  }
  std::unique_lock lock(posters_mu_);
  body_ = &body;
  active_ = workers;
  running_ = workers;
  ++generation_;
  posters_wake_.notify_all();
  while (running_ > 0) {
    if (!posters_done_.wait_for(lock, period, [this] { return running_ == 0; })) {
      lock.unlock();
      tick();
      lock.lock();
    }
  }
  body_ = nullptr;
}

void WebhookDispatcher::PosterLoop(int index) {
  uint64_t seen = 0;
  std::unique_lock lock(posters_mu_);
  for (;;) {
    posters_wake_.wait(lock, [&] { return posters_stop_ || (generation_ != seen && index < active_); });
    if (posters_stop_) return;
    seen = generation_;
    const std::function<void()>* body = body_;
    lock.unlock();
    (*body)();
    lock.lock();
    if (--running_ == 0) posters_done_.notify_all();
  }
}

int WebhookDispatcher::RunOnce() {
  const int64_t now = clock_.NowMs();
  auto claimed = db_.Write([&](storage::Tx& tx) -> Result<std::vector<Claimed>> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kClaim, {node_id_, now + options_.lease_ms, now,
                                                 static_cast<int64_t>(options_.batch_size)}));
    std::vector<Claimed> out;
    for (const auto& r : rows) {
      out.push_back({r.Str(0), r.Str(1), r.Str(2), static_cast<int>(r.Int(3)), r.Int(4), r.Int(5) != 0});
    }
    return out;
  });
  if (!claimed.ok()) {
    LogWarn("webhook claim failed", {{"detail", std::string_view(claimed.error().internal)}});
    return 0;
  }
  std::vector<Claimed>& events = *claimed;
  if (events.empty()) return 0;
  // Ids are time-ordered: oldest first, so each pay order's events are in creation order.
  std::sort(events.begin(), events.end(), [](const Claimed& a, const Claimed& b) {
    return std::tie(a.created_at, a.id) < std::tie(b.created_at, b.id);
  });

  // Each app's URL and secrets, once for the batch. Sign with every secret that is valid
  // now, so a receiver mid-rotation accepts it.
  std::map<std::string, Target> targets;
  for (const Claimed& ev : events) targets.emplace(ev.app_id, Target{});
  (void)db_.Read([&](storage::Tx& tx) -> Status {
    for (auto& [app_id, target] : targets) {
      auto rows = tx.Exec(kAppTarget, {app_id});
      if (!rows.ok() || rows->empty()) {
        target.error = "app not found";
      } else if (rows->rows[0].Str(1) != "active") {
        target.error = "app is disabled";
      } else {
        const auto& app = rows->rows[0];
        target.url = app.Str(0);
        if (auto secret = box_.Open(app.Str(2)); secret.ok()) target.secrets.push_back(*secret);
        if (!app.IsNull(3) && app.OptInt(4).value_or(0) > now) {
          if (auto secret = box_.Open(app.Str(3)); secret.ok()) target.secrets.push_back(*secret);
        }
      }
    }
    return Ok();
  });

  // Groups of events that must go one after the other, in batch (oldest first) order.
  std::vector<std::vector<size_t>> groups;
  {
    std::map<std::string, size_t> group_of;
    for (size_t i = 0; i < events.size(); ++i) {
      auto [it, added] = group_of.emplace(OrderingKey(events[i]), groups.size());
      if (added) groups.emplace_back();
      groups[it->second].push_back(i);
    }
  }

  // What each app's receiver takes per POST, as its last answer advertised.
  std::map<std::string, size_t> per_post;
  if (options_.max_events_per_post > 1) {
    std::lock_guard lock(batch_mu_);
    for (const auto& [app_id, target] : targets) {
      auto it = batch_limit_.find(app_id);
      if (it != batch_limit_.end() && target.error.empty()) {
        per_post[app_id] = static_cast<size_t>(std::min(it->second, options_.max_events_per_post));
      }
    }
  }
  // Units of posting work: an ordered group posted event by event, or lone events of one
  // app posted together (events with others of their pay order in the batch never are,
  // so a failure cannot let a later event of that pay order overtake an earlier one).
  struct Work {
    std::vector<size_t> events;
    bool together = false;
  };
  std::vector<Work> work;
  {
    std::map<std::string, std::vector<size_t>> lone;
    std::vector<Work> sequential;
    for (auto& group : groups) {
      if (group.size() == 1 && per_post.contains(events[group[0]].app_id)) {
        lone[events[group[0]].app_id].push_back(group[0]);
      } else {
        sequential.push_back({std::move(group), false});
      }
    }
    for (auto& [app_id, idx] : lone) {
      const size_t n = per_post.at(app_id);
      for (size_t from = 0; from < idx.size(); from += n) {
        Work w;
        w.events.assign(idx.begin() + static_cast<std::ptrdiff_t>(from),
                        idx.begin() + static_cast<std::ptrdiff_t>(std::min(from + n, idx.size())));
        w.together = w.events.size() > 1;
        work.push_back(std::move(w));
      }
    }
    for (auto& w : sequential) work.push_back(std::move(w));
  }

  // A 2xx answer says whether the receiver takes batches (and how many events at once).
  const auto learn = [&](const std::string& app_id, const http::ClientResponse& resp) {
    const int limit = protocol::ParseWebhookBatchLimit(resp.Header("hutong-webhook-batch"));
    std::lock_guard lock(batch_mu_);
    if (limit >= 2) {
      batch_limit_[app_id] = limit;
    } else {
      batch_limit_.erase(app_id);
    }
  };
  std::vector<Outcome> outcomes(events.size());
  // A failed attempt: when to try again, or give up.
  const auto settle = [&](size_t i) {
    const Claimed& ev = events[i];
    Outcome& out = outcomes[i];
    if (out.error.empty()) return;
    // Jitter ±20% spreads retries of many events failing together.
    const int64_t base = RetryDelayMs(ev.attempts + 1);
    out.next = out.finished + base * 4 / 5 +
               static_cast<int64_t>(RandomBelow(static_cast<uint64_t>(base * 2 / 5) + 1));
    if (out.next - ev.created_at > kGiveUpAfterMs && !ev.replay) out.status = "failed";
    if (out.error.size() > 500) out.error.resize(500);
  };
  const auto post = [&](size_t i) {
    const Claimed& ev = events[i];
    Outcome& out = outcomes[i];
    out.started = clock_.NowMs();
    const Target& target = targets.at(ev.app_id);
    if (!target.error.empty()) {
      out.error = target.error;
    } else {
      http::ClientRequest req;
      req.method = "POST";
      req.url = target.url;
      req.body = ev.payload;
      req.timeout = std::chrono::milliseconds(options_.request_timeout_ms);
      // Receivers deduplicate by event id (the webhook contract), so a resend after a
      // pooled connection died under the post is harmless.
      req.replayable = true;
      req.headers = {{"Content-Type", "application/json"},
                     {"Hutong-Signature", protocol::SignWebhook(target.secrets, ev.payload, clock_)},
                     {"Hutong-Event-Id", ev.id}};
      auto resp = http::Fetch(req);
      if (!resp.ok()) {
        out.error = resp.error().detail + (resp.error().internal.empty() ? "" : ": " + resp.error().internal);
      } else {
        out.status_code = resp->status;
        if (resp->status < 200 || resp->status >= 300) {
          out.error = "HTTP " + std::to_string(resp->status);
        } else if (options_.max_events_per_post > 1) {
          learn(ev.app_id, *resp);
        }
      }
    }
    out.finished = clock_.NowMs();
    settle(i);
  };
  // Lone events of one app in one POST; each takes its outcome from the answer's results.
  const auto post_together = [&](const std::vector<size_t>& idx) {
    const std::string& app_id = events[idx[0]].app_id;
    const Target& target = targets.at(app_id);
    std::vector<const std::string*> payloads;
    payloads.reserve(idx.size());
    for (size_t i : idx) payloads.push_back(&events[i].payload);
    http::ClientRequest req;
    req.method = "POST";
    req.url = target.url;
    req.body = protocol::WebhookBatchBody(payloads);
    req.timeout = std::chrono::milliseconds(options_.request_timeout_ms);
    req.replayable = true;  // every event in it is deduplicated by id
    req.headers = {{"Content-Type", "application/json"},
                   {"Hutong-Signature", protocol::SignWebhook(target.secrets, req.body, clock_)},
                   {std::string(protocol::kWebhookBatchHeader), std::to_string(idx.size())}};
    const int64_t started = clock_.NowMs();
    auto resp = http::Fetch(req);
    const int64_t finished = clock_.NowMs();
    if (resp.ok() && (resp->status < 200 || resp->status >= 300)) {
      // Not (or no longer) a receiver of batches: single events from now on, these at once.
      {
        std::lock_guard lock(batch_mu_);
        batch_limit_.erase(app_id);
      }
      LogWarn("webhook batch refused; posting its events one by one",
              {{"app_id", std::string_view(app_id)}, {"status", static_cast<int64_t>(resp->status)}});
      for (size_t i : idx) post(i);
      return;
    }
    std::string error;
    std::map<std::string, std::pair<std::string, std::string>, std::less<>> answered;  // id → status, detail
    if (!resp.ok()) {
      error = resp.error().detail + (resp.error().internal.empty() ? "" : ": " + resp.error().internal);
    } else {
      learn(app_id, *resp);
      boost::system::error_code ec;
      const auto v = boost::json::parse(resp->body, ec);
      const boost::json::value* results =
          !ec && v.is_object() ? v.as_object().if_contains("results") : nullptr;
      if (results == nullptr || !results->is_array()) {
        error = "the receiver's answer to a batch has no results";
      } else {
        for (const auto& item : results->as_array()) {
          const auto* o = item.if_object();
          if (o == nullptr) continue;
          const auto* id = o->if_contains("event_id");
          const auto* status = o->if_contains("status");
          const auto* detail = o->if_contains("detail");
          if (id == nullptr || !id->is_string() || status == nullptr || !status->is_string()) continue;
          answered.emplace(std::string(id->as_string()),
                           std::pair{std::string(status->as_string()),
                                     detail && detail->is_string() ? std::string(detail->as_string()) : ""});
        }
      }
    }
    for (size_t i : idx) {
      Outcome& out = outcomes[i];
      out.started = started;
      out.finished = finished;
      if (resp.ok()) out.status_code = resp->status;
      if (!error.empty()) {
        out.error = error;
      } else if (auto it = answered.find(events[i].id); it == answered.end()) {
        out.error = "no result for the event in the receiver's answer";
      } else if (it->second.first != "processed" && it->second.first != "duplicate") {
        out.error = "receiver: " + (it->second.second.empty() ? it->second.first : it->second.second);
      }
      settle(i);
    }
  };
  std::atomic<size_t> next_work{0};
  const std::function<void()> body = [&] {
    for (size_t w; (w = next_work.fetch_add(1)) < work.size();) {
      if (work[w].together) {
        post_together(work[w].events);
        continue;
      }
      const Outcome* failed = nullptr;
      for (size_t i : work[w].events) {
        if (failed) {
          outcomes[i].postponed = true;
          outcomes[i].next = failed->next + 1;
          continue;
        }
        post(i);
        if (!outcomes[i].error.empty()) failed = &outcomes[i];
      }
    }
  };
  const auto renew = [&] {
    auto renewed = db_.Write([&](storage::Tx& tx) {
      return tx.Exec(kRenew, {node_id_, clock_.NowMs() + options_.lease_ms});
    });
    if (!renewed.ok())
      LogWarn("webhook lease renewal failed", {{"detail", std::string_view(renewed.error().internal)}});
  };
  const int workers = static_cast<int>(std::min<size_t>(work.size(), std::max(options_.concurrency, 1)));
  RunOnPosters(workers, body, renew, std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 1)));

  // The whole batch's bookkeeping in one transaction; should that fail, event by event, so
  // that one bad row does not keep the others leased (and posted again) for nothing. No
  // statement's rows decide anything (an event whose lease went elsewhere is left as it is),
  // so they are queued: on PostgreSQL the transaction is one round trip with its COMMIT.
  const auto record = [&](storage::Tx& tx, size_t i) -> Status {
    const Claimed& ev = events[i];
    const Outcome& out = outcomes[i];
    if (out.postponed) {
      RETURN_IF_ERROR(tx.Queue(kPostpone, {ev.id, node_id_, out.next}));
      return Ok();
    }
    RETURN_IF_ERROR(tx.Queue(
        kRecordAttempt,
        {NewId("wha"), ev.id, static_cast<int64_t>(ev.attempts + 1), out.started, out.finished - out.started,
         storage::Opt(out.status_code), out.error, static_cast<int64_t>(ev.replay ? 1 : 0)}));
    if (out.error.empty()) {
      RETURN_IF_ERROR(tx.Queue(kDelivered, {ev.id, node_id_, out.finished}));
    } else {
      RETURN_IF_ERROR(tx.Queue(kFailed, {ev.id, node_id_, out.status, out.next, out.error}));
    }
    return Ok();
  };
  Status batch = db_.Write([&](storage::Tx& tx) -> Status {
    for (size_t i = 0; i < events.size(); ++i) RETURN_IF_ERROR(record(tx, i));
    return Ok();
  });
  if (!batch.ok()) {
    for (size_t i = 0; i < events.size(); ++i) {
      Status s = db_.Write([&](storage::Tx& tx) { return record(tx, i); });
      if (!s.ok()) LogWarn("webhook bookkeeping failed", {{"event_id", std::string_view(events[i].id)}});
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const Outcome& out = outcomes[i];
    if (out.postponed) continue;
    const bool ok = out.error.empty();
    Log(ok ? LogLevel::kInfo : LogLevel::kWarn, ok ? "webhook delivered" : "webhook attempt failed",
        {{"event_id", std::string_view(events[i].id)},
         {"app_id", std::string_view(events[i].app_id)},
         {"attempt", static_cast<int64_t>(events[i].attempts + 1)},
         {"error", std::string_view(out.error)}});
  }
  return static_cast<int>(events.size());
}

}  // namespace hutong::host
