// Serialized catalog pages kept in memory — deal pages (GET /mp/v1/deals/{id}) and deal
// list pages (GET /mp/v1/deals, keyed by their normalized query) — answered on the I/O
// thread and shared with the response (common/page_cache.h), under the catalog version.
//
// Every committed write that changes what a catalog page shows (price, stock, sold count,
// status, slots, a new deal) calls BumpCatalogVersion(). Writes by other nodes are bounded
// by the TTL (the order path checks stock in the database, so a stale page never sells
// what is not there).
#pragma once

#include <cstdint>

#include "common/page_cache.h"

namespace hutong::provider {

// Process-wide; thread-safe.
uint64_t CatalogVersion();
void BumpCatalogVersion();

class DealPageCache : public PageCache {
 public:
  // `clock` must outlive the cache.
  explicit DealPageCache(const Clock& clock, int64_t ttl_ms = 1000, size_t max_entries = 100'000)
      : PageCache(clock, &CatalogVersion, ttl_ms, max_entries) {}
};

}  // namespace hutong::provider
