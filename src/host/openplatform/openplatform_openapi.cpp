// OpenAPI documentation of the open-platform routes (openplatform_routes.cpp).
#include "host/openplatform/openplatform_routes.h"

namespace hutong::host {

const http::OpenApiFragment& OpenPlatformOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/api/admin/apps": {
    "post": {
      "summary": "Register a mini-program app; the secret is shown only in this answer",
      "tags": ["open platform admin"], "security": [{"adminToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppInput"}}}},
      "responses": {
        "201": {"description": "The app with its secret", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppWithSecret"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    },
    "get": {
      "summary": "All apps (never their secrets)", "tags": ["open platform admin"], "security": [{"adminToken": []}],
      "responses": {"200": {"description": "Apps", "content": {"application/json": {"schema": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/App"}}}}}}},
                    "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}": {
    "get": {
      "summary": "One app", "tags": ["open platform admin"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "The app", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/App"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}/rotate-secret": {
    "post": {
      "summary": "Issue a new secret; the previous one stays valid for grace_seconds (default 86400)",
      "tags": ["open platform admin"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"grace_seconds": {"type": "integer", "minimum": 0, "maximum": 604800}}}}}},
      "responses": {"200": {"description": "The app with its new secret", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppWithSecret"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/admin/apps/{app_id}/disable": {
    "post": {
      "summary": "Disable an app: its signed requests are refused from now on",
      "tags": ["open platform admin"], "security": [{"adminToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "The app", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/App"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/miniprogram/{app_id}/launch": {
    "post": {
      "summary": "Open an app's mini-program: a one-time login code (5 min) and, from a video, a signed attribution token",
      "tags": ["mini-program"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "app_id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"video_id": {"type": "string"}}}}}},
      "responses": {
        "200": {"description": "Where to open the mini-program", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "code": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
          "attribution_token": {"type": "string", "nullable": true}, "entry_url": {"type": "string"}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/open/v1/ping": {
    "get": {
      "summary": "A signed no-op to check an app's signing code and credentials",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "responses": {"200": {"description": "Signature accepted", "content": {"application/json": {"schema": {"type": "object", "properties": {"app_id": {"type": "string"}, "ok": {"type": "boolean"}}}}}},
                    "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/open/v1/jscode2session": {
    "get": {
      "summary": "Exchange a one-time login code for the user's per-app openid and a session key",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "parameters": [{"name": "js_code", "in": "query", "required": true, "schema": {"type": "string"}}],
      "responses": {"200": {"description": "The session", "content": {"application/json": {"schema": {"type": "object", "properties": {"openid": {"type": "string"}, "session_key": {"type": "string"}}}}}},
                    "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}}
    }
  }
})json",
                                               R"json({
  "AppInput": {"type": "object", "required": ["name", "notify_url", "service_url"],
    "properties": {"name": {"type": "string", "maxLength": 100}, "notify_url": {"type": "string", "format": "uri", "description": "where signed webhooks are posted"},
                   "service_url": {"type": "string", "format": "uri", "description": "the mini-program's base URL"}}},
  "App": {"type": "object", "properties": {
    "app_id": {"type": "string"}, "name": {"type": "string"}, "service_url": {"type": "string"}, "notify_url": {"type": "string"},
    "status": {"type": "string", "enum": ["active", "disabled"]}, "created_at": {"type": "string", "format": "date-time"},
    "secret_rotated_at": {"type": "string", "format": "date-time", "nullable": true},
    "previous_secret_expires_at": {"type": "string", "format": "date-time", "nullable": true}}},
  "AppWithSecret": {"allOf": [{"$ref": "#/components/schemas/App"}, {"type": "object", "properties": {"app_secret": {"type": "string"}}}]}
})json"};
  return kFragment;
}

}  // namespace hutong::host
