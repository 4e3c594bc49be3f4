#include "provider/campaigns/campaigns_routes.h"

#include <boost/json.hpp>

#include "common/json.h"
#include "protocol/idempotency.h"
#include "provider/campaigns/campaigns.h"
#include "provider/merchant/staff_auth.h"

namespace hutong::provider {

void RegisterCampaignRoutes(http::Router& router, ProviderDeps deps) {
  auto create = [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    RETURN_IF_ERROR(AuthenticateOpsStaff(deps.db, req, now, "create campaigns"));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto input, ParseCampaignInput(body));
    RETURN_IF_ERROR(deps.db.Write([&](storage::Tx& tx) { return CreateCampaign(tx, input, now); }));
    ASSIGN_OR_RETURN(auto page, GetCampaignJson(deps.db, input.slug, now));
    auto resp = http::Response::Json(201, page);
    resp.headers.emplace_back("Location", "/mp/v1/campaigns/" + input.slug);
    return resp;
  };
  router.Post("/ops/v1/campaigns",
              protocol::WithIdempotency(deps.db, deps.clock, "/ops/v1/campaigns", std::move(create)));

  router.Get("/mp/v1/campaigns/{slug}", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto page,
                     GetCampaignJson(deps.db, std::string(req.PathParam("slug")), deps.clock.NowMs()));
    return http::Response::Json(200, page);
  });
}

}  // namespace hutong::provider
