#include "http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hutong::http {
namespace {

using namespace std::chrono_literals;

// A loopback listener that never accepts: the kernel completes the handshake, nobody ever
// answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 8);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(Fetch, TimesOutAgainstAServerThatNeverAnswers) {
  SilentListener listener;
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(listener.port()) + "/x";
  req.timeout = 200ms;
  const auto start = std::chrono::steady_clock::now();
  auto r = Fetch(req);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().internal.find("timed out"), std::string::npos) << r.error().internal;
  EXPECT_LT(took, 3s);
}

TEST(Fetch, RefusedConnectionIsUnavailable) {
  uint16_t port;
  {
    SilentListener closed_soon;
    port = closed_soon.port();
  }
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto r = Fetch(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().internal.find("connect"), std::string::npos) << r.error().internal;
}

TEST(Fetch, RejectsWhatItCannotSend) {
  for (const char* url : {"https://example.com/", "ftp://x/", "http://", "http://:80/", "http://host:0/",
                          "http://host:99999/", "http://user@host/", "http://[::1/"}) {
    ClientRequest req;
    req.url = url;
    auto r = Fetch(req);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed) << url;
  }
  ClientRequest req;
  req.url = "http://127.0.0.1:1/";
  req.headers = {{"X-A", "b\r\nInjected: 1"}};
  EXPECT_EQ(Fetch(req).error().code, ErrorCode::kValidationFailed);
  req.headers.clear();
  req.method = "GET X";
  EXPECT_EQ(Fetch(req).error().code, ErrorCode::kValidationFailed);
}

// A real HTTP/1.1 server on loopback, one thread per connection, written on bare sockets
// so that a test can make it misbehave at a chosen moment. It answers every request with
// 200 and the body "<connection number>/<request number on it>", keeps connections open,
// and counts the connections it accepted and the requests it read.
class KeepAliveServer {
 public:
  KeepAliveServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~KeepAliveServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard lock(mu_);
      for (int c : conns_) ::shutdown(c, SHUT_RDWR);
    }
    for (auto& t : handlers_) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  std::string url(const std::string& path = "/x") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }
  // Closes every open connection now (they are idle between tests' requests).
  void CloseAllConnections() {
    std::lock_guard lock(mu_);
    for (int c : conns_) ::shutdown(c, SHUT_RDWR);
  }
  // The next request that arrives on a connection which already served one is read and
  // then dropped: the connection is closed without a byte of answer (once).
  void DropNextRequestOnReusedConnection() { drop_next_ = true; }
  // Every request waits this long before its answer.
  void SetDelay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }

 private:
  void AcceptLoop() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      if (stopping_) {
        ::close(c);
        return;
      }
      const int number = ++accepted_;
      std::lock_guard lock(mu_);
      conns_.push_back(c);
      handlers_.emplace_back([this, c, number] { Serve(c, number); });
    }
  }
  void Serve(int c, int number) {
    std::string in;
    char buf[4096];
    for (int served = 0;; ++served) {
      size_t header_end;
      while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      size_t body_len = 0;
      const std::string head = in.substr(0, header_end);
      if (auto p = head.find("Content-Length: "); p != std::string::npos) {
        body_len = std::stoul(head.substr(p + 16));
      }
      while (in.size() < header_end + 4 + body_len) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      in.erase(0, header_end + 4 + body_len);
      ++requests_;
      if (served > 0 && drop_next_.exchange(false)) {
        ::shutdown(c, SHUT_RDWR);
        return;
      }
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
      const bool close = head.find("Connection: close") != std::string::npos;
      const std::string body = std::to_string(number) + "/" + std::to_string(served + 1);
      const std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                              (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
      if (::send(c, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
      if (close) {
        ::shutdown(c, SHUT_RDWR);
        return;
      }
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::atomic<bool> drop_next_{false};
  std::atomic<int> delay_ms_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conns_;             // GUARDED_BY(mu_); shut down when done, closed by the destructor
  std::vector<std::thread> handlers_;  // GUARDED_BY(mu_) while accepting; joined by the destructor
};

class FetchPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ClearConnectionPoolForTest(); }
  void TearDown() override { ClearConnectionPoolForTest(); }
  static std::string Get(const std::string& url) {
    ClientRequest req;
    req.url = url;
    auto r = Fetch(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().internal);
    return r.ok() ? r->body : "";
  }
};

TEST_F(FetchPoolTest, ReusesOneConnectionForSequentialRequests) {
  KeepAliveServer server;
  const auto before = GetConnectionPoolStats();
  EXPECT_EQ(Get(server.url()), "1/1");
  EXPECT_EQ(Get(server.url()), "1/2");
  ClientRequest post;
  post.method = "POST";
  post.url = server.url();
  post.body = "{\"a\":1}";
  auto r = Fetch(post);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "1/3");
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(server.requests(), 3);
  const auto after = GetConnectionPoolStats();
  EXPECT_EQ(after.reused - before.reused, 2u);
  EXPECT_EQ(after.opened - before.opened, 1u);
  EXPECT_EQ(after.idle, 1u);
}

TEST_F(FetchPoolTest, ConcurrentCallersGetConnectionsOfTheirOwnThenShareThem) {
  KeepAliveServer server;
  server.SetDelay(50ms);  // so that the first round overlaps
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) callers.emplace_back([&] { Get(server.url()); });
  for (auto& t : callers) t.join();
  const int first_round = server.accepted();
  EXPECT_GE(first_round, 1);
  EXPECT_LE(first_round, 4);
  server.SetDelay(0ms);
  for (int i = 0; i < 8; ++i) Get(server.url());
  EXPECT_EQ(server.accepted(), first_round) << "sequential calls opened new connections";
  EXPECT_EQ(server.requests(), 12);
}

