// The provider's OpenAPI 3 document, served at /openapi.json. openapi_test keeps it in
// step with the router: every route documented, every documented path routed.
#include "provider/provider.h"

namespace hutong::provider {

const char* ProviderOpenApiJson() {
  return R"json({
  "openapi": "3.0.3",
  "info": {"title": "Hutong provider (services platform mini-program backend)", "version": "1"},
  "servers": [{"url": "http://127.0.0.1:8081"}],
  "paths": {
    "/mp/v1/deals": {
      "get": {
        "summary": "Online deals, newest first",
        "parameters": [
          {"name": "category", "in": "query", "schema": {"type": "string", "enum": ["catering", "hotel", "homestay", "scenic", "leisure", "beauty", "script_murder"]}},
          {"name": "city", "in": "query", "schema": {"type": "string", "maxLength": 64}, "example": "北京"},
          {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}}
        ],
        "responses": {
          "200": {"description": "A page of deals", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DealPage"}}}},
          "400": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/mp/v1/deals/{id}": {
      "get": {
        "summary": "One deal with its brand, stores, slots and live stock",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "deal_01JD0000000000000000000000"}],
        "responses": {
          "200": {"description": "The deal", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Deal"}}}},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/mp/v1/categories": {
      "get": {
        "summary": "The category list",
        "responses": {"200": {"description": "Categories", "content": {"application/json": {"schema": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "name_en": {"type": "string"}}}}}}}}}}
      }
    },
    "/merchant/v1/auth/login": {
      "post": {
        "summary": "Staff login (merchant staff of a brand, or operations)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["account", "password"], "properties": {"account": {"type": "string", "example": "coucou"}, "password": {"type": "string", "example": "demo-pass-1"}}}}}},
        "responses": {
          "200": {"description": "A bearer token", "content": {"application/json": {"schema": {"type": "object", "properties": {"token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}, "staff": {"$ref": "#/components/schemas/Staff"}}}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "401": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/merchant/v1/me": {
      "get": {
        "summary": "The logged-in staff member",
        "security": [{"staffToken": []}],
        "responses": {"200": {"description": "Staff", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Staff"}}}}, "401": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/merchant/v1/stores": {
      "get": {
        "summary": "The stores of the staff member's brand",
        "security": [{"staffToken": []}],
        "responses": {"200": {"description": "Stores"}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
      }
    },
    "/merchant/v1/deals": {
      "post": {
        "summary": "Create a deal for the staff member's brand (operations: for brand_id)",
        "security": [{"staffToken": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DealInput"}}}},
        "responses": {
          "201": {"description": "The new deal", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Deal"}}}},
          "400": {"$ref": "#/components/responses/Problem"},
          "401": {"$ref": "#/components/responses/Problem"},
          "404": {"$ref": "#/components/responses/Problem"}
        }
      }
    },
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3 document"}}}},
    "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "The process is up"}}}},
    "/readyz": {"get": {"summary": "Readiness (database reachable)", "responses": {"200": {"description": "Ready"}, "503": {"$ref": "#/components/responses/Problem"}}}},
    "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}}}}
  },
  "components": {
    "securitySchemes": {"staffToken": {"type": "http", "scheme": "bearer"}},
    "responses": {
      "Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    },
    "schemas": {
      "Staff": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "account": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string", "enum": ["merchant", "ops"]}, "brand_id": {"type": "string", "nullable": true}}
      },
      "DealInput": {
        "type": "object",
        "required": ["type", "category", "title", "price_fen", "original_price_fen", "valid_from", "valid_to", "store_ids"],
        "properties": {
          "brand_id": {"type": "string", "description": "operations only"},
          "type": {"type": "string", "enum": ["set_meal", "voucher", "multi_use", "reservation"]},
          "category": {"type": "string"}, "title": {"type": "string", "maxLength": 200}, "description": {"type": "string"},
          "image_url": {"type": "string"}, "price_fen": {"type": "integer", "minimum": 1}, "original_price_fen": {"type": "integer"},
          "face_value_fen": {"type": "integer", "description": "voucher only, above price_fen"},
          "uses": {"type": "integer", "description": "multi_use only, 2..100"},
          "items": {"type": "array", "description": "set_meal only", "items": {"type": "object", "required": ["name", "price_fen"], "properties": {"name": {"type": "string"}, "quantity": {"type": "integer"}, "price_fen": {"type": "integer"}}}},
          "stock": {"type": "integer", "description": "units on sale (not for reservation)"},
          "slots": {"type": "array", "description": "reservation only", "items": {"type": "object", "required": ["slot", "starts_at", "stock"], "properties": {"slot": {"type": "string"}, "starts_at": {"type": "string", "format": "date-time"}, "stock": {"type": "integer"}}}},
          "valid_from": {"type": "string", "format": "date-time"}, "valid_to": {"type": "string", "format": "date-time"},
          "usage_rules": {"type": "string"}, "refund_policy": {"type": "string", "enum": ["anytime", "no_refund"]},
          "commission_bps": {"type": "integer", "minimum": 0, "maximum": 10000}, "per_user_limit": {"type": "integer"},
          "store_ids": {"type": "array", "items": {"type": "string"}}
        }
      },
      "Problem": {
        "type": "object",
        "required": ["type", "title", "status", "code"],
        "properties": {
          "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
          "detail": {"type": "string"}, "code": {"type": "string", "example": "not_found"}, "instance": {"type": "string"}
        }
      },
      "DealSummary": {
        "type": "object",
        "properties": {
          "id": {"type": "string"}, "type": {"type": "string", "enum": ["set_meal", "voucher", "multi_use", "reservation"]},
          "category": {"type": "string"}, "city": {"type": "string"}, "title": {"type": "string"}, "image_url": {"type": "string"},
          "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"}, "stock_left": {"type": "integer"},
          "sold": {"type": "integer"}, "refund_policy": {"type": "string", "enum": ["anytime", "no_refund"]},
          "brand": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
        }
      },
      "DealPage": {
        "type": "object",
        "properties": {
          "items": {"type": "array", "items": {"$ref": "#/components/schemas/DealSummary"}},
          "next_cursor": {"type": "string", "nullable": true}
        }
      },
      "Deal": {
        "type": "object",
        "properties": {
          "id": {"type": "string"}, "type": {"type": "string"}, "category": {"type": "string"}, "category_name": {"type": "string"},
          "city": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "image_url": {"type": "string"},
          "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"}, "face_value_fen": {"type": "integer"},
          "uses": {"type": "integer"},
          "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "quantity": {"type": "integer"}, "price_fen": {"type": "integer"}}}},
          "stock_total": {"type": "integer"}, "stock_left": {"type": "integer"}, "sold": {"type": "integer"},
          "valid_from": {"type": "string", "format": "date-time"}, "valid_to": {"type": "string", "format": "date-time"},
          "usage_rules": {"type": "string"}, "refund_policy": {"type": "string"}, "commission_bps": {"type": "integer"},
          "per_user_limit": {"type": "integer"}, "status": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
          "brand": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "logo_url": {"type": "string"}}},
          "stores": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"}, "city": {"type": "string"},
            "address": {"type": "string"}, "lat": {"type": "number"}, "lng": {"type": "number"}, "hours": {"type": "string"}, "phone": {"type": "string"}}}},
          "slots": {"type": "array", "items": {"type": "object", "properties": {
            "slot": {"type": "string"}, "starts_at": {"type": "string", "format": "date-time"},
            "stock_total": {"type": "integer"}, "stock_left": {"type": "integer"}}}}
        }
      }
    }
  }
})json";
}

}  // namespace hutong::provider
