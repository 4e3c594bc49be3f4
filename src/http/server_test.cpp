// The server over real loopback TCP: Fetch for well-behaved calls, raw sockets where the
// client has to misbehave (stall, send too much, pipeline).
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <ctime>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "http/client.h"
#include "http/ops_routes.h"

namespace hutong::http {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::string ThreadIdText() {
  std::ostringstream os;
  os << std::this_thread::get_id();
  return os.str();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One HTTP response as read off a raw socket.
struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;
  std::string Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return {};
  }
};

// A blocking loopback client that does exactly what it is told, for the tests where the
// client misbehaves. Reads time out after 5 s so a broken server fails the test instead
// of hanging it.
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    connect_errno_ = connected_ ? 0 : errno;
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }
  int connect_errno() const { return connect_errno_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt if the connection ends (or 5 s pass) first.
  std::optional<RawResponse> Read(bool head_request = false) {
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    RawResponse r;
    std::istringstream lines(buffer_.substr(0, header_end));
    std::string line;
    std::getline(lines, line);
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return std::nullopt;
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers.emplace_back(Lower(line.substr(0, colon)), value);
    }
    buffer_.erase(0, header_end + 4);
    const std::string length = r.Header("content-length");
    const size_t body_size = head_request || length.empty() ? 0 : std::stoul(length);
    while (buffer_.size() < body_size) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buffer_.substr(0, body_size);
    buffer_.erase(0, body_size);
    return r;
  }

  // True if the server closes the connection (FIN or reset) without sending anything more.
  bool ReadsEof() {
    if (!buffer_.empty()) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  int connect_errno_ = 0;
  std::string buffer_;
};

