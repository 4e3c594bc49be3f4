#include "host/search/geo_point_index.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "common/geo.h"

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
constexpr Query kSeqBounds{"geo_point_index.seq_bounds", Access::kRead,
                           "SELECT COALESCE(MAX(seq), 0), COALESCE(MIN(seq), 0) FROM geo_changes"};
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
// Changes applied on top of the sorted arrays before they are rebuilt with them.
constexpr size_t kMaxChanged = 8'192;
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

int64_t CategoryCode(std::string_view category) {
  for (size_t i = 0; i < kCategories.size(); ++i) {
    if (category == kCategories[i]) return static_cast<int64_t>(i) + 1;
  }
  return 0;
}

uint64_t GeoPointIndex::CellKey(int category, double lat, double lng) {
  return Key(category, LatCell(lat), LngCell(lng));
}

Result<bool> GeoPointIndex::Refresh(storage::Tx& tx, uint64_t version) {
  std::unique_lock lock(refresh_mu_, std::defer_lock);
  if (loaded_.load(std::memory_order_acquire)) {
    lock.lock();
  } else if (!lock.try_lock()) {
    return false;  // another request is loading it
  }
  const int64_t now = clock_.NowMs();
  if (!loaded_.load(std::memory_order_relaxed)) {
    RETURN_IF_ERROR(Load(tx));
  } else if (version != seen_version_ || now - polled_at_ms_ >= kPollEveryMs) {
    RETURN_IF_ERROR(Poll(tx));
  } else {
    return true;
  }
  seen_version_ = version;
  polled_at_ms_ = now;
  return true;
}

Status GeoPointIndex::Load(storage::Tx& tx) {
  // The log's end first, in the same snapshot as the points: a poll resumes exactly there.
  ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
  const int64_t end = bounds.empty() ? 0 : bounds[0].Int(0);
  std::vector<Point> points;
  for (int64_t after = 0;;) {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kLoadPage, {after, kPage}));
    for (const auto& r : rows) {
      points.push_back({static_cast<float>(r.Double(1)), static_cast<float>(r.Double(2)),
                        Tag(r.Int(0), r.IsNull(3) ? 0 : static_cast<int>(CategoryCode(r.Str(3))))});
    }
    if (static_cast<int64_t>(rows.size()) < kPage) break;
    after = rows.rows.back().Int(0);
  }
  std::unique_lock data(data_mu_);
  points_ = std::move(points);
  changed_.clear();
  Rebuild();
  last_seq_ = end;
  loaded_.store(true, std::memory_order_release);
  return Ok();
}

Status GeoPointIndex::Poll(storage::Tx& tx) {
  ASSIGN_OR_RETURN(auto bounds, tx.Exec(kSeqBounds));
  const int64_t max_seq = bounds.empty() ? 0 : bounds[0].Int(0);
  const int64_t min_seq = bounds.empty() ? 0 : bounds[0].Int(1);
  // Entries this copy has not applied were pruned (it fell far behind), or the log is not
  // the one it followed: start again from the tables.
  if (min_seq > last_seq_ + 1 || max_seq < last_seq_) return Load(tx);
  while (last_seq_ < max_seq) {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kChanges, {last_seq_, kPage}));
    if (rows.empty()) break;
    std::unique_lock data(data_mu_);
    for (const auto& r : rows) {
      const int64_t id = r.Int(1);
      if (r.IsNull(2) || r.IsNull(4)) {
        changed_[id] = std::nullopt;
      } else {
        changed_[id] = Point{static_cast<float>(r.Double(2)), static_cast<float>(r.Double(3)),
                             Tag(id, CategoryOfBox(r.Double(4)))};
      }
    }
    last_seq_ = rows.rows.back().Int(0);
    if (changed_.size() > kMaxChanged) Rebuild();
  }
  return Ok();
}

