#include "provider/miniprogram/mp_routes.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "protocol/webhook_batch.h"
#include "protocol/webhook_signature.h"
#include "provider/hosts/webhook_receiver.h"
#include "provider/miniprogram/mp_session.h"

namespace hutong::provider {

void RegisterMiniProgramRoutes(http::Router& router, ProviderDeps deps) {
  router.Post("/mp/v1/session", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto code, RequireString(body, "code", 128));
    ASSIGN_OR_RETURN(auto host, OptionalString(body, "host", 32));
    std::string host_name = host.value_or(deps.hosts.DefaultHost());
    if (host_name.empty()) return Invalid("'host' is required: this provider is connected to several hosts");
    ASSIGN_OR_RETURN(auto session, StartMpSession(deps.db, deps.hosts, host_name, code, deps.clock.NowMs()));
    auto resp = http::Response::Json(200, json::object{{"session_token", session.token},
                                                       {"openid", session.user.openid},
                                                       {"host", session.user.host},
                                                       {"user_id", session.user.id},
                                                       {"expires_at", FormatRfc3339(session.expires_at)}});
    resp.headers.emplace_back("Cache-Control", "no-store");
    return resp;
  });

  // Sign-out: the session stops working at once on this node (and within kMpSessionCacheMs
  // on the others, which may still remember it).
  router.Add(http::Method::kDelete, "/mp/v1/session", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(EndMpSession(deps.db, req, deps.clock.NowMs()));
    http::Response r;
    r.status = 204;
    return r;
  });

  router.Get("/mp/v1/me", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateMpUser(deps.db, req, deps.clock.NowMs()));
    return http::Response::Json(
        200, json::object{{"user_id", user.id}, {"host", user.host}, {"openid", user.openid}});
  });

  router.Post("/mp/v1/webhooks/{host}", [deps](http::Request& req) -> Result<http::Response> {
    const std::string host(req.PathParam("host"));
    const HostConnection* conn = deps.hosts.Connection(host);
    if (conn == nullptr) return NotFound("unknown host");
    auto header = req.Header("hutong-signature");
    if (!header) return Error(ErrorCode::kInvalidSignature, "Hutong-Signature header is missing");
    // Verify the raw bytes as received, before any parsing.
    RETURN_IF_ERROR(protocol::VerifyWebhook(*header, req.body, {conn->app_secret}, deps.clock));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    http::Response answer;
    if (const json::value* events = body.if_contains("events"); events && !body.contains("id")) {
      // A batched delivery (protocol/webhook_batch.h), which this receiver advertises below.
      if (!events->is_array()) return Invalid("'events' must be an array");
      ASSIGN_OR_RETURN(auto results, ProcessWebhookBatch(deps.db, deps.webhooks, host, events->as_array(),
                                                         deps.clock.NowMs()));
      json::array items;
      items.reserve(results.size());
      for (auto& r : results) {
        json::object item{{"event_id", std::move(r.event_id)}, {"status", std::move(r.status)}};
        if (!r.detail.empty()) item["detail"] = std::move(r.detail);
        items.push_back(std::move(item));
      }
      answer = http::Response::Json(200, json::object{{"results", std::move(items)}});
    } else {
      ASSIGN_OR_RETURN(auto outcome,
                       ProcessWebhookEvent(deps.db, deps.webhooks, host, body, deps.clock.NowMs()));
      answer = http::Response::Json(
          200,
          json::object{{"received", true}, {"event_id", outcome.event_id}, {"duplicate", outcome.duplicate}});
    }
    answer.headers.emplace_back(std::string(protocol::kWebhookBatchHeader), std::to_string(kWebhookBatchMax));
    return answer;
  });
}

}  // namespace hutong::provider
