// An in-memory copy of SQLite's geo index (each geo_stores row's id, position and
// category code as geo_stores_rtree holds it), so that nearby orders the points around a position without
// reading R*Tree pages; the rows of the page's nearest ids are still read from the database, which stays the
// truth. Kept current from geo_changes (host migration 19), the log of geo_stores ids that every change of
// the geo index writes in its own transaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::host::search {

// How far a distance by the copy's coordinates may lie from the stored point's: each is
// the stored double rounded to the nearest 32-bit float (under 0.35 m at any longitude,
// 0.21 m of latitude), so 1 m is a safe bound.
inline constexpr double kGeoPointSlackM = 1;

// A point of the index near the asked position: its geo_stores id and its distance by the
// copy's coordinates (within kGeoPointSlackM of the distance by the stored point).
struct NearPoint {
  double distance_m = 0;
  int64_t id = 0;
  bool operator<(const NearPoint& o) const {
    return distance_m < o.distance_m || (distance_m == o.distance_m && id < o.id);
  }
};

// The code of a category that nearby filters by, as SQLite's R*Tree and this copy hold it
// (1..7; host migration 15 spells the same codes out); 0: any other category, never asked for.
int64_t CategoryCode(std::string_view category);

// Thread-safe: Refresh and Within may be called from any worker thread at once.
class GeoPointIndex {
 public:
  explicit GeoPointIndex(const Clock& clock) : clock_(clock) {}

  // Brings the copy up to the snapshot of `tx` (SQLite only) when due: the first call
  // loads every point; later ones apply the geo_changes committed since the last poll,
  // when `version` (the search index version, read before tx began: this node's deal
  // syncs bump it after their commit) has moved or a second has passed (other nodes'
  // changes). Calls that find nothing due cost one uncontended mutex. False (the copy
  // cannot be used yet) while another call is loading it: read the database instead.
  Result<bool> Refresh(storage::Tx& tx, uint64_t version);

  // The points of category `category` (0..7; -1: any) within `reach_m` of (lat, lng) by the
  // index's coordinates, in no particular order.
  std::vector<NearPoint> Within(double lat, double lng, double reach_m, int category) const;

  size_t SizeForTest() const;

 private:
  struct Point {
    float lat = 0;
    float lng = 0;
    int64_t tagged = 0;  // the id in the low 56 bits, the category code above
  };
  static uint64_t CellKey(int category, double lat, double lng);
  static int64_t Tag(int64_t id, int category) { return id | (static_cast<int64_t>(category) << 56); }
  static int64_t IdOf(int64_t tagged) { return tagged & ((int64_t{1} << 56) - 1); }
  static int CategoryOf(int64_t tagged) { return static_cast<int>(tagged >> 56); }

  Status Load(storage::Tx& tx);
  Status Poll(storage::Tx& tx);
  // Folds changed_ into the sorted arrays. Requires data_mu_ held exclusively.
  void Rebuild();

  const Clock& clock_;

  std::mutex refresh_mu_;  // one poller at a time; guards the fields below (loaded_ is set
                           // under it, and read without it to skip a busy first load)
  std::atomic<bool> loaded_ = false;
  int64_t last_seq_ = 0;  // the last geo_changes seq applied
  uint64_t seen_version_ = 0;
  int64_t polled_at_ms_ = 0;

  mutable std::shared_mutex data_mu_;  // guards the fields below (shared: Within)
  std::vector<Point> points_;          // sorted by CellKey
  std::vector<uint64_t> cell_keys_;    // the distinct keys of points_, ascending
  std::vector<uint32_t> cell_starts_;  // where each cell's points begin; one more at the end
  // Points changed since the arrays were built, by id (nullopt: gone); an id here masks
  // its entry in points_.
  std::unordered_map<int64_t, std::optional<Point>> changed_;
};

}  // namespace hutong::host::search
