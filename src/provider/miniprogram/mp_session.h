// Mini-program users and sessions. A user is (host, openid): the provider never learns
// the viewer's phone number or host user id, and the same person on two hosts is two users.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "http/message.h"
#include "provider/hosts/host_directory.h"
#include "storage/db.h"

namespace hutong::provider {

inline constexpr int64_t kMpSessionTtlMs = 24LL * 3600 * 1000;

struct MpUser {
  std::string id;  // mpu_...
  std::string host;
  std::string openid;
};

struct MpSession {
  std::string token;  // shown once; only its SHA-256 is stored
  int64_t expires_at;
  MpUser user;
};

// Exchanges a host login code (signed jscode2session at that host) for a provider session.
// An unknown host → kValidationFailed; a bad code → the host's answer (kValidationFailed);
// a host that cannot be reached → kUnavailable.
Result<MpSession> StartMpSession(storage::Db& db, const HostDirectory& hosts, const std::string& host,
                                 const std::string& code, int64_t now_ms);

// `Authorization: Bearer <session_token>` → the user, else kUnauthorized. A session found
// in the database is remembered in memory for kMpSessionCacheMs (never past its expiry), so
// hot callers (a flash sale's repeated attempts) skip the read.
Result<MpUser> AuthenticateMpUser(storage::Db& db, const http::Request& req, int64_t now_ms);

// The user of the request's session when this process already knows it, without the
// database (for I/O-thread fast paths); nullopt → call AuthenticateMpUser. Never blocks.
std::optional<MpUser> CachedMpUser(const http::Request& req, int64_t now_ms);

// How long a remembered session is trusted without the database. Sessions are never revoked
// before their expiry today (no logout); a future revocation must call ForgetMpSessions
// on its node, and other nodes may honour the session for this much longer.
inline constexpr int64_t kMpSessionCacheMs = 5'000;
void ForgetMpSessions();

}  // namespace hutong::provider
