#include "provider/hosts/webhook_receiver.h"

#include "common/json.h"

namespace hutong::provider {
using storage::Access;
using storage::Query;

namespace {
constexpr Query kRecordEvent{
    "webhooks.record", Access::kWrite,
    "INSERT INTO webhook_events (host, event_id, type, received_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (host, event_id) DO NOTHING"};
}  // namespace

Result<WebhookOutcome> ProcessWebhook(storage::Db& db, const WebhookHandlers& handlers,
                                      const std::string& host, const std::string& raw_body, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto event, ParseJsonObject(raw_body));
  WebhookOutcome out;
  ASSIGN_OR_RETURN(out.event_id, RequireString(event, "id", 128));
  ASSIGN_OR_RETURN(out.type, RequireString(event, "type", 64));
  RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto recorded, tx.Exec(kRecordEvent, {host, out.event_id, out.type, now_ms}));
    if (recorded.affected == 0) {
      out.duplicate = true;
      return Ok();
    }
    if (const WebhookHandler* handler = handlers.Find(out.type)) return (*handler)(tx, host, event);
    return Ok();
  }));
  return out;
}

}  // namespace hutong::provider
