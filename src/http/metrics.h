// Prometheus metrics: request counts and a latency histogram per route, plus collectors
// other components add (pool sizes, queue depths). Lock-free on the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hutong::http {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  // Per-route series. Created at route registration; the pointer stays valid.
  struct RouteSeries {
    std::string role;
    std::string method;
    std::string route;
    std::array<std::atomic<uint64_t>, 600> by_status{};                // index = HTTP status
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last = +Inf
    std::atomic<uint64_t> sum_micros{0};
  };

  // Thread-safe. Same (role, method, route) returns the same series.
  RouteSeries* Series(std::string_view role, std::string_view method, std::string_view route);
  static void Observe(RouteSeries* s, int status, double seconds);

  // A collector appends complete Prometheus text lines (with # HELP/# TYPE) when scraped.
  void AddCollector(std::function<void(std::string&)> collector);

  // The text exposition format.
  std::string Render() const;

 private:
  mutable std::mutex mu_;  // guards series_ and collectors_ (not the atomics inside)
  std::vector<std::unique_ptr<RouteSeries>> series_;
  std::vector<std::function<void(std::string&)>> collectors_;
};

}  // namespace hutong::http
