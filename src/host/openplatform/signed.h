// Guards for the host's two kinds of privileged callers: apps (signed open-API requests)
// and operators (the configured admin token).
#pragma once

#include <functional>
#include <string>

#include "host/host.h"
#include "http/router.h"

namespace hutong::host {

using SignedHandler = std::function<Result<http::Response>(http::Request&, const std::string& app_id)>;

// Wraps a handler so it runs only for a correctly signed request of an active app; the
// verified app id is passed on. Failures → 401 invalid_signature, nothing runs.
http::Handler Signed(HostDeps deps, SignedHandler inner);

// `Authorization: Bearer <admin token>`, compared in constant time; else 401.
Status RequireAdmin(const http::Request& req, const std::string& admin_token);

}  // namespace hutong::host