void GeoPointIndex::Rebuild() {
  if (!changed_.empty()) {
    std::erase_if(points_, [this](const Point& p) { return changed_.contains(IdOf(p.tagged)); });
    for (const auto& [id, point] : changed_) {
      if (point) points_.push_back(*point);
    }
    changed_.clear();
  }
  std::vector<std::pair<uint64_t, Point>> keyed;
  keyed.reserve(points_.size());
  for (const Point& p : points_) keyed.emplace_back(CellKey(CategoryOf(p.tagged), p.lat, p.lng), p);
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return a.first < b.first || (a.first == b.first && a.second.tagged < b.second.tagged);
  });
  points_.clear();
  points_.shrink_to_fit();
  points_.reserve(keyed.size());
  cell_keys_.clear();
  cell_starts_.clear();
  for (size_t i = 0; i < keyed.size(); ++i) {
    if (cell_keys_.empty() || cell_keys_.back() != keyed[i].first) {
      cell_keys_.push_back(keyed[i].first);
      cell_starts_.push_back(static_cast<uint32_t>(i));
    }
    points_.push_back(keyed[i].second);
  }
  cell_starts_.push_back(static_cast<uint32_t>(points_.size()));
  cell_keys_.shrink_to_fit();
  cell_starts_.shrink_to_fit();
}

std::vector<NearPoint> GeoPointIndex::Within(double lat, double lng, double reach_m, int category) const {
  constexpr double kSlackDeg = 1e-5;
  const double dlat = LatDegreesFor(reach_m) + kSlackDeg;
  const double dlng = LngDegreesFor(reach_m, lat) + kSlackDeg;
  const int64_t row0 = LatCell(lat - dlat), row1 = LatCell(lat + dlat);
  const int64_t col0 = LngCell(lng - dlng), col1 = LngCell(lng + dlng);
  const int cat0 = category < 0 ? 0 : category, cat1 = category < 0 ? 255 : category;
  std::vector<NearPoint> out;
  auto consider = [&](const Point& p) {
    const double d = HaversineMeters(lat, lng, p.lat, p.lng);
    if (d <= reach_m) out.push_back({d, IdOf(p.tagged)});
  };
  std::shared_lock data(data_mu_);
  const bool masked = !changed_.empty();
  for (int c = cat0; c <= cat1; ++c) {
    // No cell of this category or above: the rest are empty.
    auto first = std::lower_bound(cell_keys_.begin(), cell_keys_.end(), Key(c, 0, 0));
    if (first == cell_keys_.end()) break;
    if ((*first >> 48) != static_cast<uint64_t>(c)) {
      c = static_cast<int>(*first >> 48) - 1;  // skip to the next category present
      continue;
    }
    for (int64_t row = row0; row <= row1; ++row) {
      const uint64_t hi = Key(c, row, col1);
      for (auto it = std::lower_bound(first, cell_keys_.end(), Key(c, row, col0));
           it != cell_keys_.end() && *it <= hi; ++it) {
        const auto cell = static_cast<size_t>(it - cell_keys_.begin());
        for (uint32_t i = cell_starts_[cell]; i < cell_starts_[cell + 1]; ++i) {
          const Point& p = points_[i];
          if (masked && changed_.contains(IdOf(p.tagged))) continue;
          consider(p);
        }
      }
    }
  }
  for (const auto& [id, point] : changed_) {
    if (!point) continue;
    const int c = CategoryOf(point->tagged);
    if (c < cat0 || c > cat1) continue;
    if (std::abs(point->lat - lat) > dlat) continue;
    consider(*point);
  }
  return out;
}

size_t GeoPointIndex::SizeForTest() const {
  std::shared_lock data(data_mu_);
  size_t n = points_.size();
  for (const auto& [id, point] : changed_) {
    if (point) ++n;
  }
  for (const Point& p : points_) {
    if (changed_.contains(IdOf(p.tagged))) --n;
  }
  return n;
}

}  // namespace hutong::host::search