// Keeps a port from being taken by anyone else (other tests, other people's processes on
// a shared machine) once the server lets go of it, so "new connections are refused" is a
// statement about our server. A bound socket that never listens accepts nothing; it may
// join the port because our acceptors use SO_REUSEPORT under the same user.
class PortGuard {
 public:
  explicit PortGuard(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~PortGuard() { ::close(fd_); }
  PortGuard(const PortGuard&) = delete;
  PortGuard& operator=(const PortGuard&) = delete;
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

boost::json::object JsonBody(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  return v.is_object() ? v.as_object() : boost::json::object();
}

void ExpectProblem(int status, const std::string& content_type, const std::string& body, int expected_status,
                   std::string_view code) {
  EXPECT_EQ(status, expected_status) << body;
  EXPECT_EQ(content_type, "application/problem+json");
  auto o = JsonBody(body);
  ASSERT_TRUE(o.contains("code")) << body;
  EXPECT_EQ(o.at("code").as_string(), code) << body;
  EXPECT_EQ(o.at("status").as_int64(), expected_status);
  EXPECT_TRUE(o.contains("type") && o.contains("title") && o.contains("detail")) << body;
}

ServerOptions TestOptions() {
  ServerOptions o;
  o.role = "test";
  o.listen = "127.0.0.1:0";
  o.read_timeout = 300ms;  // short, so the 408 test is quick
  o.idle_timeout = 5s;
  o.access_log = true;
  return o;
}

Handler Text(std::string body) {
  return [body = std::move(body)](Request&) -> Result<Response> { return Response::Text(200, body); };
}

// A runtime, a router with test routes plus the ops routes, and a listening server.
struct Harness {
  explicit Harness(const std::function<void(Router&)>& add_routes = {}, ServerOptions options = TestOptions(),
                   size_t io_threads = 2)
      : runtime(io_threads, 2) {
    router.Get("/ping", Text("pong"), Exec::kInline);
    if (add_routes) add_routes(router);
    AddOpsRoutes(router, metrics, [this]() -> Status {
      if (ready) return Ok();
      return Error(ErrorCode::kInternal, "db down", "connection refused to 10.0.0.1");
    });
    server = std::make_unique<Server>(runtime, router, metrics, std::move(options));
    Status s = server->Listen();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().detail);
    runtime.Start();
  }

  uint16_t port() const { return server->port(); }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
  ClientResponse Get(std::string_view path, std::vector<std::pair<std::string, std::string>> headers = {}) {
    ClientRequest req;
    req.url = Url(path);
    req.headers = std::move(headers);
    req.timeout = 5s;
    auto r = Fetch(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().internal);
    return r.ok() ? std::move(r).value() : ClientResponse{};
  }

  std::atomic<bool> ready{true};
  Runtime runtime;
  Router router;
  Metrics metrics;
  std::unique_ptr<Server> server;  // declared last: destroyed first, while the runtime runs
};

void AddTestRoutes(Router& r) {
  r.Get(
      "/echo/{name}",
      [](Request& req) -> Result<Response> {
        boost::json::object o;
        o["name"] = req.PathParam("name");
        o["q"] = req.Query("q").value_or("<none>");
        return Response::Json(200, o);
      },
      Exec::kInline);
  r.Post("/echo", [](Request& req) -> Result<Response> {
    Response resp = Response::Text(200, req.body, std::string(req.Header("content-type").value_or("none")));
    return resp;
  });
  r.Get("/fail", [](Request&) -> Result<Response> {
    return Error(ErrorCode::kConflict, "the deal is closed", "SECRET: UPDATE deals SET ... failed");
  });
  r.Get(
      "/throw", [](Request&) -> Result<Response> { throw std::runtime_error("boom SECRET"); }, Exec::kInline);
  r.Get("/throw-blocking", [](Request&) -> Result<Response> { throw std::runtime_error("boom SECRET"); });
  r.Get("/bad-status", [](Request&) -> Result<Response> { return Response::Text(1000, "x"); });
  r.Get(
      "/thread/inline", [](Request&) -> Result<Response> { return Response::Text(200, ThreadIdText()); },
      Exec::kInline);
  r.Get("/thread/blocking", [](Request&) -> Result<Response> { return Response::Text(200, ThreadIdText()); });
  r.Get(
      "/headers",
      [](Request&) -> Result<Response> {
        Response resp = Response::Text(200, "h");
        resp.headers = {{"X-Custom", "yes"},
                        {"Set-Cookie", "a=1"},
                        {"Set-Cookie", "b=2"},
                        {"X-Evil", "x\r\nInjected: 1"},
                        {"Content-Length", "999"}};
        return resp;
      },
      Exec::kInline);
  r.Get("/no-content", [](Request&) -> Result<Response> { return Response::Text(204, ""); });
}

class ServerTest : public ::testing::Test {
 protected:
  Harness h_{AddTestRoutes};
};

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "pong");
    EXPECT_EQ(r->Header("connection"), "");  // HTTP/1.1 keeps it open by default
    EXPECT_EQ(r->Header("server"), "hutong");
    EXPECT_EQ(r->Header("content-type"), "text/plain; charset=utf-8");
  }
  // Pipelined: two requests in one write, two answers in order.
  ASSERT_TRUE(c.Send("GET /echo/one HTTP/1.1\r\nHost: t\r\n\r\nGET /echo/two HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto first = c.Read();
  auto second = c.Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(JsonBody(first->body).at("name").as_string(), "one");
  EXPECT_EQ(JsonBody(second->body).at("name").as_string(), "two");
}

TEST_F(ServerTest, ConnectionCloseAndHttp10AreRespected) {
  {
    RawConn c(h_.port());
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(c.ReadsEof());
  }
  {
    RawConn c(h_.port());
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.ReadsEof());
  }
  {
    RawConn c(h_.port());
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(Lower(r->Header("connection")), "keep-alive");
    ASSERT_TRUE(c.Send("GET /ping HTTP/1.0\r\n\r\n"));
    ASSERT_TRUE(c.Read());
  }
}

