#include "host/search/search.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>
#include <unordered_set>

#include "common/base64.h"
#include "common/clock.h"
#include "common/geo.h"
#include "common/hex.h"
#include "host/search/nearby.h"
#include "host/search/search_position_index.h"
#include "host/search/tokenizer.h"

namespace hutong::host::search {
namespace json = boost::json;
using storage::Access;
using storage::Dialect;
using storage::Query;

namespace {

// The filter token every video carries (kVideoToken), spelled here for the SQL too.
#define HUTONG_SEARCH_VIDEO_TOKEN "zv视"

// SQLite: the FTS5 rowid of a document is its static rank (RankGroup, then a slot), so
// FTS5, which walks matches in rowid order, yields them best first and a LIMIT stops the
// walk early: no query scores or sorts every match of a common word. search_doc_ids maps
// each document key to its current rowid (it moves when the rank does).
constexpr Query kSqliteCurrentId{"search.sqlite_current_id", Access::kWrite,
                                 "SELECT id FROM search_doc_ids WHERE doc_key = $1"};
constexpr Query kSqliteLastInGroup{"search.sqlite_last_in_group", Access::kWrite,
                                   "SELECT max(id) FROM search_doc_ids WHERE id >= $1 AND id < $2"};
constexpr Query kSqliteSetId{"search.sqlite_set_id", Access::kWrite,
                             "INSERT INTO search_doc_ids (id, doc_key) VALUES ($1, $2) ON CONFLICT (doc_key) "
                             "DO UPDATE SET id = excluded.id"};
// A deal document's position under its rowid (host v16), for ranking by distance.
constexpr Query kSqliteSetPosition{"search.sqlite_set_position", Access::kWrite,
                                   "INSERT INTO search_doc_positions (id, lat, lng) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng"};
constexpr Query kSqliteDeletePosition{"search.sqlite_delete_position", Access::kWrite,
                                      "DELETE FROM search_doc_positions WHERE id = $1"};
// Every write or removal of a document (and so of its position) logs its rowid (host v21) in
// the same transaction, so each node's in-memory copy (SearchPositionIndex) follows it; the
// oldest entries are pruned now and then, and a copy that fell behind them reloads.
constexpr Query kSqliteLogChange{"search.sqlite_log_change", Access::kWrite,
                                 "INSERT INTO search_doc_changes (id) VALUES ($1) RETURNING seq"};
constexpr Query kSqlitePruneChanges{
    "search.sqlite_prune_changes", Access::kWrite,
    "DELETE FROM search_doc_changes WHERE seq <= (SELECT MAX(seq) FROM search_doc_changes) - $1"};
constexpr int64_t kKeptDocChanges = 100'000;
constexpr int64_t kPruneChangesEvery = 1'024;
constexpr Query kSqliteDeleteKey{"search.sqlite_delete_key", Access::kWrite,
                                 "DELETE FROM search_doc_ids WHERE doc_key = $1"};
constexpr Query kSqliteDeleteRow{"search.sqlite_delete_row", Access::kWrite,
                                 "DELETE FROM search_docs WHERE rowid = $1"};
constexpr Query kSqliteInsert{"search.sqlite_insert", Access::kWrite,
                              "INSERT INTO search_docs (rowid, doc_key, kind, app_id, ref_id, tokens) "
                              "VALUES ($1, $2, $3, $4, $5, $6)"};
// PostgreSQL (host v17): the rank column holds the value SQLite uses as the rowid (RankGroup,
// then a slot: $7 is the group's first rank, $8 the next group's), so both drivers order
// alike; a document whose rank group is unchanged keeps its place, otherwise it goes last in
// its new group. The tsvector also holds the city and category tokens, as SQLite's document
// does, so the match alone narrows to them. Two writers filling one group at once may take
// the same slot: the search orders by (rank, doc_key), so the order stays total.
constexpr Query kPgUpsert{
    "search.pg_upsert", Access::kWrite, "SELECT 1",
    "INSERT INTO search_docs (doc_key, kind, app_id, ref_id, tokens, tsv, rank) "
    "VALUES ($1, $2, $3, $4, $5, to_tsvector('simple', CAST($6 AS TEXT)), COALESCE("
    "(SELECT rank FROM search_docs WHERE doc_key = $1 AND rank >= CAST($7 AS BIGINT) AND rank < CAST($8 AS "
    "BIGINT)), (SELECT max(rank) + 1 FROM search_docs WHERE rank >= CAST($7 AS BIGINT) AND rank < CAST($8 AS "
    "BIGINT)), CAST($7 AS BIGINT))) ON CONFLICT (doc_key) DO UPDATE "
    "SET kind = excluded.kind, app_id = excluded.app_id, ref_id = excluded.ref_id, "
    "tokens = excluded.tokens, tsv = excluded.tsv, rank = excluded.rank RETURNING rank"};
constexpr Query kPgDelete{"search.pg_delete", Access::kWrite, "SELECT 1",
                          "DELETE FROM search_docs WHERE doc_key = $1"};

// Documents missing from the index, for the one-time backfill. Deals are read in pages in
// key order ($1, $2: the last key of the previous page), so memory stays flat at any size.
constexpr Query kBackfillDone{"search.backfill_done", Access::kRead,
                              "SELECT 1 FROM meta WHERE key = 'search_backfilled'"};
constexpr Query kMarkBackfilled{"search.mark_backfilled", Access::kWrite,
                                "INSERT INTO meta (key, value) VALUES ('search_backfilled', $1) "
                                "ON CONFLICT (key) DO NOTHING"};
constexpr Query kUnindexedVideos{
    "search.unindexed_videos", Access::kWrite,
    "SELECT v.id, v.title, v.description, v.tags, v.city FROM videos v WHERE v.status = 'published' "
    "AND NOT EXISTS (SELECT 1 FROM search_doc_ids i JOIN search_docs s ON s.rowid = i.id WHERE i.doc_key = "
    "v.id)",
    "SELECT v.id, v.title, v.description, v.tags, v.city FROM videos v WHERE v.status = 'published' "
    "AND NOT EXISTS (SELECT 1 FROM search_docs s WHERE s.doc_key = v.id)"};
constexpr Query kUnindexedDeals{
    "search.unindexed_deals", Access::kWrite,
    "SELECT d.app_id, d.deal_id, d.title, d.brand_name, d.category, d.city, d.sales, d.lat, d.lng "
    "FROM app_deals d WHERE (d.app_id, d.deal_id) > ($1, $2) AND d.status = 'online' AND NOT EXISTS "
    "(SELECT 1 FROM "
    "search_doc_ids i JOIN search_docs s ON s.rowid = i.id WHERE i.doc_key = d.app_id || ':' || d.deal_id) "
    "ORDER BY d.app_id, d.deal_id LIMIT $3",
    "SELECT d.app_id, d.deal_id, d.title, d.brand_name, d.category, d.city, d.sales, d.lat, d.lng "
    "FROM app_deals d WHERE (d.app_id, d.deal_id) > (CAST($1 AS TEXT), CAST($2 AS TEXT)) AND d.status = "
    "'online' AND NOT "
    "EXISTS "
    "(SELECT 1 FROM search_docs s WHERE s.doc_key = d.app_id || ':' || d.deal_id) "
    "ORDER BY d.app_id, d.deal_id LIMIT $3"};

// The columns every search query returns, and the joins behind them.
#define HUTONG_SEARCH_SELECT(SCORE)                                                                    \
  "SELECT s.kind, s.app_id, s.ref_id, " SCORE                                                          \
  " AS score, d.title, d.brand_name, d.price_fen, d.original_price_fen, d.city, d.category, d.sales, " \
  "a.service_url, v.title, v.cover_url, v.city, c.id, c.name, d.lat, d.lng "                           \
  "FROM search_docs s "                                                                                \
  "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND d.deal_id = s.ref_id "         \
  "LEFT JOIN apps a ON a.id = d.app_id "                                                               \
  "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "                                        \
  "LEFT JOIN creators c ON c.id = v.creator_id WHERE "
// $2 city, $3 category (empty: any). Deals must be online and of an active app. On SQLite
// the MATCH expression already holds the city and category tokens, so these only confirm.
#define HUTONG_SEARCH_FILTER                                                                    \
  " AND ((s.kind = 'deal' AND d.status = 'online' AND a.status = 'active' "                     \
  "AND (CAST($2 AS TEXT) = '' OR d.city = $2) AND (CAST($3 AS TEXT) = '' OR d.category = $3)) " \
  "OR (s.kind = 'video' AND v.status = 'published' AND (CAST($2 AS TEXT) = '' OR v.city = $2))) "

// SQLite, no position: matches in rowid order are already in rank order (shorter document,
// then more sales, then first indexed). $1 FTS5 expression, $4 rows, $5 offset.
constexpr Query kSearchSqlite{"search.sqlite_query", Access::kRead,
                              HUTONG_SEARCH_SELECT("0.0") "s.search_docs MATCH $1" HUTONG_SEARCH_FILTER
                                                          "ORDER BY s.rowid LIMIT $4 OFFSET $5"};
// SQLite with a position, step 1: the rowid of the last row a page needs ($4 = offset +
// rows - 1) in rank order; every row of its length (kLengthShift) or shorter is read by
// step 2, which orders by length, then distance, then the rest of the rank.
constexpr Query kSearchSqliteGeoBound{"search.sqlite_geo_bound", Access::kRead,
                                      "SELECT s.rowid FROM search_docs s "
                                      "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND "
                                      "d.deal_id = s.ref_id "
                                      "LEFT JOIN apps a ON a.id = d.app_id "
                                      "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "
                                      "WHERE s.search_docs MATCH $1" HUTONG_SEARCH_FILTER
                                      "ORDER BY s.rowid LIMIT 1 OFFSET $4"};
// Step 2: rows below $4 (the end of that length), nearest to ($5, $6) first: squared
// equirectangular degrees, longitude scaled by $7 = cos(lat), which orders like the true
// distance at city scale without trigonometry in SQL. Deals without coordinates and videos
// come after. $8 rows, $9 offset. The matches are ordered in a subquery that reads only
// the FTS5 rowids and their positions in search_doc_positions (host v16: integer keys in
// rank order, rows of about 30 bytes, so a length's matches share few pages), and only
// the rows the page takes are joined to their deal or video. The subquery's LIMIT keeps
// SQLite from flattening it into the joins (which would join every match before
// sorting); the outer query, without an ORDER BY of its own, walks the co-routine's rows
// in the order it yields them, and CROSS JOIN keeps it the outer loop.
constexpr Query kSearchSqliteGeo{
    "search.sqlite_geo_query", Access::kRead,
    "SELECT s.kind, s.app_id, s.ref_id, 0.0 AS score, d.title, d.brand_name, d.price_fen, "
    "d.original_price_fen, d.city, d.category, d.sales, a.service_url, v.title, v.cover_url, v.city, c.id, "
    "c.name, d.lat, d.lng FROM (SELECT m.rowid AS rid FROM search_docs m LEFT JOIN search_doc_positions i "
    "ON i.id = m.rowid WHERE m.search_docs MATCH $1 AND m.rowid < $4 ORDER BY m.rowid >> 49, CASE WHEN i.lat "
    "IS "
    "NULL THEN 1.0e9 ELSE (i.lat - $5) * (i.lat - $5) + ((i.lng - $6) * $7) * ((i.lng - "
    "$6) * $7) END, m.rowid LIMIT 1000000000) AS t "
    "CROSS JOIN search_docs s ON s.rowid = t.rid "
    "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND d.deal_id = s.ref_id "
    "LEFT JOIN apps a ON a.id = d.app_id "
    "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "
    "LEFT JOIN creators c ON c.id = v.creator_id WHERE 1 = 1" HUTONG_SEARCH_FILTER "LIMIT $8 OFFSET $9"};

// SQLite with a position, the usual way (SearchNearestSqlite): the same page as the two
// statements above in one FTS5 walk and no joins before the page is known. Prefix: the
// first $2 matches in rank order with their positions (no filter joins). Group: when
// those fill it, the rest of the last one's length, by its rowid range [$2, $3), which
// FTS5 seeks to instead of walking from the start again. The caller orders them by
// length, distance, rowid and RowsByIds joins only the ids the page needs ($1: a JSON
// array of rowids in that order; $2 city, $3 category as in the filter).
constexpr Query kSearchSqliteGeoPrefix{
    "search.sqlite_geo_prefix", Access::kRead,
    "SELECT m.rowid, i.lat, i.lng FROM search_docs m LEFT JOIN search_doc_positions i ON i.id = m.rowid "
    "WHERE m.search_docs MATCH $1 ORDER BY m.rowid LIMIT $2"};
constexpr Query kSearchSqliteGeoGroup{
    "search.sqlite_geo_group", Access::kRead,
    "SELECT m.rowid, i.lat, i.lng FROM search_docs m LEFT JOIN search_doc_positions i ON i.id = m.rowid "
    "WHERE m.search_docs MATCH $1 AND m.rowid >= $2 AND m.rowid < $3"};
// The same two reads for the in-memory copy of the positions (SearchPositionIndex): the
// rowids alone, as one comma-separated text (no row per match).
constexpr Query kSearchSqliteIdsPrefix{
    "search.sqlite_ids_prefix", Access::kRead,
    "SELECT group_concat(rid) FROM (SELECT m.rowid AS rid FROM search_docs m "
    "WHERE m.search_docs MATCH $1 ORDER BY m.rowid LIMIT $2)"};
constexpr Query kSearchSqliteIdsGroup{"search.sqlite_ids_group", Access::kRead,
                                      "SELECT group_concat(m.rowid) FROM search_docs m "
                                      "WHERE m.search_docs MATCH $1 AND m.rowid >= $2 AND m.rowid < $3"};
constexpr Query kSearchSqliteRowsByIds{
    "search.sqlite_rows_by_ids", Access::kRead,
    "SELECT s.kind, s.app_id, s.ref_id, 0.0 AS score, d.title, d.brand_name, d.price_fen, "
    "d.original_price_fen, d.city, d.category, d.sales, a.service_url, v.title, v.cover_url, v.city, c.id, "
    "c.name, d.lat, d.lng FROM json_each($1) AS t "
    "CROSS JOIN search_docs s ON s.rowid = t.value "
    "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND d.deal_id = s.ref_id "
    "LEFT JOIN apps a ON a.id = d.app_id "
    "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "
    "LEFT JOIN creators c ON c.id = v.creator_id WHERE 1 = 1" HUTONG_SEARCH_FILTER "ORDER BY t.key"};

// PostgreSQL: the same order as SQLite's (rank, then doc_key for a slot two writers
// shared). The matches are taken in that order from search_docs alone, in a subquery whose
// LIMIT ($4) the planner weighs against the tsquery's selectivity only: a common word walks
// the btree on (rank, doc_key), confirming each row with its tsvector, and stops at the
// page; a rare word reads its few matches through the GIN and sorts them. (With the joins'
// filter in the same query the planner guessed that filter to keep almost no rows, since
// small tables such as apps are never analyzed, and sorted every match of a common word.)
// The filter is a column (3: 1 when the row may be shown) that SearchJson applies, asking
// for more rows in the rare case that it dropped some. It sees the tsquery as a constant
// (custom plans, kPgCustomPlans). $1 the query's tokens and the city token for
// plainto_tsquery, $2 city, $3 category, $5 the category token (empty: any), which videos
// pass as on SQLite.
#define HUTONG_SEARCH_PG_MATCH                                                                           \
  "s.tsv @@ (CASE WHEN CAST($5 AS TEXT) = '' THEN plainto_tsquery('simple', CAST($1 AS TEXT)) "          \
  "ELSE plainto_tsquery('simple', CAST($1 AS TEXT)) && (plainto_tsquery('simple', CAST($5 AS TEXT)) || " \
  "plainto_tsquery('simple', '" HUTONG_SEARCH_VIDEO_TOKEN "')) END)"
#define HUTONG_SEARCH_PG_SELECT(WHERE)                                                                    \
  "SELECT s.kind, s.app_id, s.ref_id, CASE WHEN (1 = 1" HUTONG_SEARCH_FILTER                              \
  ") THEN 1 ELSE 0 END AS visible, d.title, d.brand_name, d.price_fen, d.original_price_fen, d.city, "    \
  "d.category, d.sales, a.service_url, v.title, v.cover_url, v.city, c.id, c.name, d.lat, d.lng, s.rank " \
  "FROM (SELECT s.doc_key, s.kind, s.app_id, s.ref_id, s.rank FROM search_docs s WHERE " WHERE            \
  ") AS s "                                                                                               \
  "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND d.deal_id = s.ref_id "            \
  "LEFT JOIN apps a ON a.id = d.app_id "                                                                  \
  "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "                                           \
  "LEFT JOIN creators c ON c.id = v.creator_id "
// Prepared statements switch to a generic plan after five runs when it looks no dearer,
// and a generic plan cannot tell a common word (walk the rank index) from a rare one (read
// the GIN, sort the few): the search's transaction plans its statements per call.
constexpr Query kPgCustomPlans{"search.pg_custom_plans", Access::kRead, "SELECT 1",
                               "SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"};
// The first $4 matches in rank order.
constexpr Query kSearchPg{
    "search.pg_query", Access::kRead, "SELECT 1",
    HUTONG_SEARCH_PG_SELECT(HUTONG_SEARCH_PG_MATCH
                            " ORDER BY s.rank, s.doc_key LIMIT $4") "ORDER BY s.rank, s.doc_key"};
// With a position, as on SQLite: kSearchPg finds the page's last row in rank order; then
// every match below $4 (the end of that row's length), by length, then distance to ($6,
// $7) with longitude scaled by $8 = cos(lat) (the same arithmetic as SQLite's, on the
// deal's own position; none: after every located one), then rank.
constexpr Query kSearchPgGeo{
    "search.pg_geo_query", Access::kRead, "SELECT 1",
    HUTONG_SEARCH_PG_SELECT(HUTONG_SEARCH_PG_MATCH " AND s.rank < CAST($4 AS BIGINT)")
    "ORDER BY s.rank >> 49, CASE WHEN d.lat IS NULL OR d.lng IS NULL THEN CAST(1.0e9 AS DOUBLE PRECISION) "
    "ELSE (d.lat - CAST($6 AS DOUBLE PRECISION)) * (d.lat - CAST($6 AS DOUBLE PRECISION)) + "
    "((d.lng - CAST($7 AS DOUBLE PRECISION)) * CAST($8 AS DOUBLE PRECISION)) * "
    "((d.lng - CAST($7 AS DOUBLE PRECISION)) * CAST($8 AS DOUBLE PRECISION)) END, s.rank, s.doc_key"};
#undef HUTONG_SEARCH_PG_SELECT
#undef HUTONG_SEARCH_PG_MATCH
#undef HUTONG_SEARCH_SELECT
#undef HUTONG_SEARCH_FILTER

constexpr Query kDeleteCampaignKeywords{"search.delete_campaign_keywords", Access::kWrite,
                                        "DELETE FROM campaign_keywords WHERE app_id = $1 AND slug = $2"};
constexpr Query kInsertCampaignKeyword{
    "search.insert_campaign_keyword", Access::kWrite,
    "INSERT INTO campaign_keywords (keyword, app_id, slug) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING"};
constexpr Query kUpsertCampaign{
    "search.upsert_campaign", Access::kWrite,
    "INSERT INTO app_campaigns (app_id, slug, title, keywords, deal_ids, starts_at, ends_at, status, "
    "updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (app_id, slug) DO UPDATE SET "
    "title = excluded.title, keywords = excluded.keywords, deal_ids = excluded.deal_ids, "
    "starts_at = excluded.starts_at, ends_at = excluded.ends_at, status = excluded.status, "
    "updated_at = excluded.updated_at"};
// Campaigns first: one of whose keywords is the query, not ended, of an active app.
constexpr Query kCampaignsFor{
    "search.campaigns_for", Access::kRead,
    "SELECT c.app_id, c.slug, c.title, c.keywords, c.starts_at, c.ends_at, a.service_url "
    "FROM campaign_keywords k JOIN app_campaigns c ON c.app_id = k.app_id AND c.slug = k.slug "
    "JOIN apps a ON a.id = c.app_id WHERE k.keyword = $1 AND c.status = 'active' AND c.ends_at > $2 "
    "AND a.status = 'active' ORDER BY c.starts_at, c.app_id, c.slug LIMIT 5"};

const char* CategoryName(const std::string& code) {
  if (code == "catering") return "餐饮";
  if (code == "hotel") return "酒店";
  if (code == "homestay") return "民宿";
  if (code == "scenic") return "景区";
  if (code == "leisure") return "休闲玩乐";
  if (code == "beauty") return "美容美发";
  if (code == "script_murder") return "剧本杀";
  return "";
}

// Each distinct token once: repeating a title in the description does not inflate its
// rank, and relevance comes from which words match and how long the document is.
struct Document {
  std::string tokens;  // space-joined
  int64_t length = 0;  // how many
};
Document DocumentTokens(const std::vector<std::string>& fields) {
  Document out;
  std::unordered_set<std::string> seen;
  for (const auto& f : fields) {
    for (auto& t : IndexTokens(f)) {
      if (!seen.insert(t).second) continue;
      if (!out.tokens.empty()) out.tokens += ' ';
      out.tokens += t;
      ++out.length;
    }
  }
  return out;
}

// Filter tokens: the city and the category of a document as one token each (FTS5 and
// tsvector alike), so the match itself narrows to them. A Latin prefix, a CJK character and hex digits:
// the tokenizer splits at every change of script, so no text ever yields such a token.
std::string CityToken(std::string_view city) {
  return "zc城" + HexEncode(city);
}
std::string CategoryToken(std::string_view category) {
  return "zk类" + HexEncode(category);
}
constexpr const char* kVideoToken =
    HUTONG_SEARCH_VIDEO_TOKEN;  // videos carry no category: they pass its filter

// SQLite rowid = PostgreSQL rank = RankGroup << kSlotBits | slot. Among documents matching every word of a
// query, bm25 (each word counted once per document) is higher exactly when the document
// is shorter, so the rank is: length ascending, then sales descending, then the order
// documents entered that group. Lengths cap at 16,383 tokens, sales at 33,554,431.
constexpr int kSlotBits = 24;
constexpr int kSalesBits = 25;
constexpr int kLengthShift = kSlotBits + kSalesBits;  // 49, as in kSearchSqliteGeo
constexpr int64_t kMaxLength = (int64_t{1} << 14) - 1;
constexpr int64_t kMaxSales = (int64_t{1} << kSalesBits) - 1;
int64_t RankGroup(int64_t length, int64_t sales) {
  return (std::clamp<int64_t>(length, 0, kMaxLength) << kSalesBits) |
         (kMaxSales - std::clamp<int64_t>(sales, 0, kMaxSales));
}

// SQLite: the document at rowid `id` changed (written, moved or removed, with its position).
Status LogChange(storage::Tx& tx, int64_t id) {
  ASSIGN_OR_RETURN(auto logged, tx.Exec(kSqliteLogChange, {id}));
  if (!logged.empty() && logged[0].Int(0) % kPruneChangesEvery == 0) {
    RETURN_IF_ERROR(tx.Exec(kSqlitePruneChanges, {kKeptDocChanges}));
  }
  return Ok();
}

// SQLite: the position of the document at rowid `id` (none: ranked after every located one).
Status SetPosition(storage::Tx& tx, int64_t id, const std::optional<double>& lat,
                   const std::optional<double>& lng) {
  if (lat && lng) {
    RETURN_IF_ERROR(tx.Exec(kSqliteSetPosition, {id, *lat, *lng}));
  } else {
    RETURN_IF_ERROR(tx.Exec(kSqliteDeletePosition, {id}));
  }
  return LogChange(tx, id);
}

constexpr const char* kGroupFull = "search: more than 2^24 documents of one length and sales";

Status Put(storage::Tx& tx, const std::string& key, const char* kind, const std::string& app_id,
           const std::string& ref_id, const Document& doc, int64_t sales,
           const std::vector<std::string>& filters, const std::optional<double>& lat = std::nullopt,
           const std::optional<double>& lng = std::nullopt) {
  std::string tokens = doc.tokens;
  for (const auto& f : filters) tokens += (tokens.empty() ? "" : " ") + f;
  const int64_t lo = RankGroup(doc.length, sales) << kSlotBits, hi = lo + (int64_t{1} << kSlotBits);
  if (tx.dialect() == Dialect::kPostgres) {
    ASSIGN_OR_RETURN(
        auto put, tx.Exec(kPgUpsert, {key, std::string(kind), app_id, ref_id, doc.tokens, tokens, lo, hi}));
    // A full group's next slot is the next group's first: refused, as on SQLite (the
    // caller's transaction rolls the row back).
    if (put.empty() || put[0].Int(0) >= hi) return Internal(kGroupFull);
    return Ok();
  }
  ASSIGN_OR_RETURN(auto current, tx.Exec(kSqliteCurrentId, {key}));
  if (!current.empty()) {
    const int64_t id = current[0].Int(0);
    RETURN_IF_ERROR(tx.Exec(kSqliteDeleteRow, {id}));
    if (id >= lo && id < hi) {  // same rank: keep its place
      RETURN_IF_ERROR(tx.Exec(kSqliteInsert, {id, key, std::string(kind), app_id, ref_id, tokens}));
      return SetPosition(tx, id, lat, lng);
    }
    RETURN_IF_ERROR(tx.Exec(kSqliteDeletePosition, {id}));
    RETURN_IF_ERROR(LogChange(tx, id));
  }
  ASSIGN_OR_RETURN(auto last, tx.Exec(kSqliteLastInGroup, {lo, hi}));
  const int64_t id = last.empty() || last[0].IsNull(0) ? lo : last[0].Int(0) + 1;
  if (id >= hi) return Internal(kGroupFull);
  RETURN_IF_ERROR(tx.Exec(kSqliteSetId, {id, key}));
  RETURN_IF_ERROR(tx.Exec(kSqliteInsert, {id, key, std::string(kind), app_id, ref_id, tokens}));
  return SetPosition(tx, id, lat, lng);
}

Status Remove(storage::Tx& tx, const std::string& key) {
  if (tx.dialect() == Dialect::kPostgres) {
    RETURN_IF_ERROR(tx.Exec(kPgDelete, {key}));
    return Ok();
  }
  ASSIGN_OR_RETURN(auto current, tx.Exec(kSqliteCurrentId, {key}));
  if (current.empty()) return Ok();
  RETURN_IF_ERROR(tx.Exec(kSqliteDeleteRow, {current[0].Int(0)}));
  RETURN_IF_ERROR(tx.Exec(kSqliteDeletePosition, {current[0].Int(0)}));
  RETURN_IF_ERROR(LogChange(tx, current[0].Int(0)));
  RETURN_IF_ERROR(tx.Exec(kSqliteDeleteKey, {key}));
  return Ok();
}

std::atomic<uint64_t> g_index_version{1};

constexpr int64_t kMaxOffset = 10'000;

// PostgreSQL: rows read beyond the page, so that a few the filter drops need no second read.
constexpr int64_t kPgSlack = 16;

int64_t CountVisible(const storage::Rows& rows) {
  return std::count_if(rows.rows.begin(), rows.rows.end(),
                       [](const storage::Row& r) { return r.Int(3) != 0; });
}

// The visible rows (column 3) of `rows` after the first `offset` of them, at most `n`.
storage::Rows VisiblePage(storage::Rows rows, int64_t offset, int64_t n) {
  storage::Rows out;
  out.columns = std::move(rows.columns);
  for (auto& r : rows.rows) {
    if (static_cast<int64_t>(out.rows.size()) >= n) break;
    if (r.Int(3) == 0 || offset-- > 0) continue;
    out.rows.push_back(std::move(r));
  }
  return out;
}

std::string JoinTokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += (out.empty() ? "" : " ") + t;
  return out;
}

}  // namespace

