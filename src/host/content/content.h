// Creators, videos with mounted deals, the index of apps' deals, views and likes (the
// writes), and the feed, video page and creator page (the reads, content_read.cpp).
#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host {

// Inserts or updates deals in the app's index (the host's copy used by mounts and search).
Status UpsertAppDeals(storage::Tx& tx, const std::string& app_id,
                      const std::vector<protocol::DealIndexEntry>& deals, int64_t now_ms);

inline constexpr size_t kMaxMountsPerVideo = 5;
// Tags are stored comma-joined (a tag never holds a comma); this splits them back.
std::vector<std::string> SplitTags(std::string_view joined);
inline constexpr size_t kMaxTagsPerVideo = 20;

struct CreatorInput {
  std::string user_id;  // may be empty for platform-run accounts
  std::string name;
  std::string avatar_url;  // empty, an http(s) URL or a /static/ path
  std::string bio;
};
// A user already a creator → kConflict.
Result<std::string> CreateCreator(storage::Tx& tx, const CreatorInput& in, int64_t now_ms);

// The creator id of a user, or nullopt when the user is not a creator.
Result<std::optional<std::string>> CreatorOfUser(storage::Db& db, const std::string& user_id);

struct MountInput {
  std::string app_id;
  std::string deal_id;
};
struct VideoInput {
  std::string creator_id;
  std::string title;
  std::string description;
  std::string cover_url;
  std::string video_url;
  std::string city;
  std::vector<std::string> tags;
  std::vector<MountInput> mounts;  // each must be an online deal in the app's index
};
// Validates (kValidationFailed), checks every mount against the app's synced deals (an
// unknown or offline one → kUnprocessable naming it), inserts and indexes for search.
Result<std::string> CreateVideo(storage::Tx& tx, const VideoInput& in, int64_t now_ms);

// PATCH /api/videos/{id}: only the fields that are set change.
struct VideoPatch {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::string> cover_url;
  std::optional<std::string> video_url;
  std::optional<std::string> city;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::vector<MountInput>> mounts;  // replaces all mounts
  std::optional<bool> hidden;                     // hidden videos leave the feed and search
};
// Applies the patch when the video belongs to `user_id`'s creator (else kNotFound, as for
// an unknown video); reindexes a published video and removes a hidden one from search.
Status UpdateVideo(storage::Db& db, const std::string& video_id, const std::string& user_id,
                   const VideoPatch& patch, int64_t now_ms);

// One view of a published video (an atomic increment); the new count. Unknown or hidden →
// kNotFound.
Result<int64_t> CountView(storage::Db& db, const std::string& video_id);

struct LikeState {
  bool liked = false;
  int64_t likes = 0;
};
// Likes (like=true) or unlikes a published video for the user; idempotent per user: liking
// twice counts once, unliking what was not liked changes nothing. Unknown or hidden →
// kNotFound.
Result<LikeState> SetLike(storage::Db& db, const std::string& video_id, const std::string& user_id, bool like,
                          int64_t now_ms);

// The feed: published videos newest first (created_at, then id). With a viewer city,
// videos of that city come first, then all others, each part newest first. The opaque
// cursor holds the position and the city it was made for (it wins over `city` on later
// pages), so pages never repeat or skip a video, also when videos are added meanwhile.
struct FeedParams {
  std::string cursor;
  int64_t limit = 10;                         // 1..50
  std::string city;                           // the viewer's city, or empty
  std::optional<std::string> viewer_user_id;  // adds liked_by_me
};
Result<boost::json::object> FeedJson(storage::Db& db, const FeedParams& params);

// The version of what feed pages show, for the feed page cache (common/page_cache.h): it
// moves with the search index version (videos, their mounts and hiding, deal syncs, apps:
// search::NoteSearchIndexChanged) and with NoteFeedChanged(), which CountView and SetLike
// call after their commit (views and likes, which search does not track). Thread-safe.
uint64_t FeedVersion();
void NoteFeedChanged();

// GET /api/videos/{id}: the video, its creator and every mount with its deal's status.
// Hidden videos are shown only to their owner (else kNotFound).
Result<boost::json::object> VideoPageJson(storage::Db& db, const std::string& video_id,
                                          const std::optional<std::string>& viewer_user_id);

// GET /api/creators/{id}: the public profile and a page of the creator's published videos.
Result<boost::json::object> CreatorPageJson(storage::Db& db, const std::string& creator_id,
                                            const std::string& cursor, int64_t limit,
                                            const std::optional<std::string>& viewer_user_id);

}  // namespace hutong::host
