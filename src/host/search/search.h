// The host's search index (search_docs, host migration 7) over synced deals and published
// videos, and the search query behind GET /api/search. Documents are stored as the
// space-joined tokens of tokenizer.h; SQLite matches them with FTS5 and ranks with bm25,
// PostgreSQL with a GIN-indexed tsvector ('simple' configuration) and ts_rank.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host::search {

// Indexes an online deal (title, brand, category, city) or removes an offline one.
// Called by UpsertAppDeals inside its transaction, so every path that syncs deals indexes.
Status IndexDeal(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal);

// Indexes a video (title, description, tags). Called by CreateVideo inside its transaction.
Status IndexVideo(storage::Tx& tx, const std::string& video_id, const std::string& title,
                  const std::string& description, const std::vector<std::string>& tags);

// Removes a video from the index (hidden by its owner). Nothing to remove is fine.
Status RemoveVideo(storage::Tx& tx, const std::string& video_id);

// Indexes every published video and online deal that has no search document: databases
// filled before host migration 7 (or by hand) become searchable. Runs once per database
// (remembered in meta as 'search_backfilled'); returns how many documents it wrote.
Result<int64_t> BackfillSearchDocs(storage::Db& db);

struct SearchParams {
  std::string q;         // required, 1..64 bytes
  std::string city;      // filters deals and videos when set
  std::string category;  // filters deals when set (videos carry no category)
  std::string cursor;    // next_cursor of the previous page
  int64_t limit = 20;    // 1..50
};

// GET /api/search: {items:[deal or video], next_cursor}. Order: relevance, then sales,
// then document key (stable, so the offset cursor pages without repeats).
Result<boost::json::object> SearchJson(storage::Db& db, const SearchParams& params);

}  // namespace hutong::host::search
