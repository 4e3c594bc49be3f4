// Assembles a role's OpenAPI 3 document from fragments that each module owns next to its
// routes, so adding a route means adding its documentation in the same folder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hutong::http {

struct OpenApiFragment {
  const char* paths;              // a JSON object: {"/path": {"get": {...}}, ...}
  const char* schemas = nullptr;  // a JSON object of components.schemas entries, or null
};

// The operational endpoints every role serves (/healthz, /readyz, /metrics, /openapi.json).
const OpenApiFragment& OpsOpenApiFragment();

// Merges fragments under shared components: the Problem schema and response, and the
// security schemes `bearerToken`, `adminToken` and `signedRequest`. Throws on malformed
// fragments (they are compiled-in constants, so that is a programmer error caught by tests).
std::string BuildOpenApiDocument(std::string_view title, std::string_view server_url,
                                 const std::vector<OpenApiFragment>& fragments);

}  // namespace hutong::http
