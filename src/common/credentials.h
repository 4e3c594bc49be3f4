// What every password login of ours shares (host users, merchant staff): bearer session
// tokens that are stored only as hashes, and password checks that take as long for an
// unknown account as for a known one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hutong {

// Bearer tokens longer than this are refused before any hashing or lookup.
inline constexpr size_t kMaxBearerTokenLength = 200;

struct SessionToken {
  std::string token;  // `prefix` + 64 hex characters (256 random bits); shown to the client once
  std::string hash;   // what is stored: SessionTokenHash(token)
};

// A fresh token from the CSPRNG. The prefix ("stf_", "utok_") lets people and secret
// scanners tell tokens apart; it adds no secrecy.
SessionToken NewSessionToken(std::string_view prefix);

// The stored form of a token: lowercase hex SHA-256. A plain hash (no salt, no argon2) is
// enough because the token has 256 bits of entropy, and it keeps lookups one indexed read.
std::string SessionTokenHash(std::string_view token);

// The token of an `Authorization` header value `Bearer <token>` (scheme case-insensitive,
// RFC 7235). nullopt when the header is absent, has another scheme, or the token is empty,
// too long or holds characters outside visible ASCII.
std::optional<std::string_view> BearerToken(std::optional<std::string_view> authorization);

// Verifies `password` against `stored_hash`, or — when there is no account (nullptr) —
// against a fixed dummy hash and returns false, so response times do not reveal which
// accounts exist.
bool VerifyPasswordOrDummy(std::string_view password, const std::string* stored_hash);

}  // namespace hutong
