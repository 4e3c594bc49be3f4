#include "host/pay/pay_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "host/openplatform/signed.h"
#include "host/pay/pay_orders.h"
#include "host/pay/payment_provider.h"
#include "host/pay/refunds.h"
#include "host/users/users.h"
#include "host/web_pages.h"
#include "protocol/idempotency.h"

namespace hutong::host {
namespace {

// Whether the request's one Idempotency-Key is its body's out_trade_no (how apps key pay
// orders). A repeated header → 400, as the generic guard says; anything else unusual
// (no key, no JSON, no out_trade_no) → false, and the guard or the handler judges it.
// `body` is the request body as parsed once for both this check and the handler.
Result<bool> KeyIsOutTradeNo(const http::Request& req, const Result<json::object>& body) {
  std::optional<std::string_view> key;
  for (const auto& [name, value] : req.headers) {
    if (name != "idempotency-key") continue;
    if (key) return Invalid("Idempotency-Key must be sent once");
    key = value;
  }
  if (!key || key->empty()) return false;
  if (!body.ok()) return false;
  const json::value* trade_no = body->if_contains("out_trade_no");
  return trade_no != nullptr && trade_no->is_string() && trade_no->as_string() == *key;
}

}  // namespace

void RegisterPayRoutes(http::Router& router, HostDeps deps) {
  // The sandbox wallet stands in for real payment rails; a real provider implements the
  // same PaymentProvider interface.
  std::shared_ptr<const PaymentProvider> payments = std::make_shared<SandboxWallet>();

  // `parsed` is ParseJsonObject(req.body), parsed once by the route; `keyed` what
  // KeyIsOutTradeNo said of this request.
  auto create_pay_order = [deps](http::Request& req, const std::string& app_id,
                                 const Result<json::object>& parsed, bool keyed) -> Result<http::Response> {
    if (!parsed.ok()) return parsed.error();
    const json::object& body = *parsed;
    PayOrderInput in;
    ASSIGN_OR_RETURN(in.out_trade_no, RequireString(body, "out_trade_no", 64));
    ASSIGN_OR_RETURN(in.amount_fen, RequireInt(body, "amount_fen", 1, 100'000'000'00));
    ASSIGN_OR_RETURN(in.description, RequireString(body, "description", 256));
    ASSIGN_OR_RETURN(in.openid, RequireString(body, "openid", 128));
    ASSIGN_OR_RETURN(in.attribution_token, OptionalString(body, "attribution_token", 2048));
    ASSIGN_OR_RETURN(in.deal_id, OptionalString(body, "deal_id", 64));
    ASSIGN_OR_RETURN(auto expires, OptionalString(body, "expires_at", 64));
    if (expires) {
      in.expires_at = ParseRfc3339(*expires);
      if (!in.expires_at) return Invalid("'expires_at' must be an RFC 3339 time");
    }
    if (keyed) in.request_fingerprint = protocol::RequestFingerprint(req);
    ASSIGN_OR_RETURN(auto p, CreatePayOrder(deps.db, deps.box, app_id, in, deps.clock.NowMs()));
    // A retry gets the first answer: the order as it was created (pending).
    auto res = http::Response::Json(201, json::object{{"pay_order_id", p.id},
                                                      {"cashier_url", "/cashier/" + p.id},
                                                      {"status", p.replayed && keyed ? "pending" : p.status},
                                                      {"amount_fen", p.amount_fen}});
    if (p.replayed && keyed) res.headers.emplace_back(protocol::kIdempotentReplayedHeader, "true");
    return res;
  };
  // Idempotency-Key = out_trade_no (what apps send, the provider included): the pay order's
  // own unique (app, out_trade_no) row is the key's record, with the request's fingerprint,
  // so a retry returns the same order and another body under the key is a 422 without the
  // generic guard's claim and store commits. Any other key goes through the guard.
  router.Post("/open/v1/pay/orders",
              Signed(deps,
                     [deps, create_pay_order,
                      guard = protocol::Idempotency(deps.db, deps.clock, "/open/v1/pay/orders")](
                         http::Request& req, const std::string& app_id) -> Result<http::Response> {
                       const Result<json::object> parsed = ParseJsonObject(req.body);
                       auto keyed = KeyIsOutTradeNo(req, parsed);
                       if (!keyed.ok()) return std::move(keyed).error();
                       if (*keyed) return create_pay_order(req, app_id, parsed, true);
                       return guard.Run(req, "app:" + app_id,
                                        [&] { return create_pay_order(req, app_id, parsed, false); });
                     }));

  // The app gives up a pay order it asked for (its order could not be placed after all):
  // closed, the cashier refuses it. Idempotent by nature (closing twice answers the same).
  router.Post("/open/v1/pay/orders/{pay_order_id}/close",
              Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
                ASSIGN_OR_RETURN(auto p,
                                 ClosePayOrder(deps.db, app_id, std::string(req.PathParam("pay_order_id"))));
                return http::Response::Json(200, PayOrderJson(p));
              }));

  auto create_refund = [deps, payments](http::Request& req,
                                        const std::string& app_id) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    RefundInput in;
    ASSIGN_OR_RETURN(in.pay_order_id, RequireString(body, "pay_order_id", 64));
    ASSIGN_OR_RETURN(in.out_refund_no, RequireString(body, "out_refund_no", 64));
    ASSIGN_OR_RETURN(in.amount_fen, RequireInt(body, "amount_fen", 1, 100'000'000'00));
    ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason", 256));
    in.reason = reason.value_or("");
    bool created = false;
    ASSIGN_OR_RETURN(auto r, CreateRefund(deps.db, *payments, app_id, in, deps.clock.NowMs(), &created));
    if (created && deps.wake_webhooks) deps.wake_webhooks();
    return http::Response::Json(201, PayRefundJson(r));
  };
  router.Post(
      "/open/v1/pay/refunds",
      Signed(deps,
             [create_refund, guard = protocol::Idempotency(deps.db, deps.clock, "/open/v1/pay/refunds")](
                 http::Request& req, const std::string& app_id) -> Result<http::Response> {
               return guard.Run(req, "app:" + app_id, [&] { return create_refund(req, app_id); });
             }));

  router.Get("/api/cashier/{pay_order_id}", [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto balance, SandboxWallet::Balance(deps.db, user.id));
    ASSIGN_OR_RETURN(auto p,
                     GetPayOrderForUser(deps.db, std::string(req.PathParam("pay_order_id")), user.id));
    json::object out = PayOrderJson(p);
    out["balance_fen"] = balance;
    out["sandbox"] = deps.sandbox;
    // Said by the server's clock, so a phone whose clock is off still tells the buyer the
    // truth; a pending order past its deadline can no longer be paid (PayPayOrder refuses it).
    out["expired"] = p.status == "pending" && p.expires_at && *p.expires_at <= now;
    return http::Response::Json(200, out);
  });

  // The cashier page a pay order's cashier_url opens (web/cashier.html, compiled in): it
  // reads the order and pays through the JSON routes here with the viewer's token, so it
  // needs no database itself and is answered on the I/O thread.
  router.Get(
      "/cashier/{pay_order_id}",
      [](http::Request& req) -> Result<http::Response> {
        if (!IsWellFormedId(req.PathParam("pay_order_id"), "pay")) return NotFound("pay order not found");
        http::Response res = http::Response::Text(200, std::string(EmbeddedWebFile("cashier.html")),
                                                  "text/html; charset=utf-8");
        res.headers.emplace_back(
            "Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'");
        res.headers.emplace_back("X-Content-Type-Options", "nosniff");
        res.headers.emplace_back("Referrer-Policy", "no-referrer");
        res.headers.emplace_back("Cache-Control", "no-store");
        return res;
      },
      http::Exec::kInline);

  router.Post(
      "/api/cashier/{pay_order_id}/pay", [deps, payments](http::Request& req) -> Result<http::Response> {
        const int64_t now = deps.clock.NowMs();
        ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
        bool enqueued = false;
        std::optional<Fen> balance;  // read by the charge itself: no second transaction
        ASSIGN_OR_RETURN(auto p, PayPayOrder(deps.db, *payments, std::string(req.PathParam("pay_order_id")),
                                             user.id, now, &enqueued, &balance));
        if (enqueued && deps.wake_webhooks) deps.wake_webhooks();
        if (!balance) {
          ASSIGN_OR_RETURN(balance, SandboxWallet::Balance(deps.db, user.id));
        }
        json::object out = PayOrderJson(p);
        out["balance_fen"] = *balance;
        return http::Response::Json(200, out);
      });

  router.Get("/api/wallet", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto balance, SandboxWallet::Balance(deps.db, user.id));
    return http::Response::Json(200, json::object{{"balance_fen", balance}, {"sandbox", deps.sandbox}});
  });

  // Test money exists only in sandbox mode (--sandbox); a real deployment turns it off.
  http::Handler top_up = [deps](http::Request& req) -> Result<http::Response> {
    if (!deps.sandbox) return Error(ErrorCode::kForbidden, "top-up is available only in sandbox mode");
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto amount, RequireInt(body, "amount_fen", 1, SandboxWallet::kMaxTopUpFen));
    ASSIGN_OR_RETURN(auto balance, SandboxWallet::TopUp(deps.db, user.id, amount, now));
    return http::Response::Json(200, json::object{{"balance_fen", balance}});
  };
  router.Post("/api/wallet/topup",
              protocol::WithIdempotency(deps.db, deps.clock, "/api/wallet/topup", top_up));
}

}  // namespace hutong::host
