#include "http/openapi.h"

#include <boost/json.hpp>
#include <stdexcept>

namespace hutong::http {
namespace json = boost::json;

const OpenApiFragment& OpsOpenApiFragment() {
  static const OpenApiFragment kFragment{R"json({
    "/openapi.json": {"get": {"summary": "This document", "tags": ["ops"], "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    "/healthz": {"get": {"summary": "Liveness", "tags": ["ops"], "responses": {"200": {"description": "The process is up"}}}},
    "/readyz": {"get": {"summary": "Readiness (database reachable; on the host, its in-memory nearby and search copies loaded)", "tags": ["ops"], "responses": {"200": {"description": "Ready"}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "tags": ["ops"], "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}}}}
  })json"};
  return kFragment;
}

std::string BuildOpenApiDocument(std::string_view title, std::string_view server_url,
                                 const std::vector<OpenApiFragment>& fragments) {
  json::object paths;
  json::object schemas = json::parse(R"json({
    "Problem": {
      "type": "object",
      "description": "RFC 9457 problem details; `code` is stable and machine-readable",
      "required": ["type", "title", "status", "code"],
      "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string", "example": "validation_failed"},
        "instance": {"type": "string"}
      }
    }
  })json")
                             .as_object();
  for (const auto& f : fragments) {
    json::value fragment_paths = json::parse(f.paths);
    for (auto& [path, item] : fragment_paths.as_object()) {
      if (paths.contains(path)) {
        for (auto& [method, op] : item.as_object()) paths[path].as_object()[method] = op;
      } else {
        paths[path] = item;
      }
    }
    if (f.schemas != nullptr) {
      json::value fragment_schemas = json::parse(f.schemas);
      for (auto& [name, schema] : fragment_schemas.as_object()) {
        if (schemas.contains(name)) throw std::logic_error("duplicate OpenAPI schema " + std::string(name));
        schemas[name] = schema;
      }
    }
  }
  json::object doc;
  doc["openapi"] = "3.0.3";
  doc["info"] = json::object{{"title", title}, {"version", "1"}};
  doc["servers"] = json::array{json::object{{"url", server_url}}};
  doc["paths"] = std::move(paths);
  doc["components"] =
      json::object{{"responses", json::parse(R"json({"Problem": {"description": "RFC 9457 problem",
         "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}})json")},
                   {"securitySchemes", json::parse(R"json({
         "bearerToken": {"type": "http", "scheme": "bearer", "description": "a login token"},
         "adminToken": {"type": "http", "scheme": "bearer", "description": "the host's configured admin token"},
         "signedRequest": {"type": "apiKey", "in": "header", "name": "X-Hutong-Signature",
           "description": "HMAC-SHA256 request signature with X-Hutong-App-Id, X-Hutong-Timestamp and X-Hutong-Nonce; see docs/open-api.md"}
       })json")},
                   {"schemas", std::move(schemas)}};
  return json::serialize(doc);
}

}  // namespace hutong::http
