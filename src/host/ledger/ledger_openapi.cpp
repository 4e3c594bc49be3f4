// OpenAPI documentation of the ledger routes (ledger_routes.cpp).
#include "host/ledger/ledger_routes.h"

namespace hutong::host {

const http::OpenApiFragment& LedgerOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/open/v1/redemptions": {
    "post": {
      "summary": "Report a redemption of a voucher, or its reversal (signed)",
      "description": "Until the app reports a redemption the paid money stays in the pay order's clearing account. type=redeemed moves amount_fen (what the buyer paid for this use) to the merchant payable of (app, brand_id), the creator's commission payable (floor(amount × the deal's commission_bps / 10000) when the payment was attributed) and the platform fee (floor(amount × 200 / 10000)); the merchant gets every remaining fen. type=reversed posts the exact opposite; a share already settled to the merchant or creator becomes their receivable, deducted from their next settlements (GET /api/admin/receivables). A reversal that arrives before its redemption is kept and the late redemption books nothing. Idempotent per (app, redemption_id): a retry answers the same. Unknown pay order 404; unpaid, more redeemed than paid, or a redemption_id reported with other details 409.",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["event_id", "type", "pay_order_id", "voucher_id", "redemption_id", "amount_fen", "brand_id", "store_id", "at"],
        "properties": {"event_id": {"type": "string"}, "type": {"type": "string", "enum": ["redeemed", "reversed"]},
          "pay_order_id": {"type": "string"}, "voucher_id": {"type": "string"}, "redemption_id": {"type": "string"},
          "amount_fen": {"type": "integer", "minimum": 0}, "brand_id": {"type": "string"}, "store_id": {"type": "string"},
          "deal_id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}},
      "responses": {
        "200": {"description": "The redemption as booked", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RedemptionBooking"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}, "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/creator/earnings": {
    "get": {
      "summary": "The creator's commission: pending, available and settled, per video and per deal",
      "description": "pending: attributed payments not yet redeemed (what redeeming them would accrue); available: accrued on redemption, not yet settled; settled: paid out by daily settlement. accrued_fen per video or deal counts redemptions not reversed. A user who is not a creator gets 404.",
      "tags": ["creators"], "security": [{"bearerToken": []}],
      "responses": {
        "200": {"description": "Earnings", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreatorEarnings"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/open/v1/settlements": {
    "get": {
      "summary": "The calling app's daily settlement statement (signed): its merchants only, JSON or CSV",
      "description": "The same statement as the operator's, restricted to the signing app's merchants (no creator lines), so the app can reconcile its orders against what the host settled.",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "parameters": [
        {"name": "date", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}},
        {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}}
      ],
      "responses": {
        "200": {"description": "The statement", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettlementStatement"}}, "text/csv": {"schema": {"type": "string"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/admin/receivables": {
    "get": {
      "summary": "What merchants and creators owe back: refunds and reversals of money already settled to them (admin)",
      "description": "One line per receivable still owed, largest first. owed_fen is what their next settlements will deduct before paying out; deducted_fen what settlements deducted so far; oldest_outstanding_at the earliest take-back not yet deducted (deductions pay the oldest first); last_change_at the latest movement.",
      "tags": ["settlement"], "security": [{"adminToken": []}],
      "parameters": [
        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["merchant", "creator"]}, "description": "Only merchants' or only creators' receivables (default both)"}
      ],
      "responses": {
        "200": {"description": "Outstanding receivables", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receivables"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/admin/settlements": {
    "get": {
      "summary": "The daily settlement statement of a business day (UTC+8), JSON or CSV (admin)",
      "description": "Per merchant (app + brand): redemptions reported that day and those taken back that day (reversals, and after-sale refunds) with gross, commission, platform fee and net, and what was settled for the day; per creator what was settled. status is open (day not over), unsettled or settled.",
      "tags": ["settlement"], "security": [{"adminToken": []}],
      "parameters": [
        {"name": "date", "in": "query", "required": true, "schema": {"type": "string", "format": "date"}},
        {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}}
      ],
      "responses": {
        "200": {"description": "The statement", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettlementStatement"}}, "text/csv": {"schema": {"type": "string"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    },
    "post": {
      "summary": "Settle a business day that is over (admin; a background job settles the previous day by itself)",
      "description": "Pays out through the ledger what each merchant payable and creator commission payable held at the end of the day and was not settled before, less what the holder owes back (receivable) for refunds of money settled before (deducted_fen). Idempotent per day.",
      "tags": ["settlement"], "security": [{"adminToken": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["date"],
        "properties": {"date": {"type": "string", "format": "date"}}}}}},
      "responses": {
        "200": {"description": "The statement", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SettlementStatement"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "RedemptionBooking": {"type": "object", "properties": {
    "redemption_id": {"type": "string"}, "status": {"type": "string", "enum": ["redeemed", "reversed"]},
    "pay_order_id": {"type": "string"}, "voucher_id": {"type": "string"}, "amount_fen": {"type": "integer"},
    "commission_fen": {"type": "integer"}, "platform_fee_fen": {"type": "integer"}, "merchant_fen": {"type": "integer"}}},
  "CreatorEarnings": {"type": "object", "properties": {
    "creator_id": {"type": "string"}, "pending_fen": {"type": "integer"}, "available_fen": {"type": "integer"},
    "settled_fen": {"type": "integer"},
    "by_video": {"type": "array", "items": {"type": "object", "properties": {"video_id": {"type": "string"}, "title": {"type": "string"},
      "pending_fen": {"type": "integer"}, "accrued_fen": {"type": "integer"}}}},
    "by_deal": {"type": "array", "items": {"type": "object", "properties": {"app_id": {"type": "string"}, "deal_id": {"type": "string", "nullable": true},
      "title": {"type": "string"}, "pending_fen": {"type": "integer"}, "accrued_fen": {"type": "integer"}}}}}},
  "Receivables": {"type": "object", "properties": {
    "items": {"type": "array", "items": {"type": "object", "properties": {
      "kind": {"type": "string", "enum": ["merchant", "creator"]}, "app_id": {"type": "string"}, "brand_id": {"type": "string"},
      "creator_id": {"type": "string"}, "owed_fen": {"type": "integer"}, "deducted_fen": {"type": "integer"},
      "oldest_outstanding_at": {"type": "string", "format": "date-time", "nullable": true},
      "last_change_at": {"type": "string", "format": "date-time", "nullable": true}}}},
    "totals": {"type": "object", "properties": {"merchants_owed_fen": {"type": "integer"}, "creators_owed_fen": {"type": "integer"}}}}},
  "SettlementStatement": {"type": "object", "properties": {
    "date": {"type": "string"}, "timezone": {"type": "string"}, "status": {"type": "string", "enum": ["open", "unsettled", "settled"]},
    "merchants": {"type": "array", "items": {"type": "object", "properties": {
      "app_id": {"type": "string"}, "brand_id": {"type": "string"}, "redemptions": {"type": "integer"}, "redeemed_fen": {"type": "integer"},
      "reversals": {"type": "integer"}, "reversed_fen": {"type": "integer"}, "commission_fen": {"type": "integer"},
      "platform_fee_fen": {"type": "integer"}, "net_fen": {"type": "integer"}, "settled_fen": {"type": "integer"},
      "deducted_fen": {"type": "integer", "description": "Carry-over deducted before paying out: refunds of money settled to this merchant before"}}}},
    "creators": {"type": "array", "items": {"type": "object", "properties": {"creator_id": {"type": "string"}, "settled_fen": {"type": "integer"},
      "deducted_fen": {"type": "integer"}}}},
    "totals": {"type": "object"}}}
})json"};
  return kFragment;
}

}  // namespace hutong::host
