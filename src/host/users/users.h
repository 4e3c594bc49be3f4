// Host user accounts: registration by mainland mobile number, password login to a bearer
// session token, logout, and the token back to who is calling. AuthenticateUser is the one
// way other host modules (mini-program launch, cashier) learn who the viewer is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "http/message.h"
#include "storage/db.h"

namespace hutong::host {

// Who is calling. The full phone number never leaves this module: other modules and
// responses see it masked (138****0000).
struct CurrentUser {
  std::string id;  // usr_…
  std::string nickname;
  std::string phone_masked;
  std::string city;
  int64_t created_at = 0;  // unix ms
};

struct UserSession {
  std::string token;  // shown once; only its SHA-256 is stored
  int64_t expires_at = 0;
  CurrentUser user;
};

struct Registration {
  std::string phone;
  std::string password;
  std::string nickname;
};

inline constexpr int64_t kUserSessionTtlMs = 30LL * 24 * 3600 * 1000;
inline constexpr std::string_view kUserTokenPrefix = "utok_";
inline constexpr size_t kMinPasswordChars = 8;
inline constexpr size_t kMaxPasswordChars = 128;
inline constexpr size_t kMaxNicknameChars = 32;

// Field checks (kValidationFailed with a message naming the rule). Lengths count Unicode
// code points, not bytes.
Status CheckPhone(std::string_view phone);  // mainland mobile: 1[3-9] and 9 more digits
Status CheckPassword(std::string_view password);
Status CheckNickname(std::string_view nickname);  // 1..32, no control or bidi-override characters
// 13800000000 → 138****0000.
std::string MaskPhone(std::string_view phone);

// Creates the account and logs it in. A phone already registered → kConflict.
Result<UserSession> Register(storage::Db& db, const Registration& input, const Clock& clock);

// Checks the password and opens a session valid for kUserSessionTtlMs. An unknown phone or
// a wrong password → kUnauthorized with the same message and about the same time. Rate
// limiting is the caller's (LoginGuard), since it needs the client's address.
Result<UserSession> Login(storage::Db& db, std::string_view phone, std::string_view password, int64_t now_ms);

// Ends the session of the request's bearer token. Unknown, expired or already ended →
// kUnauthorized.
Status Logout(storage::Db& db, const http::Request& req, int64_t now_ms);

// From the request's `Authorization: Bearer <token>`; missing, unknown, logged out or
// expired → kUnauthorized.
Result<CurrentUser> AuthenticateUser(storage::Db& db, const http::Request& req, int64_t now_ms);

}  // namespace hutong::host
