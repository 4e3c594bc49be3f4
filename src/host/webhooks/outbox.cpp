#include "host/webhooks/outbox.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/ids.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kInsertEvent{
    "outbox.insert", Access::kWrite,
    "INSERT INTO webhook_events (id, app_id, type, payload, created_at, status, attempts, "
    "next_attempt_at, replay_pending) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $5, 0)"};
constexpr Query kList{
    "outbox.list", Access::kRead,
    "SELECT id, type, status, attempts, created_at, next_attempt_at, delivered_at, last_error "
    "FROM webhook_events WHERE app_id = $1 AND (CAST($2 AS TEXT) = '' OR id < $2) "
    "ORDER BY id DESC LIMIT $3"};
constexpr Query kGet{
    "outbox.get", Access::kRead,
    "SELECT id, type, status, attempts, created_at, next_attempt_at, delivered_at, last_error "
    "FROM webhook_events WHERE app_id = $1 AND id = $2"};
constexpr Query kAttempts{
    "outbox.attempts", Access::kRead,
    "SELECT attempt, started_at, duration_ms, status_code, error, replay FROM webhook_attempts "
    "WHERE event_id = $1 ORDER BY started_at, attempt"};
constexpr Query kReplay{
    "outbox.replay", Access::kWrite,
    "UPDATE webhook_events SET status = 'pending', next_attempt_at = $3, replay_pending = 1, "
    "lease_until = NULL WHERE app_id = $1 AND id = $2"};

EventDelivery FromRow(const storage::Row& r) {
  EventDelivery d;
  d.event_id = r.Str(0);
  d.type = r.Str(1);
  d.status = r.Str(2);
  d.attempts = static_cast<int>(r.Int(3));
  d.created_at = r.Int(4);
  d.next_attempt_at = r.Int(5);
  d.delivered_at = r.OptInt(6);
  d.last_error = r.Str(7);
  return d;
}

}  // namespace

Result<std::string> EnqueueEvent(storage::Tx& tx, const std::string& app_id, const std::string& type,
                                 const json::object& data, int64_t now_ms, bool last_statement) {
  std::string id = NewId("evt");
  // The serialized {"id", "type", "app_id", "created_at", "data"} object, written without
  // copying `data` into a second object first (a deep copy, one allocation per member):
  // the head's closing brace gives way to the "data" member. Same bytes as serializing
  // the whole object (members in this order).
  std::string payload = json::serialize(
      json::object{{"id", id}, {"type", type}, {"app_id", app_id}, {"created_at", FormatRfc3339(now_ms)}});
  payload.pop_back();
  payload += ",\"data\":";
  payload += json::serialize(data);
  payload += '}';
  std::vector<storage::Value> params;
  params.reserve(5);
  params.emplace_back(id);
  params.emplace_back(app_id);
  params.emplace_back(type);
  params.emplace_back(std::move(payload));
  params.emplace_back(now_ms);
  if (last_statement) {
    RETURN_IF_ERROR(tx.ExecLast(kInsertEvent, params));
  } else {
    RETURN_IF_ERROR(tx.Exec(kInsertEvent, params));
  }
  return id;
}

int64_t RetryDelayMs(int attempts) {
  static constexpr int64_t kSchedule[] = {10'000,    30'000,    60'000,    120'000,    300'000,   600'000,
                                          1'800'000, 3'600'000, 7'200'000, 14'400'000, 28'800'000};
  constexpr int kSteps = sizeof(kSchedule) / sizeof(kSchedule[0]);
  if (attempts < 1) return kSchedule[0];
  return kSchedule[attempts > kSteps ? kSteps - 1 : attempts - 1];
}

Result<std::vector<EventDelivery>> ListDeliveries(storage::Db& db, const std::string& app_id,
                                                  const std::string& cursor, int64_t limit) {
  if (!cursor.empty() && !IsWellFormedId(cursor, "evt")) return Invalid("'cursor' is not valid");
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kList, {app_id, cursor, limit});
  }));
  std::vector<EventDelivery> out;
  for (const auto& r : rows) out.push_back(FromRow(r));
  return out;
}

Result<EventDelivery> GetDelivery(storage::Db& db, const std::string& app_id, const std::string& event_id) {
  return db.Read([&](storage::Tx& tx) -> Result<EventDelivery> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kGet, {app_id, event_id}));
    if (rows.empty()) return NotFound("event not found");
    EventDelivery d = FromRow(rows[0]);
    ASSIGN_OR_RETURN(auto attempts, tx.Exec(kAttempts, {event_id}));
    for (const auto& a : attempts) {
      DeliveryAttempt at;
      at.attempt = static_cast<int>(a.Int(0));
      at.started_at = a.Int(1);
      at.duration_ms = a.Int(2);
      if (!a.IsNull(3)) at.status_code = static_cast<int>(a.Int(3));
      at.error = a.Str(4);
      at.replay = a.Int(5) != 0;
      d.log.push_back(std::move(at));
    }
    return d;
  });
}

Status ReplayDelivery(storage::Db& db, const std::string& app_id, const std::string& event_id,
                      int64_t now_ms) {
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) {
    return tx.Exec(kReplay, {app_id, event_id, now_ms});
  }));
  if (rows.affected == 0) return NotFound("event not found");
  return Ok();
}

}  // namespace hutong::host
