// Time source, injectable so tests can move time without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hutong {

// Milliseconds since the Unix epoch, UTC. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  static const SystemClock& Instance();
};

// A clock that only moves when told to. For tests only.
class ManualClockForTest final : public Clock {
 public:
  explicit ManualClockForTest(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t ms) { now_ms_.store(ms); }
  void Advance(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
};

// RFC 3339 in UTC with millisecond precision, e.g. 2026-01-03T15:59:59.000Z.
std::string FormatRfc3339(int64_t unix_ms);
// The same instant in Asia/Shanghai (UTC+08:00, no daylight saving since 1991), e.g.
// 2026-01-03T23:59:59.000+08:00: how campaign windows are shown.
std::string FormatRfc3339Shanghai(int64_t unix_ms);
// Accepts RFC 3339 with `Z` or a numeric offset, optional fractional seconds.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace hutong
