#include "provider/redemption/redemption_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "common/json.h"
#include "common/rate_limiter.h"
#include "provider/merchant/staff_auth.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/redemption/redemption.h"

namespace hutong::provider {

namespace {

Result<std::vector<std::string>> VoucherIds(const json::object& o) {
  auto it = o.find("voucher_ids");
  if (it == o.end() || !it->value().is_array())
    return Invalid("'voucher_ids' must be an array of voucher ids");
  const auto& arr = it->value().as_array();
  if (arr.empty() || arr.size() > kMaxVouchersPerRedeem) {
    return Invalid("'voucher_ids' lists 1.." + std::to_string(kMaxVouchersPerRedeem) + " vouchers");
  }
  std::vector<std::string> out;
  for (const auto& v : arr) {
    if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 64) {
      return Invalid("'voucher_ids' must be an array of voucher ids");
    }
    out.emplace_back(v.as_string().c_str());
  }
  return out;
}

}  // namespace

void RegisterRedemptionRoutes(http::Router& router, ProviderDeps deps) {
  // Failed prepares per store; one node counts on its own (see InMemoryRateLimiter).
  auto limiter = std::make_shared<InMemoryRateLimiter>(deps.clock);

  router.Post("/merchant/v1/vouchers/prepare", [deps, limiter](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto code, RequireString(body, "code", 64));
    ASSIGN_OR_RETURN(auto store_id, RequireString(body, "store_id", 64));
    ASSIGN_OR_RETURN(auto out, PrepareRedemption(deps.db, *limiter, staff, code, store_id, now));
    return http::Response::Json(200, out);
  });

  router.Post("/merchant/v1/vouchers/redeem", [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto token, RequireString(body, "verify_token", 128));
    ASSIGN_OR_RETURN(auto store_id, RequireString(body, "store_id", 64));
    ASSIGN_OR_RETURN(auto ids, VoucherIds(body));
    ASSIGN_OR_RETURN(auto out, RedeemVouchers(deps.db, staff, token, store_id, std::move(ids), now));
    return http::Response::Json(200, out);
  });

  router.Post("/merchant/v1/redemptions/{id}/reverse", [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, now));
    ASSIGN_OR_RETURN(auto out, ReverseRedemption(deps.db, staff, std::string(req.PathParam("id")), now));
    return http::Response::Json(200, out);
  });

  router.Get("/mp/v1/vouchers/{id}/qr.svg", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto svg, VoucherQrSvg(deps.db, user, std::string(req.PathParam("id"))));
    auto resp = http::Response::Text(200, std::move(svg), "image/svg+xml");
    resp.headers.emplace_back("Cache-Control", "private, no-store");
    return resp;
  });
}

}  // namespace hutong::provider