// The cursor is the offset of the next page, base64url-encoded so clients treat it as
// opaque ("o" + decimal offset).
std::string EncodeOffsetCursor(int64_t offset) {
  return Base64UrlEncode("o" + std::to_string(offset));
}

Result<int64_t> DecodeOffsetCursor(const std::string& cursor) {
  if (cursor.empty()) return int64_t{0};
  auto raw = Base64UrlDecode(cursor);
  int64_t offset = -1;
  if (raw && raw->size() > 1 && (*raw)[0] == 'o') {
    auto [p, ec] = std::from_chars(raw->data() + 1, raw->data() + raw->size(), offset);
    if (ec != std::errc() || p != raw->data() + raw->size()) offset = -1;
  }
  if (offset < 0 || offset > kMaxOffset) return Invalid("'cursor' is not valid");
  return offset;
}

namespace {

std::string FtsExpression(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (char c : t) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out;
}

// SQLite with a position: rows [offset, offset + rows] of the matches ordered by length,
// then distance, then rank, as kSearchSqliteGeoBound and kSearchSqliteGeo answer them,
// but walking the FTS5 doclists once and joining only the page's rows (the bound query
// joins every row up to the page's end to check the filter, then the geo query walks the
// doclists again from the start). Returns nullopt when one of those rows fails the
// filter (a deal of an app no longer active, say): then the page's last row may lie in a
// longer length than the unfiltered matches say, and the caller runs the two statements.
//
// Why the answer is the same: with n = offset + rows + 1 rows needed, and the unfiltered
// n-th match of length L, every match of length <= L is a candidate. When the first n
// candidates in (length, distance, rowid) order all pass the filter, the filtered n-th
// match in rank order also has length L (it is no earlier than the unfiltered one, and
// n filtered rows of length <= L exist), so the bound query would have given L too, and
// the geo query's first n filtered rows are exactly these n.
struct Candidate {
  int64_t group;  // rowid >> kLengthShift: the document's length
  double distance;
  int64_t rowid;
};

// Exactly kSearchSqliteGeo's ORDER BY expression, in the same double operations.
Candidate MakeCandidate(int64_t rowid, const std::optional<SearchPositionIndex::Position>& at, double lat,
                        double lng, double lng_scale) {
  double distance = 1.0e9;  // no position: after every located match of its length
  if (at) {
    const double dlat = at->lat - lat, dlng = (at->lng - lng) * lng_scale;
    distance = dlat * dlat + dlng * dlng;
  }
  return {rowid >> kLengthShift, distance, rowid};
}

// The rowids of a group_concat (kSearchSqliteIdsPrefix, kSearchSqliteIdsGroup), ascending.
std::vector<int64_t> ParseIds(const storage::Rows& rows) {
  std::vector<int64_t> ids;
  if (rows.empty() || rows[0].IsNull(0)) return ids;
  const std::string& text = rows[0].Str(0);
  const char* at = text.data();
  const char* const stop = text.data() + text.size();
  while (at < stop) {
    int64_t id = 0;
    auto [next, ec] = std::from_chars(at, stop, id);
    if (ec != std::errc()) break;
    ids.push_back(id);
    at = next + 1;  // past the comma
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// SearchNearestSqlite's candidates with their positions from the in-memory copy, which holds
// exactly the snapshot of `tx` (log position `seq`): FTS5 reads rowids only, with no b-tree
// seek per match, and a query seen before in that state reads neither FTS5 nor the copy.
// Appends to `out`; false when the copy moved past the snapshot meanwhile, or the last match
// lies in the longest length (the caller reads the database instead).
Result<bool> CandidatesFromMemory(storage::Tx& tx, SearchPositionIndex& index, int64_t seq,
                                  const std::string& match, int64_t needed, double lat, double lng,
                                  double lng_scale, std::vector<Candidate>* out) {
  // The same query in the same index state has the same candidates, wherever the searcher is.
  const std::string key = std::to_string(needed) + ' ' + match;
  SearchPositionIndex::Matches kept = index.KeptMatches(seq, key);
  if (kept == nullptr) {
    ASSIGN_OR_RETURN(auto prefix_rows, tx.Exec(kSearchSqliteIdsPrefix, {match, needed}));
    std::vector<int64_t> ids = ParseIds(prefix_rows);
    if (static_cast<int64_t>(ids.size()) >= needed) {
      const int64_t length = ids.back() >> kLengthShift;
      if (length >= kMaxLength) return false;
      // The shorter lengths' matches of the prefix, then the whole of the last one's.
      std::erase_if(ids, [&](int64_t id) { return (id >> kLengthShift) >= length; });
      ASSIGN_OR_RETURN(auto group_rows, tx.Exec(kSearchSqliteIdsGroup, {match, length << kLengthShift,
                                                                        (length + 1) << kLengthShift}));
      std::vector<int64_t> group = ParseIds(group_rows);
      ids.insert(ids.end(), group.begin(), group.end());
    }
    auto found = std::make_shared<SearchPositionIndex::KeptSet>();
    found->ids = std::move(ids);
    if (!index.Lookup(seq, found->ids, &found->positions)) return false;
    kept = std::move(found);
    index.KeepMatches(seq, key, kept);
  }
  const std::vector<int64_t>& ids = kept->ids;
  out->reserve(out->size() + ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    out->push_back(MakeCandidate(ids[i], kept->positions[i], lat, lng, lng_scale));
  }
  return true;
}

// The same candidates read from the database: each match's position by its rowid.
Result<bool> CandidatesFromDatabase(storage::Tx& tx, const std::string& match, int64_t needed, double lat,
                                    double lng, double lng_scale, std::vector<Candidate>* out) {
  ASSIGN_OR_RETURN(auto prefix, tx.Exec(kSearchSqliteGeoPrefix, {match, needed}));
  auto add = [&](const storage::Row& r) {
    std::optional<SearchPositionIndex::Position> at;
    if (!r.IsNull(1)) at = SearchPositionIndex::Position{r.Double(1), r.Double(2)};
    out->push_back(MakeCandidate(r.Int(0), at, lat, lng, lng_scale));
  };
  if (static_cast<int64_t>(prefix.size()) < needed) {
    out->reserve(prefix.size());
    for (const auto& r : prefix) add(r);
    return true;
  }
  const int64_t length = prefix.rows.back().Int(0) >> kLengthShift;
  if (length >= kMaxLength) return false;  // no rowid range above it
  ASSIGN_OR_RETURN(auto group, tx.Exec(kSearchSqliteGeoGroup,
                                       {match, length << kLengthShift, (length + 1) << kLengthShift}));
  out->reserve(prefix.size() + group.size());
  for (const auto& r : prefix) {
    if ((r.Int(0) >> kLengthShift) < length) add(r);
  }
  for (const auto& r : group) add(r);
  return true;
}

Result<std::optional<storage::Rows>> SearchNearestSqlite(storage::Tx& tx, SearchPositionIndex* index,
                                                         const std::string& match, const SearchParams& p,
                                                         int64_t offset, double lat, double lng,
                                                         double lng_scale) {
  const int64_t needed = offset + p.limit + 1;
  // Reused by this worker thread's searches: a popular query's candidates number a thousand
  // or more, and a fresh array each time cost a large malloc and free per search.
  thread_local std::vector<Candidate> candidates;
  candidates.clear();
  bool gathered = false;
  if (index != nullptr) {
    ASSIGN_OR_RETURN(auto seq, index->Sync(tx));
    if (seq) {
      ASSIGN_OR_RETURN(
          gathered, CandidatesFromMemory(tx, *index, *seq, match, needed, lat, lng, lng_scale, &candidates));
      if (!gathered) candidates.clear();
    }
  }
  if (!gathered) {
    ASSIGN_OR_RETURN(gathered, CandidatesFromDatabase(tx, match, needed, lat, lng, lng_scale, &candidates));
    if (!gathered) return std::optional<storage::Rows>();  // the exact path
  }
  const size_t take = std::min(candidates.size(), static_cast<size_t>(needed));
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take),
                    candidates.end(), [](const Candidate& a, const Candidate& b) {
                      if (a.group != b.group) return a.group < b.group;
                      if (a.distance != b.distance) return a.distance < b.distance;
                      return a.rowid < b.rowid;
                    });
  std::string ids = "[";
  for (size_t i = 0; i < take; ++i) {
    if (i > 0) ids += ',';
    ids += std::to_string(candidates[i].rowid);
  }
  ids += ']';
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kSearchSqliteRowsByIds, {ids, p.city, p.category}));
  if (rows.size() != take) return std::optional<storage::Rows>();
  const size_t skip = std::min(rows.rows.size(), static_cast<size_t>(offset));
  rows.rows.erase(rows.rows.begin(), rows.rows.begin() + static_cast<std::ptrdiff_t>(skip));
  return std::optional<storage::Rows>(std::move(rows));
}

}  // namespace

