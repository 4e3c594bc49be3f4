#include "host/users/login_guard.h"

#include <arpa/inet.h>

#include <cstring>

namespace hutong::host {

std::string LoginGuard::NetworkOf(std::string_view addr) {
  std::string text(addr);
  // A scoped link-local address ("fe80::1%eth0") is parsed without its zone.
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) return std::string(addr);
  static constexpr unsigned char kMappedV4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::memcmp(v6, kMappedV4, sizeof kMappedV4) == 0) {
    if (inet_ntop(AF_INET, v6 + 12, out, sizeof out) == nullptr) return std::string(addr);
    return out;
  }
  std::memset(v6 + 8, 0, 8);
  if (inet_ntop(AF_INET6, v6, out, sizeof out) == nullptr) return std::string(addr);
  return std::string(out) + "/64";
}

std::string LoginGuard::PhoneKey(std::string_view phone) {
  return "login.phone:" + std::string(phone);
}
std::string LoginGuard::NetworkKey(std::string_view addr) {
  return "login.net:" + NetworkOf(addr);
}

RateDecision LoginGuard::Admit(std::string_view phone, std::string_view client_addr) {
  const std::string net = NetworkKey(client_addr);
  RateDecision by_net = limiter_.Acquire(net, policy_.per_network);
  if (!by_net.allowed) return by_net;
  RateDecision by_phone = limiter_.Acquire(PhoneKey(phone), policy_.per_phone);
  if (!by_phone.allowed) limiter_.Release(net);
  return by_phone;
}

void LoginGuard::Finish(std::string_view phone, std::string_view client_addr, Outcome outcome) {
  switch (outcome) {
    case Outcome::kWrongCredentials:
      return;  // both reservations stand as failures
    case Outcome::kSucceeded:
      limiter_.Reset(PhoneKey(phone));
      limiter_.Release(NetworkKey(client_addr));
      return;
    case Outcome::kNotCounted:
      limiter_.Release(PhoneKey(phone));
      limiter_.Release(NetworkKey(client_addr));
      return;
  }
}

}  // namespace hutong::host
