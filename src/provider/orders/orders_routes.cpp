#include "provider/orders/orders_routes.h"

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "common/json.h"
#include "http/params.h"
#include "protocol/idempotency.h"
#include "provider/campaigns/hot_stock.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/orders/orders.h"

namespace hutong::provider {

namespace {

Result<OrderInput> ParseOrderInput(std::string_view text) {
  ASSIGN_OR_RETURN(auto body, ParseJsonObject(text));
  OrderInput in;
  ASSIGN_OR_RETURN(in.deal_id, RequireString(body, "deal_id", 64));
  ASSIGN_OR_RETURN(in.quantity, RequireInt(body, "quantity", 1, 1000));
  ASSIGN_OR_RETURN(in.slot, OptionalString(body, "slot", 64));
  ASSIGN_OR_RETURN(in.attribution_token, OptionalString(body, "attribution_token", 2048));
  return in;
}

}  // namespace

void RegisterOrderRoutes(http::Router& router, ProviderDeps deps) {
  auto gateway = std::make_shared<HostPayOrderGateway>(deps.hosts);

  http::Handler create = [deps, gateway](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto in, ParseOrderInput(req.body));
    // What the database refused a moment ago is refused again without it (hot_stock.h);
    // the fast path below already judged requests it could, so only fresh markers here.
    HotStock& hot = ProcessHotStock();
    const std::string slot = in.slot.value_or("");
    if (auto refusal = hot.Refusal(in.deal_id, slot, user.id, in.quantity, now, HotStock::Mode::kFreshOnly)) {
      return *std::move(refusal);
    }
    const uint64_t generation = hot.Generation();
    // Stock likely (no refusal of the deal remembered): the pay order is asked for first and
    // attached in the reservation's commit; otherwise (a sale running out, a flash sale) the
    // stock is taken first, so sold-out attempts never make the host open a pay order.
    const PayOrderTiming timing =
        hot.HasMarkers(in.deal_id) ? PayOrderTiming::kAfterReservation : PayOrderTiming::kBeforeReservation;
    auto placed = PlaceOrder(deps.db, *gateway, user, in, now, timing);
    if (!placed.ok()) {
      const Error& e = placed.error();
      if (e.code == ErrorCode::kOutOfStock) {
        hot.MarkSoldOut(in.deal_id, slot, in.quantity, e, generation, now);
      } else if (e.code == ErrorCode::kConflict && e.detail.starts_with(kPerUserLimitDetail)) {
        hot.MarkLimitReached(in.deal_id, user.id, in.quantity, e, generation, now);
      }
      return std::move(placed).error();
    }
    hot.Sold(in.deal_id, slot);
    auto resp = http::Response::Json(201, json::object{{"order_id", placed->order_id},
                                                       {"status", placed->status},
                                                       {"amount_fen", placed->amount_fen},
                                                       {"pay_order_id", placed->pay_order_id},
                                                       {"cashier_url", placed->cashier_url}});
    resp.headers.emplace_back("Location", "/mp/v1/orders/" + placed->order_id);
    return resp;
  };
  // Rejections of a sold-out flash sale are answered here on the I/O thread, without the
  // worker pool or the database: a known session (memory) and a standing refusal (memory).
  // Requests with an Idempotency-Key go to the handler, whose guard stores every answer.
  const Clock* clock = &deps.clock;
  http::FastPath refuse_from_memory = [clock](const http::Request& req) -> std::optional<http::Response> {
    if (req.Header("idempotency-key")) return std::nullopt;
    const int64_t now = clock->NowMs();
    auto user = CachedMpUser(req, now);
    if (!user) return std::nullopt;
    auto in = ParseOrderInput(req.body);
    if (!in.ok()) return std::nullopt;  // the handler says what is wrong
    auto refusal = ProcessHotStock().Refusal(in->deal_id, in->slot.value_or(""), user->id, in->quantity, now,
                                             HotStock::Mode::kOneProbe);
    if (!refusal) return std::nullopt;
    return http::Response::Problem(*refusal, req.path);
  };
  router.Add(http::Method::kPost, "/mp/v1/orders",
             protocol::WithIdempotency(deps.db, deps.clock, "/mp/v1/orders", create), http::Exec::kBlocking,
             std::move(refuse_from_memory));

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

  deps.webhooks.On("payment.succeeded",
                   [clock](storage::Tx& tx, const std::string& host, const json::object& event) -> Status {
                     return HandlePaymentSucceeded(tx, host, event, clock->NowMs());
                   });
}

}  // namespace hutong::provider
