// Fetch: one HTTP/1.1 exchange on a fresh connection, run on a private io_context so that
// one deadline (tcp_stream's timeout) covers connect, write and read.
#include "http/client.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

namespace hutong::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr uint64_t kMaxResponseBody = 64ull << 20;
constexpr uint32_t kMaxResponseHeader = 64 << 10;

struct Url {
  std::string host;  // without brackets
  uint16_t port = 80;
  std::string target;       // path and query, always starting with '/'
  std::string host_header;  // the authority as written
};

Result<Url> ParseUrl(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kValidationFailed, "invalid URL '" + std::string(url) + "': " + std::string(why));
  };
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !beast::iequals(url.substr(0, kScheme.size()), kScheme)) {
    return bad("only http:// is supported");
  }
  std::string_view rest = url.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view target = rest.substr(authority.size());
  target = target.substr(0, target.find('#'));
  if (authority.empty()) return bad("no host");
  if (authority.find('@') != std::string_view::npos) return bad("credentials in URLs are not supported");

  Url out;
  out.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port_text;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    const std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after IPv6 address");
      port_text = after.substr(1);
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port_text = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return bad("bad port");
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.host = std::string(host);
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return out;
}

bool HasControlChars(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos;
}

asio::awaitable<void> Exchange(const ClientRequest& request, const Url& url,
                               std::optional<Result<ClientResponse>>& out) {
  const auto fail = [&](std::string_view step, const error_code& ec) {
    const std::string why = ec == beast::error::timeout
                                ? "timed out after " + std::to_string(request.timeout.count()) + " ms"
                                : ec.message();
    out.emplace(Error(ErrorCode::kUnavailable, "upstream service unavailable",
                      request.method + " " + request.url + ": " + std::string(step) + ": " + why));
  };

  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  // One deadline for connect, write and read together.
  stream.expires_after(request.timeout);

  error_code ec;
  const asio::ip::address literal = asio::ip::make_address(url.host, ec);
  if (!ec) {
    auto [cec] = co_await stream.async_connect(tcp::endpoint(literal, url.port), kAwait);
    if (cec) co_return fail("connect", cec);
  } else {
    // Name resolution is not covered by the deadline; service names resolve locally.
    tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(url.host, std::to_string(url.port), kAwait);
    if (rec) co_return fail("resolve", rec);
    auto [cec, endpoint] = co_await stream.async_connect(endpoints, kAwait);
    (void)endpoint;
    if (cec) co_return fail("connect", cec);
  }

  bhttp::request<bhttp::string_body> req;
  req.method_string(request.method);
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host_header);
  req.set(bhttp::field::user_agent, "hutong/" HUTONG_VERSION);
  // One request per connection: say so, and the server closes after answering.
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();
  auto [wec, written] = co_await bhttp::async_write(stream, req, kAwait);
  (void)written;
  // A server may answer before taking the whole body (413) and stop reading; its answer
  // can still be waiting in our receive buffer, so a failed write is not the end yet.
  if (wec == beast::error::timeout) co_return fail("write", wec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  parser.header_limit(kMaxResponseHeader);
  if (req.method() == bhttp::verb::head) parser.skip(true);
  auto [rec, read] = co_await bhttp::async_read(stream, buffer, parser, kAwait);
  (void)read;
  if (rec) co_return wec ? fail("write", wec) : fail("read", rec);

  auto& msg = parser.get();
  ClientResponse response;
  response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  response.body = std::move(msg.body());
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  out.emplace(std::move(response));
}

}  // namespace

std::string ClientResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

Result<ClientResponse> Fetch(const ClientRequest& request) {
  ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
  if (request.method.empty() || HasControlChars(request.method) ||
      request.method.find(' ') != std::string::npos) {
    return Error(ErrorCode::kValidationFailed, "invalid HTTP method '" + request.method + "'");
  }
  for (const auto& [name, value] : request.headers) {
    if (name.empty() || HasControlChars(name) || HasControlChars(value)) {
      return Error(ErrorCode::kValidationFailed, "invalid request header '" + name + "'");
    }
  }
  asio::io_context io(1);
  std::optional<Result<ClientResponse>> out;
  asio::co_spawn(io, Exchange(request, url, out), [&out, &request](const std::exception_ptr& e) {
    if (!e || out) return;
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
    }
    out.emplace(Error(ErrorCode::kUnavailable, "upstream service unavailable", request.url + ": " + what));
  });
  io.run();
  if (!out)
    return Error(ErrorCode::kUnavailable, "upstream service unavailable", request.url + ": no result");
  return std::move(*out);
}

}  // namespace hutong::http