TEST_F(FetchPoolTest, ConnectionClosedByTheServerWhileIdleIsReplaced) {
  KeepAliveServer server;
  EXPECT_EQ(Get(server.url()), "1/1");
  server.CloseAllConnections();
  // Found closed before use (the liveness check), so even a POST goes out on a new one.
  ClientRequest post;
  post.method = "POST";
  post.url = server.url();
  post.body = "x";
  std::this_thread::sleep_for(50ms);  // for the FIN to reach our idle socket (not a timing assertion)
  auto r = Fetch(post);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r->body, "2/1");
  EXPECT_EQ(server.accepted(), 2);
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(FetchPoolTest, ReplayableRequestIsResentOnceWhenAPooledConnectionDiesUnderIt) {
  KeepAliveServer server;
  EXPECT_EQ(Get(server.url()), "1/1");
  server.DropNextRequestOnReusedConnection();
  const auto before = GetConnectionPoolStats();
  EXPECT_EQ(Get(server.url()), "2/1");
  EXPECT_EQ(GetConnectionPoolStats().retried - before.retried, 1u);
  EXPECT_EQ(server.requests(), 3);  // the dropped one and its resend
  // A POST carrying an Idempotency-Key is replayable too.
  server.DropNextRequestOnReusedConnection();
  ClientRequest post;
  post.method = "POST";
  post.url = server.url();
  post.headers = {{"Idempotency-Key", "k1"}};
  auto r = Fetch(post);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r->body, "3/1");
}

TEST_F(FetchPoolTest, NonReplayablePostIsNeverSentTwice) {
  KeepAliveServer server;
  EXPECT_EQ(Get(server.url()), "1/1");
  server.DropNextRequestOnReusedConnection();
  ClientRequest post;
  post.method = "POST";
  post.url = server.url();
  post.body = "{}";
  auto r = Fetch(post);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().internal.find("not resent"), std::string::npos) << r.error().internal;
  EXPECT_EQ(server.requests(), 2) << "the POST was sent twice";
  EXPECT_EQ(server.accepted(), 1);
  // The caller may say its receiver deduplicates: then it is resent.
  server.DropNextRequestOnReusedConnection();
  EXPECT_EQ(Get(server.url()), "2/1");  // prime a pooled connection (fresh, nothing to drop)
  post.replayable = true;
  r = Fetch(post);
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r->body, "3/1");
}

TEST_F(FetchPoolTest, TimeoutOnAPooledConnectionIsHonouredAndNotRetried) {
  KeepAliveServer server;
  EXPECT_EQ(Get(server.url()), "1/1");
  server.SetDelay(1500ms);
  ClientRequest req;
  req.url = server.url();
  req.timeout = 200ms;
  const auto before = GetConnectionPoolStats();
  auto r = Fetch(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().internal.find("timed out"), std::string::npos) << r.error().internal;
  const auto after = GetConnectionPoolStats();
  EXPECT_EQ(after.reused - before.reused, 1u);
  EXPECT_EQ(after.retried, before.retried);
  EXPECT_EQ(after.idle, 0u) << "a timed-out connection went back to the pool";
  EXPECT_EQ(server.requests(), 2);
}

TEST_F(FetchPoolTest, ConnectionCloseAndBoundsKeepConnectionsOutOfThePool) {
  KeepAliveServer server;
  ClientRequest req;
  req.url = server.url();
  req.headers = {{"Connection", "close"}};  // the server answers with Connection: close
  ASSERT_TRUE(Fetch(req).ok());
  EXPECT_EQ(GetConnectionPoolStats().idle, 0u);
  ConfigureConnectionPool({.max_idle_per_origin = 0});
  EXPECT_EQ(Get(server.url()), "2/1");
  EXPECT_EQ(GetConnectionPoolStats().idle, 0u);
  ConfigureConnectionPool({.idle_timeout = 1ms});
  EXPECT_EQ(Get(server.url()), "3/1");
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(Get(server.url()), "4/1") << "an expired idle connection was reused";
  ConfigureConnectionPool({});
  EXPECT_EQ(Get(server.url()), "4/2");
}

}  // namespace
}  // namespace hutong::http
