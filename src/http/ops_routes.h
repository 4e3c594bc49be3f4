// Operational endpoints every role serves: liveness, readiness and Prometheus metrics.
#pragma once

#include <functional>

#include "common/result.h"
#include "http/metrics.h"
#include "http/router.h"

namespace hutong::http {

// Registers GET /healthz (inline: the process is up), GET /readyz (blocking: runs
// `ready_check`, e.g. a database ping; 503 problem+json when it fails; an empty function
// means always ready) and GET /metrics (inline, Prometheus text format). `metrics` must
// outlive the router.
void AddOpsRoutes(Router& router, Metrics& metrics, std::function<Status()> ready_check);

}  // namespace hutong::http
