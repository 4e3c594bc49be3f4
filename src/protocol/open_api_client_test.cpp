#include "protocol/open_api_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <thread>

#include "protocol/problem.h"
#include "protocol/signing.h"

namespace hutong::protocol {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kNowMs = 1'700'000'000'000;

// The http::Request a server would hand its handler for `sent`, as the host sees it.
http::Request AsReceived(const http::ClientRequest& sent, std::string_view origin) {
  http::Request r;
  r.method = http::ParseMethod(sent.method);
  EXPECT_EQ(sent.url.substr(0, origin.size()), origin);
  r.target = sent.url.substr(origin.size());
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  for (const auto& [name, value] : sent.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(lower, value);
  }
  r.body = sent.body;
  return r;
}

OpenApiClientConfig Config(std::string base_url) {
  return {std::move(base_url), "app_provider", "sk_provider", 2s};
}

std::vector<std::string> ProviderSecrets(const std::string& app) {
  return app == "app_provider" ? std::vector<std::string>{"sk_provider"} : std::vector<std::string>{};
}

std::optional<std::string> FindHeader(const http::ClientRequest& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

TEST(OpenApiClient, RejectsUnusableConfigurations) {
  ManualClockForTest clock(kNowMs);
  for (std::string_view url : {"", "https://host", "ftp://host/", "http://", "http:///x", "http://host?x=1",
                               "http://host/#f", "http://user@host/", "http://ho st/"}) {
    auto c = OpenApiClient::Create(Config(std::string(url)), clock);
    ASSERT_FALSE(c.ok()) << url;
    EXPECT_EQ(c.error().code, ErrorCode::kValidationFailed);
  }
  OpenApiClientConfig no_secret = Config("http://host");
  no_secret.app_secret.clear();
  EXPECT_FALSE(OpenApiClient::Create(no_secret, clock).ok());
  OpenApiClientConfig no_app = Config("http://host");
  no_app.app_id.clear();
  EXPECT_FALSE(OpenApiClient::Create(no_app, clock).ok());
}

TEST(OpenApiClient, BuildsRequestsTheVerifierAccepts) {
  ManualClockForTest clock(kNowMs);
  auto client = OpenApiClient::Create(Config("http://127.0.0.1:8080"), clock);
  ASSERT_TRUE(client.ok()) << client.error().detail;
  const std::string body = R"({"deals":[{"deal_id":"deal_1","title":"新年好食记"}]})";
  auto sent =
      client->BuildRequest("POST", "/open/v1/deals/sync?city=%E5%8C%97", body, {{"Idempotency-Key", "k-1"}});
  ASSERT_TRUE(sent.ok()) << sent.error().detail;
  EXPECT_EQ(sent->method, "POST");
  EXPECT_EQ(sent->url, "http://127.0.0.1:8080/open/v1/deals/sync?city=%E5%8C%97");
  EXPECT_EQ(sent->body, body);
  EXPECT_EQ(sent->timeout, 2s);
  EXPECT_EQ(FindHeader(*sent, "Content-Type"), "application/json");
  EXPECT_EQ(FindHeader(*sent, "Idempotency-Key"), "k-1");
  EXPECT_EQ(FindHeader(*sent, "X-Hutong-App-Id"), "app_provider");
  EXPECT_EQ(FindHeader(*sent, "X-Hutong-Timestamp"), "1700000000");

  InMemoryNonceStore nonces(clock);
  auto app = VerifySignedRequest(AsReceived(*sent, "http://127.0.0.1:8080"), ProviderSecrets, nonces, clock);
  ASSERT_TRUE(app.ok()) << app.error().detail;
  EXPECT_EQ(*app, "app_provider");

  // Every request gets its own nonce, so sending the same call twice is not a replay.
  auto again = client->BuildRequest("POST", "/open/v1/deals/sync?city=%E5%8C%97", body);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(
      VerifySignedRequest(AsReceived(*again, "http://127.0.0.1:8080"), ProviderSecrets, nonces, clock).ok());
}

TEST(OpenApiClient, SignsThePathPrefixOfTheBaseUrl) {
  ManualClockForTest clock(kNowMs);
  auto client = OpenApiClient::Create(Config("http://127.0.0.1:8080/hutong/"), clock);
  ASSERT_TRUE(client.ok());
  auto sent = client->BuildRequest("GET", "/open/v1/jscode2session?js_code=abc", "");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->url, "http://127.0.0.1:8080/hutong/open/v1/jscode2session?js_code=abc");
  EXPECT_FALSE(FindHeader(*sent, "Content-Type").has_value());  // no body, no content type
  InMemoryNonceStore nonces(clock);
  const http::Request received = AsReceived(*sent, "http://127.0.0.1:8080");
  EXPECT_EQ(received.target, "/hutong/open/v1/jscode2session?js_code=abc");
  EXPECT_TRUE(VerifySignedRequest(received, ProviderSecrets, nonces, clock).ok());
}

TEST(OpenApiClient, RefusesWhatItCannotSignFaithfully) {
  ManualClockForTest clock(kNowMs);
  auto client = OpenApiClient::Create(Config("http://127.0.0.1:8080"), clock);
  ASSERT_TRUE(client.ok());
  for (std::string_view path : {"", "open/v1/x", "/a b", "/a#frag", "/北京", "/a\r\nX: y"}) {
    auto r = client->BuildRequest("GET", path, "");
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed);
  }
  for (std::string_view method : {"", "get", "GET X", "G\nET"}) {
    EXPECT_FALSE(client->BuildRequest(method, "/x", "").ok()) << method;
  }
  auto r = client->BuildRequest("POST", "/x", "{}", {{"x-hutong-nonce", "mine-mine-mine-mine"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed);
  // A caller may choose its own content type.
  auto csv = client->BuildRequest("POST", "/x", "a,b", {{"content-type", "text/csv"}});
  ASSERT_TRUE(csv.ok());
  EXPECT_FALSE(FindHeader(*csv, "Content-Type").has_value());
  EXPECT_EQ(FindHeader(*csv, "content-type"), "text/csv");
}

// A loopback server that answers one connection with a canned response and keeps the raw
// request bytes, so the test sees exactly what went over the wire.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, response = std::move(response)] { Serve(response); });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The request as received; call after the exchange.
  const std::string& raw() const { return raw_; }

 private:
  void Serve(const std::string& response) {
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    timeval tv{5, 0};
    ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    size_t need = std::string::npos;
    while (need == std::string::npos || raw_.size() < need) {
      const ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0) break;
      raw_.append(buf, static_cast<size_t>(n));
      const size_t end = raw_.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        std::string lower = raw_.substr(0, end);
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (const size_t cl = lower.find("\r\ncontent-length:"); cl != std::string::npos) {
          length = std::stoul(lower.substr(cl + 17));
        }
        need = end + 4 + length;
      }
    }
    ::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(conn);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string raw_;
};