Status IndexDeal(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal) {
  NoteSearchIndexChanged();
  const std::string key = app_id + ":" + deal.deal_id;
  RETURN_IF_ERROR(IndexDealStores(tx, app_id, deal));
  if (deal.status != "online") return Remove(tx, key);
  std::vector<std::string> filters{CategoryToken(deal.category)};
  if (!deal.city.empty()) filters.push_back(CityToken(deal.city));
  return Put(
      tx, key, "deal", app_id, deal.deal_id,
      DocumentTokens({deal.title, deal.brand_name, CategoryName(deal.category), deal.category, deal.city}),
      deal.sales, filters, deal.lat, deal.lng);
}

Status IndexVideo(storage::Tx& tx, const std::string& video_id, const std::string& title,
                  const std::string& description, const std::vector<std::string>& tags,
                  const std::string& city) {
  NoteSearchIndexChanged();
  std::vector<std::string> fields{title, description};
  fields.insert(fields.end(), tags.begin(), tags.end());
  std::vector<std::string> filters{kVideoToken};
  if (!city.empty()) filters.push_back(CityToken(city));
  return Put(tx, video_id, "video", "", video_id, DocumentTokens(fields), 0, filters);
}

Status RemoveVideo(storage::Tx& tx, const std::string& video_id) {
  NoteSearchIndexChanged();
  return Remove(tx, video_id);
}

