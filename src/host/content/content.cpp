#include "host/content/content.h"

#include <atomic>
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
constexpr Query kCreatorOfUser{"content.creator_of_user", Access::kRead,
                               "SELECT id FROM creators WHERE user_id = $1"};
constexpr Query kCreatorExists{"content.creator_exists", Access::kRead,
                               "SELECT 1 FROM creators WHERE id = $1"};
constexpr Query kMountableDeal{"content.mountable_deal", Access::kRead,
                               "SELECT 1 FROM app_deals d JOIN apps a ON a.id = d.app_id "
                               "WHERE d.app_id = $1 AND d.deal_id = $2 AND d.status = 'online' "
                               "AND a.status = 'active'"};
constexpr Query kInsertVideo{
    "content.insert_video", Access::kWrite,
    "INSERT INTO videos (id, creator_id, title, description, cover_url, video_url, city, tags, views, likes, "
    "status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 'published', $9, $9)"};
constexpr Query kInsertMount{"content.insert_mount", Access::kWrite,
                             "INSERT INTO video_mounts (video_id, position, app_id, deal_id) "
                             "VALUES ($1, $2, $3, $4)"};
constexpr Query kDeleteMounts{"content.delete_mounts", Access::kWrite,
                              "DELETE FROM video_mounts WHERE video_id = $1"};
// The owner's video, locked for the update on PostgreSQL (SQLite serialises writers).
constexpr Query kOwnedVideo{
    "content.owned_video", Access::kWrite,
    "SELECT v.title, v.description, v.cover_url, v.video_url, v.city, v.tags, v.status FROM videos v "
    "JOIN creators c ON c.id = v.creator_id WHERE v.id = $1 AND c.user_id = $2",
    "SELECT v.title, v.description, v.cover_url, v.video_url, v.city, v.tags, v.status FROM videos v "
    "JOIN creators c ON c.id = v.creator_id WHERE v.id = $1 AND c.user_id = $2 FOR UPDATE OF v"};
constexpr Query kUpdateVideo{
    "content.update_video", Access::kWrite,
    "UPDATE videos SET title = $2, description = $3, cover_url = $4, video_url = $5, "
    "city = $6, tags = $7, status = $8, updated_at = $9 WHERE id = $1"};
constexpr Query kCountView{"content.count_view", Access::kWrite,
                           "UPDATE videos SET views = views + 1 WHERE id = $1 AND status = 'published' "
                           "RETURNING views"};
constexpr Query kPublishedVideo{"content.published_video", Access::kWrite,
                                "SELECT likes FROM videos WHERE id = $1 AND status = 'published'"};
constexpr Query kInsertLike{"content.insert_like", Access::kWrite,
                            "INSERT INTO video_likes (video_id, user_id, created_at) VALUES ($1, $2, $3) "
                            "ON CONFLICT (video_id, user_id) DO NOTHING"};
constexpr Query kDeleteLike{"content.delete_like", Access::kWrite,
                            "DELETE FROM video_likes WHERE video_id = $1 AND user_id = $2"};
constexpr Query kAddLikes{"content.add_likes", Access::kWrite,
                          "UPDATE videos SET likes = likes + $2 WHERE id = $1 RETURNING likes"};

Status CheckAvatar(const std::string& url) {
  if (url.empty()) return Ok();
  if (url.starts_with("/static/")) return CheckText(url, "avatar_url", 500);
  return CheckHttpUrl(url, "avatar_url");
}

Result<std::string> JoinTags(const std::vector<std::string>& tags) {
  if (tags.size() > kMaxTagsPerVideo) return Invalid("at most 20 tags");
  std::string out;
  for (const auto& t : tags) {
    RETURN_IF_ERROR(CheckText(t, "tags", 32));
    if (t.find(',') != std::string::npos) return Invalid("tags may not contain ','");
    if (!out.empty()) out += ',';
    out += t;
  }
  return out;
}

Status CheckVideoText(const std::string& title, const std::string& description, const std::string& cover_url,
                      const std::string& video_url, const std::string& city) {
  RETURN_IF_ERROR(CheckText(title, "title", 200));
  RETURN_IF_ERROR(CheckText(description, "description", 4000, false));
  RETURN_IF_ERROR(CheckHttpUrl(cover_url, "cover_url"));
  RETURN_IF_ERROR(CheckHttpUrl(video_url, "video_url"));
  RETURN_IF_ERROR(CheckText(city, "city", 64, false));
  return Ok();
}

