#include "host/webhooks/webhooks_routes.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/json.h"
#include "host/openplatform/apps.h"
#include "host/openplatform/signed.h"
#include "host/webhooks/outbox.h"
#include "http/params.h"
#include "protocol/idempotency.h"

namespace hutong::host {
namespace {

json::object DeliveryJson(const EventDelivery& d) {
  json::object o{{"event_id", d.event_id},
                 {"type", d.type},
                 {"status", d.status},
                 {"attempts", d.attempts},
                 {"created_at", FormatRfc3339(d.created_at)},
                 {"last_error", d.last_error}};
  o["next_attempt_at"] = d.status == "pending" ? json::value(FormatRfc3339(d.next_attempt_at)) : nullptr;
  o["delivered_at"] = d.delivered_at ? json::value(FormatRfc3339(*d.delivered_at)) : nullptr;
  return o;
}

}  // namespace

void RegisterWebhookRoutes(http::Router& router, HostDeps deps) {
  router.Get("/api/admin/apps/{app_id}/deliveries", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, std::string(req.PathParam("app_id"))));
    ASSIGN_OR_RETURN(auto cursor, http::QueryText(req, "cursor", 64));
    ASSIGN_OR_RETURN(auto limit, http::QueryInt(req, "limit", 1, 100));
    const int64_t n = limit.value_or(20);
    ASSIGN_OR_RETURN(auto list, ListDeliveries(deps.db, app.id, cursor, n + 1));
    json::array items;
    for (size_t i = 0; i < list.size() && static_cast<int64_t>(i) < n; ++i)
      items.push_back(DeliveryJson(list[i]));
    json::object out;
    out["next_cursor"] = static_cast<int64_t>(list.size()) > n
                             ? json::value(list[static_cast<size_t>(n) - 1].event_id)
                             : json::value(nullptr);
    out["items"] = std::move(items);
    return http::Response::Json(200, out);
  });

  router.Get("/api/admin/apps/{app_id}/deliveries/{event_id}",
             [deps](http::Request& req) -> Result<http::Response> {
               RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
               ASSIGN_OR_RETURN(auto d, GetDelivery(deps.db, std::string(req.PathParam("app_id")),
                                                    std::string(req.PathParam("event_id"))));
               json::object o = DeliveryJson(d);
               json::array log;
               for (const auto& a : d.log) {
                 json::object entry{{"attempt", a.attempt},
                                    {"started_at", FormatRfc3339(a.started_at)},
                                    {"duration_ms", a.duration_ms},
                                    {"error", a.error},
                                    {"replay", a.replay}};
                 entry["status_code"] = a.status_code ? json::value(*a.status_code) : nullptr;
                 log.push_back(std::move(entry));
               }
               o["log"] = std::move(log);
               return http::Response::Json(200, o);
             });

  router.Post("/api/admin/apps/{app_id}/deliveries/{event_id}/replay",
              [deps](http::Request& req) -> Result<http::Response> {
                RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
                const std::string app_id(req.PathParam("app_id"));
                const std::string event_id(req.PathParam("event_id"));
                RETURN_IF_ERROR(ReplayDelivery(deps.db, app_id, event_id, deps.clock.NowMs()));
                if (deps.wake_webhooks) deps.wake_webhooks();
                ASSIGN_OR_RETURN(auto d, GetDelivery(deps.db, app_id, event_id));
                return http::Response::Json(202, DeliveryJson(d));
              });

  http::Handler test_event = [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, std::string(req.PathParam("app_id"))));
    if (app.status != "active") return Error(ErrorCode::kConflict, "the app is disabled");
    json::object data{{"message", "a test event from the Hutong host"}};
    if (!req.body.empty()) {
      ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
      if (auto it = body.find("data"); it != body.end()) {
        if (!it->value().is_object()) return Invalid("'data' must be an object");
        data = it->value().as_object();
      }
    }
    ASSIGN_OR_RETURN(auto event_id, deps.db.Write([&](storage::Tx& tx) {
      return EnqueueEvent(tx, app.id, "app.test", data, deps.clock.NowMs());
    }));
    if (deps.wake_webhooks) deps.wake_webhooks();
    return http::Response::Json(201, json::object{{"event_id", event_id}, {"type", "app.test"}});
  };
  router.Post(
      "/api/admin/apps/{app_id}/test-event",
      protocol::WithIdempotency(deps.db, deps.clock, "/api/admin/apps/{app_id}/test-event", test_event));
}

}  // namespace hutong::host
