#include "http/ops_routes.h"

namespace hutong::http {

void AddOpsRoutes(Router& router, Metrics& metrics, std::function<Status()> ready_check) {
  router.Get(
      "/healthz", [](Request&) -> Result<Response> { return Response::JsonText(200, R"({"status":"ok"})"); },
      Exec::kInline);

  router.Get(
      "/readyz",
      [check = std::move(ready_check)](Request&) -> Result<Response> {
        if (check) {
          Status status = check();
          if (!status.ok()) {
            // Whatever the dependency's error was, to a load balancer it means "not now".
            const Error& e = status.error();
            return Error(ErrorCode::kUnavailable, e.detail.empty() ? "not ready" : "not ready: " + e.detail,
                         e.internal);
          }
        }
        return Response::JsonText(200, R"({"status":"ready"})");
      },
      Exec::kBlocking);

  router.Get(
      "/metrics",
      [&metrics](Request&) -> Result<Response> {
        return Response::Text(200, metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
      },
      Exec::kInline);
}

}  // namespace hutong::http
