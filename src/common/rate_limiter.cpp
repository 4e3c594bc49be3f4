#include "common/rate_limiter.h"

#include <algorithm>
#include <iterator>

namespace hutong {

InMemoryRateLimiter::InMemoryRateLimiter(const Clock& clock, size_t max_keys)
    : clock_(clock), max_keys_(std::max<size_t>(1, max_keys)) {}

void InMemoryRateLimiter::ExpireLocked(Entry& e, int64_t now_ms) {
  const int64_t cutoff = now_ms - e.window_ms;
  auto live = std::upper_bound(e.events.begin(), e.events.end(), cutoff);
  e.events.erase(e.events.begin(), live);
}

void InMemoryRateLimiter::EraseLocked(Lru::iterator it) {
  by_key_.erase(std::string_view(it->key));
  lru_.erase(it);
}

void InMemoryRateLimiter::SweepLocked(int64_t now_ms) {
  // The back is the key touched longest ago; with one window per kind of key that is also
  // the first to go stale, so stopping at the first live one keeps this amortised O(1).
  while (!lru_.empty()) {
    Entry& last = lru_.back();
    ExpireLocked(last, now_ms);
    if (!last.events.empty()) break;
    EraseLocked(std::prev(lru_.end()));
  }
}

RateDecision InMemoryRateLimiter::Acquire(std::string_view key, const RateLimit& limit) {
  // A limit that allows nothing is a caller's mistake; refusing is the safe reading of it.
  if (limit.max_events <= 0) return {false, std::max<int64_t>(1, limit.window_ms)};
  const int64_t now_ms = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  auto found = by_key_.find(key);
  if (found == by_key_.end()) {
    SweepLocked(now_ms);
    while (lru_.size() >= max_keys_) {
      ++evictions_;
      EraseLocked(std::prev(lru_.end()));
    }
    lru_.push_front(Entry{std::string(key), {now_ms}, limit.window_ms});
    by_key_.emplace(std::string_view(lru_.front().key), lru_.begin());
    return {};
  }
  Lru::iterator it = found->second;
  lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
  Entry& e = *it;
  e.window_ms = limit.window_ms;
  ExpireLocked(e, now_ms);
  if (static_cast<int64_t>(e.events.size()) >= limit.max_events) {
    // Refused until enough of the oldest events have left the window to make room for one
    // (more than one only if this key's limit was lowered since they were recorded).
    const size_t over = e.events.size() - static_cast<size_t>(limit.max_events);
    return {false, std::max<int64_t>(1, e.events[over] + e.window_ms - now_ms)};
  }
  // A clock that steps backwards must not break the ascending order ExpireLocked relies on.
  e.events.push_back(e.events.empty() ? now_ms : std::max(now_ms, e.events.back()));
  return {};
}

void InMemoryRateLimiter::Release(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = by_key_.find(key);
  if (found == by_key_.end()) return;
  Entry& e = *found->second;
  if (!e.events.empty()) e.events.pop_back();
  if (e.events.empty()) EraseLocked(found->second);
}

void InMemoryRateLimiter::Reset(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = by_key_.find(key);
  if (found != by_key_.end()) EraseLocked(found->second);
}

size_t InMemoryRateLimiter::Size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

uint64_t InMemoryRateLimiter::Evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return evictions_;
}

}  // namespace hutong
