#include "host/webhooks/dispatcher.h"

#include "common/ids.h"
#include "common/log.h"
#include "common/random.h"
#include "host/webhooks/outbox.h"
#include "http/client.h"
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
    "AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at LIMIT $4) "
    "RETURNING id, app_id, payload, attempts, created_at, replay_pending"};
constexpr Query kAppTarget{"dispatcher.app_target", Access::kRead,
                           "SELECT notify_url, status, secret_sealed, previous_secret_sealed, "
                           "previous_secret_expires_at FROM apps WHERE id = $1"};
constexpr Query kRecordAttempt{
    "dispatcher.record_attempt", Access::kWrite,
    "INSERT INTO webhook_attempts (id, event_id, attempt, started_at, duration_ms, status_code, error, replay) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
constexpr Query kDelivered{"dispatcher.delivered", Access::kWrite,
                           "UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, "
                           "delivered_at = $3, last_error = '', lease_owner = NULL, lease_until = NULL, "
                           "replay_pending = 0 WHERE id = $1 AND lease_owner = $2"};
constexpr Query kFailed{"dispatcher.failed", Access::kWrite,
                        "UPDATE webhook_events SET status = $3, attempts = attempts + 1, next_attempt_at = $4, "
                        "last_error = $5, lease_owner = NULL, lease_until = NULL, replay_pending = 0 "
                        "WHERE id = $1 AND lease_owner = $2"};

struct Claimed {
  std::string id, app_id, payload;
  int attempts;
  int64_t created_at;
  bool replay;
};

}  // namespace

WebhookDispatcher::WebhookDispatcher(storage::Db& db, const SecretBox& box, const Clock& clock,
                                     DispatcherOptions options)
    : db_(db), box_(box), clock_(clock), options_(options), node_id_(NewId("node")) {}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Start() { thread_ = std::thread([this] { Loop(); }); }

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
    wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms), [this] { return stop_ || notified_; });
    notified_ = false;
    if (stop_) return;
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

  for (const Claimed& ev : *claimed) {
    const int64_t started = clock_.NowMs();
    std::optional<int> status_code;
    std::string error;
    auto target = db_.Read([&](storage::Tx& tx) { return tx.Exec(kAppTarget, {ev.app_id}); });
    if (!target.ok() || target->empty()) {
      error = "app not found";
    } else if (target->rows[0].Str(1) != "active") {
      error = "app is disabled";
    } else {
      const auto& app = target->rows[0];
      // Sign with every secret that is valid now, so a receiver mid-rotation accepts it.
      std::vector<std::string> secrets;
      if (auto s = box_.Open(app.Str(2)); s.ok()) secrets.push_back(*s);
      if (!app.IsNull(3) && app.OptInt(4).value_or(0) > started) {
        if (auto s = box_.Open(app.Str(3)); s.ok()) secrets.push_back(*s);
      }
      http::ClientRequest req;
      req.method = "POST";
      req.url = app.Str(0);
      req.body = ev.payload;
      req.timeout = std::chrono::milliseconds(options_.request_timeout_ms);
      req.headers = {{"Content-Type", "application/json"},
                     {"Hutong-Signature", protocol::SignWebhook(secrets, ev.payload, clock_)},
                     {"Hutong-Event-Id", ev.id}};
      auto resp = http::Fetch(req);
      if (!resp.ok()) {
        error = resp.error().detail + (resp.error().internal.empty() ? "" : ": " + resp.error().internal);
      } else {
        status_code = resp->status;
        if (resp->status < 200 || resp->status >= 300) error = "HTTP " + std::to_string(resp->status);
      }
    }
    const int64_t finished = clock_.NowMs();
    const bool ok = error.empty();
    const int attempt = ev.attempts + 1;
    std::string status = "pending";
    int64_t next = 0;
    if (!ok) {
      // Jitter ±20% spreads retries of many events failing together.
      const int64_t base = RetryDelayMs(attempt);
      next = finished + base * 4 / 5 + static_cast<int64_t>(RandomBelow(static_cast<uint64_t>(base * 2 / 5) + 1));
      if (next - ev.created_at > kGiveUpAfterMs && !ev.replay) status = "failed";
    }
    if (error.size() > 500) error.resize(500);
    Status s = db_.Write([&](storage::Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec(kRecordAttempt, {NewId("wha"), ev.id, static_cast<int64_t>(attempt), started,
                                               finished - started, storage::Opt(status_code), error,
                                               static_cast<int64_t>(ev.replay ? 1 : 0)}));
      if (ok) {
        RETURN_IF_ERROR(tx.Exec(kDelivered, {ev.id, node_id_, finished}));
      } else {
        RETURN_IF_ERROR(tx.Exec(kFailed, {ev.id, node_id_, status, next, error}));
      }
      return Ok();
    });
    if (!s.ok()) LogWarn("webhook bookkeeping failed", {{"event_id", std::string_view(ev.id)}});
    Log(ok ? LogLevel::kInfo : LogLevel::kWarn, ok ? "webhook delivered" : "webhook attempt failed",
        {{"event_id", std::string_view(ev.id)},
         {"app_id", std::string_view(ev.app_id)},
         {"attempt", static_cast<int64_t>(attempt)},
         {"error", std::string_view(error)}});
  }
  return static_cast<int>(claimed->size());
}

}  // namespace hutong::host