// Parses a raw HTTP/1.1 request (well-formed, as our client sends) into what a handler sees.
http::Request ParseRaw(const std::string& raw) {
  http::Request r;
  const size_t head_end = raw.find("\r\n\r\n");
  const std::string head = raw.substr(0, head_end);
  r.body = raw.substr(head_end + 4);
  size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.rfind(' ');
  r.method = http::ParseMethod(request_line.substr(0, sp1));
  r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line =
        head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const size_t colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers.emplace_back(name, value);
  }
  return r;
}

std::string HttpResponse(int status, std::string_view content_type, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string(body);
}

TEST(OpenApiClient, WhatGoesOverTheWireVerifies) {
  OneShotServer server(HttpResponse(201, "application/json", R"({"pay_order_id":"pay_1"})"));
  const Clock& clock = SystemClock::Instance();
  auto client = OpenApiClient::Create(Config(server.origin() + "/"), clock);
  ASSERT_TRUE(client.ok());
  const std::string body = R"({"order_id":"ord_1","amount_fen":1990})";
  auto v = client->CallJson("POST", "/open/v1/pay-orders?x=%20", body, {{"Idempotency-Key", "ord_1"}});
  ASSERT_TRUE(v.ok()) << v.error().detail << " / " << v.error().internal;
  EXPECT_EQ(v->at("pay_order_id").as_string(), "pay_1");

  const http::Request received = ParseRaw(server.raw());
  EXPECT_EQ(received.target, "/open/v1/pay-orders?x=%20");
  EXPECT_EQ(received.body, body);
  EXPECT_EQ(received.Header("idempotency-key"), "ord_1");
  EXPECT_EQ(received.Header("content-type"), "application/json");
  InMemoryNonceStore nonces(clock);
  auto app = VerifySignedRequest(received, ProviderSecrets, nonces, clock);
  EXPECT_TRUE(app.ok()) << app.error().detail;
}

TEST(OpenApiClient, CallReturnsErrorAnswersAsResponses) {
  OneShotServer server(HttpResponse(409, "application/problem+json", R"({"code":"out_of_stock"})"));
  auto client = OpenApiClient::Create(Config(server.origin()), SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  auto r = client->Call("POST", "/open/v1/x", "{}");
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r->status, 409);
}

