// OpenAPI documentation of the search routes (search_routes.cpp).
#include "host/search/search_routes.h"

namespace hutong::host {

const http::OpenApiFragment& SearchOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/open/v1/deals/sync": {
    "post": {
      "summary": "Upsert the calling app's deals in the host's index (offline ones leave search)",
      "description": "Only the signing app's deals are touched. Deals are searchable at once: title, brand, category and city are tokenized (CJK bigrams and unigrams, lowercased Latin words).",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["deals"],
        "properties": {"deals": {"type": "array", "minItems": 1, "maxItems": 500, "items": {"$ref": "#/components/schemas/DealIndexEntry"}}}}}}},
      "responses": {"200": {"description": "Deals stored", "content": {"application/json": {"schema": {"type": "object", "properties": {"synced": {"type": "integer"}}}}}},
                    "400": {"$ref": "#/components/responses/Problem"},
                    "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/search": {
    "get": {
      "summary": "Search deals and videos in Chinese or Latin text",
      "description": "All query words must match (Chinese as overlapping bigrams, one character as itself; Latin as lowercased words; a few traditional characters fold to simplified). Ranked by relevance, then sales. city filters deals and videos; category filters deals only.",
      "tags": ["search"],
      "parameters": [
        {"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 64}, "description": "1..64 bytes of UTF-8"},
        {"name": "city", "in": "query", "schema": {"type": "string"}},
        {"name": "category", "in": "query", "schema": {"type": "string", "enum": ["catering", "hotel", "homestay", "scenic", "leisure", "beauty", "script_murder"]}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page (opaque)"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}
      ],
      "responses": {"200": {"description": "A page of results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SearchPage"}}}},
                    "400": {"$ref": "#/components/responses/Problem"}}
    }
  }
})json",
                                               R"json({
  "DealIndexEntry": {
    "type": "object", "required": ["deal_id", "title", "type", "category", "city", "price_fen", "original_price_fen"],
    "properties": {
      "deal_id": {"type": "string", "maxLength": 64}, "title": {"type": "string", "maxLength": 200},
      "brand_name": {"type": "string"}, "type": {"type": "string", "enum": ["set_meal", "voucher", "multi_use", "reservation"]},
      "category": {"type": "string"}, "city": {"type": "string"},
      "price_fen": {"type": "integer", "minimum": 1}, "original_price_fen": {"type": "integer", "minimum": 0},
      "commission_bps": {"type": "integer", "minimum": 0, "maximum": 10000},
      "lat": {"type": "number"}, "lng": {"type": "number"}, "sales": {"type": "integer", "minimum": 0},
      "status": {"type": "string", "enum": ["online", "offline"], "default": "online"}
    }
  },
  "SearchItem": {
    "type": "object", "required": ["kind", "id", "title"],
    "description": "A deal (app_id, deal_id, brand_name, price_fen, original_price_fen, city, category, sales, deal_url) or a video (creator, cover_url, city)",
    "properties": {
      "kind": {"type": "string", "enum": ["deal", "video"]}, "id": {"type": "string"}, "title": {"type": "string"},
      "app_id": {"type": "string"}, "deal_id": {"type": "string"}, "brand_name": {"type": "string"},
      "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"}, "city": {"type": "string"},
      "category": {"type": "string"}, "sales": {"type": "integer"}, "deal_url": {"type": "string"},
      "cover_url": {"type": "string"},
      "creator": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
    }
  },
  "SearchPage": {
    "type": "object",
    "properties": {
      "items": {"type": "array", "items": {"$ref": "#/components/schemas/SearchItem"}},
      "next_cursor": {"type": "string", "nullable": true}
    }
  }
})json"};
  return kFragment;
}

}  // namespace hutong::host
