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

std::optional<std::string> DealPageCache::Get(const std::string& deal_id) const {
  const uint64_t version = CatalogVersion();
  const int64_t now = clock_.NowMs();
  std::shared_lock lock(mu_);
  auto it = pages_.find(deal_id);
  if (it == pages_.end() || it->second.version != version || now - it->second.stored_at > ttl_ms_) {
    return std::nullopt;
  }
  return it->second.body;
}

void DealPageCache::Put(const std::string& deal_id, std::string body, uint64_t version_before_read) {
  if (version_before_read != CatalogVersion()) return;
  std::unique_lock lock(mu_);
  // Crude but bounded: when full, start over (stale entries go with the rest).
  if (pages_.size() >= max_entries_) pages_.clear();
  pages_[deal_id] = Entry{std::move(body), version_before_read, clock_.NowMs()};
}

}  // namespace hutong::provider
