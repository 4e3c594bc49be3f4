// The JSON both roles answer on their jobs endpoint (GET /api/admin/jobs on the host,
// GET /ops/v1/jobs on the provider).
#pragma once

#include <cstdint>
#include <vector>

#include "common/json.h"
#include "jobs/job_leases.h"

namespace hutong::jobs {

// {"items":[{name, held, holder, lease_until, last_started_at, last_run_at,
// last_success_at, last_error, runs, failures}]}; times RFC 3339 or null.
json::object JobStatesJson(const std::vector<JobState>& states, int64_t now_ms);

// The OpenAPI schema object of one item, for the roles' fragments.
inline constexpr const char* kJobStateSchemaJson = R"json({"type": "object", "properties": {
    "name": {"type": "string"}, "held": {"type": "boolean", "description": "a node holds the lease now (running)"},
    "holder": {"type": "string", "nullable": true, "description": "node id of the lease holder"},
    "lease_until": {"type": "string", "format": "date-time", "nullable": true},
    "last_started_at": {"type": "string", "format": "date-time", "nullable": true},
    "last_run_at": {"type": "string", "format": "date-time", "nullable": true},
    "last_success_at": {"type": "string", "format": "date-time", "nullable": true},
    "last_error": {"type": "string"}, "runs": {"type": "integer"}, "failures": {"type": "integer"}}})json";

}  // namespace hutong::jobs
