// OpenAPI documentation of the refund routes (refunds_routes.cpp).
#include "provider/refunds/refunds_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& RefundsOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/mp/v1/orders/{id}/refunds": {
    "post": {
      "summary": "Refund vouchers of one of the caller's paid orders",
      "description": "Without after_sale: unused vouchers, when the deal's refund_policy is anytime (no_refund → 409); the vouchers become refunding, whole unused units go back on sale, and the host gives the money back (unit price, or a multi-use card's unused share: unit price × uses_left / uses_total); refund.succeeded closes it. With after_sale: true: redeemed vouchers, at most 30 days after their redemption; the refund waits for the merchant (awaiting_merchant) and is approved automatically after 24 h. Someone else's order, or a voucher not in it → 404; a voucher in another state → 409; nothing changes then. Accepts Idempotency-Key.",
      "tags": ["refunds"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                     {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["voucher_ids"],
        "properties": {"voucher_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100},
          "reason": {"type": "string", "maxLength": 256}, "after_sale": {"type": "boolean", "default": false}}}}}},
      "responses": {
        "201": {"description": "The refund", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refund"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"},
        "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/merchant/v1/refunds": {
    "get": {
      "summary": "The staff's brand's refunds, newest first", "tags": ["refunds"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": ["awaiting_merchant", "requested", "failed", "stuck", "succeeded", "rejected"]}},
                     {"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}},
                     {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}],
      "responses": {
        "200": {"description": "A page of refunds", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/Refund"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/ops/v1/refunds": {
    "get": {
      "summary": "Every brand's refunds, newest first (operations staff); status=stuck lists those the host kept refusing",
      "tags": ["ops"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": ["awaiting_merchant", "requested", "failed", "stuck", "succeeded", "rejected"]}},
                     {"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}},
                     {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}],
      "responses": {
        "200": {"description": "A page of refunds", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/Refund"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/ops/v1/refunds/{id}/retry": {
    "post": {
      "summary": "Send a stuck refund to the host again, once (operations staff)",
      "description": "A refund the host refused too often stops as stuck; after the cause is fixed operations send it again. Refused again, it is stuck again at once. Unknown → 404; a refund that is not stuck → 409.",
      "tags": ["ops"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The refund after the attempt", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refund"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/merchant/v1/refunds/{id}/approve": {
    "post": {
      "summary": "Approve an after-sale refund awaiting the merchant; the money goes back through the host",
      "description": "Staff of the deal's brand only (else 404). A refund not awaiting the merchant (approved, rejected, …) → 409.",
      "tags": ["refunds"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The refund", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refund"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/merchant/v1/refunds/{id}/reject": {
    "post": {
      "summary": "Reject an after-sale refund awaiting the merchant; its vouchers are redeemed again",
      "description": "Staff of the deal's brand only (else 404). A refund not awaiting the merchant → 409.",
      "tags": ["refunds"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The refund", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refund"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "Refund": {"type": "object", "properties": {
    "refund_id": {"type": "string"}, "order_id": {"type": "string"},
    "kind": {"type": "string", "enum": ["user", "expiry", "after_sale", "failed_issuance"]},
    "status": {"type": "string", "enum": ["awaiting_merchant", "requested", "failed", "stuck", "succeeded", "rejected"],
      "description": "failed: the host call failed and is retried (next_attempt_at); stuck: the host refused it 8 times and nobody retries it until operations do (POST /ops/v1/refunds/{id}/retry)"},
    "next_attempt_at": {"type": ["string", "null"], "format": "date-time"}, "last_error": {"type": "string"},
    "amount_fen": {"type": "integer"}, "reason": {"type": "string"},
    "voucher_ids": {"type": "array", "items": {"type": "string"}},
    "decided_at": {"type": ["string", "null"], "format": "date-time"}, "created_at": {"type": "string", "format": "date-time"},
    "succeeded_at": {"type": ["string", "null"], "format": "date-time"}, "attempts": {"type": "integer"}}}
})json"};
  return kFragment;
}

}  // namespace hutong::provider