// Shape first (400), then each mount against the index (422 naming the first bad one).
Status CheckMounts(storage::Tx& tx, const std::vector<MountInput>& mounts) {
  if (mounts.size() > kMaxMountsPerVideo) return Invalid("at most 5 mounted deals per video");
  for (size_t i = 0; i < mounts.size(); ++i) {
    RETURN_IF_ERROR(CheckText(mounts[i].app_id, "mounts[].app_id", 64));
    RETURN_IF_ERROR(CheckText(mounts[i].deal_id, "mounts[].deal_id", 128));
    for (size_t j = 0; j < i; ++j) {
      if (mounts[j].app_id == mounts[i].app_id && mounts[j].deal_id == mounts[i].deal_id) {
        return Invalid("mounts[" + std::to_string(i) + "] repeats deal '" + mounts[i].deal_id + "'");
      }
    }
  }
  for (size_t i = 0; i < mounts.size(); ++i) {
    ASSIGN_OR_RETURN(auto ok, tx.Exec(kMountableDeal, {mounts[i].app_id, mounts[i].deal_id}));
    if (ok.empty()) {
      return Error(ErrorCode::kUnprocessable, "mounts[" + std::to_string(i) + "]: deal '" +
                                                  mounts[i].deal_id + "' is not an online deal of app '" +
                                                  mounts[i].app_id + "'");
    }
  }
  return Ok();
}

Status InsertMounts(storage::Tx& tx, const std::string& video_id, const std::vector<MountInput>& mounts) {
  int64_t position = 0;
  for (const auto& m : mounts)
    RETURN_IF_ERROR(tx.Exec(kInsertMount, {video_id, position++, m.app_id, m.deal_id}));
  return Ok();
}

}  // namespace

Status UpsertAppDeals(storage::Tx& tx, const std::string& app_id,
                      const std::vector<protocol::DealIndexEntry>& deals, int64_t now_ms) {
  for (const auto& d : deals) {
    RETURN_IF_ERROR(
        tx.Exec(kUpsertAppDeal, {app_id, d.deal_id, d.title, d.brand_name, d.type, d.category, d.city,
                                 d.price_fen, d.original_price_fen, d.commission_bps, storage::Opt(d.lat),
                                 storage::Opt(d.lng), d.sales, d.status, now_ms}));
    RETURN_IF_ERROR(search::IndexDeal(tx, app_id, d));
  }
  return Ok();
}

std::vector<std::string> SplitTags(std::string_view all) {
  std::vector<std::string> out;
  while (!all.empty()) {
    size_t comma = all.find(',');
    out.emplace_back(all.substr(0, comma));
    all = comma == std::string_view::npos ? std::string_view() : all.substr(comma + 1);
  }
  return out;
}

Result<std::string> CreateCreator(storage::Tx& tx, const CreatorInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.name, "name", 64));
  RETURN_IF_ERROR(CheckAvatar(in.avatar_url));
  RETURN_IF_ERROR(CheckText(in.bio, "bio", 1000, false));
  if (!in.user_id.empty()) {
    ASSIGN_OR_RETURN(auto existing, tx.Exec(kCreatorOfUser, {in.user_id}));
    if (!existing.empty()) return Error(ErrorCode::kConflict, "this user is already a creator");
  }
  std::string id = NewId("cr");
  storage::Value user = in.user_id.empty() ? storage::Null() : storage::Value(in.user_id);
  RETURN_IF_ERROR(tx.Exec(kInsertCreator, {id, user, in.name, in.avatar_url, in.bio, now_ms}));
  return id;
}

Result<std::optional<std::string>> CreatorOfUser(storage::Db& db, const std::string& user_id) {
  return db.Read([&](storage::Tx& tx) -> Result<std::optional<std::string>> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kCreatorOfUser, {user_id}));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0].Str(0));
  });
}

