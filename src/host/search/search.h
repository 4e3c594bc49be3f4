// The host's search index (search_docs, host migration 7) over synced deals and published
// videos, and the search query behind GET /api/search. Documents are stored as the
// space-joined tokens of tokenizer.h; SQLite matches them with FTS5 and keeps each
// document under a rowid that is its static rank (shorter document, then more sales: what
// bm25 orders by when each word counts once), so a query reads only the rows it returns;
// PostgreSQL keeps the same rank in a btree-indexed column beside a GIN-indexed tsvector
// ('simple' configuration), so both drivers return the same order.
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host::search {

// Indexes an online deal (title, brand, category, city) or removes an offline one.
// Called by UpsertAppDeals inside its transaction, so every path that syncs deals indexes.
Status IndexDeal(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal);

// Indexes a video (title, description, tags; city for the filter). Called by CreateVideo
// and UpdateVideo inside their transactions.
Status IndexVideo(storage::Tx& tx, const std::string& video_id, const std::string& title,
                  const std::string& description, const std::vector<std::string>& tags,
                  const std::string& city);

// Removes a video from the index (hidden by its owner). Nothing to remove is fine.
Status RemoveVideo(storage::Tx& tx, const std::string& video_id);

// Indexes every published video and online deal that has no search document: databases
// filled before host migration 7 (or by hand), or whose index host migration 14 rebuilt,
// become searchable. Runs once per database (remembered in meta as 'search_backfilled'),
// 5,000 deals per transaction; returns how many documents it wrote.
Result<int64_t> BackfillSearchDocs(storage::Db& db);

// Replaces the campaigns of an app in the host's campaign index (their keywords and title,
// tokenized, answer search). Withdrawn or ended campaigns are kept but never shown.
Status UpsertAppCampaigns(storage::Tx& tx, const std::string& app_id,
                          const std::vector<protocol::CampaignIndexEntry>& campaigns, int64_t now_ms);

struct SearchParams {
  std::string q;              // required, 1..64 bytes
  std::string city;           // filters deals and videos when set
  std::string category;       // filters deals when set (videos carry no category)
  std::string cursor;         // next_cursor of the previous page
  int64_t limit = 20;         // 1..50
  std::optional<double> lat;  // the viewer's position: ranks deals by distance after relevance
  std::optional<double> lng;
  int64_t now_ms = 0;  // campaigns that have ended are not shown
};

// GET /api/search: {items:[campaign, deal or video], next_cursor}. The first page opens
// with the running or upcoming campaigns one of whose keywords (or title) is the query;
// then results by relevance, then distance to (lat, lng) when given, then sales, then
// the order documents were indexed (both drivers; PostgreSQL breaks a rare shared slot by
// document key): stable, so the
// offset cursor pages without repeats. `changes_at_ms`, when given, receives the first
// time after now_ms at which the page would change by time alone (a campaign it shows
// starts or ends), or INT64_MAX.
Result<boost::json::object> SearchJson(storage::Db& db, const SearchParams& params,
                                       int64_t* changes_at_ms = nullptr);
// The same, ordering a page with a position from `positions` (SQLite: the in-memory copy of
// the documents' positions, loaded by its own thread at the node's start, or by the first
// search without one, and read only when it holds exactly the search's snapshot; otherwise,
// and on PostgreSQL, the database's): the same answers.
class SearchPositionIndex;
Result<boost::json::object> SearchJson(storage::Db& db, SearchPositionIndex* positions,
                                       const SearchParams& params, int64_t* changes_at_ms = nullptr);

// A process-wide counter bumped by every change of what search answers (documents,
// campaigns, apps). Writers call NoteSearchIndexChanged() again after their commit, so a
// page read before it is never kept under the later version (see SearchPageCache).
uint64_t SearchIndexVersion();
void NoteSearchIndexChanged();

// The opaque offset cursors of search and nearby.
std::string EncodeOffsetCursor(int64_t offset);
Result<int64_t> DecodeOffsetCursor(const std::string& cursor);

}  // namespace hutong::host::search
