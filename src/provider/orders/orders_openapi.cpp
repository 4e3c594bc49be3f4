// OpenAPI documentation of the mini-program order routes (orders_routes.cpp).
#include "provider/orders/orders_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& OrdersOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/mp/v1/orders": {
    "post": {
      "summary": "Create an order: reserve stock atomically and open the host's payment order",
      "description": "Campaign price and stock apply while a campaign containing the deal is running; per-user limits count the user's orders that are not cancelled. Accepts Idempotency-Key. When the host cannot be reached the order is cancelled, its stock returned, and 503 answered.",
      "tags": ["orders"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["deal_id", "quantity"],
        "properties": {"deal_id": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1},
          "slot": {"type": "string", "description": "reservation deals: the slot key"},
          "attribution_token": {"type": "string", "description": "from the host's launch, passed on to the payment order"}}}}}},
      "responses": {
        "201": {"description": "The order, waiting for payment", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "order_id": {"type": "string"}, "status": {"type": "string", "enum": ["pending_payment"]}, "amount_fen": {"type": "integer"},
          "pay_order_id": {"type": "string"}, "cashier_url": {"type": "string"}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"},
        "409": {"description": "out_of_stock, or conflict (per-user limit reached, deal no longer valid)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "422": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}
      }
    },
    "get": {
      "summary": "The caller's orders, newest first", "tags": ["orders"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}},
                     {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}],
      "responses": {
        "200": {"description": "A page of orders", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}, "next_cursor": {"type": ["string", "null"]}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/mp/v1/orders/{id}": {
    "get": {
      "summary": "One of the caller's orders with its vouchers (someone else's → 404)", "tags": ["orders"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "Order": {"type": "object", "properties": {
    "order_id": {"type": "string"},
    "status": {"type": "string", "enum": ["pending_payment", "cancelled", "paid", "completed", "refunding", "partially_refunded", "refunded"],
      "description": "Derived from payment_status, the vouchers and the refunds (README, 'Order status'): refunding while a refund is open or a voucher refunding; refunded when every voucher is (or a cancelled order's late payment was) refunded; partially_refunded when some are; paid while some are unused; completed when none is unused (redeemed or expired)."},
    "payment_status": {"type": "string", "enum": ["pending_payment", "paid", "cancelled"]},
    "refunded_fen": {"type": "integer"},
    "refunds": {"type": "array", "items": {"$ref": "#/components/schemas/Refund"}},
    "deal": {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "type": {"type": "string"}, "image_url": {"type": "string"}}},
    "slot": {"type": ["string", "null"]}, "quantity": {"type": "integer"}, "unit_price_fen": {"type": "integer"}, "amount_fen": {"type": "integer"},
    "pay_order_id": {"type": ["string", "null"]}, "cashier_url": {"type": ["string", "null"]},
    "expires_at": {"type": "string", "format": "date-time"}, "created_at": {"type": "string", "format": "date-time"},
    "paid_at": {"type": ["string", "null"], "format": "date-time"}, "campaign_id": {"type": ["string", "null"]},
    "vouchers": {"type": "array", "items": {"$ref": "#/components/schemas/Voucher"}}}},
  "Voucher": {"type": "object", "properties": {
    "id": {"type": "string"}, "code": {"type": "string", "description": "12 digits"},
    "status": {"type": "string", "enum": ["unused", "redeemed", "refunding", "refunded", "expired"]},
    "uses_total": {"type": "integer"}, "uses_left": {"type": "integer"}, "valid_to": {"type": "string", "format": "date-time"}}}
})json"};
  return kFragment;
}

}  // namespace hutong::provider
