#include "host/ops/jobs_routes.h"

#include "host/openplatform/signed.h"
#include "jobs/jobs_json.h"

namespace hutong::host {

void RegisterJobsRoutes(http::Router& router, HostDeps deps) {
  router.Get("/api/admin/jobs", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(RequireAdmin(req, deps.admin_token));
    ASSIGN_OR_RETURN(auto states, jobs::ListJobStates(deps.db));
    return http::Response::Json(200, jobs::JobStatesJson(states, deps.clock.NowMs()));
  });
}

const http::OpenApiFragment& JobsOpenApi() {
  static const std::string kSchemas =
      std::string(R"json({"JobState": )json") + jobs::kJobStateSchemaJson + "}";
  static const http::OpenApiFragment kFragment{R"json({
  "/api/admin/jobs": {
    "get": {
      "summary": "The host's background jobs: which node holds each lease, last runs and errors",
      "tags": ["ops"], "security": [{"adminToken": []}],
      "responses": {"200": {"description": "Every job that has run on this database", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/JobState"}}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}}
    }
  }
})json",
                                               kSchemas.c_str()};
  return kFragment;
}

}  // namespace hutong::host
