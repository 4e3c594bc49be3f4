#include "common/credentials.h"

#include <algorithm>
#include <utility>

#include "common/crypto.h"
#include "common/password.h"
#include "common/random.h"

namespace hutong {

SessionToken NewSessionToken(std::string_view prefix) {
  SessionToken t;
  t.token = std::string(prefix) + RandomHex(32);
  t.hash = SessionTokenHash(t.token);
  return t;
}

std::string SessionTokenHash(std::string_view token) {
  return Sha256Hex(token);
}

std::optional<std::string_view> BearerToken(std::optional<std::string_view> authorization) {
  if (!authorization) return std::nullopt;
  constexpr std::string_view kScheme = "bearer";
  std::string_view h = *authorization;
  if (h.size() <= kScheme.size() + 1 || h[kScheme.size()] != ' ') return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = h[i] >= 'A' && h[i] <= 'Z' ? static_cast<char>(h[i] - 'A' + 'a') : h[i];
    if (c != kScheme[i]) return std::nullopt;
  }
  std::string_view token = h.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.size() > kMaxBearerTokenLength) return std::nullopt;
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 0x7f; }))
    return std::nullopt;
  return token;
}

bool VerifyPasswordOrDummy(std::string_view password, const std::string* stored_hash) {
  if (stored_hash != nullptr) return VerifyPassword(password, *stored_hash);
  // Hashed once per process; a failure to hash (out of memory) leaves an unparsable hash,
  // which verifies as false quickly — still correct, only less uniform in time.
  static const std::string kDummy = [] {
    auto hash = HashPassword("not-a-real-password");
    return hash.ok() ? std::move(hash).value() : std::string();
  }();
  VerifyPassword(password, kDummy);
  return false;
}

}  // namespace hutong
