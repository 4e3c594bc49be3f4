#include "http/metrics.h"

#include <charconv>
#include <cmath>

namespace hutong::http {
namespace {

// Label values escape backslash, double quote and newline (Prometheus text format 0.0.4).
void AppendLabelValue(std::string& out, std::string_view v) {
  out.push_back('"');
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
}

void AppendNumber(std::string& out, double v) {
  char buf[64];
  // Fixed notation, shortest round-trip: le="0.0005" rather than le="5e-04".
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec == std::errc()) {
    out.append(buf, end);
  } else {
    out += "NaN";
  }
}

// {role="…",method="…",route="…" — left open so callers can add labels and the brace.
void AppendSeriesLabels(std::string& out, const Metrics::RouteSeries& s) {
  out += "{role=";
  AppendLabelValue(out, s.role);
  out += ",method=";
  AppendLabelValue(out, s.method);
  out += ",route=";
  AppendLabelValue(out, s.route);
}

}  // namespace

Metrics::RouteSeries* Metrics::Series(std::string_view role, std::string_view method,
                                      std::string_view route) {
  std::lock_guard lock(mu_);
  for (const auto& s : series_) {
    if (s->role == role && s->method == method && s->route == route) return s.get();
  }
  auto s = std::make_unique<RouteSeries>();
  s->role = role;
  s->method = method;
  s->route = route;
  series_.push_back(std::move(s));
  return series_.back().get();
}

void Metrics::Observe(RouteSeries* s, int status, double seconds) {
  if (s == nullptr) return;
  // Out-of-range statuses cannot happen from our server; count them as 0 rather than
  // indexing out of bounds.
  const size_t index =
      status >= 0 && status < static_cast<int>(s->by_status.size()) ? static_cast<size_t>(status) : 0;
  s->by_status[index].fetch_add(1, std::memory_order_relaxed);
  if (!(seconds >= 0)) seconds = 0;  // also catches NaN
  size_t bucket = kBuckets.size();   // +Inf
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bucket = i;
      break;
    }
  }
  // Buckets are stored non-cumulatively (one increment per observation) and summed when
  // rendered.
  s->buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  s->sum_micros.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

void Metrics::AddCollector(std::function<void(std::string&)> collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::Render() const {
  // Snapshot under the lock, render outside it: series never move or die, and a collector
  // may take its own locks.
  std::vector<const RouteSeries*> series;
  std::vector<std::function<void(std::string&)>> collectors;
  {
    std::lock_guard lock(mu_);
    series.reserve(series_.size());
    for (const auto& s : series_) series.push_back(s.get());
    collectors = collectors_;
  }

  std::string out;
  out.reserve(4096);
  out += "# HELP hutong_http_requests_total HTTP requests served, by route and status.\n";
  out += "# TYPE hutong_http_requests_total counter\n";
  for (const RouteSeries* s : series) {
    for (size_t status = 0; status < s->by_status.size(); ++status) {
      const uint64_t n = s->by_status[status].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "hutong_http_requests_total";
      AppendSeriesLabels(out, *s);
      out += ",status=\"";
      out += std::to_string(status);
      out += "\"} ";
      out += std::to_string(n);
      out += '\n';
    }
  }

  out += "# HELP hutong_http_request_duration_seconds Time from reading a request to having its response.\n";
  out += "# TYPE hutong_http_request_duration_seconds histogram\n";
  for (const RouteSeries* s : series) {
    std::array<uint64_t, kBuckets.size() + 1> counts{};
    uint64_t total = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      counts[i] = s->buckets[i].load(std::memory_order_relaxed);
      total += counts[i];
    }
    if (total == 0) continue;  // a route never called adds nothing but noise
    uint64_t cumulative = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      out += "hutong_http_request_duration_seconds_bucket";
      AppendSeriesLabels(out, *s);
      out += ",le=\"";
      if (i < kBuckets.size()) {
        AppendNumber(out, kBuckets[i]);
      } else {
        out += "+Inf";
      }
      out += "\"} ";
      out += std::to_string(cumulative);
      out += '\n';
    }
    out += "hutong_http_request_duration_seconds_sum";
    AppendSeriesLabels(out, *s);
    out += "} ";
    AppendNumber(out, static_cast<double>(s->sum_micros.load(std::memory_order_relaxed)) / 1e6);
    out += '\n';
    out += "hutong_http_request_duration_seconds_count";
    AppendSeriesLabels(out, *s);
    out += "} ";
    // The +Inf bucket total, so _count and the buckets agree within one scrape.
    out += std::to_string(cumulative);
    out += '\n';
  }

  for (const auto& collect : collectors) collect(out);
  return out;
}

}  // namespace hutong::http
