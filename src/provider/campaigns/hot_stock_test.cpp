#include "provider/campaigns/hot_stock.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace hutong::provider {
namespace {

const Error kSoldOut(ErrorCode::kOutOfStock, "not enough stock left for this deal");
const Error kLimit(ErrorCode::kConflict, "per-user limit reached: at most 1 of this deal per user");
using Mode = HotStock::Mode;

TEST(HotStockTest, RefusesWhatTheDatabaseRefusedUntilStale) {
  ManualClockForTest clock(1'000'000);
  HotStock hot(1000);
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_1", 1, clock.NowMs(), Mode::kOneProbe));
  hot.MarkSoldOut("deal_a", "", 1, kSoldOut, hot.Generation(), clock.NowMs());
  auto r = hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kOneProbe);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ErrorCode::kOutOfStock);
  EXPECT_EQ(r->detail, kSoldOut.detail);
  EXPECT_FALSE(hot.Refusal("deal_b", "", "mpu_2", 1, clock.NowMs(), Mode::kOneProbe))
      << "other deals unaffected";
  // Refused for 1 unit: larger requests may be invalid (over the limit) and go to the database.
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_2", 2, clock.NowMs(), Mode::kOneProbe));

  clock.Advance(999);
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kFreshOnly));
  clock.Advance(1);  // stale: the handler path asks the database for every request
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kFreshOnly));
  // The fast path lets exactly one probe through per period and refuses the rest.
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kOneProbe));
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_3", 1, clock.NowMs(), Mode::kOneProbe));
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_4", 1, clock.NowMs() + 999, Mode::kOneProbe));
  EXPECT_EQ(hot.counters().probes, 1u);
  // The probe let through is not refused again by the handler's check.
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kFreshOnly));
  // The probe refused again: fresh for another period.
  hot.MarkSoldOut("deal_a", "", 1, kSoldOut, hot.Generation(), clock.NowMs());
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_2", 1, clock.NowMs(), Mode::kFreshOnly));
  // Another node gave stock back: the next probe sells, and the marker is gone.
  clock.Advance(1000);
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_5", 1, clock.NowMs(), Mode::kOneProbe));
  hot.Sold("deal_a", "");
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_6", 1, clock.NowMs(), Mode::kOneProbe));
}

TEST(HotStockTest, StockReturnedHereClearsAtOnceAndBeatsARacingRefusal) {
  const int64_t now = 5'000'000;
  HotStock hot(1000);
  hot.MarkSoldOut("deal_a", "", 1, kSoldOut, hot.Generation(), now);
  hot.MarkLimitReached("deal_a", "mpu_1", 1, kLimit, hot.Generation(), now);
  ASSERT_TRUE(hot.Refusal("deal_a", "", "mpu_1", 1, now, Mode::kOneProbe));
  // An attempt starts, a cancellation gives a unit back, then the attempt's (older) refusal
  // arrives: it must not hide the returned unit.
  const uint64_t before = hot.Generation();
  hot.StockReturned("deal_a");
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_1", 1, now, Mode::kOneProbe));
  hot.MarkSoldOut("deal_a", "", 1, kSoldOut, before, now);
  hot.MarkLimitReached("deal_a", "mpu_1", 1, kLimit, before, now);
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_1", 1, now, Mode::kOneProbe));
  EXPECT_EQ(hot.counters().stale_marks, 2u);
  EXPECT_EQ(hot.DealsForTest(), 0u);
}

TEST(HotStockTest, PerUserLimitIsPerUserAndStockComesFirst) {
  const int64_t now = 7'000'000;
  HotStock hot(1000);
  hot.MarkLimitReached("deal_a", "mpu_1", 1, kLimit, hot.Generation(), now);
  auto r = hot.Refusal("deal_a", "", "mpu_1", 1, now, Mode::kOneProbe);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ErrorCode::kConflict);
  EXPECT_EQ(r->detail, kLimit.detail);
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_2", 1, now, Mode::kOneProbe));
  hot.MarkSoldOut("deal_a", "", 1, kSoldOut, hot.Generation(), now);
  r = hot.Refusal("deal_a", "", "mpu_1", 1, now, Mode::kOneProbe);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ErrorCode::kOutOfStock);
}

TEST(HotStockTest, QuantitiesAndSlots) {
  const int64_t now = 9'000'000;
  HotStock hot(1000);
  // 3 units refused: stock < 3, so 2 units may still be there.
  hot.MarkSoldOut("deal_r", "2026-01-01", 3, kSoldOut, hot.Generation(), now);
  EXPECT_FALSE(hot.Refusal("deal_r", "2026-01-01", "mpu_1", 2, now, Mode::kOneProbe));
  EXPECT_TRUE(hot.Refusal("deal_r", "2026-01-01", "mpu_1", 3, now, Mode::kOneProbe));
  EXPECT_FALSE(hot.Refusal("deal_r", "2026-01-02", "mpu_1", 3, now, Mode::kOneProbe)) << "another slot";
  hot.MarkSoldOut("deal_r", "2026-01-01", 1, kSoldOut, hot.Generation(), now);
  EXPECT_TRUE(hot.Refusal("deal_r", "2026-01-01", "mpu_1", 2, now, Mode::kOneProbe));
}

TEST(HotStockTest, UserMarkersAreBounded) {
  const int64_t now = 11'000'000;
  HotStock hot(1000, /*max_user_markers=*/3);
  for (int i = 0; i < 3; ++i) hot.MarkLimitReached("deal_a", "mpu_" + std::to_string(i), 1, kLimit, 0, now);
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_0", 1, now, Mode::kOneProbe));
  hot.MarkLimitReached("deal_a", "mpu_9", 1, kLimit, 0, now);  // over the bound: the old ones go
  EXPECT_FALSE(hot.Refusal("deal_a", "", "mpu_0", 1, now, Mode::kOneProbe));
  EXPECT_TRUE(hot.Refusal("deal_a", "", "mpu_9", 1, now, Mode::kOneProbe));
}

}  // namespace
}  // namespace hutong::provider
