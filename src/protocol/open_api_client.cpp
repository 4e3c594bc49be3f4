#include "protocol/open_api_client.h"

#include <algorithm>

#include "protocol/problem.h"
#include "protocol/signing.h"

namespace hutong::protocol {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

// Visible ASCII only: what goes on the request line must be sent, and signed, byte for byte.
bool IsVisibleAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

bool IsMethodToken(std::string_view m) {
  return !m.empty() && m.size() <= 16 &&
         std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

Result<OpenApiClient> OpenApiClient::Create(OpenApiClientConfig config, const Clock& clock) {
  const auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kValidationFailed,
                 "open API client for '" + config.base_url + "': " + std::string(why));
  };
  constexpr std::string_view kScheme = "http://";
  if (!StartsWithIgnoringCase(config.base_url, kScheme)) return bad("base URL must start with http://");
  const std::string_view rest = std::string_view(config.base_url).substr(kScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.empty()) return bad("base URL has no host");
  if (!IsVisibleAscii(rest) || rest.find_first_of("?#@") != std::string_view::npos) {
    return bad("base URL must be http://host[:port][/prefix], without query, fragment or credentials");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (config.app_id.empty()) return bad("app id is empty");
  if (config.app_secret.empty()) return bad("app secret is empty");
  std::string origin = std::string(config.base_url.substr(0, kScheme.size())) + std::string(authority);
  return OpenApiClient(std::move(config), std::move(origin), std::string(path), clock);
}

OpenApiClient::OpenApiClient(OpenApiClientConfig config, std::string origin, std::string base_path,
                             const Clock& clock)
    : config_(std::move(config)),
      origin_(std::move(origin)),
      base_path_(std::move(base_path)),
      clock_(&clock) {}

Result<http::ClientRequest> OpenApiClient::BuildRequest(std::string_view method,
                                                        std::string_view path_with_query,
                                                        std::string_view body_json,
                                                        const HeaderList& extra_headers) const {
  if (!IsMethodToken(method)) return Invalid("method must be an upper-case token such as GET or POST");
  if (path_with_query.empty() || path_with_query.front() != '/' || !IsVisibleAscii(path_with_query) ||
      path_with_query.find('#') != std::string_view::npos) {
    return Invalid("path must start with '/' and be percent-encoded visible ASCII without a fragment");
  }
  bool has_content_type = false;
  for (const auto& [name, value] : extra_headers) {
    if (StartsWithIgnoringCase(name, "x-hutong-")) {
      return Invalid("header '" + name + "' is set by the open API client itself");
    }
    has_content_type |= IEquals(name, "content-type");
  }

  const std::string target = base_path_ + std::string(path_with_query);
  const SignedHeaders signed_headers =
      SignRequest(config_.app_id, config_.app_secret, method, target, body_json, *clock_);

  http::ClientRequest request;
  request.method = std::string(method);
  request.url = origin_ + target;
  request.timeout = config_.timeout;
  request.body = std::string(body_json);
  request.headers = signed_headers.Pairs();
  if (!body_json.empty() && !has_content_type)
    request.headers.emplace_back("Content-Type", "application/json");
  request.headers.insert(request.headers.end(), extra_headers.begin(), extra_headers.end());
  return request;
}

Result<http::ClientResponse> OpenApiClient::Call(std::string_view method, std::string_view path_with_query,
                                                 std::string_view body_json,
                                                 const HeaderList& extra_headers) const {
  ASSIGN_OR_RETURN(const http::ClientRequest request,
                   BuildRequest(method, path_with_query, body_json, extra_headers));
  return http::Fetch(request);
}

Result<boost::json::value> OpenApiClient::CallJson(std::string_view method, std::string_view path_with_query,
                                                   std::string_view body_json,
                                                   const HeaderList& extra_headers) const {
  ASSIGN_OR_RETURN(const http::ClientRequest request,
                   BuildRequest(method, path_with_query, body_json, extra_headers));
  ASSIGN_OR_RETURN(const http::ClientResponse response, http::Fetch(request));
  return JsonFromResponse(response, request.method + " " + request.url);
}

}  // namespace hutong::protocol
