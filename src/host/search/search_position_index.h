// An in-memory copy of SQLite's search_doc_positions (each located deal document's position
// under its FTS5 rowid), so that a search with a position orders a length's matches by distance
// without a b-tree seek per match, and the rowids a query's page is chosen from, kept for the
// index state they were read in, so that a repeated query does not walk FTS5's doclists again.
// Kept current from search_doc_changes (host migration 21), the log of rowids that every change
// of the search index writes in its own transaction: a snapshot's last log entry names its index
// state exactly, and the copy answers only for the state it holds, so its answers are the
// database's.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "storage/db.h"

namespace hutong::host::search {

// Thread-safe: every member may be called from any worker thread at once.
class SearchPositionIndex {
 public:
  // max_changed: changed positions kept beside the sorted array before they are merged
  // into it (tests lower it to fold every change at once).
  explicit SearchPositionIndex(size_t max_changed = kDefaultMaxChanged) : max_changed_(max_changed) {}
  ~SearchPositionIndex();
  SearchPositionIndex(const SearchPositionIndex&) = delete;
  SearchPositionIndex& operator=(const SearchPositionIndex&) = delete;
  static constexpr size_t kDefaultMaxChanged = 8'192;

  // Starts the copy's own loader thread (SQLite only; a no-op elsewhere): it loads every
  // position from `db` now, and again whenever a search finds the log pruned past the copy.
  // Until a load has finished, Sync answers nullopt (searches read the database), so no
  // search ever waits for a load. `before_load_for_test`, when set, runs on that thread
  // before each load (tests hold the load with it). Call at most once; `db` must outlive
  // Stop().
  void StartBackground(storage::Db& db, std::function<void()> before_load_for_test = {});
  // Stops and joins that thread (a load in progress stops at its next page). Idempotent.
  void Stop();
  // True from StartBackground until its first load attempt has ended (loaded or failed: a
  // failed load is retried, and searches read the database meanwhile). For readiness.
  bool Starting() const { return starting_.load(std::memory_order_acquire); }

  struct Position {
    double lat = 0;  // the stored doubles, exactly
    double lng = 0;
  };

  // Brings the copy up to the snapshot of `tx` (SQLite only): without a loader thread the
  // first call loads every position; later ones apply the log entries committed since the
  // copy's last. Returns the snapshot's log position when the copy holds exactly that
  // snapshot's positions, for Lookup; nullopt when it cannot (it is being loaded, or it
  // already holds changes committed after `tx` began): read the database instead.
  Result<std::optional<int64_t>> Sync(storage::Tx& tx);

  // The positions of `ids` (any order; ascending is fastest) into `out`, nullopt for a
  // document without one, as of log position `seq` (from Sync). False when the copy has
  // moved past `seq` since (another request applied newer changes): `out` is then unusable.
  bool Lookup(int64_t seq, const std::vector<int64_t>& ids, std::vector<std::optional<Position>>* out) const;

  // The candidate rowids kept for `key` (a query's FTS5 expression and the rows it needs) as
  // of log position `seq`, with their positions in that state, or null. KeepMatches keeps
  // them for later searches at the same `seq` (a repeated query then needs neither FTS5 nor
  // Lookup); a later `seq` drops all kept before it.
  struct KeptSet {
    std::vector<int64_t> ids;                        // ascending
    std::vector<std::optional<Position>> positions;  // each id's, as of `seq` (nullopt: none)
  };
  using Matches = std::shared_ptr<const KeptSet>;
  Matches KeptMatches(int64_t seq, const std::string& key) const;
  void KeepMatches(int64_t seq, const std::string& key, Matches kept);

  bool loaded() const { return loaded_.load(std::memory_order_acquire); }
  // True when the next Sync would load the copy itself (no loader thread, not loaded yet).
  bool LoadsOnSync() const { return !background_.load(std::memory_order_acquire) && !loaded(); }
  size_t SizeForTest() const;
  size_t BytesForTest() const;
  uint64_t HitsForTest() const { return hits_.load(std::memory_order_relaxed); }
  // The statement every search with a position runs first (its query plan is tested).
  static const storage::Query& LogBoundsQueryForTest();

 private:
  struct Entry {
    int64_t id = 0;
    Position at;
  };

  // Every position in the snapshot of `tx`, sorted by rowid, and the log's end in it.
  // `cancel` (may be null) stops it between pages.
  static Result<std::vector<Entry>> ReadAll(storage::Tx& tx, int64_t* end, const std::atomic<bool>* cancel);
  // Replaces the copy with a load read at log position `end`.
  void Install(std::vector<Entry> entries, int64_t end);
  Status Poll(storage::Tx& tx, int64_t end);
  void BackgroundLoop(storage::Db& db);
  // Folds changed_ into entries_. Requires data_mu_ held exclusively.
  void Rebuild();

  const size_t max_changed_;
  std::mutex refresh_mu_;  // one loader or poller at a time
  // With a loader thread, set only by it and cleared (to ask it for a reload) under
  // refresh_mu_; no poll runs while it is false.
  std::atomic<bool> loaded_ = false;
  mutable std::atomic<uint64_t> hits_ = 0;  // Lookups answered, and kept matches found

  mutable std::shared_mutex data_mu_;  // guards the fields below (shared: Lookup)
  int64_t applied_seq_ = 0;            // the last log entry the copy holds
  std::vector<Entry> entries_;         // sorted by id
  // Positions changed since entries_ was built, by rowid (nullopt: none now); an id here
  // masks its entry in entries_.
  std::unordered_map<int64_t, std::optional<Position>> changed_;

  mutable std::mutex matches_mu_;  // guards the fields below
  int64_t matches_seq_ = -1;       // the log position every kept entry was read at
  size_t matches_ids_ = 0;         // rowids kept, all entries
  std::unordered_map<std::string, Matches> matches_;

  // The loader thread and what it is asked to do.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_load_ = false, bg_stop_ = false;  // guarded by bg_mu_
  std::function<void()> before_load_for_test_;
  std::atomic<bool> background_ = false;
  std::atomic<bool> starting_ = false;
  std::atomic<bool> cancel_ = false;
  std::thread thread_;
};

}  // namespace hutong::host::search
