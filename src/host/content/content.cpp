#include "host/content/content.h"

#include <boost/json.hpp>
#include <map>

#include "common/clock.h"
#include "common/ids.h"
#include "common/validate.h"
#include "host/search/search.h"

namespace hutong::host {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kUpsertAppDeal{
    "content.upsert_app_deal", Access::kWrite,
    "INSERT INTO app_deals (app_id, deal_id, title, brand_name, type, category, city, price_fen, "
    "original_price_fen, commission_bps, lat, lng, sales, status, updated_at) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
    "ON CONFLICT (app_id, deal_id) DO UPDATE SET title = excluded.title, brand_name = excluded.brand_name, "
    "type = excluded.type, category = excluded.category, city = excluded.city, "
    "price_fen = excluded.price_fen, original_price_fen = excluded.original_price_fen, "
    "commission_bps = excluded.commission_bps, lat = excluded.lat, lng = excluded.lng, "
    "sales = excluded.sales, status = excluded.status, updated_at = excluded.updated_at"};
constexpr Query kInsertCreator{"content.insert_creator", Access::kWrite,
                               "INSERT INTO creators (id, user_id, name, avatar_url, bio, created_at) "
                               "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kCreatorExists{"content.creator_exists", Access::kRead, "SELECT 1 FROM creators WHERE id = $1"};
constexpr Query kMountableDeal{"content.mountable_deal", Access::kRead,
                               "SELECT 1 FROM app_deals d JOIN apps a ON a.id = d.app_id "
                               "WHERE d.app_id = $1 AND d.deal_id = $2 AND d.status = 'online' "
                               "AND a.status = 'active'"};
constexpr Query kInsertVideo{
    "content.insert_video", Access::kWrite,
    "INSERT INTO videos (id, creator_id, title, description, cover_url, video_url, city, tags, views, likes, "
    "status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 'published', $9)"};
constexpr Query kInsertMount{"content.insert_mount", Access::kWrite,
                             "INSERT INTO video_mounts (video_id, position, app_id, deal_id) "
                             "VALUES ($1, $2, $3, $4)"};
constexpr Query kFeedVideos{
    "content.feed_videos", Access::kRead,
    "SELECT v.id, v.title, v.description, v.cover_url, v.video_url, v.city, v.tags, v.views, v.likes, "
    "v.created_at, c.id, c.name, c.avatar_url FROM videos v JOIN creators c ON c.id = v.creator_id "
    "WHERE v.status = 'published' AND (CAST($1 AS TEXT) = '' OR v.id < $1) ORDER BY v.id DESC LIMIT $2"};
constexpr Query kFeedMounts{
    "content.feed_mounts", Access::kRead,
    "SELECT m.video_id, m.app_id, m.deal_id, d.title, d.price_fen, d.original_price_fen, a.service_url "
    "FROM video_mounts m JOIN app_deals d ON d.app_id = m.app_id AND d.deal_id = m.deal_id "
    "JOIN apps a ON a.id = m.app_id WHERE d.status = 'online' AND a.status = 'active' AND m.video_id IN "
    "(SELECT id FROM videos WHERE status = 'published' AND (CAST($1 AS TEXT) = '' OR id < $1) "
    "ORDER BY id DESC LIMIT $2) ORDER BY m.video_id, m.position"};


}  // namespace

Status UpsertAppDeals(storage::Tx& tx, const std::string& app_id,
                      const std::vector<protocol::DealIndexEntry>& deals, int64_t now_ms) {
  for (const auto& d : deals) {
    RETURN_IF_ERROR(tx.Exec(kUpsertAppDeal, {app_id, d.deal_id, d.title, d.brand_name, d.type, d.category, d.city,
                                             d.price_fen, d.original_price_fen, d.commission_bps,
                                             storage::Opt(d.lat), storage::Opt(d.lng), d.sales, d.status, now_ms}));
    RETURN_IF_ERROR(search::IndexDeal(tx, app_id, d));
  }
  return Ok();
}

Result<std::string> CreateCreator(storage::Tx& tx, const CreatorInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.name, "name", 64));
  RETURN_IF_ERROR(CheckText(in.avatar_url, "avatar_url", 500, false));
  RETURN_IF_ERROR(CheckText(in.bio, "bio", 1000, false));
  std::string id = NewId("cr");
  storage::Value user = in.user_id.empty() ? storage::Null() : storage::Value(in.user_id);
  RETURN_IF_ERROR(tx.Exec(kInsertCreator, {id, user, in.name, in.avatar_url, in.bio, now_ms}));
  return id;
}

