// OpenAPI documentation of the catalog routes (catalog_routes.cpp).
#include "provider/catalog/catalog_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& CatalogOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
 "/mp/v1/deals": {
  "get": {
   "summary": "Online deals, newest first",
   "parameters": [
    {
     "name": "category",
     "in": "query",
     "schema": {
      "type": "string",
      "enum": [
       "catering",
       "hotel",
       "homestay",
       "scenic",
       "leisure",
       "beauty",
       "script_murder"
      ]
     }
    },
    {
     "name": "city",
     "in": "query",
     "schema": {
      "type": "string",
      "maxLength": 64
     },
     "example": "北京"
    },
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
     "description": "A page of deals",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/DealPage"
       }
      }
     }
    },
    "400": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "catalog"
   ]
  }
 },
 "/mp/v1/deals/{id}": {
  "get": {
   "summary": "One deal with its brand, stores, slots and live stock",
   "parameters": [
    {
     "name": "id",
     "in": "path",
     "required": true,
     "schema": {
      "type": "string"
     },
     "example": "deal_01JD0000000000000000000000"
    }
   ],
   "responses": {
    "200": {
     "description": "The deal",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Deal"
       }
      }
     }
    },
    "404": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "catalog"
   ]
  }
 },
 "/mp/v1/categories": {
  "get": {
   "summary": "The category list",
   "responses": {
    "200": {
     "description": "Categories",
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "items": {
          "type": "array",
          "items": {
           "type": "object",
           "properties": {
            "code": {
             "type": "string"
            },
            "name": {
             "type": "string"
            },
            "name_en": {
             "type": "string"
            }
           }
          }
         }
        }
       }
      }
     }
    }
   },
   "tags": [
    "catalog"
   ]
  }
 }
})json",
                                               R"json({
 "DealSummary": {
  "type": "object",
  "properties": {
   "id": {
    "type": "string"
   },
   "type": {
    "type": "string",
    "enum": [
     "set_meal",
     "voucher",
     "multi_use",
     "reservation"
    ]
   },
   "category": {
    "type": "string"
   },
   "city": {
    "type": "string"
   },
   "title": {
    "type": "string"
   },
   "image_url": {
    "type": "string"
   },
   "price_fen": {
    "type": "integer"
   },
   "original_price_fen": {
    "type": "integer"
   },
   "stock_left": {
    "type": "integer"
   },
   "sold": {
    "type": "integer"
   },
   "refund_policy": {
    "type": "string",
    "enum": [
     "anytime",
     "no_refund"
    ]
   },
   "brand": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     }
    }
   }
  }
 },
 "DealPage": {
  "type": "object",
  "properties": {
   "items": {
    "type": "array",
    "items": {
     "$ref": "#/components/schemas/DealSummary"
    }
   },
   "next_cursor": {
    "type": "string",
    "nullable": true
   }
  }
 },
 "Deal": {
  "type": "object",
  "properties": {
   "id": {
    "type": "string"
   },
   "type": {
    "type": "string"
   },
   "category": {
    "type": "string"
   },
   "category_name": {
    "type": "string"
   },
   "city": {
    "type": "string"
   },
   "title": {
    "type": "string"
   },
   "description": {
    "type": "string"
   },
   "image_url": {
    "type": "string"
   },
   "price_fen": {
    "type": "integer"
   },
   "original_price_fen": {
    "type": "integer"
   },
   "face_value_fen": {
    "type": "integer"
   },
   "uses": {
    "type": "integer"
   },
   "items": {
    "type": "array",
    "items": {
     "type": "object",
     "properties": {
      "name": {
       "type": "string"
      },
      "quantity": {
       "type": "integer"
      },
      "price_fen": {
       "type": "integer"
      }
     }
    }
   },
   "stock_total": {
    "type": "integer"
   },
   "stock_left": {
    "type": "integer"
   },
   "sold": {
    "type": "integer"
   },
   "valid_from": {
    "type": "string",
    "format": "date-time"
   },
   "valid_to": {
    "type": "string",
    "format": "date-time"
   },
   "usage_rules": {
    "type": "string"
   },
   "refund_policy": {
    "type": "string"
   },
   "commission_bps": {
    "type": "integer"
   },
   "per_user_limit": {
    "type": "integer"
   },
   "status": {
    "type": "string"
   },
   "created_at": {
    "type": "string",
    "format": "date-time"
   },
   "updated_at": {
    "type": "string",
    "format": "date-time"
   },
   "brand": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "name": {
      "type": "string"
     },
     "logo_url": {
      "type": "string"
     }
    }
   },
   "stores": {
    "type": "array",
    "items": {
     "type": "object",
     "properties": {
      "id": {
       "type": "string"
      },
      "name": {
       "type": "string"
      },
      "category": {
       "type": "string"
      },
      "city": {
       "type": "string"
      },
      "address": {
       "type": "string"
      },
      "lat": {
       "type": "number"
      },
      "lng": {
       "type": "number"
      },
      "hours": {
       "type": "string"
      },
      "phone": {
       "type": "string"
      }
     }
    }
   },
   "slots": {
    "type": "array",
    "items": {
     "type": "object",
     "properties": {
      "slot": {
       "type": "string"
      },
      "starts_at": {
       "type": "string",
       "format": "date-time"
      },
      "stock_total": {
       "type": "integer"
      },
      "stock_left": {
       "type": "integer"
      }
     }
    }
   }
  }
 }
})json"};
  return kFragment;
}

}  // namespace hutong::provider
