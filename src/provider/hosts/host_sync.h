// The provider keeps every connected host's index of its deals and campaigns current:
// changes are written to host_sync_outbox (provider migration 9) in the transaction that
// makes them, and a periodic job delivers them as signed POST /open/v1/deals/sync and
// /open/v1/campaigns/sync calls, so a slow or unreachable host never blocks a merchant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "provider/hosts/host_directory.h"
#include "storage/db.h"

namespace hutong::provider {

enum class SyncKind { kDeal, kCampaign };

// Marks a deal or campaign (by id) to be synced to every connected host. Repeated marks
// before a delivery collapse into one.
Status EnqueueHostSync(storage::Tx& tx, SyncKind kind, const std::string& ref_id, int64_t now_ms);

// Run at start: marks every deal and campaign for each connected host that has never had
// the whole catalog (a new host, or the first start), then remembers that it has
// (meta 'host_catalog_synced:<host>'), so a restart of a big catalog sends nothing.
Status EnqueueFullHostSync(storage::Db& db, const std::vector<std::string>& hosts, int64_t now_ms);
// Records that `host` already holds the whole catalog (e.g. indexed by a bulk loader).
Status MarkHostCatalogSynced(storage::Tx& tx, const std::string& host, int64_t now_ms);

struct HostSyncReport {
  int64_t delivered = 0;  // deals and campaigns acknowledged by a host
  int64_t failed = 0;     // left for a retry with backoff
};

// One run of the delivery job: expands '*' rows to each connected host, then for each host
// sends its due deals (up to 500 per call) and campaigns (up to 100) and deletes what the
// host acknowledged. A failed call backs off per row (1 s doubling to 5 min, kept until it
// succeeds). Safe on several nodes at once: syncs are upserts, so a duplicate is harmless.
Result<HostSyncReport> DeliverHostSyncs(storage::Db& db, const HostDirectory& hosts, int64_t now_ms);

inline constexpr int64_t kHostSyncMaxBackoffMs = 5LL * 60 * 1000;

}  // namespace hutong::provider
