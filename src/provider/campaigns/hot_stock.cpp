#include "provider/campaigns/hot_stock.h"

#include <algorithm>

namespace hutong::provider {

void HotStock::Tighten(Marker& m, int64_t quantity, const Error& refusal, int64_t now_ms) {
  // Refusals within one period add up (stock < min holds for all of them); an older fact is
  // replaced by the new one.
  const bool fresh = m.max_refused > 0 && now_ms - m.checked_at < stale_ms_;
  m.min_refused = fresh ? std::min(m.min_refused, quantity) : quantity;
  m.max_refused = fresh ? std::max(m.max_refused, quantity) : quantity;
  m.checked_at = now_ms;
  m.refusal = refusal;
}

std::optional<Error> HotStock::Refusal(const std::string& deal_id, std::string_view slot,
                                       const std::string& user_id, int64_t quantity, int64_t now_ms,
                                       Mode mode) {
  std::lock_guard lock(mu_);
  auto d = deals_.find(deal_id);
  if (d == deals_.end()) return std::nullopt;
  // The markers that speak for this request: stock first, as the database does (the take
  // precedes the per-user count).
  Marker* matching[3] = {nullptr, nullptr, nullptr};
  size_t n = 0;
  auto consider = [&](Marker& m) {
    if (quantity >= m.min_refused && quantity <= m.max_refused) matching[n++] = &m;
  };
  if (auto s = d->second.slots.find(std::string_view()); s != d->second.slots.end()) consider(s->second);
  if (!slot.empty()) {
    if (auto s = d->second.slots.find(slot); s != d->second.slots.end()) consider(s->second);
  }
  if (!user_id.empty()) {
    if (auto u = d->second.users.find(user_id); u != d->second.users.end()) consider(u->second);
  }
  if (n == 0) return std::nullopt;
  for (size_t i = 0; i < n; ++i) {
    if (now_ms - matching[i]->checked_at < stale_ms_) {
      ++counters_.refused;
      return matching[i]->refusal;
    }
  }
  if (mode == Mode::kFreshOnly) return std::nullopt;
  // All stale: one caller per period asks the database; the others are still refused.
  for (size_t i = 0; i < n; ++i) {
    if (now_ms - matching[i]->probe_at < stale_ms_) {
      ++counters_.refused;
      return matching[i]->refusal;
    }
  }
  for (size_t i = 0; i < n; ++i) matching[i]->probe_at = now_ms;
  ++counters_.probes;
  return std::nullopt;
}

void HotStock::MarkSoldOut(const std::string& deal_id, std::string_view slot, int64_t quantity,
                           const Error& refusal, uint64_t generation, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (generation != Generation()) {
    ++counters_.stale_marks;
    return;
  }
  Tighten(deals_[deal_id].slots[std::string(slot)], quantity, refusal, now_ms);
  ++counters_.marked;
}

void HotStock::MarkLimitReached(const std::string& deal_id, const std::string& user_id, int64_t quantity,
                                const Error& refusal, uint64_t generation, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (generation != Generation()) {
    ++counters_.stale_marks;
    return;
  }
  if (user_markers_ >= max_user_markers_) {
    // Bounded memory: markers are only a shortcut, so dropping them all is always safe.
    for (auto& [id, d] : deals_) d.users.clear();
    user_markers_ = 0;
  }
  auto& users = deals_[deal_id].users;
  auto [it, inserted] = users.try_emplace(user_id);
  if (inserted) ++user_markers_;
  Tighten(it->second, quantity, refusal, now_ms);
  ++counters_.marked;
}

bool HotStock::HasMarkers(const std::string& deal_id) const {
  std::lock_guard lock(mu_);
  auto d = deals_.find(deal_id);
  return d != deals_.end() && (!d->second.slots.empty() || !d->second.users.empty());
}

void HotStock::Sold(const std::string& deal_id, std::string_view slot) {
  std::lock_guard lock(mu_);
  auto d = deals_.find(deal_id);
  if (d == deals_.end()) return;
  d->second.slots.erase(std::string(slot));
  if (!slot.empty()) d->second.slots.erase(std::string());
}

void HotStock::StockReturned(const std::string& deal_id) {
  std::lock_guard lock(mu_);
  // Bumped under the lock, so a Mark* that read the old generation and comes after this
  // is refused, and one that came before has its marker erased here.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  auto d = deals_.find(deal_id);
  if (d == deals_.end()) return;
  user_markers_ -= d->second.users.size();
  deals_.erase(d);
  ++counters_.cleared;
}

HotStock::Counters HotStock::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

size_t HotStock::DealsForTest() const {
  std::lock_guard lock(mu_);
  return deals_.size();
}

void HotStock::ClearForTest() {
  std::lock_guard lock(mu_);
  deals_.clear();
  user_markers_ = 0;
}

HotStock& ProcessHotStock() {
  static HotStock hot;
  return hot;
}

void AppendHotStockMetrics(std::string& out) {
  const HotStock::Counters c = ProcessHotStock().counters();
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += " counter\n";
    out += name;
    out += ' ';
    out += std::to_string(v);
    out += '\n';
  };
  counter("hutong_hot_stock_refused_total",
          "Order attempts refused from memory (sold out or per-user limit).", c.refused);
  counter("hutong_hot_stock_probes_total", "Stale hot-stock markers let through to the database.", c.probes);
  counter("hutong_hot_stock_marked_total", "Hot-stock markers set from a database refusal.", c.marked);
  counter("hutong_hot_stock_cleared_total", "Deals whose hot-stock markers a stock return dropped.",
          c.cleared);
}

}  // namespace hutong::provider
