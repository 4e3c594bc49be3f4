// Password hashing with argon2id (libsodium), for user and staff logins.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hutong {

// Call once at start-up before any other libsodium use (thread-safe, idempotent).
void InitCrypto();
// An encoded argon2id hash (salt and parameters inside), safe to store.
Result<std::string> HashPassword(std::string_view password);
// Constant-time verification against a stored hash.
bool VerifyPassword(std::string_view password, const std::string& stored_hash);

}  // namespace hutong
