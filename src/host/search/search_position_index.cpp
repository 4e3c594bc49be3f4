#include "host/search/search_position_index.h"

#include <algorithm>
#include <limits>

namespace hutong::host::search {
using storage::Access;
using storage::Query;

namespace {

// The log's bounds, in the caller's snapshot (host v21; the oldest entries are pruned).
constexpr Query kSeqBounds{"search_position_index.seq_bounds", Access::kRead,
                           "SELECT COALESCE(MAX(seq), 0), COALESCE(MIN(seq), 0) FROM search_doc_changes"};
// Every position in pages by rowid, so loading never holds more than a page of rows.
constexpr Query kLoadPage{"search_position_index.load_page", Access::kRead,
                          "SELECT id, lat, lng FROM search_doc_positions WHERE id > $1 ORDER BY id LIMIT $2"};
// Each changed rowid with its position now (NULLs: none), entries ($1, $2].
constexpr Query kChanges{"search_position_index.changes", Access::kRead,
                         "SELECT c.seq, c.id, p.lat, p.lng FROM search_doc_changes c "
                         "LEFT JOIN search_doc_positions p ON p.id = c.id WHERE c.seq > $1 AND c.seq <= $2 "
                         "ORDER BY c.seq LIMIT $3"};

constexpr int64_t kPage = 20'000;
// Candidate rowids kept across all queries (8 bytes each) before they are dropped at once.
constexpr size_t kMaxKeptIds = 262'144;

}  // namespace

Result<std::optional<int64_t>> SearchPositionIndex::Sync(storage::Tx& tx) {
  ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
  const int64_t end = bounds.empty() ? 0 : bounds[0].Int(0);
  const int64_t first = bounds.empty() ? 0 : bounds[0].Int(1);
  if (loaded_.load(std::memory_order_acquire)) {
    std::shared_lock data(data_mu_);
    if (applied_seq_ == end) return std::optional<int64_t>(end);  // the usual case
    if (applied_seq_ > end) return std::optional<int64_t>();      // ahead of this snapshot
  }
  std::unique_lock lock(refresh_mu_, std::defer_lock);
  if (loaded_.load(std::memory_order_acquire)) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return std::optional<int64_t>();  // another request is loading it
  }
  int64_t applied = 0;
  {
    std::shared_lock data(data_mu_);
    applied = applied_seq_;
  }
  if (!loaded_.load(std::memory_order_relaxed) || first > applied + 1) {
    // Not loaded yet, or entries it has not applied were pruned: start from the table.
    RETURN_IF_ERROR(Load(tx, end));
  } else if (applied < end) {
    RETURN_IF_ERROR(Poll(tx, end));
  }
  std::shared_lock data(data_mu_);
  if (applied_seq_ != end) return std::optional<int64_t>();
  return std::optional<int64_t>(end);
}

Status SearchPositionIndex::Load(storage::Tx& tx, int64_t end) {
  std::vector<Entry> entries;
  for (int64_t after = std::numeric_limits<int64_t>::min();;) {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kLoadPage, {after, kPage}));
    for (const auto& r : rows) entries.push_back({r.Int(0), {r.Double(1), r.Double(2)}});
    if (static_cast<int64_t>(rows.size()) < kPage) break;
    after = rows.rows.back().Int(0);
  }
  entries.shrink_to_fit();
  std::unique_lock data(data_mu_);
  entries_ = std::move(entries);
  changed_.clear();
  applied_seq_ = end;
  loaded_.store(true, std::memory_order_release);
  return Ok();
}

Status SearchPositionIndex::Poll(storage::Tx& tx, int64_t end) {
  int64_t from = 0;
  {
    std::shared_lock data(data_mu_);
    from = applied_seq_;
  }
  // Read every entry up to the snapshot's end first, then apply them at once: Lookup never
  // sees a copy between two log positions.
  std::vector<std::pair<int64_t, std::optional<Position>>> changes;
  while (from < end) {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kChanges, {from, end, kPage}));
    if (rows.empty()) break;
    for (const auto& r : rows) {
      if (r.IsNull(2) || r.IsNull(3)) {
        changes.emplace_back(r.Int(1), std::nullopt);
      } else {
        changes.emplace_back(r.Int(1), Position{r.Double(2), r.Double(3)});
      }
    }
    from = rows.rows.back().Int(0);
  }
  std::unique_lock data(data_mu_);
  for (auto& [id, at] : changes) changed_[id] = at;
  applied_seq_ = end;
  if (changed_.size() > max_changed_) Rebuild();
  return Ok();
}

