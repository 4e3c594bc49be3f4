// OpenAPI documentation of the campaign routes (campaigns_routes.cpp).
#include "provider/campaigns/campaigns_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& CampaignsOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/ops/v1/campaigns": {
    "post": {
      "summary": "Create a campaign (operations staff): keywords, window and deals with campaign price, stock and per-user limit",
      "description": "Times are RFC 3339 with any offset, stored in UTC and shown in Asia/Shanghai (+08:00). Accepts Idempotency-Key. Every connected host is told the campaign (signed POST /open/v1/campaigns/sync through the provider's outbox), so a search for one of its keywords opens with it. Ordering a campaign deal before starts_at is 409 conflict (not started); from ends_at the deal sells at its own price and stock again.",
      "tags": ["campaigns"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["slug", "title", "keywords", "starts_at", "ends_at", "deals"],
        "properties": {
          "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}, "title": {"type": "string", "maxLength": 100},
          "keywords": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 32}},
          "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
          "deals": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "object",
            "required": ["deal_id", "campaign_price_fen", "stock"],
            "properties": {"deal_id": {"type": "string"}, "campaign_price_fen": {"type": "integer", "minimum": 1, "description": "at most the deal's price"},
              "stock": {"type": "integer", "minimum": 0}, "per_user_limit": {"type": "integer", "minimum": 0, "default": 0}}}}}}}}},
      "responses": {
        "201": {"description": "The campaign page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CampaignPage"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/mp/v1/campaigns/{slug}": {
    "get": {
      "summary": "A campaign page: window (+08:00), status and deals with live remaining campaign stock",
      "tags": ["campaigns"],
      "parameters": [{"name": "slug", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The campaign", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CampaignPage"}}}},
        "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "CampaignPage": {
    "type": "object",
    "properties": {
      "id": {"type": "string"}, "slug": {"type": "string"}, "title": {"type": "string"},
      "keywords": {"type": "array", "items": {"type": "string"}},
      "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
      "status": {"type": "string", "enum": ["upcoming", "running", "ended"]},
      "server_time": {"type": "string", "format": "date-time"},
      "deals": {"type": "array", "items": {"type": "object", "properties": {
        "deal_id": {"type": "string"}, "title": {"type": "string"}, "image_url": {"type": "string"}, "type": {"type": "string"},
        "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"}, "campaign_price_fen": {"type": "integer"},
        "stock_total": {"type": "integer"}, "stock_left": {"type": "integer"}, "per_user_limit": {"type": "integer"},
        "sold_out": {"type": "boolean"}}}}
    }
  }
})json"};
  return kFragment;
}

}  // namespace hutong::provider
