#include "host/search/search_page_cache.h"

#include <algorithm>
#include <mutex>

#include "host/search/search.h"

namespace hutong::host::search {

SearchPageCache::SearchPageCache(const Clock& clock, int64_t ttl_ms, size_t max_entries)
    : clock_(clock), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

std::optional<std::string> SearchPageCache::Get(const std::string& key) const {
  const uint64_t version = SearchIndexVersion();
  const int64_t now = clock_.NowMs();
  std::shared_lock lock(mu_);
  auto it = pages_.find(key);
  if (it == pages_.end() || it->second.version != version || now >= it->second.expires_at)
    return std::nullopt;
  return it->second.body;
}

void SearchPageCache::Put(const std::string& key, std::string body, uint64_t version_before_read,
                          int64_t expires_at_ms) {
  if (version_before_read != SearchIndexVersion()) return;
  const int64_t expires_at = std::min(expires_at_ms, clock_.NowMs() + ttl_ms_);
  std::unique_lock lock(mu_);
  // Crude but bounded (about 10 KB a page): when full, start over.
  if (pages_.size() >= max_entries_) pages_.clear();
  pages_[key] = Entry{std::move(body), version_before_read, expires_at};
}

}  // namespace hutong::host::search
