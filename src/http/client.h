// A small blocking HTTP/1.1 client for loopback and service-to-service calls (the signed
// open-API client and webhook delivery build on it) and for tests. Call from a blocking
// thread, never from an I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
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
  // Whether the request may be sent a second time if a pooled connection turns out to
  // have been closed by the peer (see Fetch). Unset: GET, HEAD, OPTIONS, PUT and DELETE
  // are, and so is any request carrying an Idempotency-Key header; set it to true for
  // requests whose receiver deduplicates (webhooks, by event id).
  std::optional<bool> replayable;
};

// One request, on an idle keep-alive connection to the same scheme+host+port when the
// process-wide pool holds one, else on a fresh connection; the connection goes back to
// the pool after a complete response that does not say `Connection: close` (never after
// an error, a timeout or a partly read body). The timeout covers connect, write and read.
//
// The retry rule. A pooled connection may have been closed by the peer while it sat idle;
// a liveness check before use catches most of those, but a close can race the request.
// Fetch sends the request again, once, on a fresh connection only when all hold:
//  - the connection came from the pool (a fresh connection is never retried);
//  - the failure is the peer closing or resetting it before a single byte of the response
//    arrived (a timeout, or a failure after the response started, is never retried);
//  - the request is replayable (above). A POST that is not may have been processed by a
//    peer that then died without answering, so it is reported as kUnavailable instead,
//    exactly as a failure on a fresh connection is, and the caller decides.
// Transport failures → kUnavailable.
Result<ClientResponse> Fetch(const ClientRequest& request);

struct ConnectionPoolOptions {
  size_t max_idle_per_origin = 64;
  size_t max_idle_total = 256;
  // Kept below the idle timeout of our own server (60 s), so that the peer rarely closes
  // a connection we are about to use.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(20)};
};

// Replaces the pool's bounds; idle connections beyond the new ones are closed. Any thread.
void ConfigureConnectionPool(const ConnectionPoolOptions& options);

struct ConnectionPoolStats {
  uint64_t opened = 0;   // fresh connections made
  uint64_t reused = 0;   // requests sent on a pooled connection
  uint64_t retried = 0;  // requests sent again after a pooled connection was found closed
  size_t idle = 0;       // idle connections held now
};
ConnectionPoolStats GetConnectionPoolStats();

// Closes every idle connection (tests start from an empty pool with this).
void ClearConnectionPoolForTest();

}  // namespace hutong::http