Result<std::string> CreateVideo(storage::Tx& tx, const VideoInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckVideoText(in.title, in.description, in.cover_url, in.video_url, in.city));
  ASSIGN_OR_RETURN(std::string tags, JoinTags(in.tags));
  if (in.mounts.size() > kMaxMountsPerVideo) return Invalid("at most 5 mounted deals per video");
  ASSIGN_OR_RETURN(auto creator, tx.Exec(kCreatorExists, {in.creator_id}));
  if (creator.empty()) return NotFound("creator not found");
  RETURN_IF_ERROR(CheckMounts(tx, in.mounts));
  std::string id = NewId("vid");
  RETURN_IF_ERROR(tx.Exec(kInsertVideo, {id, in.creator_id, in.title, in.description, in.cover_url,
                                         in.video_url, in.city, tags, now_ms}));
  RETURN_IF_ERROR(InsertMounts(tx, id, in.mounts));
  RETURN_IF_ERROR(search::IndexVideo(tx, id, in.title, in.description, in.tags, in.city));
  return id;
}

Status UpdateVideo(storage::Db& db, const std::string& video_id, const std::string& user_id,
                   const VideoPatch& patch, int64_t now_ms) {
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kOwnedVideo, {video_id, user_id}));
    if (rows.empty()) return NotFound("video not found");
    const auto& r = rows[0];
    std::string title = patch.title.value_or(r.Str(0));
    std::string description = patch.description.value_or(r.Str(1));
    std::string cover_url = patch.cover_url.value_or(r.Str(2));
    std::string video_url = patch.video_url.value_or(r.Str(3));
    std::string city = patch.city.value_or(r.Str(4));
    std::vector<std::string> tags = patch.tags ? *patch.tags : SplitTags(r.Str(5));
    std::string status = patch.hidden ? (*patch.hidden ? "hidden" : "published") : r.Str(6);
    RETURN_IF_ERROR(CheckVideoText(title, description, cover_url, video_url, city));
    ASSIGN_OR_RETURN(std::string joined, JoinTags(tags));
    if (patch.mounts) {
      RETURN_IF_ERROR(CheckMounts(tx, *patch.mounts));
      RETURN_IF_ERROR(tx.Exec(kDeleteMounts, {video_id}));
      RETURN_IF_ERROR(InsertMounts(tx, video_id, *patch.mounts));
    }
    RETURN_IF_ERROR(tx.Exec(
        kUpdateVideo, {video_id, title, description, cover_url, video_url, city, joined, status, now_ms}));
    if (status == "published") return search::IndexVideo(tx, video_id, title, description, tags, city);
    return search::RemoveVideo(tx, video_id);
  }));
  search::NoteSearchIndexChanged();  // committed: cached search pages are stale
  return Ok();
}

Result<int64_t> CountView(storage::Db& db, const std::string& video_id) {
  ASSIGN_OR_RETURN(int64_t views, db.Write([&](storage::Tx& tx) -> Result<int64_t> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kCountView, {video_id}));
    if (rows.empty()) return NotFound("video not found");
    return rows[0].Int(0);
  }));
  NoteFeedChanged();  // committed: cached feed pages are stale
  return views;
}

Result<LikeState> SetLike(storage::Db& db, const std::string& video_id, const std::string& user_id, bool like,
                          int64_t now_ms) {
  bool counted = false;
  ASSIGN_OR_RETURN(auto state, db.Write([&](storage::Tx& tx) -> Result<LikeState> {
    ASSIGN_OR_RETURN(auto video, tx.Exec(kPublishedVideo, {video_id}));
    if (video.empty()) return NotFound("video not found");
    // The like row is the truth; the counter moves only when a row really appeared or went.
    ASSIGN_OR_RETURN(auto changed, like ? tx.Exec(kInsertLike, {video_id, user_id, now_ms})
                                        : tx.Exec(kDeleteLike, {video_id, user_id}));
    if (changed.affected == 0) return LikeState{like, video[0].Int(0)};
    ASSIGN_OR_RETURN(auto likes, tx.Exec(kAddLikes, {video_id, int64_t{like ? 1 : -1}}));
    counted = true;
    return LikeState{like, likes.empty() ? 0 : likes[0].Int(0)};
  }));
  if (counted) NoteFeedChanged();  // committed: cached feed pages are stale
  return state;
}

namespace {
std::atomic<uint64_t> g_feed_version{0};
}  // namespace

uint64_t FeedVersion() {
  // Both counters only grow, so their sum moves whenever either does.
  return search::SearchIndexVersion() + g_feed_version.load(std::memory_order_acquire);
}
void NoteFeedChanged() {
  g_feed_version.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace hutong::host
