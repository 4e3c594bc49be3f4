// The brute-force guard of password login: failures are counted per phone number and per
// client network, and a login is refused (429) while either has used up its allowance.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/rate_limiter.h"

namespace hutong::host {

// The policy documented in the OpenAPI description of POST /api/auth/login.
struct LoginPolicy {
  // Guessing one account's password: a handful of tries per quarter hour.
  RateLimit per_phone{5, 15LL * 60 * 1000};
  // Spraying many accounts from one place. A success does not clear it, so an attacker
  // cannot launder failures with an account of their own.
  RateLimit per_network{20, 15LL * 60 * 1000};
};

// Stateless apart from the limiter; cheap to make per request. Thread-safe as the limiter is.
class LoginGuard {
 public:
  enum class Outcome {
    kSucceeded,         // clears the phone's failures; the network's stay
    kWrongCredentials,  // counts against both
    kNotCounted,        // the attempt never reached a verdict (storage down): counts against neither
  };

  explicit LoginGuard(RateLimiter& limiter, LoginPolicy policy = {}) : limiter_(limiter), policy_(policy) {}

  // Reserves one attempt for (phone, client address) before the password is checked, so
  // that concurrent guesses cannot slip past the count. Refused → nothing is reserved.
  RateDecision Admit(std::string_view phone, std::string_view client_addr);
  // Settles an admitted attempt. Call exactly once after each allowed Admit.
  void Finish(std::string_view phone, std::string_view client_addr, Outcome outcome);

  // The limiter key of a client address: IPv4 as it is, IPv6 by its /64 (a subscriber gets
  // a whole /64, so counting single addresses would be no limit at all), IPv4-mapped IPv6
  // as IPv4. Anything unparsable is used verbatim.
  static std::string NetworkOf(std::string_view addr);

 private:
  static std::string PhoneKey(std::string_view phone);
  static std::string NetworkKey(std::string_view addr);

  RateLimiter& limiter_;
  LoginPolicy policy_;
};

}  // namespace hutong::host
