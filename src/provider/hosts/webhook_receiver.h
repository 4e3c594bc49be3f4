// Receives a host's signed webhooks: verifies the signature on the raw bytes, drops
// duplicates by event id, and runs the handler of the event type in the same transaction
// that records the event, so an event is processed exactly once even though hosts deliver
// at least once.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <string>

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

}  // namespace hutong::provider
