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
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
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
  static constexpr size_t kDefaultMaxChanged = 8'192;

  struct Position {
    double lat = 0;  // the stored doubles, exactly
    double lng = 0;
  };

  // Brings the copy up to the snapshot of `tx` (SQLite only): the first call loads every
  // position, later ones apply the log entries committed since the copy's last. Returns the
  // snapshot's log position when the copy holds exactly that snapshot's positions, for
  // Lookup; nullopt when it cannot (another call is loading it, or it already holds changes
  // committed after `tx` began): read the database instead.
  Result<std::optional<int64_t>> Sync(storage::Tx& tx);

  // The positions of `ids` (any order; ascending is fastest) into `out`, nullopt for a
  // document without one, as of log position `seq` (from Sync). False when the copy has
  // moved past `seq` since (another request applied newer changes): `out` is then unusable.
  bool Lookup(int64_t seq, const std::vector<int64_t>& ids, std::vector<std::optional<Position>>* out) const;

  // The candidate rowids kept for `key` (a query's FTS5 expression and the rows it needs) as
  // of log position `seq`, or null. KeepMatches keeps them (ascending) for later searches at
  // the same `seq`; a later `seq` drops all kept before it.
  using Matches = std::shared_ptr<const std::vector<int64_t>>;
  Matches KeptMatches(int64_t seq, const std::string& key) const;
  void KeepMatches(int64_t seq, const std::string& key, Matches ids);

  bool loaded() const { return loaded_.load(std::memory_order_acquire); }
  size_t SizeForTest() const;
  size_t BytesForTest() const;
  uint64_t HitsForTest() const { return hits_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    int64_t id = 0;
    Position at;
  };

  Status Load(storage::Tx& tx, int64_t end);
  Status Poll(storage::Tx& tx, int64_t end);
  // Folds changed_ into entries_. Requires data_mu_ held exclusively.
  void Rebuild();

  const size_t max_changed_;
  std::mutex refresh_mu_;  // one loader or poller at a time
  std::atomic<bool> loaded_ = false;
  mutable std::atomic<uint64_t> hits_ = 0;  // Lookups answered

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
};

}  // namespace hutong::host::search