TEST_F(ServerTest, HeadGetsHeadersWithoutBody) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("HEAD /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "4");
  // Had a body been sent, it would now be read as the next response's status line.
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "pong");
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowedAreProblems) {
  auto r = h_.Get("/nope/nothing");
  ExpectProblem(r.status, r.Header("content-type"), r.body, 404, "not_found");
  EXPECT_EQ(JsonBody(r.body).at("instance").as_string(), "/nope/nothing");

  ClientRequest post;
  post.method = "POST";
  post.url = h_.Url("/ping");
  post.body = "{}";
  auto p = Fetch(post);
  ASSERT_TRUE(p.ok());
  ExpectProblem(p->status, p->Header("content-type"), p->body, 405, "method_not_allowed");
  EXPECT_EQ(p->Header("allow"), "GET, HEAD");
  EXPECT_EQ(JsonBody(p->body).at("instance").as_string(), "/ping");
}

TEST_F(ServerTest, HandlerErrorBecomesProblemWithoutInternalText) {
  auto r = h_.Get("/fail");
  ExpectProblem(r.status, r.Header("content-type"), r.body, 409, "conflict");
  EXPECT_EQ(JsonBody(r.body).at("detail").as_string(), "the deal is closed");
  EXPECT_EQ(JsonBody(r.body).at("instance").as_string(), "/fail");
  EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
}

TEST_F(ServerTest, ThrowingHandlerGives500AndServerKeepsServing) {
  for (const char* path : {"/throw", "/throw-blocking", "/bad-status"}) {
    auto r = h_.Get(path);
    ExpectProblem(r.status, r.Header("content-type"), r.body, 500, "internal");
    EXPECT_EQ(JsonBody(r.body).at("detail").as_string(), "internal error");
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
    EXPECT_EQ(r.body.find("boom"), std::string::npos);
  }
  EXPECT_EQ(h_.Get("/ping").status, 200);
}

TEST_F(ServerTest, PathParamsQueryAndBodyReachHandlers) {
  auto r = h_.Get("/echo/%E5%8C%97%E4%BA%AC?q=hot+pot%21");
  EXPECT_EQ(r.status, 200);
  auto o = JsonBody(r.body);
  EXPECT_EQ(o.at("name").as_string(), "北京");
  EXPECT_EQ(o.at("q").as_string(), "hot pot!");

  ClientRequest post;
  post.method = "POST";
  post.url = h_.Url("/echo");
  post.body = R"({"name":"湊湊"})";
  post.headers = {{"Content-Type", "application/json"}};
  auto p = Fetch(post);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->status, 200);
  EXPECT_EQ(p->body, post.body);
  EXPECT_EQ(p->Header("content-type"), "application/json");
}

