// Mini-program users and sessions. A user is (host, openid): the provider never learns
// the viewer's phone number or host user id, and the same person on two hosts is two users.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
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
// in the database is remembered in memory (see kMpSessionCacheMs), so hot callers (a flash
// sale's repeated attempts) skip the read.
Result<MpUser> AuthenticateMpUser(storage::Db& db, const http::Request& req, int64_t now_ms);

// The user of the request's session when this process already knows it, without the
// database (for I/O-thread fast paths); nullopt → call AuthenticateMpUser. Never blocks.
// A remembered session used in the last kMpSessionRefreshAheadMs of its trust is queued for
// the MpSessionRefresher, which re-reads it before the trust runs out.
std::optional<MpUser> CachedMpUser(const http::Request& req, int64_t now_ms);

// Signs the request's session out: its row is deleted and this process forgets it at once
// (other nodes within kMpSessionCacheMs). An unknown or expired token → kUnauthorized.
Status EndMpSession(storage::Db& db, const http::Request& req, int64_t now_ms);

// How long a remembered session is trusted without the database: a session revoked on
// another node (its row deleted) is honoured here for at most this long after this node
// last read it. Never past the session's own expiry; never after EndMpSession on this node.
inline constexpr int64_t kMpSessionCacheMs = 5'000;
// A remembered session used within this much of the end of its trust is re-read (in one
// batch with the others) by the refresher, so a busy session never falls out of memory and
// never costs its request a database read.
inline constexpr int64_t kMpSessionRefreshAheadMs = 2'000;
void ForgetMpSessions();

// Re-reads the sessions of `db` queued by CachedMpUser/AuthenticateMpUser, in batched
// reads: a session still valid is trusted for kMpSessionCacheMs from `now_ms` (never past
// its expiry), one gone or expired is forgotten. Returns how many were re-read. Blocking
// (database); the refresher's loop, and tests.
Result<size_t> RefreshMpSessionsOnce(storage::Db& db, int64_t now_ms);

// Runs RefreshMpSessionsOnce on its own thread every kMpSessionRefreshEveryMs while alive
// (one per provider node, created by the wiring). Requests never wait for it: without it
// sessions simply fall out of memory when their trust ends and are read again.
inline constexpr int64_t kMpSessionRefreshEveryMs = 250;
class MpSessionRefresher {
 public:
  MpSessionRefresher(storage::Db& db, const Clock& clock);
  ~MpSessionRefresher();  // stops and joins the thread
  MpSessionRefresher(const MpSessionRefresher&) = delete;
  MpSessionRefresher& operator=(const MpSessionRefresher&) = delete;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hutong::provider