void SearchPositionIndex::Rebuild() {
  // One linear merge of the sorted entries (less those changed) with the changed positions
  // sorted: no sort of the whole array while the readers wait.
  auto by_id = [](const Entry& a, const Entry& b) { return a.id < b.id; };
  std::vector<Entry> added;
  added.reserve(changed_.size());
  for (const auto& [id, at] : changed_) {
    if (at) added.push_back({id, *at});
  }
  std::sort(added.begin(), added.end(), by_id);
  std::vector<Entry> merged;
  merged.reserve(entries_.size() + added.size());
  auto next = added.begin();
  for (const Entry& e : entries_) {
    if (changed_.contains(e.id)) continue;
    for (; next != added.end() && next->id < e.id; ++next) merged.push_back(*next);
    merged.push_back(e);
  }
  merged.insert(merged.end(), next, added.end());
  entries_ = std::move(merged);
  changed_.clear();
}

bool SearchPositionIndex::Lookup(int64_t seq, const std::vector<int64_t>& ids,
                                 std::vector<std::optional<Position>>* out) const {
  std::shared_lock data(data_mu_);
  if (!loaded_.load(std::memory_order_acquire) || applied_seq_ != seq) return false;
  out->assign(ids.size(), std::nullopt);
  const bool masked = !changed_.empty();
  auto by_id = [](const Entry& e, int64_t id) { return e.id < id; };
  auto at = entries_.begin();
  int64_t previous = std::numeric_limits<int64_t>::min();
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (masked) {
      if (auto c = changed_.find(id); c != changed_.end()) {
        (*out)[i] = c->second;
        continue;
      }
    }
    // Ascending ids (a length's matches) lie close together: gallop forward from the last
    // one found instead of a search of the whole array each time.
    if (id < previous) at = entries_.begin();
    previous = id;
    size_t step = 1;
    auto hi = at;
    while (entries_.end() - hi > static_cast<std::ptrdiff_t>(step) &&
           hi[static_cast<std::ptrdiff_t>(step)].id < id) {
      hi += static_cast<std::ptrdiff_t>(step);
      step *= 2;
    }
    const auto stop = entries_.end() - hi > static_cast<std::ptrdiff_t>(step)
                          ? hi + static_cast<std::ptrdiff_t>(step) + 1
                          : entries_.end();
    at = std::lower_bound(hi, stop, id, by_id);
    if (at != entries_.end() && at->id == id) (*out)[i] = at->at;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

SearchPositionIndex::Matches SearchPositionIndex::KeptMatches(int64_t seq, const std::string& key) const {
  std::lock_guard lock(matches_mu_);
  if (seq != matches_seq_) return nullptr;
  auto it = matches_.find(key);
  return it == matches_.end() ? nullptr : it->second;
}

void SearchPositionIndex::KeepMatches(int64_t seq, const std::string& key, Matches ids) {
  std::lock_guard lock(matches_mu_);
  if (seq < matches_seq_) return;  // read in an older snapshot than those kept
  if (seq > matches_seq_ || matches_ids_ + ids->size() > kMaxKeptIds) {
    matches_.clear();
    matches_ids_ = 0;
    matches_seq_ = seq;
  }
  if (ids->size() > kMaxKeptIds) return;
  matches_ids_ += ids->size();
  auto [it, added] = matches_.try_emplace(key, ids);
  if (!added) {
    matches_ids_ -= it->second->size();
    it->second = std::move(ids);
  }
}

size_t SearchPositionIndex::SizeForTest() const {
  std::shared_lock data(data_mu_);
  size_t n = entries_.size();
  for (const auto& e : entries_) {
    if (changed_.contains(e.id)) --n;
  }
  for (const auto& [id, at] : changed_) {
    if (at) ++n;
  }
  return n;
}

size_t SearchPositionIndex::BytesForTest() const {
  std::shared_lock data(data_mu_);
  return entries_.capacity() * sizeof(Entry);
}

}  // namespace hutong::host::search
