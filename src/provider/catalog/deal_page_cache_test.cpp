#include "provider/catalog/deal_page_cache.h"

#include <gtest/gtest.h>

namespace hutong::provider {
namespace {

std::string Text(const DealPageCache::Body& body) {
  return body ? *body : std::string("<miss>");
}

TEST(DealPageCache, ServesOnlyPagesOfTheCurrentCatalogVersion) {
  ManualClockForTest clock(1'000'000);
  DealPageCache cache(clock, /*ttl_ms=*/1000);
  EXPECT_EQ(cache.Get("deal_a"), nullptr);
  uint64_t v = CatalogVersion();
  EXPECT_EQ(Text(cache.Put("deal_a", "{\"stock_left\":5}", v)), "{\"stock_left\":5}");
  EXPECT_EQ(Text(cache.Get("deal_a")), "{\"stock_left\":5}");

  // A write committed: the page is stale at once.
  BumpCatalogVersion();
  EXPECT_EQ(cache.Get("deal_a"), nullptr);

  // A page read before the write must not be stored under the new version (the caller
  // still gets it back to answer its own request).
  EXPECT_EQ(Text(cache.Put("deal_a", "{\"stock_left\":5}", v)), "{\"stock_left\":5}");
  EXPECT_EQ(cache.Get("deal_a"), nullptr);
  v = CatalogVersion();
  cache.Put("deal_a", "{\"stock_left\":4}", v);
  EXPECT_EQ(Text(cache.Get("deal_a")), "{\"stock_left\":4}");

  // Other nodes' writes are bounded by the TTL.
  clock.Advance(1001);
  EXPECT_EQ(cache.Get("deal_a"), nullptr);
}

TEST(DealPageCache, HitsShareOneImmutableBody) {
  ManualClockForTest clock(0);
  DealPageCache cache(clock);
  const auto stored = cache.Put("list:10", "{\"items\":[]}", CatalogVersion());
  const auto a = cache.Get("list:10");
  const auto b = cache.Get("list:10");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a.get(), b.get());  // no copy per hit
  EXPECT_EQ(a.get(), stored.get());
  // A replaced entry leaves the bodies already handed out as they were.
  cache.Put("list:10", "{\"items\":[1]}", CatalogVersion());
  EXPECT_EQ(*a, "{\"items\":[]}");
  EXPECT_EQ(Text(cache.Get("list:10")), "{\"items\":[1]}");
}

TEST(DealPageCache, StaysBounded) {
  ManualClockForTest clock(0);
  DealPageCache cache(clock, 1000, /*max_entries=*/3);
  const uint64_t v = CatalogVersion();
  for (int i = 0; i < 10; ++i) cache.Put("deal_" + std::to_string(i), "x", v);
  int present = 0;
  for (int i = 0; i < 10; ++i) present += cache.Get("deal_" + std::to_string(i)) != nullptr;
  EXPECT_LE(present, 3);
  EXPECT_NE(cache.Get("deal_9"), nullptr);
}

}  // namespace
}  // namespace hutong::provider
