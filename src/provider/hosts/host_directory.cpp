#include "provider/hosts/host_directory.h"

#include "common/json.h"

namespace hutong::provider {

namespace {

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 32) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<HostDirectory>> HostDirectory::Create(const std::vector<HostConnection>& hosts,
                                                             const Clock& clock) {
  auto dir = std::unique_ptr<HostDirectory>(new HostDirectory());
  for (const auto& h : hosts) {
    if (!ValidName(h.name)) return Invalid("host name '" + h.name + "' must be 1-32 of [a-z0-9_-]");
    if (dir->hosts_.count(h.name)) return Invalid("host '" + h.name + "' is configured twice");
    ASSIGN_OR_RETURN(auto client, protocol::OpenApiClient::Create(
                                      {h.base_url, h.app_id, h.app_secret, std::chrono::seconds(10)}, clock));
    dir->hosts_.emplace(h.name, Entry{h, std::move(client)});
  }
  return dir;
}

Result<std::vector<HostConnection>> HostDirectory::ParseConfig(std::string_view json_text) {
  boost::system::error_code ec;
  auto v = json::parse(json_text, ec);
  if (ec || !v.is_array())
    return Invalid("provider hosts must be a JSON array of {name,url,app_id,app_secret}");
  std::vector<HostConnection> out;
  for (const auto& item : v.as_array()) {
    if (!item.is_object()) return Invalid("each provider host must be an object");
    const auto& o = item.as_object();
    HostConnection h;
    ASSIGN_OR_RETURN(h.name, RequireString(o, "name", 32));
    ASSIGN_OR_RETURN(h.base_url, RequireString(o, "url", 500));
    ASSIGN_OR_RETURN(h.app_id, RequireString(o, "app_id", 128));
    ASSIGN_OR_RETURN(h.app_secret, RequireString(o, "app_secret", 256));
    out.push_back(std::move(h));
  }
  return out;
}

const protocol::OpenApiClient* HostDirectory::Client(const std::string& name) const {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second.client;
}

const HostConnection* HostDirectory::Connection(const std::string& name) const {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second.connection;
}

std::string HostDirectory::DefaultHost() const {
  return hosts_.size() == 1 ? hosts_.begin()->first : "";
}

std::vector<std::string> HostDirectory::Names() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : hosts_) out.push_back(name);
  return out;
}

}  // namespace hutong::provider
