// Serialized catalog pages kept in memory — deal pages (GET /mp/v1/deals/{id}) and deal
// list pages (GET /mp/v1/deals, keyed by their normalized query) — so a hit is answered on
// the I/O thread without a database read or JSON building, and without copying the body:
// a hit shares the stored, immutable bytes with the response being written.
//
// Invalidation: every committed write that changes what a catalog page shows (price,
// stock, sold count, status, slots, a new deal) calls BumpCatalogVersion(); a page is
// stored only under the version read *before* its database read, and served only while
// that version is current, so a page read concurrently with a write is never served after
// the write committed. Writes by other nodes are not seen by this counter: `ttl_ms` bounds
// how long such a page can be stale (the order path checks stock in the database, so a
// stale page never sells what is not there).
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace hutong::provider {

// Process-wide; thread-safe.
uint64_t CatalogVersion();
void BumpCatalogVersion();

class DealPageCache {
 public:
  using Body = std::shared_ptr<const std::string>;

  // `clock` must outlive the cache.
  explicit DealPageCache(const Clock& clock, int64_t ttl_ms = 1000, size_t max_entries = 100'000);

  // The page stored under `key` if still current, else null. Thread-safe; never blocks
  // on I/O.
  Body Get(const std::string& key) const;
  // Keeps `body` unless the catalog changed since `version_before_read`; returns it
  // (stored or not) for the response.
  Body Put(const std::string& key, std::string body, uint64_t version_before_read);

 private:
  struct Entry {
    Body body;
    uint64_t version;
    int64_t stored_at;
  };
  const Clock& clock_;
  const int64_t ttl_ms_;
  const size_t max_entries_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> pages_;  // GUARDED_BY(mu_)
};

}  // namespace hutong::provider
