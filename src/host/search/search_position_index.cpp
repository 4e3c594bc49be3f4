#include "host/search/search_position_index.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/log.h"

namespace hutong::host::search {
using storage::Access;
using storage::Query;

namespace {

// The log's bounds, in the caller's snapshot (host v21; the oldest entries are pruned).
// Each bound in a subquery of its own: SQLite reads one end of the key for a lone MIN or
// MAX, but scans the whole log (up to ~100,000 entries) for both in one select, at every
// search with a position.
constexpr Query kSeqBounds{"search_position_index.seq_bounds", Access::kRead,
                           "SELECT COALESCE((SELECT MAX(seq) FROM search_doc_changes), 0), "
                           "COALESCE((SELECT MIN(seq) FROM search_doc_changes), 0)"};
// Every position in pages by rowid, so loading never holds more than a page of rows.
constexpr Query kLoadPage{"search_position_index.load_page", Access::kRead,
                          "SELECT id, lat, lng FROM search_doc_positions WHERE id > $1 ORDER BY id LIMIT $2"};
// Each changed rowid with its position now (NULLs: none), entries ($1, $2].
constexpr Query kChanges{"search_position_index.changes", Access::kRead,
                         "SELECT c.seq, c.id, p.lat, p.lng FROM search_doc_changes c "
                         "LEFT JOIN search_doc_positions p ON p.id = c.id WHERE c.seq > $1 AND c.seq <= $2 "
                         "ORDER BY c.seq LIMIT $3"};

constexpr int64_t kPage = 20'000;
// Candidate rowids kept across all queries (32 bytes each with the position: 8 MB) before
// they are dropped at once.
constexpr size_t kMaxKeptIds = 262'144;

}  // namespace

const storage::Query& SearchPositionIndex::LogBoundsQueryForTest() {
  return kSeqBounds;
}

SearchPositionIndex::~SearchPositionIndex() {
  Stop();
}

void SearchPositionIndex::StartBackground(storage::Db& db, std::function<void()> before_load_for_test) {
  if (db.dialect() != storage::Dialect::kSqlite || thread_.joinable()) return;
  before_load_for_test_ = std::move(before_load_for_test);
  background_.store(true, std::memory_order_release);
  starting_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(bg_mu_);
    bg_load_ = true;
  }
  thread_ = std::thread([this, &db] { BackgroundLoop(db); });
}

void SearchPositionIndex::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(bg_mu_);
    bg_stop_ = true;
  }
  cancel_.store(true);
  bg_cv_.notify_all();
  thread_.join();
  starting_.store(false, std::memory_order_release);
}

void SearchPositionIndex::BackgroundLoop(storage::Db& db) {
  auto retry_after = std::chrono::milliseconds(500);
  for (;;) {
    {
      std::unique_lock lock(bg_mu_);
      bg_cv_.wait(lock, [this] { return bg_stop_ || bg_load_; });
      if (bg_stop_) return;
      bg_load_ = false;
    }
    if (before_load_for_test_) before_load_for_test_();
    const auto t0 = std::chrono::steady_clock::now();
    int64_t end = 0;
    auto read = db.Read([&](storage::Tx& tx) { return ReadAll(tx, &end, &cancel_); });
    if (read.ok()) {
      const auto positions = static_cast<int64_t>(read->size());
      Install(std::move(read).value(), end);
      retry_after = std::chrono::milliseconds(500);
      LogInfo("search position index loaded",
              {{"positions", positions},
               {"ms", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - t0)
                                               .count())}});
    } else {
      if (cancel_.load()) return;
      LogWarn("search position index load failed; search reads the database until it loads",
              {{"error", std::string_view(read.error().internal)}});
      std::unique_lock lock(bg_mu_);
      bg_load_ = true;
      bg_cv_.wait_for(lock, retry_after, [this] { return bg_stop_; });
      retry_after = std::min<std::chrono::milliseconds>(retry_after * 2, std::chrono::seconds(30));
    }
    starting_.store(false, std::memory_order_release);
  }
}

Result<std::optional<int64_t>> SearchPositionIndex::Sync(storage::Tx& tx) {
  const bool background = background_.load(std::memory_order_acquire);
  // Being loaded by the loader thread: read the database meanwhile (no statement spent).
  if (background && !loaded_.load(std::memory_order_acquire)) return std::optional<int64_t>();
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
  if (!loaded_.load(std::memory_order_relaxed)) {
    // The loader thread unloaded it meanwhile, or there is none and this loads it.
    if (background) return std::optional<int64_t>();
    ASSIGN_OR_RETURN(auto entries, ReadAll(tx, nullptr, nullptr));
    Install(std::move(entries), end);
    return std::optional<int64_t>(end);
  }
  int64_t applied = 0;
  {
    std::shared_lock data(data_mu_);
    applied = applied_seq_;
  }
  if (first > applied + 1) {
    // Entries the copy has not applied were pruned: start again from the table.
    if (background) {
      {
        std::unique_lock data(data_mu_);
        loaded_.store(false, std::memory_order_release);
      }
      {
        std::lock_guard bg(bg_mu_);
        bg_load_ = true;
      }
      bg_cv_.notify_all();
      return std::optional<int64_t>();
    }
    ASSIGN_OR_RETURN(auto entries, ReadAll(tx, nullptr, nullptr));
    Install(std::move(entries), end);
  } else if (applied < end) {
    RETURN_IF_ERROR(Poll(tx, end));
  }
  std::shared_lock data(data_mu_);
  if (applied_seq_ != end) return std::optional<int64_t>();
  return std::optional<int64_t>(end);
}

Result<std::vector<SearchPositionIndex::Entry>> SearchPositionIndex::ReadAll(
    storage::Tx& tx, int64_t* end, const std::atomic<bool>* cancel) {
  if (end != nullptr) {
    // The log's end in the same snapshot as the positions: polls resume exactly there.
    ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
    *end = bounds.empty() ? 0 : bounds[0].Int(0);
  }
  std::vector<Entry> entries;
  for (int64_t after = std::numeric_limits<int64_t>::min();;) {
    if (cancel != nullptr && cancel->load()) return Error(ErrorCode::kUnavailable, "stopping", "stopping");
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kLoadPage, {after, kPage}));
    for (const auto& r : rows) entries.push_back({r.Int(0), {r.Double(1), r.Double(2)}});
    if (static_cast<int64_t>(rows.size()) < kPage) break;
    after = rows.rows.back().Int(0);
  }
  entries.shrink_to_fit();
  return entries;
}

void SearchPositionIndex::Install(std::vector<Entry> entries, int64_t end) {
  std::unique_lock data(data_mu_);
  entries_ = std::move(entries);
  changed_.clear();
  applied_seq_ = end;
  loaded_.store(true, std::memory_order_release);
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
  if (it == matches_.end()) return nullptr;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

void SearchPositionIndex::KeepMatches(int64_t seq, const std::string& key, Matches kept) {
  const size_t n = kept->ids.size();
  std::lock_guard lock(matches_mu_);
  if (seq < matches_seq_) return;  // read in an older snapshot than those kept
  if (seq > matches_seq_ || matches_ids_ + n > kMaxKeptIds) {
    matches_.clear();
    matches_ids_ = 0;
    matches_seq_ = seq;
  }
  if (n > kMaxKeptIds) return;
  matches_ids_ += n;
  auto [it, added] = matches_.try_emplace(key, kept);
  if (!added) {
    matches_ids_ -= it->second->ids.size();
    it->second = std::move(kept);
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
