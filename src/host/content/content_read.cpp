// The reads of content.h: feed, video page and creator page, sharing one video shape.
#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "common/base64.h"
#include "common/clock.h"
#include "common/ids.h"
#include "host/content/content.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

// Videos newest first by (created_at, id): ids break ties between equal timestamps, so the
// order is total and a cursor at (created_at, id) resumes exactly after the last item.
// $1 created_at and $2 id of the cursor (INT64_MAX and '' for the first page), then the
// query's own parameters, the row limit last.
#define HUTONG_VIDEO_COLUMNS                                                                          \
  "SELECT v.id, v.title, v.description, v.cover_url, v.video_url, v.city, v.tags, v.views, v.likes, " \
  "v.created_at, c.id, c.name, c.avatar_url, v.status, v.updated_at, c.bio, c.user_id FROM videos v " \
  "JOIN creators c ON c.id = v.creator_id "
#define HUTONG_AFTER_CURSOR " AND (v.created_at, v.id) < ($1, $2) ORDER BY v.created_at DESC, v.id DESC "
constexpr Query kFeedAll{"content.feed_all", Access::kRead,
                         HUTONG_VIDEO_COLUMNS "WHERE v.status = 'published'" HUTONG_AFTER_CURSOR "LIMIT $3"};
constexpr Query kFeedCity{"content.feed_city", Access::kRead,
                          HUTONG_VIDEO_COLUMNS
                          "WHERE v.status = 'published' AND v.city = $3" HUTONG_AFTER_CURSOR "LIMIT $4"};
constexpr Query kFeedOtherCities{
    "content.feed_other_cities", Access::kRead,
    HUTONG_VIDEO_COLUMNS "WHERE v.status = 'published' AND v.city <> $3" HUTONG_AFTER_CURSOR "LIMIT $4"};
constexpr Query kCreatorVideos{
    "content.creator_videos", Access::kRead,
    HUTONG_VIDEO_COLUMNS "WHERE v.status = 'published' AND v.creator_id = $3" HUTONG_AFTER_CURSOR "LIMIT $4"};
constexpr Query kVideoById{"content.video_by_id", Access::kRead, HUTONG_VIDEO_COLUMNS "WHERE v.id = $1"};
#undef HUTONG_VIDEO_COLUMNS
#undef HUTONG_AFTER_CURSOR

constexpr Query kCreator{"content.creator", Access::kRead,
                         "SELECT id, name, avatar_url, bio, created_at, "
                         "(SELECT COUNT(*) FROM videos WHERE creator_id = $1 AND status = 'published') "
                         "FROM creators WHERE id = $1"};

// Mounts and likes of a page of videos, by a JSON array of video ids ($1).
constexpr Query kMountsOf{
    "content.mounts_of", Access::kRead,
    "SELECT m.video_id, m.app_id, m.deal_id, d.title, d.price_fen, d.original_price_fen, a.service_url, "
    "CASE WHEN d.status = 'online' AND a.status = 'active' THEN 'online' ELSE 'offline' END, d.brand_name "
    "FROM video_mounts m JOIN app_deals d ON d.app_id = m.app_id AND d.deal_id = m.deal_id "
    "JOIN apps a ON a.id = m.app_id WHERE m.video_id IN (SELECT value FROM json_each($1)) "
    "ORDER BY m.video_id, m.position",
    "SELECT m.video_id, m.app_id, m.deal_id, d.title, d.price_fen, d.original_price_fen, a.service_url, "
    "CASE WHEN d.status = 'online' AND a.status = 'active' THEN 'online' ELSE 'offline' END, d.brand_name "
    "FROM video_mounts m JOIN app_deals d ON d.app_id = m.app_id AND d.deal_id = m.deal_id "
    "JOIN apps a ON a.id = m.app_id WHERE m.video_id IN (SELECT jsonb_array_elements_text(CAST($1 AS "
    "jsonb))) "
    "ORDER BY m.video_id, m.position"};
constexpr Query kLikedOf{"content.liked_of", Access::kRead,
                         "SELECT video_id FROM video_likes WHERE user_id = $2 AND video_id IN "
                         "(SELECT value FROM json_each($1))",
                         "SELECT video_id FROM video_likes WHERE user_id = $2 AND video_id IN "
                         "(SELECT jsonb_array_elements_text(CAST($1 AS jsonb)))"};

// Cursor: base64url of "c1|<part>|<created_at>|<id>|<city>". Parts: a = all videos,
// c = the viewer's city, o = the other cities, r = one creator's videos.
struct Cursor {
  char part = 'a';
  int64_t created_at = std::numeric_limits<int64_t>::max();
  std::string id;
  std::string city;
};

