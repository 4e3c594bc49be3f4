// GET /mp/v1/deals/{id}, GET /mp/v1/deals, GET /mp/v1/categories.
#include "provider/catalog/catalog_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "http/params.h"
#include "provider/catalog/catalog.h"
#include "provider/catalog/categories.h"
#include "provider/catalog/deal_page_cache.h"

namespace hutong::provider {
namespace json = boost::json;
namespace {

Result<DealFilter> DealFilterFromQuery(const http::Request& req) {
  DealFilter f;
  ASSIGN_OR_RETURN(f.category, http::QueryText(req, "category", 32));
  ASSIGN_OR_RETURN(f.city, http::QueryText(req, "city", 64));
  ASSIGN_OR_RETURN(f.cursor, http::QueryText(req, "cursor", 64));
  ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
  f.limit = limit.value_or(10);
  return f;
}

// The normalized query: equivalent queries (order of parameters, escapes, an explicit
// default limit) share one entry. The fields are length-prefixed so none can forge another.
std::string ListCacheKey(const DealFilter& f) {
  std::string key;
  key.reserve(16 + f.category.size() + f.city.size() + f.cursor.size());
  for (const std::string* part : {&f.category, &f.city, &f.cursor}) {
    key += std::to_string(part->size());
    key += ':';
    key += *part;
  }
  key += std::to_string(f.limit);
  return key;
}

}  // namespace

void RegisterCatalogRoutes(http::Router& router, ProviderDeps deps) {
  // Deal pages and the first list pages are the hottest reads: cache hits are served on the
  // I/O thread, their bytes shared with the response. Both caches follow the catalog
  // version (bumped by every sale, cancellation, refund and new deal), so stock stays live.
  auto cache = std::make_shared<DealPageCache>(deps.clock);
  router.Add(
      http::Method::kGet, "/mp/v1/deals/{id}",
      [deps, cache](http::Request& req) -> Result<http::Response> {
        const std::string id(req.PathParam("id"));
        const uint64_t version = CatalogVersion();
        ASSIGN_OR_RETURN(auto deal, GetDealJson(deps.db, id));
        return http::Response::SharedJson(200, cache->Put(id, json::serialize(deal), version));
      },
      http::Exec::kBlocking,
      [cache](const http::Request& req) -> std::optional<http::Response> {
        auto body = cache->Get(std::string(req.PathParam("id")));
        if (!body) return std::nullopt;
        return http::Response::SharedJson(200, std::move(body));
      });

  // List pages carry no per-user field, so one cache serves everybody. Bounded lower than
  // deal pages: cursors make the key space large and a page is a few KiB.
  auto list_cache = std::make_shared<DealPageCache>(deps.clock, /*ttl_ms=*/1000, /*max_entries=*/4096);
  router.Add(
      http::Method::kGet, "/mp/v1/deals",
      [deps, list_cache](http::Request& req) -> Result<http::Response> {
        ASSIGN_OR_RETURN(auto f, DealFilterFromQuery(req));
        const uint64_t version = CatalogVersion();
        ASSIGN_OR_RETURN(auto page, ListDealsJson(deps.db, f));
        return http::Response::SharedJson(200,
                                          list_cache->Put(ListCacheKey(f), json::serialize(page), version));
      },
      http::Exec::kBlocking,
      [list_cache](const http::Request& req) -> std::optional<http::Response> {
        auto f = DealFilterFromQuery(req);
        if (!f.ok()) return std::nullopt;  // the handler answers with the 400
        auto body = list_cache->Get(ListCacheKey(*f));
        if (!body) return std::nullopt;
        return http::Response::SharedJson(200, std::move(body));
      });

  router.Get(
      "/mp/v1/categories",
      [](http::Request&) -> Result<http::Response> {
        json::array items;
        for (const auto& c : kCategories) {
          items.push_back(json::object{{"code", c.code}, {"name", c.name_zh}, {"name_en", c.name_en}});
        }
        return http::Response::Json(200, json::object{{"items", std::move(items)}});
      },
      http::Exec::kInline);
}

}  // namespace hutong::provider
