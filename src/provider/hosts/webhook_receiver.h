// Receives a host's signed webhooks: verifies the signature on the raw bytes, drops
// duplicates by event id, and runs the handler of the event type in the same transaction
// that records the event, so an event is processed exactly once even though hosts deliver
// at least once.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::provider {

// Runs inside the transaction that records the event, as its last step (a handler may end
// with Tx::ExecLast); an error rolls both back and the host retries later.
using WebhookHandler =
    std::function<Status(storage::Tx& tx, const std::string& host, const boost::json::object& event)>;

// Event type → handler. Filled at start-up by the modules that care, read-only afterwards.
class WebhookHandlers {
 public:
  void On(std::string type, WebhookHandler handler) { handlers_[std::move(type)] = std::move(handler); }
  const WebhookHandler* Find(const std::string& type) const {
    auto it = handlers_.find(type);
    return it == handlers_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, WebhookHandler> handlers_;
};

struct WebhookOutcome {
  std::string event_id;
  std::string type;
  bool duplicate = false;
};

// The body must be a JSON object with string `id` and `type`. Events of types nobody
// handles are recorded and acknowledged (a newer host may send more than we know).
Result<WebhookOutcome> ProcessWebhook(storage::Db& db, const WebhookHandlers& handlers,
                                      const std::string& host, const std::string& raw_body, int64_t now_ms);
// The same for a body already parsed.
Result<WebhookOutcome> ProcessWebhookEvent(storage::Db& db, const WebhookHandlers& handlers,
                                           const std::string& host, const boost::json::object& event,
                                           int64_t now_ms);

// Events per POST this receiver accepts (protocol/webhook_batch.h); advertised on its answers.
inline constexpr int kWebhookBatchMax = 64;

// What became of one event of a batch ("processed", "duplicate" or "failed").
struct WebhookBatchResult {
  std::string event_id;
  std::string status;
  std::string detail;  // failed: what to tell the host
};

// A batched delivery ({"events":[…]}, at most kWebhookBatchMax): every event recorded and
// handled in one transaction, in the order given. When any of them fails, that transaction
// is rolled back and each event runs in a transaction of its own instead, so a failing event
// is answered "failed" (and retried by the host) without holding back the others. Malformed
// elements (not an object with string `id` and `type`) are "failed" and change nothing.
// One result per element, in order. A body that is not such a batch is kValidationFailed.
Result<std::vector<WebhookBatchResult>> ProcessWebhookBatch(storage::Db& db, const WebhookHandlers& handlers,
                                                            const std::string& host,
                                                            const boost::json::array& events, int64_t now_ms);

}  // namespace hutong::provider
