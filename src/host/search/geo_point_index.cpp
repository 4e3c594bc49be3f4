#include "host/search/geo_point_index.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iterator>
#include <utility>

#include "common/geo.h"
#include "common/log.h"

namespace hutong::host::search {
using storage::Access;
using storage::Query;

namespace {

// Every point in pages by geo_stores id (a range of the table's rowids; the deals' rows
// follow in about the same order): the stored position and the deal's category (its code
// is CategoryCode's, as host migration 15 computes it for the R*Tree, which
// IndexDealStores keeps in step with app_deals). A page at a time, so loading never holds
// more than a page of rows.
constexpr Query kLoadPage{
    "geo_point_index.load_page", Access::kRead,
    "SELECT g.id, g.lat, g.lng, d.category FROM geo_stores g LEFT JOIN app_deals d "
    "ON d.app_id = g.app_id AND d.deal_id = g.deal_id WHERE g.id > $1 ORDER BY g.id LIMIT $2"};
// Each bound in a subquery of its own: SQLite reads one end of the key for a lone MIN or
// MAX, but scans the whole log (up to ~100,000 entries) for both in one select.
constexpr Query kSeqBounds{"geo_point_index.seq_bounds", Access::kRead,
                           "SELECT COALESCE((SELECT MAX(seq) FROM geo_changes), 0), "
                           "COALESCE((SELECT MIN(seq) FROM geo_changes), 0)"};
// Each changed id with its point now (NULLs: gone): the stored position, as loaded, and
// the R*Tree's category code.
constexpr Query kChanges{"geo_point_index.changes", Access::kRead,
                         "SELECT c.seq, c.id, g.lat, g.lng, r.min_cat FROM geo_changes c "
                         "LEFT JOIN geo_stores g ON g.id = c.id LEFT JOIN geo_stores_rtree r ON r.id = c.id "
                         "WHERE c.seq > $1 ORDER BY c.seq LIMIT $2"};

constexpr int64_t kPage = 20'000;
// Cells of 1/128 degree (about 870 m of latitude): a dense district holds a few hundred
// points per cell, and a 5 km radius spans a dozen rows of cells.
constexpr double kCellsPerDegree = 128;
constexpr int64_t kLatCells = 180 * 128;
constexpr int64_t kLngCells = 360 * 128;
// Points in the delta at which a new base is merged (the delta's own rebuild, once per
// poll, costs about its size).
constexpr size_t kFoldAt = 8'192;
constexpr int64_t kPollEveryMs = 1'000;

int64_t LatCell(double lat) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor((lat + 90) * kCellsPerDegree)), 0,
                             kLatCells - 1);
}
int64_t LngCell(double lng) {
  return std::clamp<int64_t>(static_cast<int64_t>(std::floor((lng + 180) * kCellsPerDegree)), 0,
                             kLngCells - 1);
}
uint64_t Key(int category, int64_t lat_cell, int64_t lng_cell) {
  return (static_cast<uint64_t>(category) << 48) | (static_cast<uint64_t>(lat_cell) << 24) |
         static_cast<uint64_t>(lng_cell);
}

// The category code of the R*Tree's [code, code + 0.5].
int CategoryOfBox(double min_cat) {
  return std::clamp(static_cast<int>(std::lround(min_cat)), 0, 255);
}

constexpr std::array<std::string_view, 7> kCategories{"catering", "hotel",  "homestay",     "scenic",
                                                      "leisure",  "beauty", "script_murder"};

}  // namespace

const storage::Query& GeoPointIndex::LogBoundsQueryForTest() {
  return kSeqBounds;
}

int64_t CategoryCode(std::string_view category) {
  for (size_t i = 0; i < kCategories.size(); ++i) {
    if (category == kCategories[i]) return static_cast<int64_t>(i) + 1;
  }
  return 0;
}

uint64_t GeoPointIndex::CellKey(int category, double lat, double lng) {
  return Key(category, LatCell(lat), LngCell(lng));
}

GeoPointIndex::~GeoPointIndex() {
  Stop();
}

