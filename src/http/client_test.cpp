#include "http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

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

}  // namespace
}  // namespace hutong::http
