#include "provider/catalog/deal_page_cache.h"

#include <gtest/gtest.h>

namespace hutong::provider {
namespace {

TEST(DealPageCache, ServesOnlyPagesOfTheCurrentCatalogVersion) {
  ManualClockForTest clock(1'000'000);
  DealPageCache cache(clock, /*ttl_ms=*/1000);
  EXPECT_FALSE(cache.Get("deal_a").has_value());
  uint64_t v = CatalogVersion();
  cache.Put("deal_a", "{\"stock_left\":5}", v);
  EXPECT_EQ(cache.Get("deal_a"), "{\"stock_left\":5}");

  // A write committed: the page is stale at once.
  BumpCatalogVersion();
  EXPECT_FALSE(cache.Get("deal_a").has_value());

  // A page read before the write must not be stored under the new version.
  cache.Put("deal_a", "{\"stock_left\":5}", v);
  EXPECT_FALSE(cache.Get("deal_a").has_value());
  v = CatalogVersion();
  cache.Put("deal_a", "{\"stock_left\":4}", v);
  EXPECT_EQ(cache.Get("deal_a"), "{\"stock_left\":4}");

  // Other nodes' writes are bounded by the TTL.
  clock.Advance(1001);
  EXPECT_FALSE(cache.Get("deal_a").has_value());
}

TEST(DealPageCache, StaysBounded) {
  ManualClockForTest clock(0);
  DealPageCache cache(clock, 1000, /*max_entries=*/3);
  const uint64_t v = CatalogVersion();
  for (int i = 0; i < 10; ++i) cache.Put("deal_" + std::to_string(i), "x", v);
  int present = 0;
  for (int i = 0; i < 10; ++i) present += cache.Get("deal_" + std::to_string(i)).has_value();
  EXPECT_LE(present, 3);
  EXPECT_TRUE(cache.Get("deal_9").has_value());
}

}  // namespace
}  // namespace hutong::provider
