// The hosts this provider is connected to: for each, its name (used in URLs and as the
// user's namespace), the signed open-API client and the secrets its webhooks are signed
// with. One provider can serve several content platforms at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "protocol/open_api_client.h"

namespace hutong::provider {

struct HostConnection {
  std::string name;      // [a-z0-9_-]{1,32}, e.g. "local", "kuaishou"
  std::string base_url;  // http://127.0.0.1:8080
  std::string app_id;
  std::string app_secret;
};

// Immutable after start-up; safe to read from any thread.
class HostDirectory {
 public:
  // Validates every connection (name format, unique names, client config).
  static Result<std::unique_ptr<HostDirectory>> Create(const std::vector<HostConnection>& hosts,
                                                       const Clock& clock);
  // Parses the JSON list of --provider-hosts: [{"name","url","app_id","app_secret"}, ...].
  static Result<std::vector<HostConnection>> ParseConfig(std::string_view json_text);

  // nullptr when unknown.
  const protocol::OpenApiClient* Client(const std::string& name) const;
  const HostConnection* Connection(const std::string& name) const;
  // The only host when there is exactly one, else empty: lets single-host callers omit it.
  std::string DefaultHost() const;
  std::vector<std::string> Names() const;

 private:
  struct Entry {
    HostConnection connection;
    protocol::OpenApiClient client;
  };
  std::map<std::string, Entry> hosts_;
};

}  // namespace hutong::provider
