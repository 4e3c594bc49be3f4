#include "common/page_cache.h"

#include <mutex>

namespace hutong {

PageCache::PageCache(const Clock& clock, VersionFn version, int64_t ttl_ms, size_t max_entries)
    : clock_(clock), version_(version), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

PageCache::Body PageCache::Get(const std::string& key) const {
  const uint64_t version = version_();
  const int64_t now = clock_.NowMs();
  std::shared_lock lock(mu_);
  auto it = pages_.find(key);
  if (it == pages_.end() || it->second.version != version || now - it->second.stored_at > ttl_ms_) {
    return nullptr;
  }
  return it->second.body;
}

PageCache::Body PageCache::Put(const std::string& key, std::string body, uint64_t version_before_read) {
  Body shared = std::make_shared<const std::string>(std::move(body));
  if (version_before_read != version_()) return shared;
  std::unique_lock lock(mu_);
  // Crude but bounded: when full, start over (stale entries go with the rest).
  if (pages_.size() >= max_entries_) pages_.clear();
  pages_[key] = Entry{shared, version_before_read, clock_.NowMs()};
  return shared;
}

}  // namespace hutong