Result<int64_t> BackfillSearchDocs(storage::Db& db) {
  constexpr int64_t kPage = 5'000;  // deals per transaction
  ASSIGN_OR_RETURN(auto done, db.Read([](storage::Tx& tx) { return tx.Exec(kBackfillDone); }));
  if (!done.empty()) return int64_t{0};
  int64_t written = 0;
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto videos, tx.Exec(kUnindexedVideos));
    for (const auto& v : videos) {
      std::vector<std::string> tags;
      std::string_view all = v.Str(3);
      while (!all.empty()) {
        size_t comma = all.find(',');
        tags.emplace_back(all.substr(0, comma));
        all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
      }
      RETURN_IF_ERROR(IndexVideo(tx, v.Str(0), v.Str(1), v.Str(2), tags, v.Str(4)));
      ++written;
    }
    return Ok();
  }));
  std::string after_app, after_deal;
  for (;;) {
    ASSIGN_OR_RETURN(int64_t n, db.Write([&](storage::Tx& tx) -> Result<int64_t> {
      ASSIGN_OR_RETURN(auto deals, tx.Exec(kUnindexedDeals, {after_app, after_deal, kPage}));
      for (const auto& d : deals) {
        protocol::DealIndexEntry e;
        e.deal_id = d.Str(1);
        e.title = d.Str(2);
        e.brand_name = d.Str(3);
        e.category = d.Str(4);
        e.city = d.Str(5);
        e.sales = d.Int(6);
        if (!d.IsNull(7) && !d.IsNull(8)) {
          e.lat = d.Double(7);
          e.lng = d.Double(8);
        }
        e.status = "online";
        RETURN_IF_ERROR(IndexDeal(tx, d.Str(0), e));
      }
      if (!deals.empty()) {
        after_app = deals.rows.back().Str(0);
        after_deal = deals.rows.back().Str(1);
      }
      return static_cast<int64_t>(deals.size());
    }));
    written += n;
    if (n < kPage) break;
  }
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.Exec(kMarkBackfilled, {std::to_string(written)}));
    return Ok();
  }));
  return written;
}

