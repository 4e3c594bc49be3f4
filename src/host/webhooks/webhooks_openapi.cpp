// OpenAPI documentation of the webhook delivery routes (webhooks_routes.cpp).
#include "host/webhooks/webhooks_routes.h"

namespace hutong::host {

const http::OpenApiFragment& WebhooksOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/api/admin/apps/{app_id}/deliveries": {
    "get": {
      "summary": "Webhook events of an app, newest first, with their delivery state",
      "tags": ["webhooks"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                     {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}],
      "responses": {"200": {"description": "A page of deliveries", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}}, "next_cursor": {"type": "string", "nullable": true}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}/deliveries/{event_id}": {
    "get": {
      "summary": "One event with the log of every delivery attempt",
      "tags": ["webhooks"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "event_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "The delivery", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Delivery"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}/deliveries/{event_id}/replay": {
    "post": {
      "summary": "Deliver an event again now (same event id: receivers deduplicate)",
      "tags": ["webhooks"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "event_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"202": {"description": "Queued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Delivery"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}/test-event": {
    "post": {
      "summary": "Queue an app.test event to check the app's webhook receiver",
      "tags": ["webhooks"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"data": {"type": "object"}}}}}},
      "responses": {"201": {"description": "Queued", "content": {"application/json": {"schema": {"type": "object", "properties": {"event_id": {"type": "string"}, "type": {"type": "string"}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}}
    }
  }
})json",
                                               R"json({
  "Delivery": {"type": "object", "properties": {
    "event_id": {"type": "string"}, "type": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
    "attempts": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"},
    "next_attempt_at": {"type": "string", "format": "date-time", "nullable": true},
    "delivered_at": {"type": "string", "format": "date-time", "nullable": true}, "last_error": {"type": "string"},
    "log": {"type": "array", "items": {"type": "object", "properties": {
      "attempt": {"type": "integer"}, "started_at": {"type": "string", "format": "date-time"}, "duration_ms": {"type": "integer"},
      "status_code": {"type": "integer", "nullable": true}, "error": {"type": "string"}, "replay": {"type": "boolean"}}}}}}
})json"};
  return kFragment;
}

}  // namespace hutong::host
