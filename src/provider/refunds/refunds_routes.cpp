#include "provider/refunds/refunds_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "common/json.h"
#include "http/params.h"
#include "protocol/idempotency.h"
#include "provider/merchant/staff_auth.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/refunds/refunds.h"

namespace hutong::provider {

namespace {

Result<std::vector<std::string>> VoucherIds(const json::object& o) {
  auto it = o.find("voucher_ids");
  if (it == o.end() || !it->value().is_array())
    return Invalid("'voucher_ids' must be an array of voucher ids");
  std::vector<std::string> out;
  for (const auto& v : it->value().as_array()) {
    if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 64) {
      return Invalid("'voucher_ids' must be an array of voucher ids");
    }
    out.emplace_back(v.as_string().c_str());
  }
  return out;
}

}  // namespace

void RegisterRefundRoutes(http::Router& router, ProviderDeps deps) {
  auto gateway = std::make_shared<HostRefundGateway>(deps.hosts);

  http::Handler request = [deps, gateway](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    RefundRequest in;
    in.order_id = std::string(req.PathParam("id"));
    ASSIGN_OR_RETURN(in.voucher_ids, VoucherIds(body));
    ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason", 256));
    in.reason = reason.value_or("");
    ASSIGN_OR_RETURN(auto after_sale, OptionalBool(body, "after_sale"));
    in.after_sale = after_sale.value_or(false);
    ASSIGN_OR_RETURN(auto refund, RequestRefund(deps.db, *gateway, user, in, now));
    auto resp = http::Response::Json(201, refund);
    resp.headers.emplace_back("Location", "/mp/v1/orders/" + in.order_id);
    return resp;
  };
  router.Post("/mp/v1/orders/{id}/refunds",
              protocol::WithIdempotency(deps.db, deps.clock, "/mp/v1/orders/refunds", request));

  auto decide = [deps, gateway](bool approve) {
    return [deps, gateway, approve](http::Request& req) -> Result<http::Response> {
      const int64_t now = deps.clock.NowMs();
      ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, now));
      ASSIGN_OR_RETURN(
          auto out, DecideRefund(deps.db, *gateway, staff, std::string(req.PathParam("id")), approve, now));
      return http::Response::Json(200, out);
    };
  };
  router.Post("/merchant/v1/refunds/{id}/approve", decide(true));
  router.Post("/merchant/v1/refunds/{id}/reject", decide(false));

  router.Get("/merchant/v1/refunds", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto status, http::QueryText(req, "status", 32));
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    ASSIGN_OR_RETURN(auto out, ListBrandRefunds(deps.db, staff, status, cursor, limit.value_or(20)));
    return http::Response::Json(200, out);
  });

  // Operations: every brand's refunds (status=stuck: what the host kept refusing), and a
  // stuck refund sent again.
  router.Get("/ops/v1/refunds", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(AuthenticateOpsStaff(deps.db, req, deps.clock.NowMs(), "see every brand's refunds"));
    ASSIGN_OR_RETURN(auto status, http::QueryText(req, "status", 32));
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    ASSIGN_OR_RETURN(auto out, ListAllRefunds(deps.db, status, cursor, limit.value_or(20)));
    return http::Response::Json(200, out);
  });
  router.Post("/ops/v1/refunds/{id}/retry", [deps, gateway](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    RETURN_IF_ERROR(AuthenticateOpsStaff(deps.db, req, now, "retry refunds"));
    ASSIGN_OR_RETURN(auto out, RetryStuckRefund(deps.db, *gateway, std::string(req.PathParam("id")), now));
    return http::Response::Json(200, out);
  });

  const Clock* clock = &deps.clock;
  deps.webhooks.On("refund.succeeded",
                   [clock](storage::Tx& tx, const std::string& host, const json::object& event) -> Status {
                     return HandleRefundSucceeded(tx, host, event, clock->NowMs());
                   });
}

}  // namespace hutong::provider
