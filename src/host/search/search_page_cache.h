// Serialized first pages of GET /api/search kept in memory, so a frequent query is answered
// on the I/O thread without a database read or JSON building.
//
// Invalidation: every change of what search answers calls search::NoteSearchIndexChanged()
// after its commit; a page is stored only under the version read *before* its database
// read and served only while that version is current, so a page read concurrently with a
// write is never served after the write committed. A page also ends when a campaign it
// shows starts or ends, and after `ttl_ms` at most, which bounds what writes on other
// nodes (which this process's counter does not see) can leave stale.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace hutong::host::search {

class SearchPageCache {
 public:
  // `clock` must outlive the cache.
  explicit SearchPageCache(const Clock& clock, int64_t ttl_ms = 1000, size_t max_entries = 4096);

  // Thread-safe; never blocks on I/O. `key` is the request target (path and query).
  std::optional<std::string> Get(const std::string& key) const;
  // Keeps `body` until `expires_at_ms` (capped at now + ttl) unless the index changed
  // since `version_before_read`.
  void Put(const std::string& key, std::string body, uint64_t version_before_read, int64_t expires_at_ms);

 private:
  struct Entry {
    std::string body;
    uint64_t version;
    int64_t expires_at;
  };
  const Clock& clock_;
  const int64_t ttl_ms_;
  const size_t max_entries_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> pages_;  // GUARDED_BY(mu_)
};

}  // namespace hutong::host::search
