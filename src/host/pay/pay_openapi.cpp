// OpenAPI documentation of the payment routes (pay_routes.cpp).
#include "host/pay/pay_routes.h"

namespace hutong::host {

const http::OpenApiFragment& PayOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/open/v1/pay/orders": {
    "post": {
      "summary": "Create a payment order for one of the app's orders (signed)",
      "description": "out_trade_no is unique per app: the same one again returns the same pay order. The payer is named by the openid the app got from jscode2session. Attribution: last click within 7 days wins — the newer of the attribution token and the viewer's latest launch of the app from a video; a token older than 7 days is not attributed (the order still succeeds), a forged one is 422. deal_id (a deal the app synced) sets the creator's commission rate (its commission_bps). Accepts Idempotency-Key; send out_trade_no as the key (the pay order itself then records it, so a retry is answered from the order with Idempotent-Replayed: true, and the key with another body is 422 idempotency_key_reused).",
      "tags": ["payments"], "security": [{"signedRequest": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["out_trade_no", "amount_fen", "description", "openid"],
        "properties": {"out_trade_no": {"type": "string"}, "amount_fen": {"type": "integer", "minimum": 1},
          "description": {"type": "string"}, "openid": {"type": "string"}, "attribution_token": {"type": "string"},
          "deal_id": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}}}}},
      "responses": {
        "201": {"description": "The pay order", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "pay_order_id": {"type": "string"}, "cashier_url": {"type": "string"}, "status": {"type": "string"}, "amount_fen": {"type": "integer"}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/open/v1/pay/orders/{pay_order_id}/close": {
    "post": {
      "summary": "Close one of the app's pending pay orders (signed)",
      "description": "For an order the app could not place after all (e.g. its stock ran out after the pay order was asked for): pending → closed, and the cashier refuses it from then on. Closing a closed pay order again answers it unchanged; a paid one → 409 conflict (refund it instead); another app's or unknown → 404. No body.",
      "tags": ["payments"], "security": [{"signedRequest": []}],
      "parameters": [{"name": "pay_order_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The closed pay order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PayOrder"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/open/v1/pay/refunds": {
    "post": {
      "summary": "Refund part or all of one of the app's paid pay orders (signed)",
      "description": "The money goes back to the payer at once and the app receives refund.succeeded {refund_id, pay_order_id, out_refund_no, amount_fen}. out_refund_no is unique per app: the same one again with the same pay order and amount returns the same refund and moves nothing; with another → 409. Another app's or unknown pay order → 404; not paid, or refunds summing past the amount paid → 409 conflict, nothing changed. Accepts Idempotency-Key.",
      "tags": ["payments"], "security": [{"signedRequest": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["pay_order_id", "out_refund_no", "amount_fen"],
        "properties": {"pay_order_id": {"type": "string"}, "out_refund_no": {"type": "string", "maxLength": 64},
          "amount_fen": {"type": "integer", "minimum": 1}, "reason": {"type": "string", "maxLength": 256}}}}}},
      "responses": {
        "201": {"description": "The refund", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PayRefund"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"},
        "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/cashier/{pay_order_id}": {
    "get": {
      "summary": "The viewer's own pay order and wallet balance, for the cashier page", "tags": ["payments"],
      "security": [{"bearerToken": []}],
      "parameters": [{"name": "pay_order_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The pay order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PayOrder"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/cashier/{pay_order_id}/pay": {
    "post": {
      "summary": "Pay a pay order from the sandbox wallet",
      "description": "Only the pay order's own user (else 404). Paying twice answers the paid order again and never charges twice. Not enough money → 409 conflict 'insufficient balance', nothing changed. On success the app receives payment.succeeded.",
      "tags": ["payments"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "pay_order_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The paid order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PayOrder"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/wallet": {
    "get": {
      "summary": "The viewer's sandbox wallet balance", "tags": ["payments"], "security": [{"bearerToken": []}],
      "responses": {
        "200": {"description": "Balance", "content": {"application/json": {"schema": {"type": "object", "properties": {"balance_fen": {"type": "integer"}, "sandbox": {"type": "boolean"}}}}}},
        "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/wallet/topup": {
    "post": {
      "summary": "Add sandbox money (1 to 1,000,000 fen per call)",
      "description": "Only in sandbox mode (--sandbox, HUTONG_SANDBOX; on by default for the demo); otherwise 403 forbidden.",
      "tags": ["payments"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["amount_fen"],
        "properties": {"amount_fen": {"type": "integer", "minimum": 1, "maximum": 1000000}}}}}},
      "responses": {
        "200": {"description": "New balance", "content": {"application/json": {"schema": {"type": "object", "properties": {"balance_fen": {"type": "integer"}}}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/cashier/{pay_order_id}": {
    "get": {
      "summary": "The cashier page (HTML) a pay order's cashier_url opens",
      "description": "A mobile page (web/cashier.html, compiled into the binary) showing the amount and description; the viewer logs in, pays from the wallet, tops up in sandbox mode and sees the result, all through the JSON routes above.",
      "tags": ["payments"],
      "parameters": [{"name": "pay_order_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
        "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "PayOrder": {"type": "object", "properties": {
    "pay_order_id": {"type": "string"}, "app_id": {"type": "string"}, "out_trade_no": {"type": "string"},
    "amount_fen": {"type": "integer"}, "description": {"type": "string"},
    "status": {"type": "string", "enum": ["pending", "paid", "closed"]}, "cashier_url": {"type": "string"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"}, "created_at": {"type": "string", "format": "date-time"},
    "paid_at": {"type": ["string", "null"], "format": "date-time"}, "balance_fen": {"type": "integer"},
    "sandbox": {"type": "boolean", "description": "Whether top-up (test money) is available"},
    "expired": {"type": "boolean", "description": "GET /api/cashier/{pay_order_id}: still pending but past expires_at, so it can no longer be paid"}}},
  "PayRefund": {"type": "object", "properties": {
    "refund_id": {"type": "string"}, "pay_order_id": {"type": "string"}, "out_refund_no": {"type": "string"},
    "amount_fen": {"type": "integer"}, "status": {"type": "string", "enum": ["succeeded"]},
    "reason": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}
})json"};
  return kFragment;
}

}  // namespace hutong::host