GeoPointIndex::Cells GeoPointIndex::MakeCells(std::vector<Keyed>& sorted) {
  Cells c;
  c.points.reserve(sorted.size());
  for (const Keyed& k : sorted) {
    if (c.keys.empty() || c.keys.back() != k.key) {
      c.keys.push_back(k.key);
      c.starts.push_back(static_cast<uint32_t>(c.points.size()));
    }
    c.points.push_back(k.point);
  }
  c.starts.push_back(static_cast<uint32_t>(c.points.size()));
  c.keys.shrink_to_fit();
  c.starts.shrink_to_fit();
  return c;
}

namespace {
bool KeyedLess(uint64_t ka, int64_t ta, uint64_t kb, int64_t tb) {
  return ka < kb || (ka == kb && ta < tb);
}
}  // namespace

GeoPointIndex::Cells GeoPointIndex::Merge(const Cells& base, const std::vector<uint64_t>& masked,
                                          const Cells& delta) {
  Cells out;
  out.points.reserve(base.points.size() + delta.points.size());
  out.keys.reserve(base.keys.size() + delta.keys.size());
  out.starts.reserve(base.keys.size() + delta.keys.size() + 1);
  auto append = [&out](uint64_t key, const Point& p) {
    if (out.keys.empty() || out.keys.back() != key) {
      out.keys.push_back(key);
      out.starts.push_back(static_cast<uint32_t>(out.points.size()));
    }
    out.points.push_back(p);
  };
  // Both inputs are in (key, tagged) order; walk them cell by cell.
  size_t bc = 0, bi = 0, dc = 0, di = 0;
  auto base_next = [&]() -> bool {  // skips masked entries; false at the end
    for (; bc < base.keys.size(); ++bc) {
      if (bi < base.starts[bc]) bi = base.starts[bc];
      for (; bi < base.starts[bc + 1]; ++bi) {
        if (!IsMasked(masked, IdOf(base.points[bi].tagged))) return true;
      }
    }
    return false;
  };
  auto delta_next = [&]() -> bool {
    for (; dc < delta.keys.size(); ++dc) {
      if (di < delta.starts[dc]) di = delta.starts[dc];
      if (di < delta.starts[dc + 1]) return true;
    }
    return false;
  };
  bool has_b = base_next(), has_d = delta_next();
  while (has_b || has_d) {
    if (has_b && (!has_d || KeyedLess(base.keys[bc], base.points[bi].tagged, delta.keys[dc],
                                      delta.points[di].tagged))) {
      append(base.keys[bc], base.points[bi]);
      ++bi;
      has_b = base_next();
    } else {
      append(delta.keys[dc], delta.points[di]);
      ++di;
      has_d = delta_next();
    }
  }
  out.starts.push_back(static_cast<uint32_t>(out.points.size()));
  return out;
}

void GeoPointIndex::StartBackground(storage::Db& db) {
  if (db.dialect() != storage::Dialect::kSqlite || thread_.joinable()) return;
  background_.store(true);
  starting_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(bg_mu_);
    bg_load_ = true;
  }
  thread_ = std::thread([this, &db] { BackgroundLoop(db); });
}

void GeoPointIndex::Stop() {
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

void GeoPointIndex::Wake(bool load, bool fold) {
  {
    std::lock_guard lock(bg_mu_);
    bg_load_ = bg_load_ || load;
    bg_fold_ = bg_fold_ || fold;
  }
  bg_cv_.notify_all();
}

void GeoPointIndex::BackgroundLoop(storage::Db& db) {
  auto retry_after = std::chrono::milliseconds(500);
  for (;;) {
    bool load = false, fold = false;
    {
      std::unique_lock lock(bg_mu_);
      bg_cv_.wait(lock, [this] { return bg_stop_ || bg_load_ || bg_fold_; });
      if (bg_stop_) return;
      load = std::exchange(bg_load_, false);
      fold = std::exchange(bg_fold_, false);
    }
    if (load) {
      const auto t0 = std::chrono::steady_clock::now();
      int64_t end_seq = 0;
      auto read = db.Read([&](storage::Tx& tx) { return ReadAll(tx, end_seq, &cancel_); });
      if (read.ok()) {
        const size_t points = (*read)->points.size();
        {
          std::lock_guard lock(refresh_mu_);
          InstallLoad(std::move(read).value(), end_seq);
        }
        retry_after = std::chrono::milliseconds(500);
        LogInfo("nearby geo index loaded",
                {{"points", static_cast<int64_t>(points)},
                 {"ms", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - t0)
                                                 .count())}});
      } else {
        if (cancel_.load()) return;
        LogWarn("nearby geo index load failed; nearby reads the database until it loads",
                {{"error", std::string_view(read.error().internal)}});
        std::unique_lock lock(bg_mu_);
        bg_load_ = true;
        bg_cv_.wait_for(lock, retry_after, [this] { return bg_stop_; });
        retry_after = std::min<std::chrono::milliseconds>(retry_after * 2, std::chrono::seconds(30));
      }
      starting_.store(false, std::memory_order_release);
      continue;  // a fold asked for meanwhile is moot after a load
    }
    if (fold) Fold();
  }
}

