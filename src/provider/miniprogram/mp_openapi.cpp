// OpenAPI documentation of the mini-program session and webhook routes (mp_routes.cpp).
#include "provider/miniprogram/mp_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& MiniProgramOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/mp/v1/session": {
    "post": {
      "summary": "Exchange a host's one-time login code for a mini-program session",
      "description": "The provider calls the host's signed GET /open/v1/jscode2session. A user is (host, openid).",
      "tags": ["mini-program"],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code"],
        "properties": {"code": {"type": "string"}, "host": {"type": "string", "description": "which connected host issued the code; optional when there is only one"}}}}}},
      "responses": {
        "200": {"description": "A session", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "session_token": {"type": "string"}, "openid": {"type": "string"}, "host": {"type": "string"}, "user_id": {"type": "string"},
          "expires_at": {"type": "string", "format": "date-time"}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}
      }
    },
    "delete": {
      "summary": "Sign this session out",
      "description": "The session token stops working at once on the node that answers, and within 5 s on every other provider node (each may remember a session it read for that long).",
      "tags": ["mini-program"], "security": [{"bearerToken": []}],
      "responses": {"204": {"description": "Signed out"}, "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/mp/v1/me": {
    "get": {
      "summary": "The mini-program user of this session", "tags": ["mini-program"], "security": [{"bearerToken": []}],
      "responses": {"200": {"description": "The user", "content": {"application/json": {"schema": {"type": "object", "properties": {
        "user_id": {"type": "string"}, "host": {"type": "string"}, "openid": {"type": "string"}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/mp/v1/webhooks/{host}": {
    "post": {
      "summary": "Signed webhooks from a connected host (Hutong-Signature: t=…,v1=…); duplicates are acknowledged and ignored",
      "description": "One event, or a batch {events: [event, …]} (at most the number the answer's Hutong-Webhook-Batch header advertises, 64): the batch's events are handled in one transaction, in order; when one fails it alone is answered failed (and retried by the host) and the others are processed once each. Every 2xx answer carries Hutong-Webhook-Batch.",
      "tags": ["webhooks"],
      "parameters": [{"name": "host", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "Hutong-Signature", "in": "header", "required": true, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
        {"type": "object", "required": ["id", "type"],
         "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "created_at": {"type": "string"}, "data": {"type": "object"}}},
        {"type": "object", "required": ["events"],
         "properties": {"events": {"type": "array", "maxItems": 64, "items": {"type": "object", "required": ["id", "type"]}}}}]}}}},
      "responses": {
        "200": {"description": "Received (or a duplicate); for a batch, one result per event in order",
          "headers": {"Hutong-Webhook-Batch": {"description": "Events per POST this receiver accepts", "schema": {"type": "integer"}}},
          "content": {"application/json": {"schema": {"type": "object", "properties": {
          "received": {"type": "boolean"}, "event_id": {"type": "string"}, "duplicate": {"type": "boolean"},
          "results": {"type": "array", "items": {"type": "object", "properties": {"event_id": {"type": "string"},
            "status": {"type": "string", "enum": ["processed", "duplicate", "failed"]}, "detail": {"type": "string"}}}}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json"};
  return kFragment;
}

}  // namespace hutong::provider