Status UpsertAppCampaigns(storage::Tx& tx, const std::string& app_id,
                          const std::vector<protocol::CampaignIndexEntry>& campaigns, int64_t now_ms) {
  NoteSearchIndexChanged();
  for (const auto& c : campaigns) {
    json::array keywords(c.keywords.begin(), c.keywords.end());
    json::array deals(c.deal_ids.begin(), c.deal_ids.end());
    RETURN_IF_ERROR(
        tx.Exec(kUpsertCampaign, {app_id, c.slug, c.title, json::serialize(keywords), json::serialize(deals),
                                  c.starts_at, c.ends_at, c.status, now_ms}));
    RETURN_IF_ERROR(tx.Exec(kDeleteCampaignKeywords, {app_id, c.slug}));
    std::vector<std::string> phrases = c.keywords;
    phrases.push_back(c.title);
    for (const auto& phrase : phrases) {
      const std::string keyword = JoinTokens(QueryTokens(phrase));
      if (keyword.empty()) continue;  // only punctuation or emoji: no query can equal it
      RETURN_IF_ERROR(tx.Exec(kInsertCampaignKeyword, {keyword, app_id, c.slug}));
    }
  }
  return Ok();
}

uint64_t SearchIndexVersion() {
  return g_index_version.load(std::memory_order_acquire);
}
void NoteSearchIndexChanged() {
  g_index_version.fetch_add(1, std::memory_order_acq_rel);
}

