// Registers the user account API: register, login, logout, and who am I.
#pragma once

#include "host/host.h"
#include "http/openapi.h"
#include "http/router.h"

namespace hutong::host {

void RegisterUsersRoutes(http::Router& router, HostDeps deps);
const http::OpenApiFragment& UsersOpenApi();

}  // namespace hutong::host
