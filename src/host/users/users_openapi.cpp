// OpenAPI documentation of the user account routes (users_routes.cpp).
#include "host/users/users_routes.h"

namespace hutong::host {

const http::OpenApiFragment& UsersOpenApi() {
  static const http::OpenApiFragment kFragment{R"json({
 "/api/auth/register": {
  "post": {
   "summary": "Create a viewer account and log it in",
   "description": "The phone number is the login and must be a mainland China mobile number (11 digits, 1[3-9]…). Passwords are 8–128 characters and stored only as argon2id hashes; nicknames 1–32 characters without control characters. Lengths count Unicode characters.",
   "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}, "description": "a retry with the same key and body gets the first answer again"}],
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "phone",
        "password",
        "nickname"
       ],
       "properties": {
        "phone": {
         "type": "string",
         "pattern": "^1[3-9][0-9]{9}$",
         "example": "13912345678"
        },
        "password": {
         "type": "string",
         "minLength": 8,
         "maxLength": 128,
         "format": "password"
        },
        "nickname": {
         "type": "string",
         "minLength": 1,
         "maxLength": 32,
         "example": "小美食家"
        }
       }
      }
     }
    }
   },
   "responses": {
    "201": {
     "description": "The account and a session token",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/UserSession"
       }
      }
     }
    },
    "400": {
     "$ref": "#/components/responses/Problem"
    },
    "409": {
     "description": "phone already registered (code `conflict`)",
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
    "users"
   ]
  }
 },
 "/api/auth/login": {
  "post": {
   "summary": "Log in with phone number and password",
   "description": "Returns a bearer token valid for 30 days (send it as `Authorization: Bearer <token>`); only its SHA-256 is stored. A wrong password and an unknown number get the same 401.\n\nRate limits (sliding 15-minute windows): at most 5 failed logins per phone number and 20 per client network (IPv4 address, or IPv6 /64). Each attempt is counted before the password is checked, so concurrent guesses cannot exceed the limit. While either limit is reached every login for that number or from that network is refused with 429 `rate_limited` and a `Retry-After` header (seconds), even with the right password. A successful login clears the number's failures but not the network's.",
   "requestBody": {
    "required": true,
    "content": {
     "application/json": {
      "schema": {
       "type": "object",
       "required": [
        "phone",
        "password"
       ],
       "properties": {
        "phone": {
         "type": "string",
         "pattern": "^1[3-9][0-9]{9}$",
         "example": "13800000000"
        },
        "password": {
         "type": "string",
         "format": "password",
         "example": "demo-pass-1"
        }
       }
      }
     }
    }
   },
   "responses": {
    "200": {
     "description": "A session token",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/UserSession"
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
    "429": {
     "description": "Too many failed logins for this number or network (code `rate_limited`)",
     "headers": {
      "Retry-After": {
       "description": "Seconds until a login may be tried again",
       "schema": {
        "type": "integer",
        "minimum": 1
       }
      }
     },
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
    "users"
   ]
  }
 },
 "/api/auth/logout": {
  "post": {
   "summary": "End the session of the bearer token",
   "security": [
    {
     "bearerToken": []
    }
   ],
   "responses": {
    "204": {
     "description": "Logged out; the token no longer works"
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "users"
   ]
  }
 },
 "/api/me": {
  "get": {
   "summary": "The logged-in viewer",
   "security": [
    {
     "bearerToken": []
    }
   ],
   "responses": {
    "200": {
     "description": "The viewer's profile; the phone number is masked",
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/Me"
       }
      }
     }
    },
    "401": {
     "$ref": "#/components/responses/Problem"
    }
   },
   "tags": [
    "users"
   ]
  }
 }
})json",
                                               R"json({
 "UserSession": {
  "type": "object",
  "properties": {
   "token": {
    "type": "string",
    "description": "Bearer token; shown only here"
   },
   "expires_at": {
    "type": "string",
    "format": "date-time"
   },
   "user": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string"
     },
     "nickname": {
      "type": "string"
     }
    }
   }
  }
 },
 "Me": {
  "type": "object",
  "properties": {
   "id": {
    "type": "string"
   },
   "nickname": {
    "type": "string"
   },
   "phone": {
    "type": "string",
    "example": "138****0000"
   },
   "city": {
    "type": "string"
   },
   "created_at": {
    "type": "string",
    "format": "date-time"
   }
  }
 }
})json"};
  return kFragment;
}

}  // namespace hutong::host
