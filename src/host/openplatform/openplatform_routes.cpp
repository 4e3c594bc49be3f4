#include "host/openplatform/openplatform_routes.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/json.h"
#include "host/openplatform/app_secret_cache.h"
#include "host/openplatform/apps.h"
#include "host/openplatform/attribution.h"
#include "host/openplatform/login_codes.h"
#include "host/openplatform/signed.h"
#include "host/users/users.h"
#include "http/params.h"
#include "protocol/idempotency.h"

namespace hutong::host {
namespace {

json::object AppJson(const AppRecord& a) {
  json::object o{{"app_id", a.id},
                 {"name", a.name},
                 {"service_url", a.service_url},
                 {"notify_url", a.notify_url},
                 {"status", a.status},
                 {"created_at", FormatRfc3339(a.created_at)}};
  o["secret_rotated_at"] = a.secret_rotated_at ? json::value(FormatRfc3339(*a.secret_rotated_at)) : nullptr;
  o["previous_secret_expires_at"] =
      a.previous_secret_expires_at ? json::value(FormatRfc3339(*a.previous_secret_expires_at)) : nullptr;
  return o;
}

constexpr storage::Query kVideoCreator{
    "launch.video_creator", storage::Access::kRead,
    "SELECT creator_id FROM videos WHERE id = $1 AND status = 'published'"};

}  // namespace

void RegisterOpenPlatformRoutes(http::Router& router, HostDeps deps) {
  http::Handler create_app = [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    AppInput in;
    ASSIGN_OR_RETURN(in.name, RequireString(body, "name", 100));
    ASSIGN_OR_RETURN(in.notify_url, RequireString(body, "notify_url", 500));
    ASSIGN_OR_RETURN(in.service_url, RequireString(body, "service_url", 500));
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto creds,
                     deps.db.Write([&](storage::Tx& tx) { return CreateApp(tx, in, deps.box, now); }));
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, creds.app_id));
    json::object out = AppJson(app);
    out["app_secret"] = creds.app_secret;
    auto resp = http::Response::Json(201, out);
    resp.headers.emplace_back("Cache-Control", "no-store");
    return resp;
  };
  router.Post("/api/admin/apps", protocol::WithIdempotency(deps.db, deps.clock, "/api/admin/apps", create_app,
                                                           protocol::SealedAnswers(deps.box)));

  router.Get("/api/admin/apps", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto apps, ListApps(deps.db));
    json::array items;
    for (const auto& a : apps) items.push_back(AppJson(a));
    return http::Response::Json(200, json::object{{"items", std::move(items)}});
  });

  router.Get("/api/admin/apps/{app_id}", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, std::string(req.PathParam("app_id"))));
    return http::Response::Json(200, AppJson(app));
  });

  router.Post("/api/admin/apps/{app_id}/rotate-secret", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    int64_t grace_s = kDefaultSecretGraceMs / 1000;
    if (!req.body.empty()) {
      ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
      ASSIGN_OR_RETURN(auto g, OptionalInt(body, "grace_seconds", 0, 7 * 86400));
      grace_s = g.value_or(grace_s);
    }
    ASSIGN_OR_RETURN(auto creds, RotateAppSecret(deps.db, std::string(req.PathParam("app_id")), deps.box,
                                                 deps.clock.NowMs(), grace_s * 1000));
    if (deps.app_secrets) deps.app_secrets->Forget(creds.app_id);
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, creds.app_id));
    json::object out = AppJson(app);
    out["app_secret"] = creds.app_secret;
    auto resp = http::Response::Json(200, out);
    resp.headers.emplace_back("Cache-Control", "no-store");
    return resp;
  });

  router.Post("/api/admin/apps/{app_id}/disable", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto app, DisableApp(deps.db, std::string(req.PathParam("app_id"))));
    if (deps.app_secrets) deps.app_secrets->Forget(app.id);
    return http::Response::Json(200, AppJson(app));
  });

  // The viewer taps a deal on a video: a one-time login code for the app, and the signed
  // attribution of the video and its creator, carried by the app into the order.
  http::Handler launch = [deps](http::Request& req) -> Result<http::Response> {
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, now));
    ASSIGN_OR_RETURN(auto app, GetApp(deps.db, std::string(req.PathParam("app_id"))));
    if (app.status != "active") return NotFound("app not found");
    std::optional<std::string> video_id;
    if (!req.body.empty()) {
      ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
      ASSIGN_OR_RETURN(video_id, OptionalString(body, "video_id", 64));
    }
    json::value attribution = nullptr;
    if (video_id) {
      ASSIGN_OR_RETURN(auto rows,
                       deps.db.Read([&](storage::Tx& tx) { return tx.Exec(kVideoCreator, {*video_id}); }));
      if (rows.empty()) return NotFound("video not found");
      const Attribution click{rows[0].Str(0), *video_id, app.id, now};
      attribution = IssueAttributionToken(deps.box, click);
      RETURN_IF_ERROR(
          deps.db.WithWrite([&](storage::Tx& tx) { return RecordAttributionClick(tx, click, user.id); }));
    }
    ASSIGN_OR_RETURN(auto code, IssueLoginCode(deps.db, app.id, user.id, video_id, now));
    std::string entry_url = app.service_url + "/mp/entry?code=" + code.code;
    if (attribution.is_string()) entry_url += "&attribution_token=" + std::string(attribution.as_string());
    auto resp = http::Response::Json(200, json::object{{"code", code.code},
                                                       {"expires_at", FormatRfc3339(code.expires_at)},
                                                       {"attribution_token", attribution},
                                                       {"entry_url", entry_url}});
    resp.headers.emplace_back("Cache-Control", "no-store");
    return resp;
  };
  router.Post("/api/miniprogram/{app_id}/launch",
              protocol::WithIdempotency(deps.db, deps.clock, "/api/miniprogram/{app_id}/launch", launch,
                                        protocol::SealedAnswers(deps.box)));

  // A signed no-op: lets an app check its signing code and credentials.
  router.Get("/open/v1/ping",
             Signed(deps, [](http::Request&, const std::string& app_id) -> Result<http::Response> {
               return http::Response::Json(200, json::object{{"app_id", app_id}, {"ok", true}});
             }));

  router.Get("/open/v1/jscode2session",
             Signed(deps, [deps](http::Request& req, const std::string& app_id) -> Result<http::Response> {
               ASSIGN_OR_RETURN(auto code, http::QueryText(req, "js_code", 128));
               if (code.empty()) return Invalid("'js_code' is required");
               ASSIGN_OR_RETURN(auto session,
                                ExchangeLoginCode(deps.db, deps.box, app_id, code, deps.clock.NowMs()));
               return http::Response::Json(
                   200, json::object{{"openid", session.openid}, {"session_key", session.session_key}});
             }));
}

}  // namespace hutong::host