Result<json::object> SearchJson(storage::Db& db, const SearchParams& p, int64_t* changes_at_ms) {
  return SearchJson(db, nullptr, p, changes_at_ms);
}

Result<json::object> SearchJson(storage::Db& db, SearchPositionIndex* positions, const SearchParams& p,
                                int64_t* changes_at_ms) {
  if (p.q.empty() || p.q.size() > 64) return Invalid("'q' must be 1..64 bytes");
  if (p.limit < 1 || p.limit > 50) return Invalid("'limit' must be 1..50");
  if (p.lat.has_value() != p.lng.has_value()) return Invalid("'lat' and 'lng' come together");
  ASSIGN_OR_RETURN(int64_t offset, DecodeOffsetCursor(p.cursor));
  const auto tokens = QueryTokens(p.q);
  json::object out;
  out["items"] = json::array();
  out["next_cursor"] = nullptr;
  if (tokens.empty()) return out;  // only punctuation or emoji: nothing can match
  const std::string joined = JoinTokens(tokens);
  const bool pg = db.dialect() == Dialect::kPostgres;
  std::string match = pg ? joined : FtsExpression(tokens);
  if (!pg && !p.city.empty()) match += " AND \"" + CityToken(p.city) + "\"";
  if (!pg && !p.category.empty()) {
    match += " AND (\"" + CategoryToken(p.category) + "\" OR \"" + kVideoToken + "\")";
  }
  const bool geo = p.lat.has_value();
  const double lat = p.lat.value_or(0), lng = p.lng.value_or(0);
  const double lng_scale = std::cos(lat * std::numbers::pi / 180.0);

  // PostgreSQL: the city's token joins the query's words; the category's is ORed with the
  // videos' token in the SQL (kSearchPg).
  if (pg && !p.city.empty()) match += " " + CityToken(p.city);
  const std::string category_token = pg && !p.category.empty() ? CategoryToken(p.category) : std::string();

  storage::Rows campaigns;
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) -> Result<storage::Rows> {
    if (offset == 0) {
      ASSIGN_OR_RETURN(campaigns, tx.Exec(kCampaignsFor, {joined, p.now_ms}));
    }
    if (pg) {
      RETURN_IF_ERROR(tx.Exec(kPgCustomPlans));
      // The first offset + rows + 1 visible matches in rank order; more are read only when
      // the filter dropped some (deals of a disabled app) and the walk had not run out.
      const int64_t wanted = offset + p.limit + 1;
      storage::Rows ranked;
      for (int64_t take = wanted + kPgSlack;; take *= 4) {
        ASSIGN_OR_RETURN(ranked, tx.Exec(kSearchPg, {match, p.city, p.category, take, category_token}));
        if (static_cast<int64_t>(ranked.size()) < take || CountVisible(ranked) >= wanted) break;
      }
      if (!geo) return VisiblePage(std::move(ranked), offset, p.limit + 1);
      // Every row as long as the page's last one, or shorter, then ordered by distance too.
      int64_t bound = std::numeric_limits<int64_t>::max(), seen = 0;
      for (const auto& r : ranked.rows) {
        if (r.Int(3) == 0 || seen++ < offset + p.limit) continue;
        bound = ((r.Int(19) >> kLengthShift) + 1) << kLengthShift;
        break;
      }
      ASSIGN_OR_RETURN(auto near, tx.Exec(kSearchPgGeo, {match, p.city, p.category, bound, category_token,
                                                         lat, lng, lng_scale}));
      return VisiblePage(std::move(near), offset, p.limit + 1);
    }
    if (!geo) {
      // Without a loader thread, the first search loads the copy for those with a position.
      if (positions != nullptr && positions->LoadsOnSync()) RETURN_IF_ERROR(positions->Sync(tx));
      return tx.Exec(kSearchSqlite, {match, p.city, p.category, p.limit + 1, offset});
    }
    ASSIGN_OR_RETURN(auto nearest, SearchNearestSqlite(tx, positions, match, p, offset, lat, lng, lng_scale));
    if (nearest) return std::move(*nearest);
    // A filtered-out match among the page's: every filtered row as long as the page's last
    // one, or shorter, then ordered by distance too.
    ASSIGN_OR_RETURN(auto last,
                     tx.Exec(kSearchSqliteGeoBound, {match, p.city, p.category, offset + p.limit}));
    const int64_t bound = last.empty() ? std::numeric_limits<int64_t>::max()
                                       : ((last[0].Int(0) >> kLengthShift) + 1) << kLengthShift;
    return tx.Exec(kSearchSqliteGeo,
                   {match, p.city, p.category, bound, lat, lng, lng_scale, p.limit + 1, offset});
  }));
  // What time alone changes on this page: a campaign starting or ending.
  if (changes_at_ms != nullptr) {
    *changes_at_ms = std::numeric_limits<int64_t>::max();
    for (const auto& c : campaigns) {
      for (int64_t t : {c.Int(4), c.Int(5)}) {
        if (t > p.now_ms) *changes_at_ms = std::min(*changes_at_ms, t);
      }
    }
  }
  json::array items;
  for (const auto& c : campaigns) {
    json::value keywords = json::parse(c.Str(3));
    items.push_back(json::object{{"kind", "campaign"},
                                 {"id", c.Str(1)},
                                 {"app_id", c.Str(0)},
                                 {"slug", c.Str(1)},
                                 {"title", c.Str(2)},
                                 {"keywords", std::move(keywords)},
                                 {"starts_at", FormatRfc3339Shanghai(c.Int(4))},
                                 {"ends_at", FormatRfc3339Shanghai(c.Int(5))},
                                 {"status", c.Int(4) <= p.now_ms ? "running" : "upcoming"},
                                 {"campaign_url", c.Str(6) + "/mp/v1/campaigns/" + c.Str(1)}});
  }
  for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < p.limit; ++i) {
    const auto& r = rows[i];
    if (r.Str(0) == "deal") {
      json::value distance = nullptr;
      if (geo && !r.IsNull(17) && !r.IsNull(18)) {
        distance = static_cast<int64_t>(std::llround(HaversineMeters(lat, lng, r.Double(17), r.Double(18))));
      }
      items.push_back(json::object{{"kind", "deal"},
                                   {"id", r.Str(2)},
                                   {"app_id", r.Str(1)},
                                   {"deal_id", r.Str(2)},
                                   {"title", r.Str(4)},
                                   {"brand_name", r.Str(5)},
                                   {"price_fen", r.Int(6)},
                                   {"original_price_fen", r.Int(7)},
                                   {"city", r.Str(8)},
                                   {"category", r.Str(9)},
                                   {"sales", r.Int(10)},
                                   {"deal_url", r.Str(11) + "/mp/v1/deals/" + r.Str(2)},
                                   {"distance_m", std::move(distance)}});
    } else {
      items.push_back(json::object{{"kind", "video"},
                                   {"id", r.Str(2)},
                                   {"title", r.Str(12)},
                                   {"cover_url", r.Str(13)},
                                   {"city", r.Str(14)},
                                   {"creator", json::object{{"id", r.Str(15)}, {"name", r.Str(16)}}}});
    }
  }
  if (static_cast<int64_t>(rows.size()) > p.limit) out["next_cursor"] = EncodeOffsetCursor(offset + p.limit);
  out["items"] = std::move(items);
  return out;
}

}  // namespace hutong::host::search
