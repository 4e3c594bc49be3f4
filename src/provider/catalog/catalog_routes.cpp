// GET /mp/v1/deals/{id}, GET /mp/v1/deals, GET /mp/v1/categories.
#include "provider/catalog/catalog_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "http/params.h"
#include "provider/catalog/catalog.h"
#include "provider/catalog/deal_page_cache.h"
#include "provider/catalog/categories.h"

namespace hutong::provider {
namespace json = boost::json;

void RegisterCatalogRoutes(http::Router& router, ProviderDeps deps) {
  // Deal pages are the hottest read: cache hits are served on the I/O thread.
  auto cache = std::make_shared<DealPageCache>(deps.clock);
  router.Add(
      http::Method::kGet, "/mp/v1/deals/{id}",
      [deps, cache](http::Request& req) -> Result<http::Response> {
        const std::string id(req.PathParam("id"));
        const uint64_t version = CatalogVersion();
        ASSIGN_OR_RETURN(auto deal, GetDealJson(deps.db, id));
        std::string body = json::serialize(deal);
        cache->Put(id, body, version);
        return http::Response::JsonText(200, std::move(body));
      },
      http::Exec::kBlocking,
      [cache](const http::Request& req) -> std::optional<http::Response> {
        auto body = cache->Get(std::string(req.PathParam("id")));
        if (!body) return std::nullopt;
        return http::Response::JsonText(200, std::move(*body));
      });

  router.Get("/mp/v1/deals", [deps](http::Request& req) -> Result<http::Response> {
    DealFilter f;
    ASSIGN_OR_RETURN(f.category, http::QueryText(req, "category", 32));
    ASSIGN_OR_RETURN(f.city, http::QueryText(req, "city", 64));
    ASSIGN_OR_RETURN(f.cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    f.limit = limit.value_or(10);
    ASSIGN_OR_RETURN(auto page, ListDealsJson(deps.db, f));
    return http::Response::Json(200, page);
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
