#include "provider/hosts/webhook_receiver.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "common/json.h"
#include "common/log.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {
constexpr Query kRecordEvent{
    "webhooks.record", Access::kWrite,
    "INSERT INTO webhook_events (host, event_id, type, received_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (host, event_id) DO NOTHING"};

// A batch's transaction seen by its events' handlers. A handler may end with ExecLast (run
// alone, the COMMIT goes with it, so a row lock it takes — the deal's sold count — is held
// for that round trip only). In a batch the later events still run in this transaction, so
// those statements are deferred: they run after every event's other statements, ordered by
// query and parameters (rows locked in one order by every batch), the very last with the
// COMMIT. Their rows are not available to the handler (ExecLast answers no rows).
class BatchTx final : public storage::Tx {
 public:
  explicit BatchTx(storage::Tx& tx) : tx_(tx) {}
  storage::Dialect dialect() const override { return tx_.dialect(); }
  using Tx::Exec;
  using Tx::ExecLast;
  Result<storage::Rows> Exec(const Query& q, const std::vector<storage::Value>& params) override {
    return tx_.Exec(q, params);
  }
  Result<storage::Rows> ExecLast(const Query& q, const std::vector<storage::Value>& params) override {
    deferred_.push_back({&q, params});
    return storage::Rows{};
  }
  Status Queue(const Query& q, const std::vector<storage::Value>& params,
               std::optional<Expect> expect) override {
    return tx_.Queue(q, params, std::move(expect));
  }
  Status ExecScript(std::string_view sql) override { return tx_.ExecScript(sql); }

  // Runs the deferred statements (all but the last queued: their rows are not needed, so on
  // PostgreSQL they go in one round trip with the last and its COMMIT); nothing may run in
  // the transaction afterwards.
  Status RunDeferred() {
    std::stable_sort(deferred_.begin(), deferred_.end(), [](const Deferred& a, const Deferred& b) {
      const int by_name = std::string_view(a.query->name).compare(b.query->name);
      return by_name != 0 ? by_name < 0 : a.params < b.params;
    });
    for (size_t i = 0; i < deferred_.size(); ++i) {
      const Deferred& d = deferred_[i];
      if (i + 1 == deferred_.size()) {
        RETURN_IF_ERROR(tx_.ExecLast(*d.query, d.params));
      } else {
        RETURN_IF_ERROR(tx_.Queue(*d.query, d.params));
      }
    }
    return Ok();
  }

 private:
  struct Deferred {
    const Query* query;  // the handlers' queries are constexpr objects
    std::vector<storage::Value> params;
  };
  storage::Tx& tx_;
  std::vector<Deferred> deferred_;
};

struct ParsedEvent {
  std::string id, type;
};

Result<ParsedEvent> ParseEvent(const json::object& event) {
  ParsedEvent out;
  ASSIGN_OR_RETURN(out.id, RequireString(event, "id", 128));
  ASSIGN_OR_RETURN(out.type, RequireString(event, "type", 64));
  return out;
}

// Records the event and runs its handler in `tx`; true when it was a duplicate.
Result<bool> RecordAndHandle(storage::Tx& tx, const WebhookHandlers& handlers, const std::string& host,
                             const ParsedEvent& parsed, const json::object& event, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto recorded, tx.Exec(kRecordEvent, {host, parsed.id, parsed.type, now_ms}));
  if (recorded.affected == 0) return true;
  if (const WebhookHandler* handler = handlers.Find(parsed.type)) {
    RETURN_IF_ERROR((*handler)(tx, host, event));
  }
  return false;
}

}  // namespace

Result<WebhookOutcome> ProcessWebhookEvent(storage::Db& db, const WebhookHandlers& handlers,
                                           const std::string& host, const json::object& event,
                                           int64_t now_ms) {
  ASSIGN_OR_RETURN(auto parsed, ParseEvent(event));
  WebhookOutcome out;
  out.event_id = parsed.id;
  out.type = parsed.type;
  ASSIGN_OR_RETURN(out.duplicate, db.Write([&](storage::Tx& tx) {
    return RecordAndHandle(tx, handlers, host, parsed, event, now_ms);
  }));
  return out;
}

Result<WebhookOutcome> ProcessWebhook(storage::Db& db, const WebhookHandlers& handlers,
                                      const std::string& host, const std::string& raw_body, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto event, ParseJsonObject(raw_body));
  return ProcessWebhookEvent(db, handlers, host, event, now_ms);
}

Result<std::vector<WebhookBatchResult>> ProcessWebhookBatch(storage::Db& db, const WebhookHandlers& handlers,
                                                            const std::string& host,
                                                            const json::array& events, int64_t now_ms) {
  if (events.size() > static_cast<size_t>(kWebhookBatchMax)) {
    return Invalid("at most " + std::to_string(kWebhookBatchMax) + " events per delivery");
  }
  std::vector<WebhookBatchResult> results(events.size());
  std::vector<std::optional<ParsedEvent>> parsed(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const json::object* event = events[i].if_object();
    auto p = event ? ParseEvent(*event) : Result<ParsedEvent>(Invalid("an event must be a JSON object"));
    if (!p.ok()) {
      results[i].status = "failed";
      results[i].detail = p.error().detail;
      if (event) {
        if (const auto* id = event->if_contains("id"); id && id->is_string()) {
          results[i].event_id = std::string(id->as_string());
        }
      }
      continue;
    }
    results[i].event_id = p->id;
    parsed[i] = *std::move(p);
  }
  std::vector<bool> duplicate(events.size(), false);
  Status together = db.WithWrite([&](storage::Tx& tx) -> Status {
    BatchTx batch(tx);
    for (size_t i = 0; i < events.size(); ++i) {
      if (!parsed[i]) continue;
      ASSIGN_OR_RETURN(bool dup,
                       RecordAndHandle(batch, handlers, host, *parsed[i], events[i].as_object(), now_ms));
      duplicate[i] = dup;
    }
    return batch.RunDeferred();
  });
  if (together.ok()) {
    for (size_t i = 0; i < events.size(); ++i) {
      if (parsed[i]) results[i].status = duplicate[i] ? "duplicate" : "processed";
    }
    return results;
  }
  // Rolled back as a whole: one transaction per event, so only the failing ones fail.
  for (size_t i = 0; i < events.size(); ++i) {
    if (!parsed[i]) continue;
    auto alone = db.Write([&](storage::Tx& tx) {
      return RecordAndHandle(tx, handlers, host, *parsed[i], events[i].as_object(), now_ms);
    });
    if (alone.ok()) {
      results[i].status = *alone ? "duplicate" : "processed";
    } else {
      results[i].status = "failed";
      results[i].detail = alone.error().detail;
      LogWarn("webhook event of a batch failed", {{"host", host},
                                                  {"event_id", std::string_view(results[i].event_id)},
                                                  {"internal", std::string_view(alone.error().internal)}});
    }
  }
  return results;
}

}  // namespace hutong::provider
