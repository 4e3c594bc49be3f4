// OpenAPI documentation of the merchant routes (merchant_routes.cpp).
#include "provider/merchant/merchant_routes.h"

namespace hutong::provider {

const http::OpenApiFragment& MerchantOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
 "/merchant/v1/auth/login": {
  "post": {
   "summary": "Staff login (merchant staff of a brand, or operations)",
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "account",
        "password"
       ],
       "properties": {
        "account": {
         "type": "string",
         "example": "coucou"
        },
        "password": {
         "type": "string",
         "example": "demo-pass-1"
        }
       }
      }
     }
    }
   },
   "responses": {
    "200": {
     "description": "A bearer token",
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "token": {
          "type": "string"
         },
         "expires_at": {
          "type": "string",
          "format": "date-time"
         },
         "staff": {
          "$ref": "#/components/schemas/Staff"
         }
        }
       }
      }
     }
    },
    "400": {
     "$ref": "#/components/responses/Problem"
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "merchant"
   ]
  }
 },
 "/merchant/v1/me": {
  "get": {
   "summary": "The logged-in staff member",
   "security": [
    {
     "bearerToken": []
    }
   ],
   "responses": {
    "200": {
     "description": "Staff",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Staff"
       }
      }
     }
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "merchant"
   ]
  }
 },
 "/merchant/v1/stores": {
  "get": {
   "summary": "The stores of the staff member's brand",
   "security": [
    {
     "bearerToken": []
    }
   ],
   "responses": {
    "200": {
     "description": "Stores"
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    },
    "403": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "merchant"
   ]
  }
 },
 "/merchant/v1/deals": {
  "post": {
   "summary": "Create a deal for the staff member's brand (operations: for brand_id)",
   "security": [
    {
     "bearerToken": []
    }
   ],
   "parameters": [
    {
     "name": "Idempotency-Key",
     "in": "header",
     "required": false,
     "description": "1 to 255 printable ASCII characters, unique per intended deal. A retry with the same key and body gets the first answer again (with `Idempotent-Replayed: true`) and creates nothing; the same key with another body is a 422, and while the first request still runs a 409. Keys are kept for 24 h, per caller.",
     "schema": {
      "type": "string",
      "minLength": 1,
      "maxLength": 255
     }
    }
   ],
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/DealInput"
      }
     }
    }
   },
   "responses": {
    "201": {
     "description": "The new deal",
     "headers": {
      "Location": {
       "schema": {
        "type": "string"
       }
      },
      "Idempotent-Replayed": {
       "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
       "schema": {
        "type": "string",
        "enum": [
         "true"
        ]
       }
      }
     },
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Deal"
       }
      }
     }
    },
    "400": {
     "$ref": "#/components/responses/Problem"
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    },
    "404": {
     "$ref": "#/components/responses/Problem"
    },
    "409": {
     "description": "idempotency_key_in_flight: a request with this Idempotency-Key is still running; retry later",
     "content": {
      "application/problem+json": {
       "schema": {
        "$ref": "#/components/schemas/Problem"
       }
      }
     }
    },
    "422": {
     "description": "idempotency_key_reused: this Idempotency-Key was used for a different request",
     "content": {
      "application/problem+json": {
       "schema": {
        "$ref": "#/components/schemas/Problem"
       }
      }
     }
    }
   },
   "tags": [
    "merchant"
   ]
  }
 }
})json",
                                               R"json({
 "Staff": {
  "type": "object",
  "properties": {
   "id": {
    "type": "string"
   },
   "account": {
    "type": "string"
   },
   "name": {
    "type": "string"
   },
   "role": {
    "type": "string",
    "enum": [
     "merchant",
     "ops"
    ]
   },
   "brand_id": {
    "type": "string",
    "nullable": true
   }
  }
 },
 "DealInput": {
  "type": "object",
  "required": [
   "type",
   "category",
   "title",
   "price_fen",
   "original_price_fen",
   "valid_from",
   "valid_to",
   "store_ids"
  ],
  "properties": {
   "brand_id": {
    "type": "string",
    "description": "operations only"
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
   "title": {
    "type": "string",
    "maxLength": 200
   },
   "description": {
    "type": "string"
   },
   "image_url": {
    "type": "string"
   },
   "price_fen": {
    "type": "integer",
    "minimum": 1
   },
   "original_price_fen": {
    "type": "integer"
   },
   "face_value_fen": {
    "type": "integer",
    "description": "voucher only, above price_fen"
   },
   "uses": {
    "type": "integer",
    "description": "multi_use only, 2..100"
   },
   "items": {
    "type": "array",
    "description": "set_meal only",
    "items": {
     "type": "object",
     "required": [
      "name",
      "price_fen"
     ],
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
   "stock": {
    "type": "integer",
    "description": "units on sale (not for reservation)"
   },
   "slots": {
    "type": "array",
    "description": "reservation only",
    "items": {
     "type": "object",
     "required": [
      "slot",
      "starts_at",
      "stock"
     ],
     "properties": {
      "slot": {
       "type": "string"
      },
      "starts_at": {
       "type": "string",
       "format": "date-time"
      },
      "stock": {
       "type": "integer"
      }
     }
    }
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
    "type": "string",
    "enum": [
     "anytime",
     "no_refund"
    ]
   },
   "commission_bps": {
    "type": "integer",
    "minimum": 0,
    "maximum": 10000
   },
   "per_user_limit": {
    "type": "integer"
   },
   "store_ids": {
    "type": "array",
    "items": {
     "type": "string"
    }
   }
  }
 }
})json"};
  return kFragment;
}

}  // namespace hutong::provider
