// OpenAPI documentation of the content routes (content_routes.cpp).
#include "host/content/content_routes.h"

namespace hutong::host {

const http::OpenApiFragment& ContentOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
  "/api/feed": {
    "get": {
      "summary": "Published videos, newest first, with their creator and mounted deals",
      "description": "Order: created_at then id, newest first. When the viewer's city is known (the city parameter, else the logged-in user's city) that city's videos come first, then all others. The opaque cursor remembers the position and the city, so pages never repeat or skip a video even while videos are added; on later pages the cursor's city wins. With a token each item carries liked_by_me; a bad token is 401.",
      "tags": ["content"], "security": [{}, {"bearerToken": []}],
      "parameters": [
        {"name": "cursor", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
        {"name": "city", "in": "query", "description": "the viewer's city (e.g. 北京)", "schema": {"type": "string", "maxLength": 64}}
      ],
      "responses": {
        "200": {"description": "A page of the feed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FeedPage"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/creators": {
    "post": {
      "summary": "Become a creator (once per user)",
      "description": "avatar_url is an http(s) URL or a /static/ path. A user who already is a creator → 409. Accepts Idempotency-Key.",
      "tags": ["content"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 64}, "avatar_url": {"type": "string", "maxLength": 500},
          "bio": {"type": "string", "maxLength": 1000}}}}}},
      "responses": {
        "201": {"description": "The creator", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Creator"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/creators/{creator_id}": {
    "get": {
      "summary": "A creator's public profile and published videos, newest first",
      "tags": ["content"], "security": [{}, {"bearerToken": []}],
      "parameters": [
        {"name": "creator_id", "in": "path", "required": true, "schema": {"type": "string"}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}}
      ],
      "responses": {
        "200": {"description": "Profile and a page of videos", "content": {"application/json": {"schema": {"allOf": [
          {"$ref": "#/components/schemas/FeedPage"},
          {"type": "object", "properties": {"creator": {"$ref": "#/components/schemas/Creator"}}}]}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/videos": {
    "post": {
      "summary": "Publish a video with mounted deals (creators only)",
      "description": "Each mount must be an online deal the app has synced (POST /open/v1/deals/sync); an unknown or offline one → 422 unprocessable naming it. At most 5 mounts, 20 tags. Not a creator → 403. Indexed for search at once. Accepts Idempotency-Key.",
      "tags": ["content"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VideoInput"}}}},
      "responses": {
        "201": {"description": "The video page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VideoPage"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/videos/{video_id}": {
    "get": {
      "summary": "The video page: video, creator and every mounted deal with its price and status",
      "description": "A hidden video is shown only to its owner (else 404).",
      "tags": ["content"], "security": [{}, {"bearerToken": []}],
      "parameters": [{"name": "video_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The video", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VideoPage"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    },
    "patch": {
      "summary": "Edit the owner's video: text, tags, mounts (replaced as a whole), or hide it",
      "description": "Only fields present change. Someone else's video → 404. hidden=true takes it out of the feed, search and lists; false brings it back. Reindexed for search.",
      "tags": ["content"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "video_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"allOf": [
        {"$ref": "#/components/schemas/VideoInput"},
        {"type": "object", "properties": {"hidden": {"type": "boolean"}}}]}}}},
      "responses": {
        "200": {"description": "The video page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VideoPage"}}}},
        "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/videos/{video_id}/view": {
    "post": {
      "summary": "Count one view (anonymous allowed)",
      "description": "One atomic increment of the video's counter per call; no per-viewer record.",
      "tags": ["content"],
      "parameters": [{"name": "video_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "The new count", "content": {"application/json": {"schema": {"type": "object", "properties": {
          "video_id": {"type": "string"}, "views": {"type": "integer"}}}}}},
        "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  },
  "/api/videos/{video_id}/like": {
    "post": {
      "summary": "Like a video (idempotent: liking twice counts once)",
      "tags": ["content"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "video_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "Like state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LikeState"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    },
    "delete": {
      "summary": "Take a like back (idempotent)",
      "tags": ["content"], "security": [{"bearerToken": []}],
      "parameters": [{"name": "video_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {
        "200": {"description": "Like state", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LikeState"}}}},
        "401": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}
      }
    }
  }
})json",
                                               R"json({
  "Mount": {"type": "object", "properties": {
    "app_id": {"type": "string"}, "deal_id": {"type": "string"}, "title": {"type": "string"},
    "brand_name": {"type": "string"}, "price_fen": {"type": "integer"}, "original_price_fen": {"type": "integer"},
    "status": {"type": "string", "enum": ["online", "offline"], "description": "The feed and lists show online mounts only"},
    "deal_url": {"type": "string", "description": "The deal in the app's mini-program API"}}},
  "Creator": {"type": "object", "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "avatar_url": {"type": "string"}, "bio": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"}, "videos": {"type": "integer", "description": "published videos"}}},
  "FeedItem": {"type": "object", "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
    "cover_url": {"type": "string"}, "video_url": {"type": "string"}, "city": {"type": "string"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "views": {"type": "integer"}, "likes": {"type": "integer"},
    "liked_by_me": {"type": "boolean", "description": "present when the request carries a user token"},
    "created_at": {"type": "string", "format": "date-time"},
    "creator": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "avatar_url": {"type": "string"}}},
    "mounts": {"type": "array", "items": {"$ref": "#/components/schemas/Mount"}}}},
  "FeedPage": {"type": "object", "properties": {
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/FeedItem"}},
    "next_cursor": {"type": "string", "nullable": true}}},
  "VideoPage": {"allOf": [{"$ref": "#/components/schemas/FeedItem"}, {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["published", "hidden"]}, "updated_at": {"type": "string", "format": "date-time"},
    "mine": {"type": "boolean", "description": "present with a token: the viewer owns the video"}}}]},
  "VideoInput": {"type": "object", "required": ["title", "cover_url", "video_url"], "properties": {
    "title": {"type": "string", "maxLength": 200}, "description": {"type": "string", "maxLength": 4000},
    "cover_url": {"type": "string", "format": "uri"}, "video_url": {"type": "string", "format": "uri"},
    "city": {"type": "string", "maxLength": 64},
    "tags": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 32}},
    "mounts": {"type": "array", "maxItems": 5, "items": {"type": "object", "required": ["app_id", "deal_id"],
      "properties": {"app_id": {"type": "string"}, "deal_id": {"type": "string"}}}}}},
  "LikeState": {"type": "object", "properties": {
    "video_id": {"type": "string"}, "liked": {"type": "boolean"}, "likes": {"type": "integer"}}}
})json"};
  return kFragment;
}

}  // namespace hutong::host
