// The host's OpenAPI 3 document, served at /openapi.json. openapi_test keeps it in step
// with the router: every route documented, every documented path routed.
#include "host/host.h"

namespace hutong::host {

const char* HostOpenApiJson() {
  return R"json({
  "openapi": "3.0.3",
  "info": {"title": "Hutong host (content platform and open platform)", "version": "1"},
  "servers": [{"url": "http://127.0.0.1:8080"}],
  "paths": {
    "/api/feed": {
      "get": {
        "summary": "Published videos, newest first, with their creator and mounted deals",
        "parameters": [
          {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}}
        ],
        "responses": {
          "200": {"description": "A page of the feed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedPage"}}}},
          "400": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "The process is up"}}}},
    "/readyz": {"get": {"summary": "Readiness (database reachable)", "responses": {"200": {"description": "Ready"}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}}}}
  },
  "components": {
    "responses": {
      "Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
          "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
          "detail": {"type": "string"}, "code": {"type": "string", "example": "validation_failed"}, "instance": {"type": "string"}
        }
      },
      "Mount": {
        "type": "object",
        "properties": {
          "app_id": {"type": "string"}, "deal_id": {"type": "string"}, "title": {"type": "string"},
          "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"},
          "deal_url": {"type": "string", "description": "The deal in the app's mini-program API"}
        }
      },
      "FeedItem": {
        "type": "object",
        "properties": {
          "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
          "cover_url": {"type": "string"}, "video_url": {"type": "string"}, "city": {"type": "string"},
          "tags": {"type": "array", "items": {"type": "string"}}, "views": {"type": "integer"}, "likes": {"type": "integer"},
          "created_at": {"type": "string", "format": "date-time"},
          "creator": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "avatar_url": {"type": "string"}}},
          "mounts": {"type": "array", "items": {"$ref": "#/components/schemas/Mount"}}
        }
      },
      "FeedPage": {
        "type": "object",
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/FeedItem"}},
          "next_cursor": {"type": "string", "nullable": true}
        }
      }
    }
  }
})json";
}

}  // namespace hutong::host
