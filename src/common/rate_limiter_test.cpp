// The in-memory sliding-window limiter: exact counts, Retry-After, take-backs, bounded
// memory, and no over-admission under concurrency.
#include "common/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace hutong {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr RateLimit kFivePer15Min{5, 15 * kMinute};

TEST(RateLimiter, AdmitsUpToTheLimitThenSaysHowLongToWait) {
  ManualClockForTest clock(1'700'000'000'000);
  InMemoryRateLimiter limiter(clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.Acquire("phone:1", kFivePer15Min).allowed) << i;
    clock.Advance(kMinute);
  }
  // Five events at t=0..4 min; now t=5 min: the first leaves the window at t=15 min.
  RateDecision refused = limiter.Acquire("phone:1", kFivePer15Min);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 10 * kMinute);
  // A refusal records nothing: waiting exactly that long is enough.
  clock.Advance(10 * kMinute - 1);
  EXPECT_FALSE(limiter.Acquire("phone:1", kFivePer15Min).allowed);
  clock.Advance(1);
  EXPECT_TRUE(limiter.Acquire("phone:1", kFivePer15Min).allowed);
  // Sliding, not fixed: the window is again full until the t=1 min event leaves.
  RateDecision again = limiter.Acquire("phone:1", kFivePer15Min);
  EXPECT_FALSE(again.allowed);
  EXPECT_EQ(again.retry_after_ms, kMinute);
}

TEST(RateLimiter, KeysAreIndependent) {
  ManualClockForTest clock(0);
  InMemoryRateLimiter limiter(clock);
  const RateLimit one{1, kMinute};
  EXPECT_TRUE(limiter.Acquire("a", one).allowed);
  EXPECT_FALSE(limiter.Acquire("a", one).allowed);
  EXPECT_TRUE(limiter.Acquire("b", one).allowed);
  EXPECT_TRUE(limiter.Acquire("ab", one).allowed);
}

TEST(RateLimiter, ReleaseTakesBackOneEventAndResetForgetsAll) {
  ManualClockForTest clock(0);
  InMemoryRateLimiter limiter(clock);
  const RateLimit two{2, kMinute};
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  EXPECT_FALSE(limiter.Acquire("k", two).allowed);
  limiter.Release("k");
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  EXPECT_FALSE(limiter.Acquire("k", two).allowed);
  limiter.Reset("k");
  EXPECT_EQ(limiter.Size(), 0u);
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  // Releasing an unknown key, or more often than acquired, is harmless.
  limiter.Release("nobody");
  limiter.Release("k");
  limiter.Release("k");
  limiter.Release("k");
  EXPECT_EQ(limiter.Size(), 0u);
}

TEST(RateLimiter, ANonPositiveLimitRefuses) {
  ManualClockForTest clock(0);
  InMemoryRateLimiter limiter(clock);
  RateDecision d = limiter.Acquire("k", RateLimit{0, kMinute});
  EXPECT_FALSE(d.allowed);
  EXPECT_GT(d.retry_after_ms, 0);
  EXPECT_EQ(limiter.Size(), 0u);
}

TEST(RateLimiter, StaleKeysAreDroppedAndMemoryIsBounded) {
  ManualClockForTest clock(0);
  InMemoryRateLimiter limiter(clock, /*max_keys=*/3);
  const RateLimit limit{2, kMinute};
  for (const char* k : {"a", "b", "c"}) EXPECT_TRUE(limiter.Acquire(k, limit).allowed);
  EXPECT_EQ(limiter.Size(), 3u);

  // Once their window has passed, old keys make room without counting as evictions.
  clock.Advance(kMinute);
  EXPECT_TRUE(limiter.Acquire("d", limit).allowed);
  EXPECT_EQ(limiter.Size(), 1u);
  EXPECT_EQ(limiter.Evictions(), 0u);

  // Full of live keys: the least recently used one goes, a newcomer is never refused.
  EXPECT_TRUE(limiter.Acquire("e", limit).allowed);
  EXPECT_TRUE(limiter.Acquire("f", limit).allowed);
  EXPECT_TRUE(limiter.Acquire("d", limit).allowed);  // d is now the most recently used
  EXPECT_TRUE(limiter.Acquire("g", limit).allowed);  // evicts e
  EXPECT_EQ(limiter.Size(), 3u);
  EXPECT_EQ(limiter.Evictions(), 1u);
  EXPECT_FALSE(limiter.Acquire("d", limit).allowed) << "d kept both of its events";
  EXPECT_TRUE(limiter.Acquire("e", limit).allowed) << "e was forgotten";

  for (int i = 0; i < 10'000; ++i) (void)limiter.Acquire("flood-" + std::to_string(i), limit);
  EXPECT_EQ(limiter.Size(), 3u);
}

TEST(RateLimiter, ConcurrentCallersNeverExceedTheLimit) {
  ManualClockForTest clock(0);
  InMemoryRateLimiter limiter(clock);
  const RateLimit limit{20, kMinute};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (limiter.Acquire("hot", limit).allowed) admitted.fetch_add(1);
        if (i % 7 == 0) (void)limiter.Acquire("cold-" + std::to_string(i), limit);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 20);
}

TEST(RateLimiter, ClockSteppingBackDoesNotBreakTheWindow) {
  ManualClockForTest clock(10 * kMinute);
  InMemoryRateLimiter limiter(clock);
  const RateLimit two{2, kMinute};
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  clock.Set(5 * kMinute);
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
  EXPECT_FALSE(limiter.Acquire("k", two).allowed);
  clock.Set(11 * kMinute);
  EXPECT_TRUE(limiter.Acquire("k", two).allowed);
}

}  // namespace
}  // namespace hutong
