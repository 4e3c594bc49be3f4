#include "host/content/content_routes.h"

#include <boost/json.hpp>
#include <memory>
#include <optional>

#include "common/ids.h"
#include "common/json.h"
#include "common/page_cache.h"
#include "host/content/content.h"
#include "host/search/search.h"
#include "host/users/users.h"
#include "http/params.h"
#include "protocol/idempotency.h"

namespace hutong::host {
namespace json = boost::json;

namespace {

// The viewer when the request carries a token (a bad one is 401), else nobody.
Result<std::optional<CurrentUser>> OptionalViewer(const HostDeps& deps, const http::Request& req) {
  if (!req.Header("authorization")) return std::optional<CurrentUser>();
  ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, deps.clock.NowMs()));
  return std::optional<CurrentUser>(std::move(user));
}

std::optional<std::string> IdOf(const std::optional<CurrentUser>& u) {
  return u ? std::optional<std::string>(u->id) : std::nullopt;
}

Result<std::optional<std::vector<std::string>>> ReadTags(const json::object& o) {
  auto it = o.find("tags");
  if (it == o.end() || it->value().is_null()) return std::optional<std::vector<std::string>>();
  if (!it->value().is_array()) return Invalid("'tags' must be an array of strings");
  const auto& arr = it->value().as_array();
  if (arr.size() > kMaxTagsPerVideo) return Invalid("at most 20 tags");
  std::vector<std::string> tags;
  for (const auto& t : arr) {
    if (!t.is_string()) return Invalid("'tags' must be an array of strings");
    tags.emplace_back(t.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(tags));
}

Result<std::optional<std::vector<MountInput>>> ReadMounts(const json::object& o) {
  auto it = o.find("mounts");
  if (it == o.end() || it->value().is_null()) return std::optional<std::vector<MountInput>>();
  if (!it->value().is_array()) return Invalid("'mounts' must be an array of {app_id, deal_id}");
  const auto& arr = it->value().as_array();
  if (arr.size() > kMaxMountsPerVideo) return Invalid("at most 5 mounted deals per video");
  std::vector<MountInput> mounts;
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!arr[i].is_object()) return Invalid("mounts[" + std::to_string(i) + "] must be an object");
    const auto& m = arr[i].as_object();
    auto app = RequireString(m, "app_id", 64);
    auto deal = RequireString(m, "deal_id", 128);
    if (!app.ok()) return Invalid("mounts[" + std::to_string(i) + "]: " + app.error().detail);
    if (!deal.ok()) return Invalid("mounts[" + std::to_string(i) + "]: " + deal.error().detail);
    mounts.push_back({std::move(app).value(), std::move(deal).value()});
  }
  return std::optional<std::vector<MountInput>>(std::move(mounts));
}

// The feed's query, without the viewer (whose city is the default when none is given).
Result<FeedParams> FeedParamsFromQuery(const http::Request& req) {
  FeedParams p;
  ASSIGN_OR_RETURN(p.cursor, http::QueryText(req, "cursor", 512));
  ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
  ASSIGN_OR_RETURN(p.city, http::QueryText(req, "city", 64));
  p.limit = limit.value_or(10);
  return p;
}

// The normalized anonymous query: equivalent queries (order of parameters, escapes, an
// explicit default limit) share one entry; length prefixes keep one field from forging
// another.
std::string FeedCacheKey(const FeedParams& p) {
  std::string key;
  key.reserve(16 + p.cursor.size() + p.city.size());
  for (const std::string* part : {&p.cursor, &p.city}) {
    key += std::to_string(part->size());
    key += ':';
    key += *part;
  }
  key += std::to_string(p.limit);
  return key;
}

std::string VideoId(const http::Request& req) {
  return std::string(req.PathParam("video_id"));
}

}  // namespace

