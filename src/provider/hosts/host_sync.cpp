#include "provider/hosts/host_sync.h"

#include <algorithm>
#include <boost/json.hpp>
#include <tuple>

#include "common/clock.h"
#include "common/log.h"
#include "provider/campaigns/campaigns.h"
#include "provider/catalog/catalog.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kEnqueue{
    "host_sync.enqueue", Access::kWrite,
    "INSERT INTO host_sync_outbox (host, kind, ref_id, version, enqueued_at, attempts, next_attempt_at) "
    "VALUES ($1, $2, $3, 1, $4, 0, $4) ON CONFLICT (host, kind, ref_id) DO UPDATE SET "
    "version = host_sync_outbox.version + 1, enqueued_at = excluded.enqueued_at, attempts = 0, "
    "next_attempt_at = excluded.next_attempt_at, last_error = NULL"};
constexpr Query kEnqueueAllDeals{
    "host_sync.enqueue_all_deals", Access::kWrite,
    "INSERT INTO host_sync_outbox (host, kind, ref_id, version, enqueued_at, attempts, next_attempt_at) "
    "SELECT CAST($2 AS TEXT), 'deal', id, 1, $1, 0, $1 FROM deals WHERE true "
    "ON CONFLICT (host, kind, ref_id) DO UPDATE SET "
    "version = host_sync_outbox.version + 1, enqueued_at = excluded.enqueued_at, attempts = 0, "
    "next_attempt_at = excluded.next_attempt_at, last_error = NULL"};
constexpr Query kEnqueueAllCampaigns{
    "host_sync.enqueue_all_campaigns", Access::kWrite,
    "INSERT INTO host_sync_outbox (host, kind, ref_id, version, enqueued_at, attempts, next_attempt_at) "
    "SELECT CAST($2 AS TEXT), 'campaign', id, 1, $1, 0, $1 FROM campaigns WHERE true "
    "ON CONFLICT (host, kind, ref_id) DO UPDATE SET "
    "version = host_sync_outbox.version + 1, enqueued_at = excluded.enqueued_at, attempts = 0, "
    "next_attempt_at = excluded.next_attempt_at, last_error = NULL"};
constexpr Query kCatalogSynced{"host_sync.catalog_synced", Access::kRead,
                               "SELECT 1 FROM meta WHERE key = $1"};
constexpr Query kMarkCatalogSynced{
    "host_sync.mark_catalog_synced", Access::kWrite,
    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"};
constexpr Query kFanOut{"host_sync.fan_out", Access::kRead,
                        "SELECT kind, ref_id, version, enqueued_at FROM host_sync_outbox WHERE host = '*' "
                        "ORDER BY enqueued_at LIMIT 1000"};
constexpr Query kDeleteVersion{"host_sync.delete_version", Access::kWrite,
                               "DELETE FROM host_sync_outbox WHERE host = $1 AND kind = $2 AND ref_id = $3 "
                               "AND version = $4"};
constexpr Query kDue{"host_sync.due", Access::kRead,
                     "SELECT ref_id, version, attempts FROM host_sync_outbox WHERE host = $1 AND kind = $2 "
                     "AND next_attempt_at <= $3 ORDER BY next_attempt_at, ref_id LIMIT $4"};
constexpr Query kFailed{
    "host_sync.failed", Access::kWrite,
    "UPDATE host_sync_outbox SET attempts = attempts + 1, next_attempt_at = $5, last_error = $6 "
    "WHERE host = $1 AND kind = $2 AND ref_id = $3 AND version = $4"};

const char* KindName(SyncKind k) {
  return k == SyncKind::kDeal ? "deal" : "campaign";
}

int64_t BackoffMs(int64_t attempts) {
  const int64_t shift = std::min<int64_t>(attempts, 20);
  return std::min<int64_t>(int64_t{1000} << shift, kHostSyncMaxBackoffMs);
}

// '*' rows become one row per connected host, in one transaction each batch.
Status FanOut(storage::Db& db, const std::vector<std::string>& hosts) {
  // Most runs find nothing: look before taking the write lock.
  ASSIGN_OR_RETURN(auto any, db.Read([](storage::Tx& tx) { return tx.Exec(kFanOut); }));
  if (any.empty()) return Ok();
  return db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto read, tx.Exec(kFanOut));
    // Rows locked in (kind, ref_id) order: the order in which a batch of payment events
    // bumps its deals' '*' rows (orders.cpp, webhook_receiver.cpp), so the two never deadlock
    // on PostgreSQL (each would wait a second for the detector, then fail).
    std::vector<const storage::Row*> rows;
    for (const auto& r : read) rows.push_back(&r);
    std::sort(rows.begin(), rows.end(), [](const storage::Row* a, const storage::Row* b) {
      return std::tie(a->Str(0), a->Str(1)) < std::tie(b->Str(0), b->Str(1));
    });
    for (const storage::Row* row : rows) {
      const storage::Row& r = *row;
      for (const auto& h : hosts) RETURN_IF_ERROR(tx.Exec(kEnqueue, {h, r.Str(0), r.Str(1), r.Int(3)}));
      RETURN_IF_ERROR(tx.Exec(kDeleteVersion, {std::string("*"), r.Str(0), r.Str(1), r.Int(2)}));
    }
    return Ok();
  });
}

