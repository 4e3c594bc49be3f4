// OpenAPI documentation of redemption at the till and the voucher QR image
// (redemption_routes.cpp).
#include "provider/redemption/redemption_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& RedemptionOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/merchant/v1/vouchers/prepare": {
    "post": {
      "summary": "Look a code up at a store: the order's redeemable vouchers and a one-use verify_token (valid 10 min); changes no voucher",
      "description": "The store must be one of the caller's brand's stores and one of the deal's stores; another brand's store or voucher → 404. Failed prepares count per store: after 100 in an hour → 429 rate_limited. Every attempt is written to the redemption audit log.",
      "tags": ["redemption"], "security": [{"bearerToken": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["code", "store_id"],
        "properties": {"code": {"type": "string", "description": "12 digits"}, "store_id": {"type": "string"}}}}}},
      "responses": {
        "200": {"description": "Redeemable vouchers of the order", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "verify_token": {"type": "string"}, "order_id": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
          "deal": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "type": {"type": "string"}}},
          "vouchers": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "code": {"type": "string"},
            "uses_left": {"type": "integer"}, "valid_to": {"type": "string", "format": "date-time"}}}}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"description": "conflict: the order is not paid or has nothing left to redeem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "429": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/merchant/v1/vouchers/redeem": {
    "post": {
      "summary": "Redeem vouchers of the prepared order: one use each, in one transaction",
      "description": "Idempotent per verify_token: a retry with the same token and the same voucher_ids answers the same redemptions; the same token with other vouchers → 409. A voucher (each use of a multi-use card) is redeemed at most once whatever the concurrency: a voucher already used, expired or not of the token's order → 409 and nothing changes. cancel_deadline is one hour after redeemed_at.",
      "tags": ["redemption"], "security": [{"bearerToken": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["verify_token", "store_id", "voucher_ids"],
        "properties": {"verify_token": {"type": "string"}, "store_id": {"type": "string"},
          "voucher_ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}}}}}}},
      "responses": {
        "200": {"description": "The redemptions", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "redemptions": {"type": "array", "items": {"type": "object", "properties": {"redemption_id": {"type": "string"}, "voucher_id": {"type": "string"},
            "redeemed_at": {"type": "string", "format": "date-time"}, "cancel_deadline": {"type": "string", "format": "date-time"}}}}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"},
        "409": {"description": "conflict: voucher not redeemable, token expired or used for other vouchers", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
      }
    }
  },
  "/merchant/v1/redemptions/{id}/reverse": {
    "post": {
      "summary": "Reverse a redemption before its cancel_deadline: the voucher gets its use back and is unused again",
      "description": "Staff of the store's brand only (else 404). After the deadline → 409. Reversing twice → 409 (the first reversal stands).",
      "tags": ["redemption"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "Reversed", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "redemption_id": {"type": "string"}, "status": {"type": "string", "enum": ["reversed"]}, "reversed_at": {"type": "string", "format": "date-time"},
          "voucher": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "uses_left": {"type": "integer"}}}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/mp/v1/vouchers/{id}/qr.svg": {
    "get": {
      "summary": "The caller's voucher code as a QR code (error correction level M) in SVG; someone else's → 404",
      "tags": ["orders"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The QR image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json"};
  return kFragment;
}

}  // namespace hutong::provider
