// An in-memory copy of SQLite's geo index (each geo_stores row's id, position and
// category code as geo_stores_rtree holds it), so that nearby orders the points around a position without
// reading R*Tree pages; the rows of the page's nearest ids are still read from the database, which stays the
// truth. Kept current from geo_changes (host migration 19), the log of geo_stores ids that every change of
// the geo index writes in its own transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::host::search {

// How far a distance by the copy's coordinates may lie from the stored point's: each is
// the stored double rounded to the nearest 32-bit float (under 0.35 m at any longitude,
// 0.21 m of latitude), so 1 m is a safe bound.
inline constexpr double kGeoPointSlackM = 1;

// A geo_changes entry with this id is no store: it tells every copy to load again from the
// tables (a bulk load, such as gen-data's, writes one per transaction instead of an entry per
// store). geo_stores ids start at 1.
inline constexpr int64_t kGeoReloadMarkerId = 0;

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
//
// The points live in two arrays sorted by (category, cell): the base, built when the copy is
// loaded, and a small delta of the points changed since; a bitmap by id masks the base's
// stale entries. Changes never re-sort the base: when the delta grows past a few thousand
// points a new base is merged from both (linear, outside every lock readers take) and
// swapped in. Readers hold a shared lock only for the scan.
class GeoPointIndex {
 public:
  explicit GeoPointIndex(const Clock& clock) : clock_(clock) {}
  ~GeoPointIndex();
  GeoPointIndex(const GeoPointIndex&) = delete;
  GeoPointIndex& operator=(const GeoPointIndex&) = delete;

  // Starts the copy's own thread (SQLite only; a no-op elsewhere): it loads every point from
  // `db` now, and later merges the delta into the base and reloads when a poll asks it to.
  // Until a load has finished, Refresh answers false (requests read the database), so no
  // request ever waits for a load. Call at most once; `db` must outlive Stop().
  void StartBackground(storage::Db& db);
  // Stops and joins that thread (a load in progress stops at its next page). Idempotent.
  void Stop();
  // True from StartBackground until its first load attempt has ended (loaded or failed:
  // a failed load is retried, and requests read the database meanwhile). For readiness.
  bool Starting() const { return starting_.load(std::memory_order_acquire); }

  // Brings the copy up to the snapshot of `tx` (SQLite only) when due: the first call
  // loads every point (unless the background thread does); later ones apply the geo_changes
  // committed since the last poll, when `version` (the search index version, read before tx
  // began: this node's deal syncs bump it after their commit) has moved or a second has
  // passed (other nodes' changes). Calls that find nothing due cost one uncontended mutex.
  // False (the copy cannot be used now: read the database instead) while it is being
  // loaded.
  Result<bool> Refresh(storage::Tx& tx, uint64_t version);

  // The points of category `category` (0..7; -1: any) within `reach_m` of (lat, lng) by the
  // index's coordinates, in no particular order.
  std::vector<NearPoint> Within(double lat, double lng, double reach_m, int category) const;

  size_t SizeForTest() const;
  // How many times a new base was merged from the delta.
  int64_t FoldsForTest() const { return folds_.load(); }
  // Whether a load has installed points (a reload asked for makes it false until done).
  bool LoadedForTest() const { return loaded_.load(); }
  // The statement every nearby request runs first (its query plan is tested).
  static const storage::Query& LogBoundsQueryForTest();

 private:
  struct Point {
    float lat = 0;
    float lng = 0;
    int64_t tagged = 0;  // the id in the low 56 bits, the category code above
  };
  // Points sorted by (cell key, tagged), with the distinct keys and where each begins.
  struct Cells {
    std::vector<Point> points;
    std::vector<uint64_t> keys;    // ascending
    std::vector<uint32_t> starts;  // one per key, and one more at the end
  };
  struct Keyed {
    uint64_t key;
    Point point;
  };
  static uint64_t CellKey(int category, double lat, double lng);
  static uint64_t KeyOf(const Point& p) { return CellKey(CategoryOf(p.tagged), p.lat, p.lng); }
  static int64_t Tag(int64_t id, int category) { return id | (static_cast<int64_t>(category) << 56); }
  static int64_t IdOf(int64_t tagged) { return tagged & ((int64_t{1} << 56) - 1); }
  static int CategoryOf(int64_t tagged) { return static_cast<int>(tagged >> 56); }
  static Cells MakeCells(std::vector<Keyed>& sorted);
  // The new base: `base` without the entries `masked` marks, merged with `delta`.
  static Cells Merge(const Cells& base, const std::vector<uint64_t>& masked, const Cells& delta);
  static bool IsMasked(const std::vector<uint64_t>& masked, int64_t id) {
    const auto word = static_cast<size_t>(id >> 6);
    return word < masked.size() && ((masked[word] >> (id & 63)) & 1) != 0;
  }
  template <typename F>
  static void ScanCells(const Cells& cells, int cat0, int cat1, int64_t row0, int64_t row1, int64_t col0,
                        int64_t col1, F&& visit);

  // Every point in the snapshot of `tx`, and the log's end in that snapshot. `cancel` (may be
  // null) stops it between pages.
  static Result<std::shared_ptr<const Cells>> ReadAll(storage::Tx& tx, int64_t& end_seq,
                                                      const std::atomic<bool>* cancel);
  // Requires refresh_mu_. Replaces everything with a load.
  void InstallLoad(std::shared_ptr<const Cells> base, int64_t end_seq);
  // Requires refresh_mu_. Applies the log's entries since last_seq_ (or asks for a reload).
  Status Poll(storage::Tx& tx);
  // Requires refresh_mu_: a reload (the log is pruned past this copy, or a marker).
  Status Reload(storage::Tx& tx);
  // Merges the delta into a new base. Takes refresh_mu_ only to copy the inputs and to swap
  // the result in; changes polled meanwhile stay in the new delta.
  void Fold();
  // Requires refresh_mu_: the same, with no change possible meanwhile (no background thread).
  void FoldLocked();
  void BackgroundLoop(storage::Db& db);
  void Wake(bool load, bool fold);

  const Clock& clock_;

  // One poller, loader or fold swap at a time; guards the fields below, and every write of
  // the data fields further down happens under it too (so its holder may read those
  // without data_mu_).
  std::mutex refresh_mu_;
  std::atomic<bool> loaded_ = false;  // set and cleared under refresh_mu_
  int64_t last_seq_ = 0;              // the last geo_changes seq applied
  uint64_t seen_version_ = 0;
  int64_t polled_at_ms_ = 0;
  uint64_t generation_ = 0;          // bumped by every load: a fold of an older one is dropped
  bool folding_ = false;             // a fold is building outside the locks
  std::vector<int64_t> since_fold_;  // ids polled while it does

  mutable std::shared_mutex data_mu_;  // guards the fields below (shared: Within)
  std::shared_ptr<const Cells> base_ = std::make_shared<const Cells>();
  std::vector<uint64_t> masked_;  // bit per id: base_'s entry of that id is stale
  Cells delta_;                   // the current point of every id changed since base_

  // The background thread and what it is asked to do.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_load_ = false, bg_fold_ = false, bg_stop_ = false;  // guarded by bg_mu_
  std::atomic<bool> background_ = false;
  std::atomic<bool> starting_ = false;
  std::atomic<bool> cancel_ = false;
  std::atomic<int64_t> folds_ = 0;
  std::thread thread_;
};

}  // namespace hutong::host::search