struct Due {
  std::string ref_id;
  int64_t version = 0;
  int64_t attempts = 0;
};

// Sends one host its due rows of one kind; acknowledged rows are deleted (unless changed
// meanwhile), failed ones back off.
Status DeliverKind(storage::Db& db, const std::string& host, const protocol::OpenApiClient& client,
                   SyncKind kind, int64_t now_ms, HostSyncReport& report) {
  const int64_t batch = kind == SyncKind::kDeal ? 500 : 100;
  std::vector<Due> due;
  json::array payload;
  std::vector<Due> vanished;  // deleted from the catalog: nothing to tell
  RETURN_IF_ERROR(db.WithRead([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kDue, {host, std::string(KindName(kind)), now_ms, batch}));
    for (const auto& r : rows) {
      Due d{r.Str(0), r.Int(1), r.Int(2)};
      if (kind == SyncKind::kDeal) {
        ASSIGN_OR_RETURN(auto e, DealIndexEntryFor(tx, d.ref_id));
        if (!e) {
          vanished.push_back(d);
          continue;
        }
        payload.push_back(protocol::ToJson(*e));
      } else {
        ASSIGN_OR_RETURN(auto e, CampaignIndexEntryFor(tx, d.ref_id));
        if (!e) {
          vanished.push_back(d);
          continue;
        }
        payload.push_back(protocol::ToJson(*e));
      }
      due.push_back(std::move(d));
    }
    return Ok();
  }));
  Status outcome = Ok();
  if (!due.empty()) {
    const char* path = kind == SyncKind::kDeal ? "/open/v1/deals/sync" : "/open/v1/campaigns/sync";
    const char* field = kind == SyncKind::kDeal ? "deals" : "campaigns";
    auto answer = client.CallJson("POST", path, json::serialize(json::object{{field, std::move(payload)}}));
    if (!answer.ok()) outcome = std::move(answer).error();
  }
  const std::string kind_name = KindName(kind);
  if (due.empty() && vanished.empty()) return Ok();
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    for (const auto& d : vanished)
      RETURN_IF_ERROR(tx.Exec(kDeleteVersion, {host, kind_name, d.ref_id, d.version}));
    for (const auto& d : due) {
      if (outcome.ok()) {
        RETURN_IF_ERROR(tx.Exec(kDeleteVersion, {host, kind_name, d.ref_id, d.version}));
      } else {
        RETURN_IF_ERROR(tx.Exec(kFailed, {host, kind_name, d.ref_id, d.version,
                                          now_ms + BackoffMs(d.attempts), outcome.error().detail}));
      }
    }
    return Ok();
  }));
  if (outcome.ok()) {
    report.delivered += static_cast<int64_t>(due.size());
  } else {
    report.failed += static_cast<int64_t>(due.size());
    LogWarn("host sync failed; will retry", {{"host", std::string_view(host)},
                                             {"kind", std::string_view(kind_name)},
                                             {"count", static_cast<int64_t>(due.size())},
                                             {"error", std::string_view(outcome.error().detail)},
                                             {"internal", std::string_view(outcome.error().internal)}});
  }
  return Ok();
}

}  // namespace

Status EnqueueHostSync(storage::Tx& tx, SyncKind kind, const std::string& ref_id, int64_t now_ms) {
  RETURN_IF_ERROR(tx.Exec(kEnqueue, {std::string("*"), std::string(KindName(kind)), ref_id, now_ms}));
  return Ok();
}

Status MarkHostCatalogSynced(storage::Tx& tx, const std::string& host, int64_t now_ms) {
  RETURN_IF_ERROR(tx.Exec(kMarkCatalogSynced, {"host_catalog_synced:" + host, FormatRfc3339(now_ms)}));
  return Ok();
}

Status EnqueueFullHostSync(storage::Db& db, const std::vector<std::string>& hosts, int64_t now_ms) {
  for (const auto& host : hosts) {
    RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(auto done, tx.Exec(kCatalogSynced, {"host_catalog_synced:" + host}));
      if (!done.empty()) return Ok();
      RETURN_IF_ERROR(tx.Exec(kEnqueueAllDeals, {now_ms, host}));
      RETURN_IF_ERROR(tx.Exec(kEnqueueAllCampaigns, {now_ms, host}));
      return MarkHostCatalogSynced(tx, host, now_ms);
    }));
  }
  return Ok();
}

Result<HostSyncReport> DeliverHostSyncs(storage::Db& db, const HostDirectory& hosts, int64_t now_ms) {
  HostSyncReport report;
  const auto names = hosts.Names();
  if (names.empty()) return report;
  RETURN_IF_ERROR(FanOut(db, names));
  for (const auto& name : names) {
    const protocol::OpenApiClient* client = hosts.Client(name);
    if (client == nullptr) continue;
    // Campaigns after deals, so a campaign's deals are known to the host first.
    RETURN_IF_ERROR(DeliverKind(db, name, *client, SyncKind::kDeal, now_ms, report));
    RETURN_IF_ERROR(DeliverKind(db, name, *client, SyncKind::kCampaign, now_ms, report));
  }
  return report;
}

}  // namespace hutong::provider
