#include "host/search/search.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <numbers>
#include <unordered_set>

#include "common/base64.h"
#include "common/clock.h"
#include "common/geo.h"
#include "host/search/nearby.h"
#include "host/search/tokenizer.h"

namespace hutong::host::search {
namespace json = boost::json;
using storage::Access;
using storage::Dialect;
using storage::Query;

namespace {

// SQLite keeps the FTS5 rows under a stable rowid per document key (search_doc_ids), so
// an update or removal finds its row by key without scanning the index.
constexpr Query kSqliteDocId{"search.sqlite_doc_id", Access::kWrite,
                             "INSERT INTO search_doc_ids (doc_key) VALUES ($1) ON CONFLICT (doc_key) "
                             "DO UPDATE SET doc_key = excluded.doc_key RETURNING id"};
constexpr Query kSqliteDelete{"search.sqlite_delete", Access::kWrite,
                              "DELETE FROM search_docs WHERE rowid = "
                              "(SELECT id FROM search_doc_ids WHERE doc_key = $1)"};
constexpr Query kSqliteInsert{"search.sqlite_insert", Access::kWrite,
                              "INSERT INTO search_docs (rowid, doc_key, kind, app_id, ref_id, tokens) "
                              "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kPgUpsert{
    "search.pg_upsert", Access::kWrite, "SELECT 1",
    "INSERT INTO search_docs (doc_key, kind, app_id, ref_id, tokens, tsv) "
    "VALUES ($1, $2, $3, $4, $5, to_tsvector('simple', CAST($5 AS TEXT))) ON CONFLICT (doc_key) DO UPDATE "
    "SET kind = excluded.kind, app_id = excluded.app_id, ref_id = excluded.ref_id, "
    "tokens = excluded.tokens, tsv = excluded.tsv"};
constexpr Query kPgDelete{"search.pg_delete", Access::kWrite, "SELECT 1",
                          "DELETE FROM search_docs WHERE doc_key = $1"};

// Documents missing from the index, for the one-time backfill.
constexpr Query kBackfillDone{"search.backfill_done", Access::kWrite,
                              "SELECT 1 FROM meta WHERE key = 'search_backfilled'"};
constexpr Query kMarkBackfilled{"search.mark_backfilled", Access::kWrite,
                                "INSERT INTO meta (key, value) VALUES ('search_backfilled', $1) "
                                "ON CONFLICT (key) DO NOTHING"};
constexpr Query kUnindexedVideos{
    "search.unindexed_videos", Access::kWrite,
    "SELECT v.id, v.title, v.description, v.tags FROM videos v WHERE v.status = 'published' AND NOT EXISTS "
    "(SELECT 1 FROM search_doc_ids i JOIN search_docs s ON s.rowid = i.id WHERE i.doc_key = v.id)",
    "SELECT v.id, v.title, v.description, v.tags FROM videos v WHERE v.status = 'published' AND NOT EXISTS "
    "(SELECT 1 FROM search_docs s WHERE s.doc_key = v.id)"};
constexpr Query kUnindexedDeals{
    "search.unindexed_deals", Access::kWrite,
    "SELECT d.app_id, d.deal_id, d.title, d.brand_name, d.category, d.city FROM app_deals d "
    "WHERE d.status = 'online' AND NOT EXISTS (SELECT 1 FROM search_doc_ids i JOIN search_docs s "
    "ON s.rowid = i.id WHERE i.doc_key = d.app_id || ':' || d.deal_id)",
    "SELECT d.app_id, d.deal_id, d.title, d.brand_name, d.category, d.city FROM app_deals d "
    "WHERE d.status = 'online' AND NOT EXISTS (SELECT 1 FROM search_docs s "
    "WHERE s.doc_key = d.app_id || ':' || d.deal_id)"};

// $1 the query ($1 FTS5 expression / space-joined tokens for plainto_tsquery), $2 city,
// $3 category, $4 rows to read, $5 offset. Deals must be online and of an active app.
#define HUTONG_SEARCH_SELECT(SCORE)                                                                    \
  "SELECT s.kind, s.app_id, s.ref_id, " SCORE                                                          \
  " AS score, d.title, d.brand_name, d.price_fen, d.original_price_fen, d.city, d.category, d.sales, " \
  "a.service_url, v.title, v.cover_url, v.city, c.id, c.name, d.lat, d.lng "                           \
  "FROM search_docs s "                                                                                \
  "LEFT JOIN app_deals d ON s.kind = 'deal' AND d.app_id = s.app_id AND d.deal_id = s.ref_id "         \
  "LEFT JOIN apps a ON a.id = d.app_id "                                                               \
  "LEFT JOIN videos v ON s.kind = 'video' AND v.id = s.ref_id "                                        \
  "LEFT JOIN creators c ON c.id = v.creator_id WHERE "
#define HUTONG_SEARCH_FILTER                                                                      \
  " AND ((s.kind = 'deal' AND d.status = 'online' AND a.status = 'active' "                       \
  "AND (CAST($2 AS TEXT) = '' OR d.city = $2) AND (CAST($3 AS TEXT) = '' OR d.category = $3)) "   \
  "OR (s.kind = 'video' AND v.status = 'published' AND (CAST($2 AS TEXT) = '' OR v.city = $2))) " \
  "ORDER BY score DESC, " HUTONG_SEARCH_DISTANCE ", COALESCE(d.sales, 0) DESC, s.doc_key LIMIT $4 OFFSET $5"
// With a position ($6 = 1 at ($7, $8)), deals nearer it first: squared equirectangular
// degrees, longitude scaled by $9 = cos(lat), which orders like the true distance at city
// scale without trigonometry in SQL. Deals without coordinates and videos come after.
#define HUTONG_SEARCH_DISTANCE                                                              \
  "CASE WHEN CAST($6 AS INTEGER) = 0 THEN 0.0 WHEN d.lat IS NULL THEN 1.0e9 "               \
  "ELSE (d.lat - CAST($7 AS DOUBLE PRECISION)) * (d.lat - CAST($7 AS DOUBLE PRECISION)) + " \
  "((d.lng - CAST($8 AS DOUBLE PRECISION)) * CAST($9 AS DOUBLE PRECISION)) * "              \
  "((d.lng - CAST($8 AS DOUBLE PRECISION)) * CAST($9 AS DOUBLE PRECISION)) END"

// bm25 is lower-is-better; negated so both dialects sort by score descending. ts_rank's
// normalization 1 divides by the document's length, as bm25 does, so a short deal title
// outranks a long video description on the same words on both backends.
constexpr Query kSearch{
    "search.query", Access::kRead,
    HUTONG_SEARCH_SELECT("-bm25(s.search_docs)") "s.search_docs MATCH $1" HUTONG_SEARCH_FILTER,
    HUTONG_SEARCH_SELECT("ts_rank(s.tsv, plainto_tsquery('simple', CAST($1 AS TEXT)), 1)") "s.tsv @@ plainto_tsquery('simple', CAST($1 AS TEXT))"
        HUTONG_SEARCH_FILTER};
#undef HUTONG_SEARCH_SELECT
#undef HUTONG_SEARCH_FILTER
#undef HUTONG_SEARCH_DISTANCE

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
std::string DocumentTokens(const std::vector<std::string>& fields) {
  std::string out;
  std::unordered_set<std::string> seen;
  for (const auto& f : fields) {
    for (auto& t : IndexTokens(f)) {
      if (!seen.insert(t).second) continue;
      if (!out.empty()) out += ' ';
      out += t;
    }
  }
  return out;
}

Status Put(storage::Tx& tx, const std::string& key, const char* kind, const std::string& app_id,
           const std::string& ref_id, const std::string& tokens) {
  if (tx.dialect() == Dialect::kPostgres) {
    RETURN_IF_ERROR(tx.Exec(kPgUpsert, {key, std::string(kind), app_id, ref_id, tokens}));
    return Ok();
  }
  RETURN_IF_ERROR(tx.Exec(kSqliteDelete, {key}));
  ASSIGN_OR_RETURN(auto id, tx.Exec(kSqliteDocId, {key}));
  if (id.empty()) return Internal("search_doc_ids returned no id");
  RETURN_IF_ERROR(tx.Exec(kSqliteInsert, {id[0].Int(0), key, std::string(kind), app_id, ref_id, tokens}));
  return Ok();
}

Status Remove(storage::Tx& tx, const std::string& key) {
  RETURN_IF_ERROR(tx.Exec(tx.dialect() == Dialect::kPostgres ? kPgDelete : kSqliteDelete, {key}));
  return Ok();
}

constexpr int64_t kMaxOffset = 10'000;

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

}  // namespace

Status IndexDeal(storage::Tx& tx, const std::string& app_id, const protocol::DealIndexEntry& deal) {
  const std::string key = app_id + ":" + deal.deal_id;
  RETURN_IF_ERROR(IndexDealStores(tx, app_id, deal));
  if (deal.status != "online") return Remove(tx, key);
  return Put(
      tx, key, "deal", app_id, deal.deal_id,
      DocumentTokens({deal.title, deal.brand_name, CategoryName(deal.category), deal.category, deal.city}));
}

Status IndexVideo(storage::Tx& tx, const std::string& video_id, const std::string& title,
                  const std::string& description, const std::vector<std::string>& tags) {
  std::vector<std::string> fields{title, description};
  fields.insert(fields.end(), tags.begin(), tags.end());
  return Put(tx, video_id, "video", "", video_id, DocumentTokens(fields));
}

Status RemoveVideo(storage::Tx& tx, const std::string& video_id) { return Remove(tx, video_id); }

Result<int64_t> BackfillSearchDocs(storage::Db& db) {
  return db.Write([&](storage::Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(auto done, tx.Exec(kBackfillDone));
    if (!done.empty()) return int64_t{0};
    int64_t written = 0;
    ASSIGN_OR_RETURN(auto videos, tx.Exec(kUnindexedVideos));
    for (const auto& v : videos) {
      std::vector<std::string> tags;
      std::string_view all = v.Str(3);
      while (!all.empty()) {
        size_t comma = all.find(',');
        tags.emplace_back(all.substr(0, comma));
        all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
      }
      RETURN_IF_ERROR(IndexVideo(tx, v.Str(0), v.Str(1), v.Str(2), tags));
      ++written;
    }
    ASSIGN_OR_RETURN(auto deals, tx.Exec(kUnindexedDeals));
    for (const auto& d : deals) {
      protocol::DealIndexEntry e;
      e.deal_id = d.Str(1);
      e.title = d.Str(2);
      e.brand_name = d.Str(3);
      e.category = d.Str(4);
      e.city = d.Str(5);
      e.status = "online";
      RETURN_IF_ERROR(IndexDeal(tx, d.Str(0), e));
      ++written;
    }
    RETURN_IF_ERROR(tx.Exec(kMarkBackfilled, {std::to_string(written)}));
    return written;
  });
}

Status UpsertAppCampaigns(storage::Tx& tx, const std::string& app_id,
                          const std::vector<protocol::CampaignIndexEntry>& campaigns, int64_t now_ms) {
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

Result<json::object> SearchJson(storage::Db& db, const SearchParams& p) {
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
  const std::string match = db.dialect() == Dialect::kPostgres ? joined : FtsExpression(tokens);
  const bool geo = p.lat.has_value();
  const double lat = p.lat.value_or(0), lng = p.lng.value_or(0);
  const double lng_scale = std::cos(lat * std::numbers::pi / 180.0);

  storage::Rows campaigns;
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) -> Result<storage::Rows> {
    if (offset == 0) {
      ASSIGN_OR_RETURN(campaigns, tx.Exec(kCampaignsFor, {joined, p.now_ms}));
    }
    return tx.Exec(
        kSearch, {match, p.city, p.category, p.limit + 1, offset, int64_t{geo ? 1 : 0}, lat, lng, lng_scale});
  }));
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
