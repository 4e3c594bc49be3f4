// A small blocking HTTP/1.1 client for loopback and service-to-service calls (the signed
// open-API client and webhook delivery build on it) and for tests. Call from a blocking
// thread, never from an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace hutong::http {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string Header(std::string_view lower_name) const;
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host:port/path?query (no TLS)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

// One request on a fresh connection. Transport failures → kUnavailable.
Result<ClientResponse> Fetch(const ClientRequest& request);

}  // namespace hutong::http
