#include "host/ledger/ledger_routes.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/json.h"
#include "host/ledger/earnings.h"
#include "host/ledger/receivables.h"
#include "host/ledger/redemptions.h"
#include "host/ledger/settlement.h"
#include "host/openplatform/signed.h"
#include "host/users/users.h"
#include "http/params.h"

namespace hutong::host {
namespace json = boost::json;

void RegisterLedgerRoutes(http::Router& router, HostDeps deps) {
  // The app tells the host a voucher of one of its pay orders was redeemed or the
  // redemption reversed; idempotent per (app, redemption_id), so its outbox may retry.
  router.Post(
      "/open/v1/redemptions",
      Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
        ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
        RedemptionReport in;
        ASSIGN_OR_RETURN(in.event_id, RequireString(body, "event_id", 64));
        ASSIGN_OR_RETURN(in.type, RequireString(body, "type", 16));
        ASSIGN_OR_RETURN(in.pay_order_id, RequireString(body, "pay_order_id", 64));
        ASSIGN_OR_RETURN(in.voucher_id, RequireString(body, "voucher_id", 64));
        ASSIGN_OR_RETURN(in.redemption_id, RequireString(body, "redemption_id", 64));
        ASSIGN_OR_RETURN(in.amount_fen, RequireInt(body, "amount_fen", 0, 100'000'000'00));
        ASSIGN_OR_RETURN(in.brand_id, RequireString(body, "brand_id", 64));
        ASSIGN_OR_RETURN(in.store_id, RequireString(body, "store_id", 64));
        ASSIGN_OR_RETURN(in.deal_id, OptionalString(body, "deal_id", 64));
        ASSIGN_OR_RETURN(auto at, RequireString(body, "at", 64));
        auto at_ms = ParseRfc3339(at);
        if (!at_ms) return Invalid("'at' must be an RFC 3339 time");
        in.at = *at_ms;
        if (in.event_id.empty() || in.pay_order_id.empty() || in.redemption_id.empty() ||
            in.brand_id.empty()) {
          return Invalid("'event_id', 'pay_order_id', 'redemption_id' and 'brand_id' must not be empty");
        }
        ASSIGN_OR_RETURN(auto out, ApplyRedemptionReport(deps.db, app_id, in, deps.clock.NowMs()));
        return http::Response::Json(200, out);
      }));

  router.Get("/api/creator/earnings", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto out, CreatorEarnings(deps.db, user.id));
    return http::Response::Json(200, out);
  });

  router.Get("/api/admin/settlements", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto day, http::QueryText(req, "date", 10));
    ASSIGN_OR_RETURN(auto format, http::QueryText(req, "format", 8));
    if (format != "" && format != "json" && format != "csv") return Invalid("'format' must be json or csv");
    ASSIGN_OR_RETURN(auto statement, SettlementStatement(deps.db, day, deps.clock.NowMs()));
    if (format == "csv") {
      http::Response resp = http::Response::Text(200, SettlementCsv(statement), "text/csv; charset=utf-8");
      resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"settlement-" + day + ".csv\"");
      return resp;
    }
    return http::Response::Json(200, statement);
  });

  // The app's own daily statement (its merchants only), to reconcile its orders against.
  router.Get("/open/v1/settlements",
             Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
               ASSIGN_OR_RETURN(auto day, http::QueryText(req, "date", 10));
               ASSIGN_OR_RETURN(auto format, http::QueryText(req, "format", 8));
               if (format != "" && format != "json" && format != "csv") {
                 return Invalid("'format' must be json or csv");
               }
               ASSIGN_OR_RETURN(auto statement,
                                SettlementStatement(deps.db, day, deps.clock.NowMs(), app_id));
               if (format == "csv")
                 return http::Response::Text(200, SettlementCsv(statement), "text/csv; charset=utf-8");
               return http::Response::Json(200, statement);
             }));

  router.Get("/api/admin/receivables", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto kind, http::QueryText(req, "kind", 16));
    ASSIGN_OR_RETURN(auto out, OutstandingReceivables(deps.db, kind));
    return http::Response::Json(200, out);
  });

  router.Post("/api/admin/settlements", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto day, RequireString(body, "date", 10));
    ASSIGN_OR_RETURN(auto statement, SettleDay(deps.db, day, deps.clock.NowMs()));
    return http::Response::Json(200, statement);
  });
}

}  // namespace hutong::host
