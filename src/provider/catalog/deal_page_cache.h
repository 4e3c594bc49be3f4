// Serialized deal pages (GET /mp/v1/deals/{id}) kept in memory, so a hit is answered on
// the I/O thread without a database read or JSON building.
//
// Invalidation: every committed write that changes what a deal page shows (price, stock,
// sold count, status, slots) calls BumpCatalogVersion(); a page is stored only under the
// version read *before* its database read, and served only while that version is current,
// so a page read concurrently with a write is never served after the write committed.
// Writes by other nodes are not seen by this counter: `ttl_ms` bounds how long such a page
// can be stale (the order path checks stock in the database, so a stale page never sells
// what is not there).
#pragma once

#include <cstdint>
#include <optional>
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
  // `clock` must outlive the cache.
  explicit DealPageCache(const Clock& clock, int64_t ttl_ms = 1000, size_t max_entries = 100'000);

  // Thread-safe; never blocks on I/O.
  std::optional<std::string> Get(const std::string& deal_id) const;
  // Keeps `body` unless the catalog changed since `version_before_read`.
  void Put(const std::string& deal_id, std::string body, uint64_t version_before_read);

 private:
  struct Entry {
    std::string body;
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