// The server reuses one Request per connection: nothing of a request may leak into the next.
TEST(Server, EachRequestOnAConnectionSeesOnlyItsOwnFields) {
  Harness h([](Router& r) {
    const Handler dump = [](Request& req) -> Result<Response> {
      boost::json::object o;
      o["method"] = MethodName(req.method);
      o["target"] = req.target;
      o["path"] = req.path;
      o["query"] = req.query;
      o["body"] = req.body;
      o["id"] = req.PathParam("id");
      o["params"] = req.path_params.size();
      boost::json::array headers;
      for (const auto& [name, value] : req.headers) headers.push_back(boost::json::array{name, value});
      o["headers"] = std::move(headers);
      o["request_id"] = req.request_id;
      return Response::Json(200, o);
    };
    r.Add(Method::kPost, "/dump/{id}", dump, Exec::kInline);
    r.Add(Method::kGet, "/dump", dump);  // on the blocking pool
  });
  RawConn c(h.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(
      "POST /dump/a1?x=1&y=2 HTTP/1.1\r\nHost: t\r\nX-Request-Id: first-id\r\nX-Extra-Header: Value\r\n"
      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}"));
  auto first = c.Read();
  ASSERT_TRUE(first);
  const auto one = JsonBody(first->body);
  EXPECT_EQ(one.at("method").as_string(), "POST");
  EXPECT_EQ(one.at("path").as_string(), "/dump/a1");
  EXPECT_EQ(one.at("query").as_string(), "x=1&y=2");
  EXPECT_EQ(one.at("body").as_string(), "{\"a\":1}");
  EXPECT_EQ(one.at("id").as_string(), "a1");
  EXPECT_EQ(one.at("request_id").as_string(), "first-id");
  EXPECT_EQ(boost::json::serialize(one.at("headers")),
            R"([["host","t"],["x-request-id","first-id"],["x-extra-header","Value"],)"
            R"(["content-type","application/json"],["content-length","7"]])");

  // Fewer headers, no query, no body, no path parameter, no request id of its own.
  ASSERT_TRUE(c.Send("GET /dump HTTP/1.1\r\nHOST: u\r\n\r\n"));
  auto second = c.Read();
  ASSERT_TRUE(second);
  const auto two = JsonBody(second->body);
  EXPECT_EQ(two.at("method").as_string(), "GET");
  EXPECT_EQ(two.at("target").as_string(), "/dump");
  EXPECT_EQ(two.at("path").as_string(), "/dump");
  EXPECT_EQ(two.at("query").as_string(), "");
  EXPECT_EQ(two.at("body").as_string(), "");
  EXPECT_EQ(two.at("params").as_int64(), 0);
  EXPECT_EQ(boost::json::serialize(two.at("headers")), R"([["host","u"]])");
  EXPECT_TRUE(two.at("request_id").as_string().starts_with("req_"));
  EXPECT_EQ(second->Header("x-request-id"), two.at("request_id").as_string());

  // And back to a longer one: the header pairs grow again.
  ASSERT_TRUE(c.Send("POST /dump/b2 HTTP/1.1\r\nHost: v\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n"));
  auto third = c.Read();
  ASSERT_TRUE(third);
  const auto three = JsonBody(third->body);
  EXPECT_EQ(three.at("id").as_string(), "b2");
  EXPECT_EQ(three.at("query").as_string(), "");
  EXPECT_EQ(boost::json::serialize(three.at("headers")),
            R"([["host","v"],["a","1"],["b","2"],["content-length","0"]])");
}

TEST_F(ServerTest, MalformedRequestsGet400) {
  auto r = h_.Get("/echo/%ZZ");
  ExpectProblem(r.status, r.Header("content-type"), r.body, 400, "validation_failed");

  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\nNo colon here\r\n\r\n"));
  auto raw = c.Read();
  ASSERT_TRUE(raw);
  ExpectProblem(raw->status, raw->Header("content-type"), raw->body, 400, "validation_failed");
  EXPECT_EQ(raw->Header("connection"), "close");
  EXPECT_TRUE(c.ReadsEof());

  RawConn absolute(h_.port());
  ASSERT_TRUE(absolute.Send("GET http://elsewhere/ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  raw = absolute.Read();
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400);
}

TEST_F(ServerTest, OversizedContentLengthGets413WithoutReadingTheBody) {
  RawConn c(h_.port());
  // Headers only: the answer must come without the server waiting for 2 MiB of body.
  ASSERT_TRUE(c.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2097152\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  ExpectProblem(r->status, r->Header("content-type"), r->body, 413, "payload_too_large");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.ReadsEof());
}

TEST_F(ServerTest, OversizedUploadThroughFetchGets413) {
  // A real client sends the body right behind the headers; the server answers without
  // buffering it and must not reset the connection before the client has read the 413.
  ClientRequest post;
  post.method = "POST";
  post.url = h_.Url("/echo");
  post.body = std::string(2 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    auto r = Fetch(post);
    ASSERT_TRUE(r.ok()) << r.error().internal;
    ExpectProblem(r->status, r->Header("content-type"), r->body, 413, "payload_too_large");
  }
  EXPECT_EQ(h_.Get("/ping").status, 200);
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  RawConn c(h_.port());
  const size_t chunk = (1 << 20) + 100;  // over the 1 MiB default
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk);
  std::string request = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  request += size_line;
  request += std::string(chunk, 'x');
  request += "\r\n0\r\n\r\n";
  // The server may answer before it has everything; a failed send is fine, a missing
  // answer is not.
  (void)c.Send(request);
  auto r = c.Read();
  ASSERT_TRUE(r);
  ExpectProblem(r->status, r->Header("content-type"), r->body, 413, "payload_too_large");
}

TEST_F(ServerTest, HugeHeaderGets431) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(20 << 10, 'a') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  ExpectProblem(r->status, r->Header("content-type"), r->body, 431, "headers_too_large");
  EXPECT_TRUE(c.ReadsEof());
}