std::string EncodeCursor(const Cursor& c) {
  return Base64UrlEncode("c1|" + std::string(1, c.part) + "|" + std::to_string(c.created_at) + "|" + c.id +
                         "|" + c.city);
}

Result<Cursor> DecodeCursor(std::string_view text, std::string_view parts) {
  auto bad = [] { return Invalid("'cursor' is not valid"); };
  auto raw = Base64UrlDecode(text);
  if (!raw || !raw->starts_with("c1|") || raw->size() < 6) return bad();
  Cursor c;
  c.part = (*raw)[3];
  if ((*raw)[4] != '|' || parts.find(c.part) == std::string_view::npos) return bad();
  std::string_view rest = std::string_view(*raw).substr(5);
  size_t bar = rest.find('|');
  if (bar == std::string_view::npos) return bad();
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + bar, c.created_at);
  if (ec != std::errc() || p != rest.data() + bar) return bad();
  rest = rest.substr(bar + 1);
  bar = rest.find('|');
  if (bar == std::string_view::npos) return bad();
  c.id = std::string(rest.substr(0, bar));
  if (!IsWellFormedId(c.id, "vid")) return bad();
  c.city = std::string(rest.substr(bar + 1));
  return c;
}

std::string JsonIds(const storage::Rows& videos) {
  json::array ids;
  for (const auto& v : videos) ids.push_back(json::string(v.Str(0)));
  return json::serialize(ids);
}

struct PageExtras {
  std::map<std::string, json::array> mounts;  // by video id
  std::set<std::string> liked;
};

// online_only: the feed and lists show only deals that can be bought; the video page shows
// every mount with its status.
Result<PageExtras> LoadExtras(storage::Tx& tx, const storage::Rows& videos, bool online_only,
                              const std::optional<std::string>& viewer) {
  PageExtras out;
  if (videos.empty()) return out;
  const std::string ids = JsonIds(videos);
  ASSIGN_OR_RETURN(auto mounts, tx.Exec(kMountsOf, {ids}));
  for (const auto& m : mounts) {
    if (online_only && m.Str(7) != "online") continue;
    out.mounts[m.Str(0)].push_back(json::object{{"app_id", m.Str(1)},
                                                {"deal_id", m.Str(2)},
                                                {"title", m.Str(3)},
                                                {"brand_name", m.Str(8)},
                                                {"price_fen", m.Int(4)},
                                                {"original_price_fen", m.Int(5)},
                                                {"status", m.Str(7)},
                                                {"deal_url", m.Str(6) + "/mp/v1/deals/" + m.Str(2)}});
  }
  if (viewer) {
    ASSIGN_OR_RETURN(auto liked, tx.Exec(kLikedOf, {ids, *viewer}));
    for (const auto& l : liked) out.liked.insert(l.Str(0));
  }
  return out;
}

json::object VideoJson(const storage::Row& v, PageExtras& extras, const std::optional<std::string>& viewer) {
  json::array tags;
  for (auto& t : SplitTags(v.Str(6))) tags.push_back(json::string(t));
  auto it = extras.mounts.find(v.Str(0));
  json::object out{
      {"id", v.Str(0)},
      {"title", v.Str(1)},
      {"description", v.Str(2)},
      {"cover_url", v.Str(3)},
      {"video_url", v.Str(4)},
      {"city", v.Str(5)},
      {"tags", std::move(tags)},
      {"views", v.Int(7)},
      {"likes", v.Int(8)},
      {"created_at", FormatRfc3339(v.Int(9))},
      {"creator", json::object{{"id", v.Str(10)}, {"name", v.Str(11)}, {"avatar_url", v.Str(12)}}},
      {"mounts", it == extras.mounts.end() ? json::array() : std::move(it->second)}};
  if (viewer) out["liked_by_me"] = extras.liked.count(v.Str(0)) > 0;
  return out;
}

Status CheckLimit(int64_t limit) {
  if (limit < 1 || limit > 50) return Invalid("'limit' must be 1..50");
  return Ok();
}

// Builds {items, next_cursor} from rows read with limit + 1 (each tagged with its part).
json::object Page(const std::vector<std::pair<char, storage::Row>>& rows, int64_t limit,
                  const std::string& city, const std::optional<std::string>& viewer, PageExtras& extras) {
  json::array items;
  for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < limit; ++i) {
    items.push_back(VideoJson(rows[i].second, extras, viewer));
  }
  json::object out;
  if (static_cast<int64_t>(rows.size()) > limit) {
    const auto& [part, last] = rows[static_cast<size_t>(limit) - 1];
    out["next_cursor"] = EncodeCursor({part, last.Int(9), last.Str(0), city});
  } else {
    out["next_cursor"] = nullptr;
  }
  out["items"] = std::move(items);
  return out;
}

}  // namespace

