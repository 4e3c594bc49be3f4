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
  "/open/v1/campaigns/sync": {
    "post": {
      "summary": "Register the calling app's campaigns: keywords, window and deals",
      "description": "Upserts by slug. While a campaign has not ended, a search whose words are one of its keywords (or its title), tokenized like search, opens with the campaign. status withdrawn hides it.",
      "tags": ["open API"], "security": [{"signedRequest": []}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["campaigns"],
        "properties": {"campaigns": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#/components/schemas/CampaignIndexEntry"}}}}}}},
      "responses": {"200": {"description": "Campaigns stored", "content": {"application/json": {"schema": {"type": "object", "properties": {"synced": {"type": "integer"}}}}}},
                    "400": {"$ref": "#/components/responses/Problem"},
                    "401": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/nearby": {
    "get": {
      "summary": "Stores with online deals near a point, nearest first",
      "description": "Stores of synced deals within radius_m (inclusive) of (lat, lng) by haversine distance, nearest first, each with its online deals (of category when given). Answered from a geo index (SQLite R*Tree, PostgreSQL btree on lat/lng) by a box grown until it holds the page, and an exact distance filter. Paging reaches the nearest 1,000 stores.",
      "tags": ["search"],
      "parameters": [
        {"name": "lat", "in": "query", "required": true, "schema": {"type": "number", "minimum": -90, "maximum": 90}},
        {"name": "lng", "in": "query", "required": true, "schema": {"type": "number", "minimum": -180, "maximum": 180}},
        {"name": "radius_m", "in": "query", "schema": {"type": "number", "minimum": 1, "maximum": 50000, "default": 3000}},
        {"name": "category", "in": "query", "schema": {"type": "string", "enum": ["catering", "hotel", "homestay", "scenic", "leisure", "beauty", "script_murder"]}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "next_cursor of the previous page (opaque)"},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 20}}
      ],
      "responses": {"200": {"description": "A page of stores", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NearbyPage"}}}},
                    "400": {"$ref": "#/components/responses/Problem"}}
    }
  },
  "/api/search": {
    "get": {
      "summary": "Search deals and videos in Chinese or Latin text",
      "description": "All query words must match (Chinese as overlapping bigrams, one character as itself; Latin as lowercased words; a few traditional characters fold to simplified). The first page opens with the campaigns (not yet ended) one of whose keywords is the query. Then ranked by relevance, then distance to lat/lng when given (deals carry distance_m), then sales. city filters deals and videos; category filters deals only.",
      "tags": ["search"],
      "parameters": [
        {"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 64}, "description": "1..64 bytes of UTF-8"},
        {"name": "city", "in": "query", "schema": {"type": "string"}},
        {"name": "category", "in": "query", "schema": {"type": "string", "enum": ["catering", "hotel", "homestay", "scenic", "leisure", "beauty", "script_murder"]}},
        {"name": "lat", "in": "query", "schema": {"type": "number", "minimum": -90, "maximum": 90}, "description": "the viewer's position, with lng"},
        {"name": "lng", "in": "query", "schema": {"type": "number", "minimum": -180, "maximum": 180}},
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
      "status": {"type": "string", "enum": ["online", "offline"], "default": "online"},
      "stores": {"type": "array", "maxItems": 200, "description": "Absent: the host keeps the stores it has; present: replaces them. lat/lng default to the first store's.",
        "items": {"type": "object", "required": ["store_id", "name", "lat", "lng"], "properties": {
          "store_id": {"type": "string"}, "name": {"type": "string"}, "address": {"type": "string"},
          "lat": {"type": "number", "minimum": -90, "maximum": 90}, "lng": {"type": "number", "minimum": -180, "maximum": 180}}}}
    }
  },
  "CampaignIndexEntry": {
    "type": "object", "required": ["slug", "title", "keywords", "starts_at", "ends_at"],
    "properties": {
      "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}, "title": {"type": "string", "maxLength": 100},
      "keywords": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 32}},
      "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
      "deal_ids": {"type": "array", "items": {"type": "string"}},
      "status": {"type": "string", "enum": ["active", "withdrawn"], "default": "active"}
    }
  },
  "NearbyPage": {
    "type": "object",
    "properties": {
      "items": {"type": "array", "items": {"type": "object", "properties": {
        "kind": {"type": "string", "enum": ["store"]}, "app_id": {"type": "string"}, "store_id": {"type": "string"},
        "name": {"type": "string"}, "address": {"type": "string"}, "lat": {"type": "number"}, "lng": {"type": "number"},
        "distance_m": {"type": "integer", "description": "haversine metres, rounded"},
        "deals": {"type": "array", "items": {"type": "object", "properties": {
          "deal_id": {"type": "string"}, "title": {"type": "string"}, "brand_name": {"type": "string"},
          "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"}, "category": {"type": "string"},
          "city": {"type": "string"}, "sales": {"type": "integer"}, "deal_url": {"type": "string"}}}}}}},
      "next_cursor": {"type": "string", "nullable": true}
    }
  },
  "SearchItem": {
    "type": "object", "required": ["kind", "id", "title"],
    "description": "A campaign (app_id, slug, keywords, starts_at and ends_at in +08:00, status running or upcoming, campaign_url), a deal (app_id, deal_id, brand_name, price_fen, original_price_fen, city, category, sales, deal_url, distance_m when lat/lng were given) or a video (creator, cover_url, city)",
    "properties": {
      "kind": {"type": "string", "enum": ["campaign", "deal", "video"]},
      "slug": {"type": "string"}, "keywords": {"type": "array", "items": {"type": "string"}},
      "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
      "status": {"type": "string", "enum": ["running", "upcoming"]}, "campaign_url": {"type": "string"},
      "distance_m": {"type": "integer", "nullable": true}, "id": {"type": "string"}, "title": {"type": "string"},
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