Result<std::shared_ptr<const GeoPointIndex::Cells>> GeoPointIndex::ReadAll(storage::Tx& tx, int64_t& end_seq,
                                                                           const std::atomic<bool>* cancel) {
  // The log's end first, in the same snapshot as the points: a poll resumes exactly there.
  ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
  end_seq = bounds.empty() ? 0 : bounds[0].Int(0);
  std::vector<Keyed> points;
  for (int64_t after = 0;;) {
    if (cancel != nullptr && cancel->load()) return Error(ErrorCode::kUnavailable, "stopping", "stopping");
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kLoadPage, {after, kPage}));
    for (const auto& r : rows) {
      const Point p{static_cast<float>(r.Double(1)), static_cast<float>(r.Double(2)),
                    Tag(r.Int(0), r.IsNull(3) ? 0 : static_cast<int>(CategoryCode(r.Str(3))))};
      points.push_back({KeyOf(p), p});
    }
    if (static_cast<int64_t>(rows.size()) < kPage) break;
    after = rows.rows.back().Int(0);
  }
  std::sort(points.begin(), points.end(), [](const Keyed& a, const Keyed& b) {
    return KeyedLess(a.key, a.point.tagged, b.key, b.point.tagged);
  });
  return std::make_shared<const Cells>(MakeCells(points));
}

void GeoPointIndex::InstallLoad(std::shared_ptr<const Cells> base, int64_t end_seq) {
  {
    std::unique_lock data(data_mu_);
    base_ = std::move(base);
    masked_.clear();
    delta_ = Cells{};
  }
  ++generation_;
  since_fold_.clear();
  last_seq_ = end_seq;
  seen_version_ = 0;
  polled_at_ms_ = 0;
  loaded_.store(true, std::memory_order_release);
}

Result<bool> GeoPointIndex::Refresh(storage::Tx& tx, uint64_t version) {
  // Loading on the background thread: read the database meanwhile.
  if (!loaded_.load(std::memory_order_acquire) && background_.load()) return false;
  std::unique_lock lock(refresh_mu_, std::defer_lock);
  if (loaded_.load(std::memory_order_acquire)) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;  // another request is loading it
  }
  const int64_t now = clock_.NowMs();
  if (!loaded_.load(std::memory_order_relaxed)) {
    if (background_.load()) return false;
    RETURN_IF_ERROR(Reload(tx));
  } else if (version != seen_version_ || now - polled_at_ms_ >= kPollEveryMs) {
    RETURN_IF_ERROR(Poll(tx));
  } else {
    return true;
  }
  seen_version_ = version;
  polled_at_ms_ = now;
  return loaded_.load(std::memory_order_relaxed);
}

Status GeoPointIndex::Reload(storage::Tx& tx) {
  if (background_.load()) {
    // Requests read the database until the thread has loaded it again.
    loaded_.store(false, std::memory_order_release);
    Wake(true, false);
    return Ok();
  }
  int64_t end_seq = 0;
  ASSIGN_OR_RETURN(auto base, ReadAll(tx, end_seq, nullptr));
  InstallLoad(std::move(base), end_seq);
  return Ok();
}

