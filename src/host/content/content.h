// Creators, videos with mounted deals, the index of apps' deals, and the feed.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/deal_index.h"
#include "storage/db.h"

namespace hutong::host {

// Inserts or updates deals in the app's index (the host's copy used by mounts and search).
Status UpsertAppDeals(storage::Tx& tx, const std::string& app_id,
                      const std::vector<protocol::DealIndexEntry>& deals, int64_t now_ms);

struct CreatorInput {
  std::string user_id;  // may be empty for platform-run accounts
  std::string name;
  std::string avatar_url;
  std::string bio;
};
Result<std::string> CreateCreator(storage::Tx& tx, const CreatorInput& in, int64_t now_ms);

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
Result<std::string> CreateVideo(storage::Tx& tx, const VideoInput& in, int64_t now_ms);

// GET /api/feed: published videos newest first, with creator and mounted deals.
Result<boost::json::object> FeedJson(storage::Db& db, const std::string& cursor, int64_t limit);

}  // namespace hutong::host