void RegisterContentRoutes(http::Router& router, HostDeps deps) {
  // Anonymous feed pages carry nothing per viewer (no liked_by_me, no city of the viewer's
  // own), so one cache serves every anonymous request: answered on the I/O thread, the bytes
  // shared with the response. Pages follow FeedVersion() (videos, mounts, deal syncs, apps,
  // views and likes); a viewer's pages are always read afresh.
  auto feed_cache = std::make_shared<PageCache>(deps.clock, &FeedVersion, /*ttl_ms=*/1000,
                                                /*max_entries=*/4096);
  router.Add(
      http::Method::kGet, "/api/feed",
      [deps, feed_cache](http::Request& req) -> Result<http::Response> {
        ASSIGN_OR_RETURN(FeedParams p, FeedParamsFromQuery(req));
        ASSIGN_OR_RETURN(auto viewer, OptionalViewer(deps, req));
        if (!viewer) {
          const uint64_t version = feed_cache->Version();
          ASSIGN_OR_RETURN(auto page, FeedJson(deps.db, p));
          return http::Response::SharedJson(200,
                                            feed_cache->Put(FeedCacheKey(p), json::serialize(page), version));
        }
        if (p.city.empty()) p.city = viewer->city;
        p.viewer_user_id = viewer->id;
        ASSIGN_OR_RETURN(auto page, FeedJson(deps.db, p));
        return http::Response::Json(200, page);
      },
      http::Exec::kBlocking,
      [feed_cache](const http::Request& req) -> std::optional<http::Response> {
        if (req.Header("authorization")) return std::nullopt;  // per viewer: never cached
        auto p = FeedParamsFromQuery(req);
        if (!p.ok()) return std::nullopt;  // the handler answers with the 400
        auto body = feed_cache->Get(FeedCacheKey(*p));
        if (!body) return std::nullopt;
        return http::Response::SharedJson(200, std::move(body));
      });

  http::Handler create_creator = [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    CreatorInput in;
    in.user_id = user.id;
    ASSIGN_OR_RETURN(in.name, RequireString(body, "name", 64));
    ASSIGN_OR_RETURN(auto avatar, OptionalString(body, "avatar_url", 500));
    ASSIGN_OR_RETURN(auto bio, OptionalString(body, "bio", 1000));
    in.avatar_url = avatar.value_or("");
    in.bio = bio.value_or("");
    ASSIGN_OR_RETURN(auto id, deps.db.Write([&](storage::Tx& tx) { return CreateCreator(tx, in, now); }));
    ASSIGN_OR_RETURN(auto page, CreatorPageJson(deps.db, id, "", 1, user.id));
    return http::Response::Json(201, page.at("creator"));
  };
  router.Post("/api/creators",
              protocol::WithIdempotency(deps.db, deps.clock, "/api/creators", create_creator));

  router.Get("/api/creators/{creator_id}", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 512));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    ASSIGN_OR_RETURN(auto viewer, OptionalViewer(deps, req));
    ASSIGN_OR_RETURN(auto page, CreatorPageJson(deps.db, std::string(req.PathParam("creator_id")), cursor,
                                                limit.value_or(10), IdOf(viewer)));
    return http::Response::Json(200, page);
  });

  http::Handler create_video = [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    VideoInput in;
    ASSIGN_OR_RETURN(in.title, RequireString(body, "title", 200));
    ASSIGN_OR_RETURN(auto description, OptionalString(body, "description", 4000));
    ASSIGN_OR_RETURN(in.cover_url, RequireString(body, "cover_url", 500));
    ASSIGN_OR_RETURN(in.video_url, RequireString(body, "video_url", 500));
    ASSIGN_OR_RETURN(auto city, OptionalString(body, "city", 64));
    ASSIGN_OR_RETURN(auto tags, ReadTags(body));
    ASSIGN_OR_RETURN(auto mounts, ReadMounts(body));
    in.description = description.value_or("");
    in.city = city.value_or("");
    in.tags = tags.value_or(std::vector<std::string>{});
    in.mounts = mounts.value_or(std::vector<MountInput>{});
    ASSIGN_OR_RETURN(auto creator, CreatorOfUser(deps.db, user.id));
    if (!creator)
      return Error(ErrorCode::kForbidden, "only creators publish videos: POST /api/creators first");
    in.creator_id = *creator;
    ASSIGN_OR_RETURN(auto id, deps.db.Write([&](storage::Tx& tx) { return CreateVideo(tx, in, now); }));
    search::NoteSearchIndexChanged();  // committed: cached search pages are stale
    ASSIGN_OR_RETURN(auto page, VideoPageJson(deps.db, id, user.id));
    http::Response res = http::Response::Json(201, page);
    res.headers.emplace_back("Location", "/api/videos/" + id);
    return res;
  };
  router.Post("/api/videos", protocol::WithIdempotency(deps.db, deps.clock, "/api/videos", create_video));

  router.Get("/api/videos/{video_id}", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto viewer, OptionalViewer(deps, req));
    ASSIGN_OR_RETURN(auto page, VideoPageJson(deps.db, VideoId(req), IdOf(viewer)));
    return http::Response::Json(200, page);
  });

  router.Add(http::Method::kPatch, "/api/videos/{video_id}",
             [deps](http::Request& req) -> Result<http::Response> {
               const int64_t now = deps.clock.NowMs();
               ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
               ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
               VideoPatch patch;
               ASSIGN_OR_RETURN(patch.title, OptionalString(body, "title", 200));
               ASSIGN_OR_RETURN(patch.description, OptionalString(body, "description", 4000));
               ASSIGN_OR_RETURN(patch.cover_url, OptionalString(body, "cover_url", 500));
               ASSIGN_OR_RETURN(patch.video_url, OptionalString(body, "video_url", 500));
               ASSIGN_OR_RETURN(patch.city, OptionalString(body, "city", 64));
               ASSIGN_OR_RETURN(patch.tags, ReadTags(body));
               ASSIGN_OR_RETURN(patch.mounts, ReadMounts(body));
               ASSIGN_OR_RETURN(patch.hidden, OptionalBool(body, "hidden"));
               const std::string id = VideoId(req);
               if (!IsWellFormedId(id, "vid")) return NotFound("video not found");
               RETURN_IF_ERROR(UpdateVideo(deps.db, id, user.id, patch, now));
               ASSIGN_OR_RETURN(auto page, VideoPageJson(deps.db, id, user.id));
               return http::Response::Json(200, page);
             });

  // Views are counted by one atomic increment per call (no per-viewer row), cheap enough
  // for SQLite's single writer; anonymous viewers count too.
  router.Post("/api/videos/{video_id}/view", [deps](http::Request& req) -> Result<http::Response> {
    const std::string id = VideoId(req);
    if (!IsWellFormedId(id, "vid")) return NotFound("video not found");
    ASSIGN_OR_RETURN(auto views, CountView(deps.db, id));
    return http::Response::Json(200, json::object{{"video_id", id}, {"views", views}});
  });

  auto like = [deps](bool on) {
    return [deps, on](http::Request& req) -> Result<http::Response> {
      const int64_t now = deps.clock.NowMs();
      ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
      const std::string id = VideoId(req);
      if (!IsWellFormedId(id, "vid")) return NotFound("video not found");
      ASSIGN_OR_RETURN(auto state, SetLike(deps.db, id, user.id, on, now));
      return http::Response::Json(
          200, json::object{{"video_id", id}, {"liked", state.liked}, {"likes", state.likes}});
    };
  };
  router.Post("/api/videos/{video_id}/like", like(true));
  router.Add(http::Method::kDelete, "/api/videos/{video_id}/like", like(false));
}

}  // namespace hutong::host