Status GeoPointIndex::Poll(storage::Tx& tx) {
  ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
  const int64_t max_seq = bounds.empty() ? 0 : bounds[0].Int(0);
  const int64_t min_seq = bounds.empty() ? 0 : bounds[0].Int(1);
  // Entries this copy has not applied were pruned (it fell far behind), or the log is not
  // the one it followed: start again from the tables.
  if (min_seq > last_seq_ + 1 || max_seq < last_seq_) return Reload(tx);
  while (last_seq_ < max_seq) {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kChanges, {last_seq_, kPage}));
    if (rows.empty()) break;
    std::vector<int64_t> ids;
    std::vector<Keyed> fresh;
    ids.reserve(rows.size());
    for (const auto& r : rows) {
      const int64_t id = r.Int(1);
      if (id == kGeoReloadMarkerId) return Reload(tx);
      ids.push_back(id);
      if (r.IsNull(2) || r.IsNull(4)) continue;  // gone
      const Point p{static_cast<float>(r.Double(2)), static_cast<float>(r.Double(3)),
                    Tag(id, CategoryOfBox(r.Double(4)))};
      fresh.push_back({KeyOf(p), p});
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // The new delta: the old one without the ids of this page, and their points now (an id
    // logged twice reads the same current point both times).
    auto less = [](const Keyed& a, const Keyed& b) {
      return KeyedLess(a.key, a.point.tagged, b.key, b.point.tagged);
    };
    std::sort(fresh.begin(), fresh.end(), less);
    fresh.erase(std::unique(fresh.begin(), fresh.end(),
                            [](const Keyed& a, const Keyed& b) { return a.point.tagged == b.point.tagged; }),
                fresh.end());
    std::vector<Keyed> kept;
    kept.reserve(delta_.points.size());
    for (size_t c = 0; c < delta_.keys.size(); ++c) {
      for (uint32_t i = delta_.starts[c]; i < delta_.starts[c + 1]; ++i) {
        if (!std::binary_search(ids.begin(), ids.end(), IdOf(delta_.points[i].tagged)))
          kept.push_back({delta_.keys[c], delta_.points[i]});
      }
    }
    std::vector<Keyed> merged;
    merged.reserve(kept.size() + fresh.size());
    std::merge(kept.begin(), kept.end(), fresh.begin(), fresh.end(), std::back_inserter(merged), less);
    Cells delta = MakeCells(merged);
    if (folding_) since_fold_.insert(since_fold_.end(), ids.begin(), ids.end());
    {
      std::unique_lock data(data_mu_);
      const auto words = static_cast<size_t>(ids.back() >> 6) + 1;
      if (masked_.size() < words) masked_.resize(std::max(words, masked_.size() * 2));
      for (int64_t id : ids) masked_[static_cast<size_t>(id >> 6)] |= uint64_t{1} << (id & 63);
      delta_ = std::move(delta);
    }
    last_seq_ = rows.rows.back().Int(0);
  }
  if (delta_.points.size() >= kFoldAt && !folding_) {
    if (background_.load()) {
      Wake(false, true);
    } else {
      FoldLocked();
    }
  }
  return Ok();
}

void GeoPointIndex::Fold() {
  std::shared_ptr<const Cells> base;
  std::vector<uint64_t> masked;
  Cells delta;
  uint64_t generation = 0;
  {
    std::lock_guard lock(refresh_mu_);
    if (!loaded_.load(std::memory_order_relaxed) || folding_ || delta_.points.size() < kFoldAt) return;
    base = base_;
    masked = masked_;
    delta = delta_;
    generation = generation_;
    folding_ = true;
    since_fold_.clear();
  }
  auto merged = std::make_shared<const Cells>(Merge(*base, masked, delta));
  base.reset();
  std::lock_guard lock(refresh_mu_);
  folding_ = false;
  if (generation != generation_) return;  // loaded again meanwhile
  // What was polled meanwhile stays on top of the new base: its ids masked, their points
  // (the current ones, in delta_) kept.
  std::sort(since_fold_.begin(), since_fold_.end());
  since_fold_.erase(std::unique(since_fold_.begin(), since_fold_.end()), since_fold_.end());
  std::vector<uint64_t> still_masked;
  std::vector<Keyed> kept;
  if (!since_fold_.empty()) {
    still_masked.resize(static_cast<size_t>(since_fold_.back() >> 6) + 1);
    for (int64_t id : since_fold_) still_masked[static_cast<size_t>(id >> 6)] |= uint64_t{1} << (id & 63);
    for (size_t c = 0; c < delta_.keys.size(); ++c) {
      for (uint32_t i = delta_.starts[c]; i < delta_.starts[c + 1]; ++i) {
        if (std::binary_search(since_fold_.begin(), since_fold_.end(), IdOf(delta_.points[i].tagged)))
          kept.push_back({delta_.keys[c], delta_.points[i]});
      }
    }
  }
  Cells next_delta = MakeCells(kept);
  since_fold_.clear();
  {
    std::unique_lock data(data_mu_);
    base_ = std::move(merged);
    masked_ = std::move(still_masked);
    delta_ = std::move(next_delta);
  }
  folds_.fetch_add(1);
}