TEST_F(ServerTest, StalledRequestGets408) {
  RawConn c(h_.port());
  const auto start = SteadyClock::now();
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n"));  // never finished
  auto r = c.Read();
  ASSERT_TRUE(r);
  ExpectProblem(r->status, r->Header("content-type"), r->body, 408, "request_timeout");
  EXPECT_LT(SteadyClock::now() - start, 3s);  // read_timeout is 300 ms
  EXPECT_TRUE(c.ReadsEof());
  EXPECT_EQ(h_.Get("/ping").status, 200);
}

TEST_F(ServerTest, StalledBodyGets408) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(JsonBody(r->body).at("instance").as_string(), "/echo");
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto cont = c.Read();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("hello"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST_F(ServerTest, RequestIdIsEchoedOrGenerated) {
  auto r = h_.Get("/ping", {{"X-Request-Id", "abc-123.x_Y"}});
  EXPECT_EQ(r.Header("x-request-id"), "abc-123.x_Y");

  r = h_.Get("/ping");
  const std::string generated = r.Header("x-request-id");
  EXPECT_EQ(generated.rfind("req_", 0), 0u) << generated;
  EXPECT_NE(h_.Get("/ping").Header("x-request-id"), generated);

  for (const std::string& bad :
       {std::string("has space"), std::string("semi;colon"), std::string(129, 'a')}) {
    r = h_.Get("/ping", {{"X-Request-Id", bad}});
    EXPECT_NE(r.Header("x-request-id"), bad);
    EXPECT_EQ(r.Header("x-request-id").rfind("req_", 0), 0u);
  }
  EXPECT_EQ(h_.Get("/ping", {{"X-Request-Id", std::string(128, 'b')}}).Header("x-request-id"),
            std::string(128, 'b'));

  // Problems produced by the server itself carry it too.
  EXPECT_EQ(h_.Get("/nope", {{"X-Request-Id", "trace-1"}}).Header("x-request-id"), "trace-1");
}

TEST_F(ServerTest, MetricsCountRequestsPerRoute) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h_.Get("/ping").status, 200);
  EXPECT_EQ(h_.Get("/echo/a").status, 200);
  EXPECT_EQ(h_.Get("/fail").status, 409);
  EXPECT_EQ(h_.Get("/nope").status, 404);
  auto m = h_.Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = m.body;
  EXPECT_NE(t.find(R"(hutong_http_requests_total{role="test",method="GET",route="/ping",status="200"} 3)"),
            std::string::npos)
      << t;
  EXPECT_NE(
      t.find(R"(hutong_http_requests_total{role="test",method="GET",route="/echo/{name}",status="200"} 1)"),
      std::string::npos);
  EXPECT_NE(t.find(R"(hutong_http_requests_total{role="test",method="GET",route="/fail",status="409"} 1)"),
            std::string::npos);
  EXPECT_NE(
      t.find(R"(hutong_http_requests_total{role="test",method="GET",route="unmatched",status="404"} 1)"),
      std::string::npos);
  EXPECT_NE(t.find(R"(hutong_http_request_duration_seconds_count{role="test",method="GET",route="/ping"} 3)"),
            std::string::npos);
  EXPECT_NE(
      t.find(
          R"(hutong_http_request_duration_seconds_bucket{role="test",method="GET",route="/ping",le="+Inf"} 3)"),
      std::string::npos);
}

