#include "host/users/users_routes.h"

#include <algorithm>
#include <memory>

#include "common/json.h"
#include "common/log.h"
#include "host/users/login_guard.h"
#include "host/users/users.h"
#include "protocol/idempotency.h"

namespace hutong::host {

namespace {

// Byte caps applied while reading the body, before the character rules in users.cpp:
// generous enough for any allowed value in 4-byte UTF-8, small enough to bound argon2 input.
constexpr size_t kMaxPhoneBytes = 32;
constexpr size_t kMaxPasswordBytes = kMaxPasswordChars * 4;
constexpr size_t kMaxNicknameBytes = kMaxNicknameChars * 4;

json::object SessionJson(const UserSession& s) {
  return json::object{{"token", s.token},
                      {"expires_at", FormatRfc3339(s.expires_at)},
                      {"user", json::object{{"id", s.user.id}, {"nickname", s.user.nickname}}}};
}

// Tokens and profiles are per person: no shared cache may keep them (RFC 9111 §5.2.2.5).
http::Response Private(http::Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

http::Response TooManyAttempts(const http::Request& req, int64_t retry_after_ms) {
  const int64_t seconds = std::max<int64_t>(1, (retry_after_ms + 999) / 1000);
  http::Response r = http::Response::Problem(
      Error(ErrorCode::kRateLimited,
            "too many failed logins for this phone number or from this network; try again in " +
                std::to_string(seconds) + " s"),
      req.path);
  r.headers.emplace_back("Retry-After", std::to_string(seconds));
  return r;
}

}  // namespace

void RegisterUsersRoutes(http::Router& router, HostDeps deps) {
  // Without an injected limiter, this router's routes share one in-process limiter for as
  // long as they live (one node's worth of counting).
  std::shared_ptr<RateLimiter> limiter =
      deps.rate_limiter ? deps.rate_limiter : std::make_shared<InMemoryRateLimiter>(deps.clock);

  // The answer carries a session token: a replayed answer is stored sealed.
  http::Handler register_user = [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    Registration input;
    ASSIGN_OR_RETURN(input.phone, RequireString(body, "phone", kMaxPhoneBytes));
    ASSIGN_OR_RETURN(input.password, RequireString(body, "password", kMaxPasswordBytes));
    ASSIGN_OR_RETURN(input.nickname, RequireString(body, "nickname", kMaxNicknameBytes));
    ASSIGN_OR_RETURN(auto session, Register(deps.db, input, deps.clock));
    return Private(http::Response::Json(201, SessionJson(session)));
  };
  router.Post("/api/auth/register",
              protocol::WithIdempotency(deps.db, deps.clock, "/api/auth/register", register_user,
                                        protocol::SealedAnswers(deps.box)));

  router.Post("/api/auth/login", [deps, limiter](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto phone, RequireString(body, "phone", kMaxPhoneBytes));
    ASSIGN_OR_RETURN(auto password, RequireString(body, "password", kMaxPasswordBytes));
    // A malformed number cannot be an account: say so without spending a guess.
    RETURN_IF_ERROR(CheckPhone(phone));

    LoginGuard guard(*limiter);
    const RateDecision admitted = guard.Admit(phone, req.remote_addr);
    if (!admitted.allowed) {
      LogWarn("login rate limited", {{"request_id", req.request_id},
                                     {"phone", MaskPhone(phone)},
                                     {"remote", req.remote_addr},
                                     {"retry_after_ms", admitted.retry_after_ms}});
      return TooManyAttempts(req, admitted.retry_after_ms);
    }
    auto session = Login(deps.db, phone, password, deps.clock.NowMs());
    guard.Finish(phone, req.remote_addr,
                 session.ok()                                       ? LoginGuard::Outcome::kSucceeded
                 : session.error().code == ErrorCode::kUnauthorized ? LoginGuard::Outcome::kWrongCredentials
                                                                    : LoginGuard::Outcome::kNotCounted);
    if (!session.ok()) return std::move(session).error();
    return Private(http::Response::Json(200, SessionJson(*session)));
  });

  router.Post("/api/auth/logout", [deps](http::Request& req) -> Result<http::Response> {
    RETURN_IF_ERROR(Logout(deps.db, req, deps.clock.NowMs()));
    http::Response r;
    r.status = 204;
    return r;
  });

  router.Get("/api/me", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto user, AuthenticateUser(deps.db, req, deps.clock.NowMs()));
    return Private(http::Response::Json(200, json::object{{"id", user.id},
                                                          {"nickname", user.nickname},
                                                          {"phone", user.phone_masked},
                                                          {"city", user.city},
                                                          {"created_at", FormatRfc3339(user.created_at)}}));
  });
}

}  // namespace hutong::host