Result<std::string> CreateVideo(storage::Tx& tx, const VideoInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.title, "title", 200));
  RETURN_IF_ERROR(CheckText(in.description, "description", 4000, false));
  RETURN_IF_ERROR(CheckHttpUrl(in.cover_url, "cover_url"));
  RETURN_IF_ERROR(CheckHttpUrl(in.video_url, "video_url"));
  RETURN_IF_ERROR(CheckText(in.city, "city", 64, false));
  if (in.tags.size() > 20) return Invalid("at most 20 tags");
  if (in.mounts.size() > 10) return Invalid("at most 10 mounted deals per video");
  std::string tags;
  for (const auto& t : in.tags) {
    RETURN_IF_ERROR(CheckText(t, "tags", 32));
    if (t.find(',') != std::string::npos) return Invalid("tags may not contain ','");
    if (!tags.empty()) tags += ',';
    tags += t;
  }
  ASSIGN_OR_RETURN(auto creator, tx.Exec(kCreatorExists, {in.creator_id}));
  if (creator.empty()) return NotFound("creator not found");
  for (const auto& m : in.mounts) {
    ASSIGN_OR_RETURN(auto ok, tx.Exec(kMountableDeal, {m.app_id, m.deal_id}));
    if (ok.empty()) return NotFound("deal '" + m.deal_id + "' is not an online deal of app '" + m.app_id + "'");
  }
  std::string id = NewId("vid");
  RETURN_IF_ERROR(tx.Exec(kInsertVideo, {id, in.creator_id, in.title, in.description, in.cover_url, in.video_url,
                                         in.city, tags, now_ms}));
  int64_t position = 0;
  for (const auto& m : in.mounts) RETURN_IF_ERROR(tx.Exec(kInsertMount, {id, position++, m.app_id, m.deal_id}));
  RETURN_IF_ERROR(search::IndexVideo(tx, id, in.title, in.description, in.tags));
  return id;
}

Result<json::object> FeedJson(storage::Db& db, const std::string& cursor, int64_t limit) {
  if (!cursor.empty() && !IsWellFormedId(cursor, "vid")) return Invalid("'cursor' is not valid");
  if (limit < 1 || limit > 50) return Invalid("'limit' must be 1..50");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto videos, tx.Exec(kFeedVideos, {cursor, limit + 1}));
    ASSIGN_OR_RETURN(auto mounts, tx.Exec(kFeedMounts, {cursor, limit}));
    std::map<std::string, json::array> by_video;
    for (const auto& m : mounts) {
      by_video[m.Str(0)].push_back(json::object{{"app_id", m.Str(1)},
                                                {"deal_id", m.Str(2)},
                                                {"title", m.Str(3)},
                                                {"price_fen", m.Int(4)},
                                                {"original_price_fen", m.Int(5)},
                                                {"deal_url", m.Str(6) + "/mp/v1/deals/" + m.Str(2)}});
    }
    json::array items;
    for (size_t i = 0; i < videos.size() && static_cast<int64_t>(i) < limit; ++i) {
      const auto& v = videos[i];
      json::array tags;
      std::string_view all = v.Str(6);
      while (!all.empty()) {
        size_t comma = all.find(',');
        tags.push_back(json::string(all.substr(0, comma)));
        all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
      }
      auto it = by_video.find(v.Str(0));
      items.push_back(json::object{
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
          {"mounts", it == by_video.end() ? json::array() : std::move(it->second)}});
    }
    json::object out;
    const bool more = static_cast<int64_t>(videos.size()) > limit;
    out["next_cursor"] = more ? json::value(items.back().as_object().at("id")) : json::value(nullptr);
    out["items"] = std::move(items);
    return out;
  });
}

}  // namespace hutong::host
