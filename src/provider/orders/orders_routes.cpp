#include "provider/orders/orders_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "common/json.h"
#include "http/params.h"
#include "protocol/idempotency.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/orders/orders.h"

namespace hutong::provider {

void RegisterOrderRoutes(http::Router& router, ProviderDeps deps) {
  auto gateway = std::make_shared<HostPayOrderGateway>(deps.hosts);

  http::Handler create = [deps, gateway](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    OrderInput in;
    ASSIGN_OR_RETURN(in.deal_id, RequireString(body, "deal_id", 64));
    ASSIGN_OR_RETURN(in.quantity, RequireInt(body, "quantity", 1, 1000));
    ASSIGN_OR_RETURN(in.slot, OptionalString(body, "slot", 64));
    ASSIGN_OR_RETURN(in.attribution_token, OptionalString(body, "attribution_token", 2048));
    ASSIGN_OR_RETURN(auto placed, PlaceOrder(deps.db, *gateway, user, in, now));
    auto resp = http::Response::Json(201, json::object{{"order_id", placed.order_id},
                                                       {"status", placed.status},
                                                       {"amount_fen", placed.amount_fen},
                                                       {"pay_order_id", placed.pay_order_id},
                                                       {"cashier_url", placed.cashier_url}});
    resp.headers.emplace_back("Location", "/mp/v1/orders/" + placed.order_id);
    return resp;
  };
  router.Post("/mp/v1/orders", protocol::WithIdempotency(deps.db, deps.clock, "/mp/v1/orders", create));

  router.Get("/mp/v1/orders", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 50));
    ASSIGN_OR_RETURN(auto out, ListOrdersJson(deps.db, user, cursor, limit.value_or(20)));
    return http::Response::Json(200, out);
  });

  router.Get("/mp/v1/orders/{id}", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto out, GetOrderJson(deps.db, user, std::string(req.PathParam("id"))));
    return http::Response::Json(200, out);
  });

  const Clock* clock = &deps.clock;
  deps.webhooks.On("payment.succeeded",
                   [clock](storage::Tx& tx, const std::string& host, const json::object& event) -> Status {
                     return HandlePaymentSucceeded(tx, host, event, clock->NowMs());
                   });
}

}  // namespace hutong::provider
