// Serialized response bodies kept in memory under a process-wide version counter, so a hit
// is answered on the I/O thread without a database read or JSON building, and without
// copying the body: a hit shares the stored, immutable bytes with the response.
//
// Invalidation: every committed write that changes what a cached page shows bumps the
// counter `version` reads; a page is stored only under the version read *before* its
// database read, and served only while that version is current, so a page read
// concurrently with a write is never served after the write committed. Writes by other
// nodes do not move this process's counter: `ttl_ms` bounds how long such a page can be
// stale.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace hutong {

class PageCache {
 public:
  using Body = std::shared_ptr<const std::string>;
  // Thread-safe, never blocking: the current version of what the cached pages show.
  using VersionFn = uint64_t (*)();

  // `clock` must outlive the cache.
  PageCache(const Clock& clock, VersionFn version, int64_t ttl_ms, size_t max_entries);

  // The current version; read it before the database read whose page goes to Put.
  uint64_t Version() const { return version_(); }
  // The page stored under `key` if still current, else null. Thread-safe; never blocks
  // on I/O.
  Body Get(const std::string& key) const;
  // Keeps `body` unless the version moved since `version_before_read`; returns it (stored
  // or not) for the response.
  Body Put(const std::string& key, std::string body, uint64_t version_before_read);

 private:
  struct Entry {
    Body body;
    uint64_t version;
    int64_t stored_at;
  };
  const Clock& clock_;
  const VersionFn version_;
  const int64_t ttl_ms_;
  const size_t max_entries_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> pages_;  // GUARDED_BY(mu_)
};

}  // namespace hutong
