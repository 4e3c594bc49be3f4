// The durable outbox of host → app events. An event is written in the same transaction as
// the change it announces, so it exists if and only if the change committed; the
// dispatcher then delivers it at least once (webhooks/dispatcher.h).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

// Writes event `type` for `app_id` inside `tx`. The stored payload is the exact body that
// will be signed and posted: {"id","type","app_id","created_at","data"}. Returns the id.
// `last_statement`: the caller runs nothing else in `tx` after it (Tx::ExecLast).
Result<std::string> EnqueueEvent(storage::Tx& tx, const std::string& app_id, const std::string& type,
                                 const boost::json::object& data, int64_t now_ms,
                                 bool last_statement = false);

// Retry schedule: the delay after the n-th failed attempt (n ≥ 1), before jitter. Grows
// from 10 s to 8 h; with kGiveUpAfterMs events are retried for three days.
int64_t RetryDelayMs(int attempts);
inline constexpr int64_t kGiveUpAfterMs = 3LL * 24 * 3600 * 1000;

struct DeliveryAttempt {
  int attempt = 0;
  int64_t started_at = 0;
  int64_t duration_ms = 0;
  std::optional<int> status_code;
  std::string error;
  bool replay = false;
};

struct EventDelivery {
  std::string event_id;
  std::string type;
  std::string status;  // pending | delivered | failed
  int attempts = 0;
  int64_t created_at = 0;
  int64_t next_attempt_at = 0;
  std::optional<int64_t> delivered_at;
  std::string last_error;
  std::vector<DeliveryAttempt> log;  // filled by GetDelivery only
};

// Newest first, paged by event id.
Result<std::vector<EventDelivery>> ListDeliveries(storage::Db& db, const std::string& app_id,
                                                  const std::string& cursor, int64_t limit);
Result<EventDelivery> GetDelivery(storage::Db& db, const std::string& app_id, const std::string& event_id);
// Queues an event again (delivered, failed or pending) for delivery now; the event keeps
// its id, so receivers that deduplicate stay correct.
Status ReplayDelivery(storage::Db& db, const std::string& app_id, const std::string& event_id,
                      int64_t now_ms);

}  // namespace hutong::host
