#include "provider/catalog/deal_page_cache.h"

#include <atomic>

namespace hutong::provider {
namespace {
std::atomic<uint64_t> g_catalog_version{1};
}  // namespace

uint64_t CatalogVersion() {
  return g_catalog_version.load(std::memory_order_acquire);
}
void BumpCatalogVersion() {
  g_catalog_version.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace hutong::provider
