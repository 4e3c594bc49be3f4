// OpenAPI documentation of the content routes (content_routes.cpp).
#include "host/content/content_routes.h"

namespace hutong::host {

const http::OpenApiFragment& ContentOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
 "/api/feed": {
  "get": {
   "summary": "Published videos, newest first, with their creator and mounted deals",
   "parameters": [
    {
     "name": "cursor",
     "in": "query",
     "description": "next_cursor of the previous page",
     "schema": {
      "type": "string"
     }
    },
    {
     "name": "limit",
     "in": "query",
     "schema": {
      "type": "integer",
      "minimum": 1,
      "maximum": 50,
      "default": 10
     }
    }
   ],
   "responses": {
    "200": {
     "description": "A page of the feed",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/FeedPage"
       }
      }
     }
    },
    "400": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "content"
   ]
  }
 }
})json",
                                               R"json({
 "Mount": {
  "type": "object",
  "properties": {
   "app_id": {
    "type": "string"
   },
   "deal_id": {
    "type": "string"
   },
   "title": {
    "type": "string"
   },
   "price_fen": {
    "type": "integer"
   },
   "original_price_fen": {
    "type": "integer"
   },
   "deal_url": {
    "type": "string",
    "description": "The deal in the app's mini-program API"
   }
  }
 },
 "FeedItem": {
  "type": "object",
  "properties": {
   "id": {
    "type": "string"
   },
   "title": {
    "type": "string"
   },
   "description": {
    "type": "string"
   },
   "cover_url": {
    "type": "string"
   },
   "video_url": {
    "type": "string"
   },
   "city": {
    "type": "string"
   },
   "tags": {
    "type": "array",
    "items": {
     "type": "string"
    }
   },
   "views": {
    "type": "integer"
   },
   "likes": {
    "type": "integer"
   },
   "created_at": {
    "type": "string",
    "format": "date-time"
   },
   "creator": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "avatar_url": {
      "type": "string"
     }
    }
   },
   "mounts": {
    "type": "array",
    "items": {
     "$ref": "#/components/schemas/Mount"
    }
   }
  }
 },
 "FeedPage": {
  "type": "object",
  "properties": {
   "items": {
    "type": "array",
    "items": {
     "$ref": "#/components/schemas/FeedItem"
    }
   },
   "next_cursor": {
    "type": "string",
    "nullable": true
   }
  }
 }
})json"};
  return kFragment;
}

}  // namespace hutong::host
