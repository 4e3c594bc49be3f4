// Hot stock in memory: what this node has learned about sold-out deals and users at their
// per-user limit, so that a flash sale's rejections are answered without the database.
//
// The database stays the authority: a marker only ever *refuses* early what the conditional
// UPDATE (or the per-user count) just refused, and every sale is still decided there.
//  - Set: when a take finds no stock (out_of_stock) for (deal, slot) with quantity q, every
//    later request for q or more units of it is refused from memory; likewise a per-user
//    limit refusal for (user, deal). A marker is kept only if no stock came back on this
//    node since the refused attempt started (a process-wide return generation), so a take
//    that raced a cancellation never hides the returned units.
//  - Cleared: when this node gives stock of the deal back (order cancelled or expired,
//    unused voucher refunded) all markers of the deal go, including its users' limit
//    markers (a cancelled order lowers its user's count).
//  - Other nodes: a marker older than `stale_ms` (1 s) no longer refuses on its own; the
//    first request after that goes to the database as a probe (its outcome sets or clears
//    the marker again) while the rest keep being refused, so stock given back by another
//    node (or a campaign window that moved a deal to its own stock) is seen within about
//    `stale_ms` of the next attempt, at the price of one database write per marker per
//    second.
//  - After a crash or restart the memory is empty: the first refused takes rebuild it from
//    campaign_deals.stock_left / deals.stock_left, which are durable.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace hutong::provider {

class HotStock {
 public:
  static constexpr int64_t kDefaultStaleMs = 1000;

  explicit HotStock(int64_t stale_ms = kDefaultStaleMs, size_t max_user_markers = 200'000)
      : stale_ms_(stale_ms), max_user_markers_(max_user_markers) {}

  // Taken before an attempt that may end in MarkSoldOut / MarkLimitReached.
  uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }

  // The refusal the database gave last (out_of_stock, or the per-user limit for
  // `user_id`), when it still stands for `quantity` units; nullopt → ask the database.
  // kOneProbe (the I/O-thread fast path): a stale marker lets one caller per period through
  // as the probe and keeps refusing the others. kFreshOnly (the handler, for requests the
  // fast path did not judge): a stale marker refuses nobody. Thread-safe, never blocks on
  // I/O (one short mutex).
  enum class Mode { kOneProbe, kFreshOnly };
  std::optional<Error> Refusal(const std::string& deal_id, std::string_view slot, const std::string& user_id,
                               int64_t quantity, int64_t now_ms, Mode mode);

  // After the database refused `quantity` units (`refusal` is what it said). Ignored when
  // stock came back on this node since `generation` was read.
  void MarkSoldOut(const std::string& deal_id, std::string_view slot, int64_t quantity, const Error& refusal,
                   uint64_t generation, int64_t now_ms);
  void MarkLimitReached(const std::string& deal_id, const std::string& user_id, int64_t quantity,
                        const Error& refusal, uint64_t generation, int64_t now_ms);
  // Whether this node holds any refusal of the deal (sold out in some slot, or a user at
  // the limit), fresh or stale: stock is then unlikely enough that an order should take it
  // before asking the host for a pay order (orders.h, PayOrderTiming).
  bool HasMarkers(const std::string& deal_id) const;
  // A take of the deal succeeded (stock was there after all, e.g. a probe): forget it.
  void Sold(const std::string& deal_id, std::string_view slot);
  // Stock of the deal came back on this node (cancel, expiry, refund). Call it inside the
  // transaction that returns it or after; before its commit is fine (see Generation()).
  void StockReturned(const std::string& deal_id);

  struct Counters {
    uint64_t refused = 0;      // answered from memory
    uint64_t probes = 0;       // stale markers let through to the database
    uint64_t marked = 0;       // markers set
    uint64_t cleared = 0;      // deals whose markers were dropped by a stock return
    uint64_t stale_marks = 0;  // marks ignored because stock came back meanwhile
  };
  Counters counters() const;
  size_t DealsForTest() const;
  // Empties the memory as a restart would (the counters stay).
  void ClearForTest();

 private:
  // The database refused `min_refused`..`max_refused` units (any amount in between is a
  // valid request that would be refused too; beyond it the request may be invalid, which
  // the database path must say).
  struct Marker {
    int64_t min_refused = 0;
    int64_t max_refused = 0;
    int64_t checked_at = 0;  // when the database last said so
    int64_t probe_at = 0;    // when the last probe was let through
    Error refusal;
  };
  struct DealMarkers {
    std::map<std::string, Marker, std::less<>> slots;  // "" = no slot
    std::unordered_map<std::string, Marker> users;
  };
  void Tighten(Marker& m, int64_t quantity, const Error& refusal, int64_t now_ms);

  const int64_t stale_ms_;
  const size_t max_user_markers_;
  std::atomic<uint64_t> generation_{0};
  mutable std::mutex mu_;
  std::unordered_map<std::string, DealMarkers> deals_;  // GUARDED_BY(mu_)
  size_t user_markers_ = 0;                             // GUARDED_BY(mu_)
  Counters counters_;                                   // GUARDED_BY(mu_)
};

// The one a provider process keeps: every path that gives stock back reports to it.
HotStock& ProcessHotStock();

// Prometheus lines (hutong_hot_stock_*) for /metrics.
void AppendHotStockMetrics(std::string& out);

}  // namespace hutong::provider