TEST(OpenApiClient, CallJsonMapsProblemsBackToOurCodes) {
  OneShotServer server(
      HttpResponse(409, "application/problem+json",
                   R"({"type":"https://hutong.dev/problems/out_of_stock","title":"Out of stock",)"
                   R"("status":409,"detail":"deal_1 is sold out","code":"out_of_stock"})"));
  auto client = OpenApiClient::Create(Config(server.origin()), SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  auto v = client->CallJson("POST", "/open/v1/x", "{}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kOutOfStock);
  EXPECT_EQ(v.error().detail, "deal_1 is sold out");
  EXPECT_NE(v.error().internal.find("409"), std::string::npos) << v.error().internal;
}

TEST(OpenApiClient, TransportFailureIsUnavailable) {
  uint16_t port = 0;
  {
    // Bind and close at once: nothing listens on the port afterwards.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  auto client =
      OpenApiClient::Create(Config("http://127.0.0.1:" + std::to_string(port)), SystemClock::Instance());
  ASSERT_TRUE(client.ok());
  auto r = client->Call("GET", "/open/v1/x", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto v = client->CallJson("GET", "/open/v1/x", "");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kUnavailable);
}

TEST(ErrorCodeFromName, InvertsErrorCodeName) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kInternal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    EXPECT_EQ(ErrorCodeFromName(ErrorCodeName(code)), code) << ErrorCodeName(code);
  }
  EXPECT_EQ(ErrorCodeFromName("invalid_signature"), ErrorCode::kInvalidSignature);
  EXPECT_EQ(ErrorCodeFromName("internal"), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeFromName("no_such_code"), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName(""), std::nullopt);
  EXPECT_EQ(ErrorCodeFromName("Invalid_Signature"), std::nullopt);
}

http::ClientResponse Answer(int status, std::string body) {
  http::ClientResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(JsonFromResponse, MapsEveryKindOfAnswer) {
  const auto code_of = [](int status, std::string body) {
    auto v = JsonFromResponse(Answer(status, std::move(body)), "GET http://host/x");
    return v.ok() ? std::optional<ErrorCode>() : std::optional<ErrorCode>(v.error().code);
  };
  // Our own codes come back as they were.
  EXPECT_EQ(code_of(401, R"({"code":"invalid_signature","detail":"x"})"), ErrorCode::kInvalidSignature);
  EXPECT_EQ(code_of(422, R"({"code":"idempotency_key_reused"})"), ErrorCode::kIdempotencyMismatch);
  EXPECT_EQ(code_of(429, R"({"code":"rate_limited"})"), ErrorCode::kRateLimited);
  EXPECT_EQ(code_of(404, R"({"code":"not_found"})"), ErrorCode::kNotFound);
  // 5xx: the dependency is down, whatever it says.
  EXPECT_EQ(code_of(500, R"({"code":"internal"})"), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(503, R"({"code":"unavailable"})"), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(502, "<html>bad gateway</html>"), ErrorCode::kUnavailable);
  // No code of ours: the closest code for the status.
  EXPECT_EQ(code_of(404, "<html>not found</html>"), ErrorCode::kNotFound);
  EXPECT_EQ(code_of(400, R"({"code":"some_other_vendor_code"})"), ErrorCode::kValidationFailed);
  EXPECT_EQ(code_of(409, R"({"code":42})"), ErrorCode::kConflict);
  EXPECT_EQ(code_of(418, "teapot"), ErrorCode::kInternal);
  EXPECT_EQ(code_of(302, ""), ErrorCode::kInternal);
  // 2xx.
  EXPECT_EQ(code_of(200, R"({"a":1})"), std::nullopt);
  EXPECT_EQ(code_of(200, "not json"), ErrorCode::kUnavailable);
  auto empty = JsonFromResponse(Answer(204, ""), "x");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->is_null());
  auto array = JsonFromResponse(Answer(200, "[1,2]"), "x");
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(array->as_array().size(), 2u);
}

TEST(ErrorFromResponse, PassesTheDetailOnAndKeepsTheCallForTheLog) {
  const Error e = ErrorFromResponse(Answer(409, R"({"code":"conflict","detail":"order is already paid"})"),
                                    "POST http://host/open/v1/pay-orders");
  EXPECT_EQ(e.code, ErrorCode::kConflict);
  EXPECT_EQ(e.detail, "order is already paid");
  EXPECT_NE(e.internal.find("POST http://host/open/v1/pay-orders"), std::string::npos);
  const Error down =
      ErrorFromResponse(Answer(500, R"({"code":"internal","detail":"SQL exploded"})"), "GET x");
  EXPECT_EQ(down.detail.find("SQL"), std::string::npos);  // an upstream 500's detail is not ours to show
  EXPECT_NE(down.internal.find("SQL exploded"), std::string::npos);
  const Error huge = ErrorFromResponse(
      Answer(400, R"({"code":"validation_failed","detail":")" + std::string(100000, 'x') + "\"}"), "GET x");
  EXPECT_LE(huge.detail.size(), 1024u);
}

}  // namespace
}  // namespace hutong::protocol
