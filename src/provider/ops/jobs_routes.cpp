#include "provider/ops/jobs_routes.h"

#include "jobs/jobs_json.h"
#include "provider/merchant/staff_auth.h"

namespace hutong::provider {

void RegisterJobsRoutes(http::Router& router, ProviderDeps deps) {
  router.Get("/ops/v1/jobs", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(AuthenticateOpsStaff(deps.db, req, deps.clock.NowMs(), "see background jobs"));
    ASSIGN_OR_RETURN(auto states, jobs::ListJobStates(deps.db));
    return http::Response::Json(200, jobs::JobStatesJson(states, deps.clock.NowMs()));
  });
}

const http::OpenApiFragment& JobsOpenApi() {
  static const std::string kSchemas =
      std::string(R"json({"JobState": )json") + jobs::kJobStateSchemaJson + "}";
  static const http::OpenApiFragment kFragment{R"json({
  "/ops/v1/jobs": {
    "get": {
      "summary": "The provider's background jobs: which node holds each lease, last runs and errors (operations staff)",
      "tags": ["ops"], "security": [{"bearerToken": []}],
      "responses": {"200": {"description": "Every job that has run on this database", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/JobState"}}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
    }
  }
})json",
                                               kSchemas.c_str()};
  return kFragment;
}

}  // namespace hutong::provider
