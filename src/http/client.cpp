// Fetch: one HTTP/1.1 exchange on a pooled keep-alive connection or a fresh one, run on the
// calling thread's own io_context so that one deadline (tcp_stream's timeout) covers
// connect, write and read. Idle connections are kept as bare file descriptors, so any
// thread's io_context can adopt them.
#include "http/client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

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

using SteadyClock = std::chrono::steady_clock;

struct IdleConnection {
  int fd = -1;
  bool v6 = false;
  SteadyClock::time_point since;
};

// An idle connection must show nothing: a readable EOF means the peer closed it, bytes
// mean it talks out of turn, an error means it is broken. Any of those → not reusable.
bool LooksAlive(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Idle keep-alive connections by origin ("http://host:port"), newest at the back: reusing
// the newest keeps few connections warm and lets the oldest reach the idle timeout.
// Thread-safe; one per process.
class ConnectionPool {
 public:
  std::optional<IdleConnection> Take(const std::string& origin) {
    std::vector<int> dead;
    std::optional<IdleConnection> out;
    {
      std::lock_guard lock(mu_);
      const auto now = SteadyClock::now();
      PruneExpired(now, dead);
      auto it = idle_.find(origin);
      if (it != idle_.end()) {
        auto& list = it->second;
        while (!list.empty() && !out) {
          IdleConnection c = list.back();
          list.pop_back();
          --total_;
          if (LooksAlive(c.fd)) {
            out = c;
          } else {
            dead.push_back(c.fd);
          }
        }
        if (list.empty()) idle_.erase(it);
      }
    }
    for (int fd : dead) ::close(fd);
    if (out) reused_.fetch_add(1, std::memory_order_relaxed);
    return out;
  }

  void Put(const std::string& origin, IdleConnection c) {
    std::vector<int> dead;
    {
      std::lock_guard lock(mu_);
      PruneExpired(c.since, dead);
      auto& list = idle_[origin];
      if (list.size() >= options_.max_idle_per_origin && !list.empty()) {
        dead.push_back(list.front().fd);
        list.pop_front();
        --total_;
      }
      if (total_ >= options_.max_idle_total || options_.max_idle_per_origin == 0) {
        dead.push_back(c.fd);
      } else {
        list.push_back(c);
        ++total_;
      }
      if (list.empty()) idle_.erase(origin);
    }
    for (int fd : dead) ::close(fd);
  }

  void Configure(const ConnectionPoolOptions& options) {
    std::vector<int> dead;
    {
      std::lock_guard lock(mu_);
      options_ = options;
      for (auto& [origin, list] : idle_) {
        while (list.size() > options_.max_idle_per_origin) {
          dead.push_back(list.front().fd);
          list.pop_front();
          --total_;
        }
      }
      for (auto it = idle_.begin(); it != idle_.end() && total_ > options_.max_idle_total;) {
        auto& list = it->second;
        while (!list.empty() && total_ > options_.max_idle_total) {
          dead.push_back(list.front().fd);
          list.pop_front();
          --total_;
        }
        it = list.empty() ? idle_.erase(it) : std::next(it);
      }
    }
    for (int fd : dead) ::close(fd);
  }

  void Clear() {
    std::vector<int> dead;
    {
      std::lock_guard lock(mu_);
      for (auto& [origin, list] : idle_) {
        for (const auto& c : list) dead.push_back(c.fd);
      }
      idle_.clear();
      total_ = 0;
    }
    for (int fd : dead) ::close(fd);
  }

  ConnectionPoolStats Stats() {
    ConnectionPoolStats s;
    s.opened = opened_.load(std::memory_order_relaxed);
    s.reused = reused_.load(std::memory_order_relaxed);
    s.retried = retried_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    s.idle = total_;
    return s;
  }

  void CountOpened() { opened_.fetch_add(1, std::memory_order_relaxed); }
  void CountRetried() { retried_.fetch_add(1, std::memory_order_relaxed); }

 private:
  // Closes (through `dead`) connections idle longer than the timeout, in every origin;
  // each list is oldest first, so only its front needs looking at.
  void PruneExpired(SteadyClock::time_point now, std::vector<int>& dead) {
    for (auto it = idle_.begin(); it != idle_.end();) {
      auto& list = it->second;
      while (!list.empty() && now - list.front().since > options_.idle_timeout) {
        dead.push_back(list.front().fd);
        list.pop_front();
        --total_;
      }
      it = list.empty() ? idle_.erase(it) : std::next(it);
    }
  }

  std::mutex mu_;
  ConnectionPoolOptions options_;                                     // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::deque<IdleConnection>> idle_;  // GUARDED_BY(mu_)
  size_t total_ = 0;                                                  // GUARDED_BY(mu_)
  std::atomic<uint64_t> opened_{0}, reused_{0}, retried_{0};
};

ConnectionPool& Pool() {
  static ConnectionPool* pool = new ConnectionPool();  // never destroyed: used until exit
  return *pool;
}

bool ReplayableByDefault(const ClientRequest& request) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) {
    if (beast::iequals(request.method, m)) return true;
  }
  for (const auto& [name, value] : request.headers) {
    if (beast::iequals(name, "Idempotency-Key")) return true;
  }
  return false;
}