Result<json::object> FeedJson(storage::Db& db, const FeedParams& p) {
  RETURN_IF_ERROR(CheckLimit(p.limit));
  Cursor cursor;
  if (p.cursor.empty()) {
    cursor.city = p.city;
    cursor.part = p.city.empty() ? 'a' : 'c';
  } else {
    ASSIGN_OR_RETURN(cursor, DecodeCursor(p.cursor, "aco"));
  }
  const int64_t want = p.limit + 1;
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    std::vector<std::pair<char, storage::Row>> rows;
    storage::Rows page_rows;
    auto take = [&](char part, storage::Rows r) {
      for (auto& row : r.rows) {
        rows.emplace_back(part, row);
        page_rows.rows.push_back(row);
      }
    };
    if (cursor.part == 'a') {
      ASSIGN_OR_RETURN(auto r, tx.Exec(kFeedAll, {cursor.created_at, cursor.id, want}));
      take('a', std::move(r));
    } else {
      Cursor others{'o', std::numeric_limits<int64_t>::max(), "", cursor.city};
      if (cursor.part == 'c') {
        ASSIGN_OR_RETURN(auto r, tx.Exec(kFeedCity, {cursor.created_at, cursor.id, cursor.city, want}));
        take('c', std::move(r));
      } else {
        others = cursor;
      }
      const int64_t left = want - static_cast<int64_t>(rows.size());
      if (left > 0) {
        ASSIGN_OR_RETURN(auto r,
                         tx.Exec(kFeedOtherCities, {others.created_at, others.id, cursor.city, left}));
        take('o', std::move(r));
      }
    }
    ASSIGN_OR_RETURN(auto extras, LoadExtras(tx, page_rows, true, p.viewer_user_id));
    return Page(rows, p.limit, cursor.city, p.viewer_user_id, extras);
  });
}

Result<json::object> VideoPageJson(storage::Db& db, const std::string& video_id,
                                   const std::optional<std::string>& viewer) {
  if (!IsWellFormedId(video_id, "vid")) return NotFound("video not found");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kVideoById, {video_id}));
    if (rows.empty()) return NotFound("video not found");
    const auto& v = rows[0];
    const bool mine = viewer && !v.IsNull(16) && v.Str(16) == *viewer;
    if (v.Str(13) != "published" && !mine) return NotFound("video not found");
    ASSIGN_OR_RETURN(auto extras, LoadExtras(tx, rows, false, viewer));
    json::object out = VideoJson(v, extras, viewer);
    out["status"] = v.Str(13);
    out["updated_at"] = FormatRfc3339(v.Int(14));
    out["creator"].as_object()["bio"] = v.Str(15);
    if (viewer) out["mine"] = mine;
    return out;
  });
}

Result<json::object> CreatorPageJson(storage::Db& db, const std::string& creator_id,
                                     const std::string& cursor_text, int64_t limit,
                                     const std::optional<std::string>& viewer) {
  RETURN_IF_ERROR(CheckLimit(limit));
  if (!IsWellFormedId(creator_id, "cr")) return NotFound("creator not found");
  Cursor cursor{'r', std::numeric_limits<int64_t>::max(), "", ""};
  if (!cursor_text.empty()) {
    ASSIGN_OR_RETURN(cursor, DecodeCursor(cursor_text, "r"));
  }
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto creator, tx.Exec(kCreator, {creator_id}));
    if (creator.empty()) return NotFound("creator not found");
    ASSIGN_OR_RETURN(auto videos,
                     tx.Exec(kCreatorVideos, {cursor.created_at, cursor.id, creator_id, limit + 1}));
    std::vector<std::pair<char, storage::Row>> rows;
    for (const auto& r : videos.rows) rows.emplace_back('r', r);
    ASSIGN_OR_RETURN(auto extras, LoadExtras(tx, videos, true, viewer));
    json::object out = Page(rows, limit, "", viewer, extras);
    const auto& c = creator[0];
    out["creator"] = json::object{{"id", c.Str(0)},
                                  {"name", c.Str(1)},
                                  {"avatar_url", c.Str(2)},
                                  {"bio", c.Str(3)},
                                  {"created_at", FormatRfc3339(c.Int(4))},
                                  {"videos", c.Int(5)}};
    return out;
  });
}

}  // namespace hutong::host
