// Mini-program login in the code2session pattern: the host gives the viewer a one-time
// code for one app; the app's backend exchanges it (signed) for a per-app openid.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "common/secret_box.h"
#include "storage/db.h"

namespace hutong::host {

inline constexpr int64_t kLoginCodeTtlMs = 5 * 60 * 1000;

struct IssuedCode {
  std::string code;  // clear text, handed to the viewer's client once
  int64_t expires_at;
};

// The app must exist and be active, else kNotFound.
Result<IssuedCode> IssueLoginCode(storage::Db& db, const std::string& app_id, const std::string& user_id,
                                  const std::optional<std::string>& video_id, int64_t now_ms);

struct CodeSession {
  std::string openid;       // stable per (user, app); differs between apps; opaque
  std::string session_key;  // fresh random key for this login
};

// Consumes the code atomically: valid once, only for the app it was issued to, within
// its 5 minutes. Anything else → kValidationFailed "code is invalid or expired" (the same
// answer for every case, so codes cannot be probed).
Result<CodeSession> ExchangeLoginCode(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                      const std::string& code, int64_t now_ms);

// HMAC of (app, user) under a key derived from the master key: reveals nothing about the
// user and cannot be linked across apps.
std::string OpenIdFor(const SecretBox& box, const std::string& app_id, const std::string& user_id);

}  // namespace hutong::host