struct Outcome {
  std::optional<Result<ClientResponse>> result;
  // A pooled connection the peer closed or reset before sending one byte of a response.
  bool stale = false;
  std::optional<IdleConnection> keep;  // the connection, to go back to the pool
};

asio::awaitable<void> Exchange(const ClientRequest& request, const Url& url,
                               std::optional<IdleConnection> reused, Outcome& out) {
  const auto fail = [&](std::string_view step, const error_code& ec) {
    const std::string why = ec == beast::error::timeout
                                ? "timed out after " + std::to_string(request.timeout.count()) + " ms"
                                : ec.message();
    out.result.emplace(Error(ErrorCode::kUnavailable, "upstream service unavailable",
                             request.method + " " + request.url + ": " + std::string(step) + ": " + why));
  };

  auto executor = co_await asio::this_coro::executor;
  beast::tcp_stream stream(executor);
  // One deadline for connect, write and read together.
  stream.expires_after(request.timeout);

  bool v6 = false;
  if (reused) {
    v6 = reused->v6;
    error_code aec;
    stream.socket().assign(v6 ? tcp::v6() : tcp::v4(), reused->fd, aec);
    if (aec) {
      ::close(reused->fd);
      out.stale = true;
      co_return fail("reuse", aec);
    }
  } else {
    Pool().CountOpened();
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
    error_code lec;
    v6 = stream.socket().local_endpoint(lec).address().is_v6();
  }

  bhttp::request<bhttp::string_body> req;
  req.method_string(request.method);
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host_header);
  req.set(bhttp::field::user_agent, "hutong/" HUTONG_VERSION);
  // HTTP/1.1 keeps the connection open by default; the pool reuses it.
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
  if (rec) {
    // end_of_stream: the peer closed before any octet of a response.
    const bool closed_by_peer = rec == bhttp::error::end_of_stream || rec == asio::error::connection_reset ||
                                rec == asio::error::broken_pipe || rec == asio::error::eof;
    out.stale = reused.has_value() && closed_by_peer && !parser.got_some() && buffer.size() == 0;
    co_return wec ? fail("write", wec) : fail("read", rec);
  }

  auto& msg = parser.get();
  ClientResponse response;
  response.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    response.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  // Reusable only after a whole response that leaves nothing unread and no close asked.
  const bool keep = !wec && parser.is_done() && msg.keep_alive() && buffer.size() == 0;
  response.body = std::move(msg.body());
  error_code ignored;
  if (keep) {
    stream.expires_never();
    error_code rel;
    const int fd = stream.socket().release(rel);
    if (!rel) out.keep = IdleConnection{fd, v6, SteadyClock::now()};
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  out.result.emplace(std::move(response));
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
  const std::string origin = "http://" + url.host + ":" + std::to_string(url.port);
  const bool replayable = request.replayable.value_or(ReplayableByDefault(request));
  // One io_context per calling thread, reused: making one costs an epoll and an eventfd.
  thread_local asio::io_context io(1);
  for (int round = 0;; ++round) {
    std::optional<IdleConnection> idle = round == 0 ? Pool().Take(origin) : std::nullopt;
    Outcome out;
    io.restart();
    asio::co_spawn(io, Exchange(request, url, idle, out), [&out, &request](const std::exception_ptr& e) {
      if (!e || out.result) return;
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      out.result.emplace(
          Error(ErrorCode::kUnavailable, "upstream service unavailable", request.url + ": " + what));
    });
    io.run();
    if (out.keep) Pool().Put(origin, *out.keep);
    if (out.stale && round == 0) {
      if (replayable) {
        Pool().CountRetried();
        continue;  // once, on a fresh connection (round 1 takes nothing from the pool)
      }
      if (out.result && !out.result->ok()) {
        Error e = out.result->error();
        e.internal += " (a pooled connection closed by the peer; not resent: the request is not replayable)";
        return e;
      }
    }
    if (!out.result) {
      return Error(ErrorCode::kUnavailable, "upstream service unavailable", request.url + ": no result");
    }
    return std::move(*out.result);
  }
}

void ConfigureConnectionPool(const ConnectionPoolOptions& options) {
  Pool().Configure(options);
}

ConnectionPoolStats GetConnectionPoolStats() {
  return Pool().Stats();
}

void ClearConnectionPoolForTest() {
  Pool().Clear();
}

}  // namespace hutong::http
