// Counting events per key over a sliding time window (login failures per phone and per
// network, later other abuse signals), behind an interface so that a cluster can swap the
// in-process limiter for a shared (Redis) one.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace hutong {

// At most `max_events` events per key inside any `window_ms` milliseconds.
struct RateLimit {
  int64_t max_events;
  int64_t window_ms;
};

struct RateDecision {
  bool allowed = true;
  int64_t retry_after_ms = 0;  // when refused: how long until one event leaves the window (> 0)
};

// Implementations must be thread-safe: request threads call them concurrently.
class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Records one event for `key` when fewer than `limit.max_events` are inside the trailing
  // window, atomically with the check, so concurrent callers can never together exceed the
  // limit. Otherwise records nothing and says how long to wait. Callers namespace their keys
  // ("login.phone:…"); a key should always be used with the same limit.
  virtual RateDecision Acquire(std::string_view key, const RateLimit& limit) = 0;
  // Takes back the most recent event of `key`: an attempt reserved by Acquire that turned
  // out not to count (a successful login is not a failure).
  virtual void Release(std::string_view key) = 0;
  // Forgets every event of `key`.
  virtual void Reset(std::string_view key) = 0;
};

// A RateLimiter in this process's memory: exact sliding windows (one timestamp per counted
// event, so a key costs about max_events × 8 bytes). Right for one node; behind a load
// balancer each node counts on its own. Memory is bounded by `max_keys`: keys whose events
// have all left their window are dropped as new keys arrive, and when the limiter is still
// full the least recently used key is evicted (so a flood of fresh keys can at worst make
// the limiter forget the quietest ones, never refuse a new caller). Thread-safe.
class InMemoryRateLimiter final : public RateLimiter {
 public:
  static constexpr size_t kDefaultMaxKeys = 50'000;

  // `clock` must outlive the limiter.
  explicit InMemoryRateLimiter(const Clock& clock, size_t max_keys = kDefaultMaxKeys);

  RateDecision Acquire(std::string_view key, const RateLimit& limit) override;
  void Release(std::string_view key) override;
  void Reset(std::string_view key) override;

  // Keys currently held (stale ones may linger until the next Acquire of a new key).
  size_t Size() const;
  // Keys with events still inside their window that were evicted because the limiter was full.
  uint64_t Evictions() const;

 private:
  struct Entry {
    std::string key;
    std::vector<int64_t> events;  // ascending times (ms) of counted events
    int64_t window_ms = 0;        // of the last Acquire
  };
  using Lru = std::list<Entry>;  // most recently used first

  // Drops events at or before now - window. Requires mu_.
  static void ExpireLocked(Entry& e, int64_t now_ms);
  // Removes least recently used keys that hold no live event. Requires mu_.
  void SweepLocked(int64_t now_ms);
  void EraseLocked(Lru::iterator it);

  const Clock& clock_;
  const size_t max_keys_;
  mutable std::mutex mu_;
  Lru lru_;                                                     // GUARDED_BY(mu_)
  std::unordered_map<std::string_view, Lru::iterator> by_key_;  // GUARDED_BY(mu_); views into lru_ keys
  uint64_t evictions_ = 0;                                      // GUARDED_BY(mu_)
};

}  // namespace hutong
