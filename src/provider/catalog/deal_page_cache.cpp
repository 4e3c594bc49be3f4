#include "provider/catalog/deal_page_cache.h"

#include <atomic>
#include <mutex>

namespace hutong::provider {
namespace {
std::atomic<uint64_t> g_catalog_version{1};
}  // namespace

uint64_t CatalogVersion() { return g_catalog_version.load(std::memory_order_acquire); }
void BumpCatalogVersion() { g_catalog_version.fetch_add(1, std::memory_order_acq_rel); }

DealPageCache::DealPageCache(const Clock& clock, int64_t ttl_ms, size_t max_entries)
    : clock_(clock), ttl_ms_(ttl_ms), max_entries_(max_entries) {}

DealPageCache::Body DealPageCache::Get(const std::string& key) const {
  const uint64_t version = CatalogVersion();
  const int64_t now = clock_.NowMs();
  std::shared_lock lock(mu_);
  auto it = pages_.find(key);
  if (it == pages_.end() || it->second.version != version || now - it->second.stored_at > ttl_ms_) {
    return nullptr;
  }
  return it->second.body;
}

DealPageCache::Body DealPageCache::Put(const std::string& key, std::string body, uint64_t version_before_read) {
  Body shared = std::make_shared<const std::string>(std::move(body));
  if (version_before_read != CatalogVersion()) return shared;
  std::unique_lock lock(mu_);
  // Crude but bounded: when full, start over (stale entries go with the rest).
  if (pages_.size() >= max_entries_) pages_.clear();
  pages_[key] = Entry{shared, version_before_read, clock_.NowMs()};
  return shared;
}

}  // namespace hutong::provider
