// The signed open-API client: how an app (the provider, or a third party written in C++)
// calls a host. Every request carries the X-Hutong-* signature headers of signing.h.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "http/client.h"

namespace hutong::protocol {

struct OpenApiClientConfig {
  // The host's root, http://host:port, optionally with a path prefix (http://host/hutong);
  // the prefix is part of the signed path.
  std::string base_url;
  std::string app_id;
  std::string app_secret;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Immutable once created, so one instance may be used from many threads at once. Calls
// block: use it from a worker thread, never from an I/O thread. To rotate the secret,
// create a new client.
class OpenApiClient {
 public:
  // Fails (kValidationFailed) on a base URL that is not http://authority[/prefix] or an
  // empty app id or secret. `clock` must outlive the client.
  static Result<OpenApiClient> Create(OpenApiClientConfig config, const Clock& clock);

  // The request Call would send now: URL, signed headers, Content-Type: application/json
  // when there is a body (unless `extra_headers` names another), then `extra_headers`
  // (e.g. Idempotency-Key). `path_with_query` starts with '/' and is sent, and signed, as is:
  // percent-encode it first. Extra headers may not be X-Hutong-* ones.
  Result<http::ClientRequest> BuildRequest(std::string_view method, std::string_view path_with_query,
                                           std::string_view body_json,
                                           const HeaderList& extra_headers = {}) const;

  // Signs and sends. Transport failures → kUnavailable; any HTTP answer, 4xx and 5xx
  // included, is returned as a response.
  Result<http::ClientResponse> Call(std::string_view method, std::string_view path_with_query,
                                    std::string_view body_json, const HeaderList& extra_headers = {}) const;

  // Call, then the JSON of a 2xx answer; a non-2xx answer becomes the Error it stands for
  // (see protocol/problem.h: the host's own code when it is one of ours, kUnavailable for
  // 5xx). Callers decide whether to pass such an error on as is: the host's
  // `invalid_signature` means our configuration is wrong, not our caller's request.
  Result<boost::json::value> CallJson(std::string_view method, std::string_view path_with_query,
                                      std::string_view body_json, const HeaderList& extra_headers = {}) const;

  const std::string& app_id() const { return config_.app_id; }
  const std::string& base_url() const { return config_.base_url; }

 private:
  OpenApiClient(OpenApiClientConfig config, std::string origin, std::string base_path, const Clock& clock);

  OpenApiClientConfig config_;
  std::string origin_;     // "http://host:port"
  std::string base_path_;  // "" or "/prefix", never ending in '/'
  const Clock* clock_;
};

}  // namespace hutong::protocol