void GeoPointIndex::FoldLocked() {
  auto merged = std::make_shared<const Cells>(Merge(*base_, masked_, delta_));
  std::unique_lock data(data_mu_);
  base_ = std::move(merged);
  masked_.clear();
  delta_ = Cells{};
  folds_.fetch_add(1);
}

template <typename F>
void GeoPointIndex::ScanCells(const Cells& cells, int cat0, int cat1, int64_t row0, int64_t row1,
                              int64_t col0, int64_t col1, F&& visit) {
  const auto& keys = cells.keys;
  for (int c = cat0; c <= cat1; ++c) {
    // No cell of this category or above: the rest are empty.
    auto first = std::lower_bound(keys.begin(), keys.end(), Key(c, 0, 0));
    if (first == keys.end()) break;
    if ((*first >> 48) != static_cast<uint64_t>(c)) {
      c = static_cast<int>(*first >> 48) - 1;  // skip to the next category present
      continue;
    }
    for (int64_t row = row0; row <= row1; ++row) {
      const uint64_t hi = Key(c, row, col1);
      for (auto it = std::lower_bound(first, keys.end(), Key(c, row, col0)); it != keys.end() && *it <= hi;
           ++it) {
        const auto cell = static_cast<size_t>(it - keys.begin());
        for (uint32_t i = cells.starts[cell]; i < cells.starts[cell + 1]; ++i) visit(cells.points[i]);
      }
    }
  }
}

std::vector<NearPoint> GeoPointIndex::Within(double lat, double lng, double reach_m, int category) const {
  constexpr double kSlackDeg = 1e-5;
  const double dlat = LatDegreesFor(reach_m) + kSlackDeg;
  const double dlng = LngDegreesFor(reach_m, lat) + kSlackDeg;
  const int64_t row0 = LatCell(lat - dlat), row1 = LatCell(lat + dlat);
  const int64_t col0 = LngCell(lng - dlng), col1 = LngCell(lng + dlng);
  const int cat0 = category < 0 ? 0 : category, cat1 = category < 0 ? 255 : category;
  std::vector<NearPoint> out;
  // The cells cover far more than the circle (a cell is ~870 m): a point outside the box
  // around it is beyond the reach, so only those inside pay the haversine's sin and cos.
  const double min_lat = lat - dlat, max_lat = lat + dlat, min_lng = lng - dlng, max_lng = lng + dlng;
  auto consider = [&](const Point& p) {
    const double plat = p.lat, plng = p.lng;
    if (plat < min_lat || plat > max_lat || plng < min_lng || plng > max_lng) return;
    const double d = HaversineMeters(lat, lng, plat, plng);
    if (d <= reach_m) out.push_back({d, IdOf(p.tagged)});
  };
  std::shared_lock data(data_mu_);
  if (masked_.empty()) {
    ScanCells(*base_, cat0, cat1, row0, row1, col0, col1, consider);
  } else {
    ScanCells(*base_, cat0, cat1, row0, row1, col0, col1, [&](const Point& p) {
      if (!IsMasked(masked_, IdOf(p.tagged))) consider(p);
    });
  }
  if (!delta_.points.empty()) ScanCells(delta_, cat0, cat1, row0, row1, col0, col1, consider);
  return out;
}

size_t GeoPointIndex::SizeForTest() const {
  std::shared_lock data(data_mu_);
  size_t n = delta_.points.size();
  for (const Point& p : base_->points) {
    if (!IsMasked(masked_, IdOf(p.tagged))) ++n;
  }
  return n;
}

}  // namespace hutong::host::search