TEST_F(ServerTest, BlockingHandlersRunOffTheIoThreads) {
  std::set<std::string> io_threads;
  for (int i = 0; i < 6; ++i) io_threads.insert(h_.Get("/thread/inline").body);
  EXPECT_LE(io_threads.size(), 2u);  // two I/O threads
  for (int i = 0; i < 6; ++i) {
    const std::string blocking = h_.Get("/thread/blocking").body;
    ASSERT_FALSE(blocking.empty());
    EXPECT_EQ(io_threads.count(blocking), 0u) << "blocking handler ran on an I/O thread";
  }
}

TEST_F(ServerTest, ExtraHeadersPassUnsafeOnesAreDropped) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("x-custom"), "yes");
  EXPECT_EQ(r->Header("content-length"), "1");
  EXPECT_EQ(r->Header("x-evil"), "");
  EXPECT_EQ(r->Header("injected"), "");
  int cookies = 0;
  for (const auto& [name, value] : r->headers) cookies += name == "set-cookie";
  EXPECT_EQ(cookies, 2);
  EXPECT_EQ(r->body, "h");
}

TEST_F(ServerTest, NoContentHasNoBodyHeaders) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /no-content HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->Header("content-length"), "");
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "pong");
}

TEST_F(ServerTest, HealthAndReadiness) {
  auto r = h_.Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(JsonBody(r.body).at("status").as_string(), "ok");
  r = h_.Get("/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(JsonBody(r.body).at("status").as_string(), "ready");
  h_.ready = false;
  r = h_.Get("/readyz");
  ExpectProblem(r.status, r.Header("content-type"), r.body, 503, "unavailable");
  EXPECT_EQ(r.body.find("10.0.0.1"), std::string::npos);
}

TEST_F(ServerTest, ManyConcurrentClients) {
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        ClientRequest req;
        req.url = h_.Url(i % 2 ? "/ping" : "/thread/blocking");
        auto r = Fetch(req);
        if (r.ok() && r->status == 200) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(ServerTest, ResponsesCarryAnHttpDate) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  // IMF-fixdate (RFC 9110 §5.6.7), e.g. "Wed, 25 Nov 2026 18:57:41 GMT".
  const std::string date = r->Header("date");
  ASSERT_EQ(date.size(), 29u) << date;
  EXPECT_EQ(date.substr(25), " GMT") << date;
  char text[40];
  const time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(text, sizeof text, "%Y", &tm);
  EXPECT_EQ(date.substr(12, 4), text) << date;
}

TEST_F(ServerTest, ARequestArrivingInPiecesIsServed) {
  RawConn c(h_.port());
  ASSERT_TRUE(c.Send("GET /echo/pie"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.Send("ces?q=1 HTTP/1.1\r\nHo"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.Send("st: t\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(JsonBody(r->body).at("name").as_string(), "pieces");
  // A body that follows its header later is read too.
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nab"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.Send("cde"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abcde");
}

// A cached body is shared by every response that sends it: concurrent responses (on both
// I/O threads, some too large for one write) must each carry it whole, and it must stay
// unchanged.
TEST(Server, ASharedBodyIsSentWholeToConcurrentClientsAndLeftIntact) {
  std::string text = "{\"items\":[";
  for (int i = 0; i < 20000; ++i) text += "\"item-" + std::to_string(i) + "\",";
  text += "\"end\"]}";
  const std::string expected = text;
  auto shared = std::make_shared<const std::string>(std::move(text));
  Harness h([shared](Router& r) {
    r.Add(
        Method::kGet, "/shared",
        [shared](Request&) -> Result<Response> { return Response::SharedJson(200, shared); }, Exec::kBlocking,
        [shared](const Request& req) -> std::optional<Response> {
          if (req.Query("slow")) return std::nullopt;
          return Response::SharedJson(200, shared);
        });
  });
  std::atomic<int> whole{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        ClientRequest req;
        req.url = h.Url((t + i) % 2 ? "/shared" : "/shared?slow=1");
        req.timeout = 10s;
        auto r = Fetch(req);
        if (r.ok() && r->status == 200 && r->body == expected &&
            r->Header("content-type") == "application/json") {
          ++whole;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(whole.load(), 80);
  EXPECT_EQ(*shared, expected);
  // HEAD: the shared body's length, no body.
  RawConn c(h.port());
  ASSERT_TRUE(c.Send("HEAD /shared HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.Read(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->Header("content-length"), std::to_string(expected.size()));
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "pong");
}

TEST(Server, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = TestOptions();
  options.idle_timeout = 200ms;
  Harness h({}, options);
  RawConn c(h.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  const auto start = SteadyClock::now();
  EXPECT_TRUE(c.ReadsEof());
  EXPECT_LT(SteadyClock::now() - start, 3s);
}

TEST(Server, ListenFailsClearly) {
  Runtime runtime(1, 1);
  Router router;
  Metrics metrics;
  ServerOptions bad = TestOptions();
  bad.listen = "not-an-address";
  Server s1(runtime, router, metrics, bad);
  Status st = s1.Listen();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().detail.find("not-an-address"), std::string::npos);

  // A port held by a socket without SO_REUSEPORT cannot be shared.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ServerOptions taken = TestOptions();
  taken.listen = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  Server s2(runtime, router, metrics, taken);
  st = s2.Listen();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(st.error().detail.find(taken.listen), std::string::npos) << st.error().detail;
  ::close(fd);
}

TEST(Server, ASecondServerOnTheSamePortIsRefused) {
  // Both use SO_REUSEPORT; without the probe the second would share the first's traffic.
  Runtime runtime(2, 1);
  Router router;
  Metrics metrics;
  Server first(runtime, router, metrics, TestOptions());
  ASSERT_TRUE(first.Listen().ok());
  ServerOptions same = TestOptions();
  same.listen = "127.0.0.1:" + std::to_string(first.port());
  Server second(runtime, router, metrics, same);
  Status st = second.Listen();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
}

TEST(Server, DestroyingTheServerClosesOpenConnections) {
  Harness h;
  RawConn c(h.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  const uint16_t port = h.port();
  PortGuard guard(port);
  ASSERT_TRUE(guard.bound());
  h.server.reset();  // the runtime keeps running
  EXPECT_TRUE(c.ReadsEof());
  RawConn late(port);
  EXPECT_FALSE(late.connected());
}

// Both roles in one process: a blocking handler of one server waits on a blocking route of
// another. With one shared pool thread this deadlocked until the client timed out; each
// role has its own pool, so every call completes.
TEST(Server, BlockingHandlersOfOneRoleCannotStarveAnother) {
  Runtime runtime(1, 1);
  Metrics metrics;
  Router inner_router;
  inner_router.Get("/inner", Text("inner"));  // kBlocking by default
  ServerOptions inner_options = TestOptions();
  inner_options.role = "host";
  Server inner(runtime, inner_router, metrics, inner_options);
  ASSERT_TRUE(inner.Listen().ok());
  const std::string inner_url = "http://127.0.0.1:" + std::to_string(inner.port()) + "/inner";
  Router outer_router;
  outer_router.Get("/outer", [&](Request&) -> Result<Response> {
    ClientRequest req;
    req.url = inner_url;
    req.timeout = 3s;
    ASSIGN_OR_RETURN(auto r, Fetch(req));
    return Response::Text(200, "outer+" + r.body);
  });
  ServerOptions outer_options = TestOptions();
  outer_options.role = "provider";
  Server outer(runtime, outer_router, metrics, outer_options);
  ASSERT_TRUE(outer.Listen().ok());
  runtime.Start();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      ClientRequest req;
      req.url = "http://127.0.0.1:" + std::to_string(outer.port()) + "/outer";
      req.timeout = 5s;
      auto r = Fetch(req);
      if (r.ok() && r->status == 200 && r->body == "outer+inner") ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);
  runtime.Stop();
}

TEST(Server, DestroyingAServerWhoseRuntimeNeverRanStopsListening) {
  Runtime runtime(2, 1);
  Router router;
  Metrics metrics;
  auto server = std::make_unique<Server>(runtime, router, metrics, TestOptions());
  ASSERT_TRUE(server->Listen().ok());
  const uint16_t port = server->port();
  PortGuard guard(port);
  ASSERT_TRUE(guard.bound());
  server.reset();
  RawConn late(port);
  EXPECT_FALSE(late.connected());
  runtime.Start();  // parked accept loops wake up, see the server gone and end
  runtime.Stop();
}

TEST(Server, StopThenDestroyIsSafe) {
  Harness h;
  RawConn c(h.port());
  ASSERT_TRUE(c.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(c.Read());
  PortGuard guard(h.port());
  ASSERT_TRUE(guard.bound());
  h.runtime.Stop();
  h.runtime.Stop();           // idempotent
  EXPECT_TRUE(c.ReadsEof());  // parked connections are closed by Stop
  RawConn late(h.port());
  EXPECT_FALSE(late.connected());
}

TEST(Server, GracefulDrainFinishesInFlightRequests) {
  std::atomic<bool> started{false};
  Harness h([&](Router& r) {
    r.Get("/slow", [&](Request&) -> Result<Response> {
      started = true;
      std::this_thread::sleep_for(500ms);
      return Response::Text(200, "done");
    });
  });
  PortGuard guard(h.port());
  ASSERT_TRUE(guard.bound());
  // An idle keep-alive connection must not hold the drain up (idle_timeout is 5 s).
  RawConn idle(h.port());
  ASSERT_TRUE(idle.Send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(idle.Read());

  std::optional<RawResponse> slow;
  bool slow_closed = false;
  std::thread client([&] {
    RawConn c(h.port());
    if (!c.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")) return;  // asks for keep-alive
    slow = c.Read();
    slow_closed = c.ReadsEof();
  });
  std::thread stopper([&] {
    const auto deadline = SteadyClock::now() + 5s;
    while (!started && SteadyClock::now() < deadline) std::this_thread::sleep_for(2ms);
    h.runtime.RequestStopForTest();
  });
  const auto start = SteadyClock::now();
  const bool drained = h.runtime.RunUntilSignal(5s);
  const auto took = SteadyClock::now() - start;
  stopper.join();
  client.join();

  EXPECT_TRUE(drained);
  EXPECT_TRUE(started);
  ASSERT_TRUE(slow);
  EXPECT_EQ(slow->status, 200);
  EXPECT_EQ(slow->body, "done");
  EXPECT_EQ(slow->Header("connection"), "close");
  EXPECT_TRUE(slow_closed);
  EXPECT_TRUE(idle.ReadsEof());
  EXPECT_LT(took, 4s);
  RawConn late(h.port());
  EXPECT_FALSE(late.connected());
  EXPECT_EQ(late.connect_errno(), ECONNREFUSED);
}

TEST(Server, DrainTimesOutWhenARequestOutlivesIt) {
  std::atomic<bool> started{false};
  Harness h([&](Router& r) {
    r.Get("/slower", [&](Request&) -> Result<Response> {
      started = true;
      std::this_thread::sleep_for(400ms);
      return Response::Text(200, "late");
    });
  });
  std::thread client([&] {
    RawConn c(h.port());
    if (c.Send("GET /slower HTTP/1.1\r\nHost: t\r\n\r\n")) (void)c.Read();
  });
  while (!started) std::this_thread::sleep_for(2ms);
  h.runtime.RequestStopForTest();
  EXPECT_FALSE(h.runtime.RunUntilSignal(50ms));
  client.join();
}

}  // namespace
}  // namespace hutong::http
