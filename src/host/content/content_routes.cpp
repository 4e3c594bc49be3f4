#include "host/content/content_routes.h"

#include "host/content/content.h"
#include "http/params.h"

namespace hutong::host {

void RegisterContentRoutes(http::Router& router, HostDeps deps) {
  router.Get("/api/feed", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    ASSIGN_OR_RETURN(auto page, FeedJson(deps.db, cursor, limit.value_or(10)));
    return http::Response::Json(200, page);
  });
}

}  // namespace hutong::host
