#include "host/search/search_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "common/json.h"
#include "host/content/content.h"
#include "host/openplatform/signed.h"
#include "host/search/nearby.h"
#include "host/search/search.h"
#include "host/search/search_page_cache.h"
#include "host/search/search_position_index.h"
#include "http/params.h"

namespace hutong::host {
namespace json = boost::json;

namespace {
constexpr size_t kMaxDealsPerSync = 500;
constexpr size_t kMaxCampaignsPerSync = 100;
}  // namespace

void RegisterSearchRoutes(http::Router& router, HostDeps deps) {
  // An app upserts its deals in the host's index; offline ones leave search. Only the
  // calling (verified) app's deals are touched: the app id comes from the signature.
  router.Post(
      "/open/v1/deals/sync",
      Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
        ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
        auto it = body.find("deals");
        if (it == body.end() || !it->value().is_array()) return Invalid("'deals' must be an array");
        const auto& arr = it->value().as_array();
        if (arr.empty() || arr.size() > kMaxDealsPerSync) return Invalid("'deals' must hold 1..500 deals");
        std::vector<protocol::DealIndexEntry> deals;
        deals.reserve(arr.size());
        for (size_t i = 0; i < arr.size(); ++i) {
          auto d = protocol::DealIndexEntryFromJson(arr[i]);
          if (!d.ok()) return Invalid("deals[" + std::to_string(i) + "]: " + d.error().detail);
          deals.push_back(std::move(d).value());
        }
        const int64_t now = deps.clock.NowMs();
        RETURN_IF_ERROR(
            deps.db.Write([&](storage::Tx& tx) { return UpsertAppDeals(tx, app_id, deals, now); }));
        search::NoteSearchIndexChanged();  // committed: cached search pages are stale
        return http::Response::Json(200, json::object{{"synced", static_cast<int64_t>(deals.size())}});
      }));

  // An app registers its campaigns (keywords, window, deals); a search for one of the
  // keywords (or the title) opens with the campaign while it has not ended.
  router.Post(
      "/open/v1/campaigns/sync",
      Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
        ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
        auto it = body.find("campaigns");
        if (it == body.end() || !it->value().is_array()) return Invalid("'campaigns' must be an array");
        const auto& arr = it->value().as_array();
        if (arr.empty() || arr.size() > kMaxCampaignsPerSync) {
          return Invalid("'campaigns' must hold 1..100 campaigns");
        }
        std::vector<protocol::CampaignIndexEntry> campaigns;
        for (size_t i = 0; i < arr.size(); ++i) {
          auto c = protocol::CampaignIndexEntryFromJson(arr[i]);
          if (!c.ok()) return Invalid("campaigns[" + std::to_string(i) + "]: " + c.error().detail);
          campaigns.push_back(std::move(c).value());
        }
        const int64_t now = deps.clock.NowMs();
        RETURN_IF_ERROR(deps.db.Write(
            [&](storage::Tx& tx) { return search::UpsertAppCampaigns(tx, app_id, campaigns, now); }));
        search::NoteSearchIndexChanged();
        return http::Response::Json(200, json::object{{"synced", static_cast<int64_t>(campaigns.size())}});
      }));

  // The geo index's points in memory (SQLite): the node's, loaded at its start, or else one
  // of the routes' own, loaded by the first nearby request.
  std::shared_ptr<search::GeoPointIndex> own;
  if (deps.geo_index == nullptr) own = std::make_shared<search::GeoPointIndex>(deps.clock);
  search::GeoPointIndex* geo_index = own ? own.get() : deps.geo_index;
  router.Get("/api/nearby", [deps, own, geo_index](http::Request& req) -> Result<http::Response> {
    (void)own;  // held by the route: the copy lives as long as the router
    search::NearbyParams p;
    ASSIGN_OR_RETURN(auto lat, http::QueryDouble(req, "lat", -90, 90));
    ASSIGN_OR_RETURN(auto lng, http::QueryDouble(req, "lng", -180, 180));
    if (!lat || !lng) return Invalid("'lat' and 'lng' are required");
    p.lat = *lat;
    p.lng = *lng;
    ASSIGN_OR_RETURN(auto radius, http::QueryDouble(req, "radius_m", 1, search::kMaxNearbyRadiusM));
    p.radius_m = radius.value_or(3000);
    ASSIGN_OR_RETURN(p.category, http::QueryText(req, "category", 32));
    ASSIGN_OR_RETURN(p.cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    p.limit = limit.value_or(20);
    ASSIGN_OR_RETURN(auto page, search::NearbyJson(deps.db, geo_index, p));
    return http::Response::Json(200, page);
  });

  // First pages of frequent queries are answered from memory on the I/O thread.
  auto cache = std::make_shared<search::SearchPageCache>(deps.clock);
  // The documents' positions in memory (SQLite): the node's, loaded at its start, or else
  // one of the routes' own, loaded by the first search.
  std::shared_ptr<search::SearchPositionIndex> own_positions;
  if (deps.search_positions == nullptr) own_positions = std::make_shared<search::SearchPositionIndex>();
  search::SearchPositionIndex* positions = own_positions ? own_positions.get() : deps.search_positions;
  router.Add(
      http::Method::kGet, "/api/search",
      [deps, cache, own_positions, positions](http::Request& req) -> Result<http::Response> {
        (void)own_positions;  // held by the route: the copy lives as long as the router
        search::SearchParams p;
        ASSIGN_OR_RETURN(p.q, http::QueryText(req, "q", 64));
        if (p.q.empty()) return Invalid("'q' is required");
        ASSIGN_OR_RETURN(p.city, http::QueryText(req, "city", 64));
        ASSIGN_OR_RETURN(p.category, http::QueryText(req, "category", 32));
        ASSIGN_OR_RETURN(p.cursor, http::QueryText(req, "cursor", 64));
        ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
        p.limit = limit.value_or(20);
        ASSIGN_OR_RETURN(p.lat, http::QueryDouble(req, "lat", -90, 90));
        ASSIGN_OR_RETURN(p.lng, http::QueryDouble(req, "lng", -180, 180));
        p.now_ms = deps.clock.NowMs();
        const uint64_t version = search::SearchIndexVersion();
        int64_t changes_at = 0;
        ASSIGN_OR_RETURN(auto page, search::SearchJson(deps.db, positions, p, &changes_at));
        std::string body = json::serialize(page);
        if (p.cursor.empty() && !p.lat) cache->Put(req.target, body, version, changes_at);
        return http::Response::JsonText(200, std::move(body));
      },
      http::Exec::kBlocking,
      [cache](const http::Request& req) -> std::optional<http::Response> {
        auto body = cache->Get(req.target);
        if (!body) return std::nullopt;
        return http::Response::JsonText(200, std::move(*body));
      });
}

}  // namespace hutong::host
