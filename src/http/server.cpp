// The HTTP/1.1 server on Boost.Beast: one C++20 coroutine per connection on its
// io_context, handlers inline or on the blocking pool, and a drain that lets in-flight
// requests finish. The only translation unit (besides client.cpp) that includes Beast.
//
// Threads:
//  - I/O threads: one per io_context; run accept loops, connection coroutines, kInline
//    handlers, drain/close tasks posted to them. A connection lives on exactly one of them.
//  - Blocking pool threads: run kBlocking handlers (one pool per server role, so roles
//    calling each other in one process cannot starve each other) and PostBlocking jobs.
//  - The "control" thread: whoever calls Runtime::Start/RunUntilSignal/Stop,
//    Server::Listen and the destructors. None of these may be called from a runtime thread.
#include "http/server.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/ids.h"
#include "common/log.h"

namespace hutong::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 4096;
// After an error response we stop reading requests but keep draining what the client
// still sends for a moment, so that closing does not turn into a TCP reset that destroys
// the response before the client has read it (the "lingering close" of nginx and Apache).
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerMaxBytes = 8 << 20;
// Writing a response may take longer than reading a request (large bodies, slow readers),
// but a client that never reads must not pin a connection forever.
constexpr std::chrono::milliseconds kMinWriteTimeout{30'000};
constexpr size_t kMaxLoggedPath = 256;
constexpr size_t kMaxKeptHeadBytes = 4096;

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// The handler of a co_spawn'ed coroutine: anything that escapes it is a bug, logged, never
// a crash.
struct LogUncaught {
  std::string_view where;
  void operator()(const std::exception_ptr& e) const {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      LogError("uncaught exception", {{"where", where}, {"what", std::string_view(ex.what())}});
    } catch (...) {
      LogError("uncaught exception", {{"where", where}, {"what", std::string_view("unknown")}});
    }
  }
};

// Runs `fn` on `pool` and completes on the caller's own executor (for a coroutine, its
// io_context), never on the pool thread. An exception from `fn` is delivered to the
// waiter (co_await rethrows it).
template <typename CompletionToken>
auto RunOnPool(asio::thread_pool& pool, std::function<void()> fn, CompletionToken&& token) {
  return asio::async_initiate<CompletionToken, void(std::exception_ptr)>(
      [&pool](auto handler, std::function<void()> f) {
        // Keeps the caller's io_context from running out of work while the job runs.
        auto work = asio::make_work_guard(asio::get_associated_executor(handler));
        asio::post(pool, [handler = std::move(handler), f = std::move(f), work = std::move(work)]() mutable {
          std::exception_ptr error;
          try {
            f();
          } catch (...) {
            error = std::current_exception();
          }
          auto executor = work.get_executor();
          asio::post(executor,
                     [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
          work.reset();
        });
      },
      token, std::move(fn));
}

bool IsSaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

// Header names and values a handler may add: no CR, LF or NUL (response splitting), and
// none of the framing headers the server itself owns.
bool IsAllowedExtraHeader(std::string_view name, std::string_view value) {
  if (name.empty() || name.find_first_of(std::string_view("\r\n\0: ", 5)) != std::string_view::npos)
    return false;
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return false;
  for (std::string_view owned : {"content-length", "transfer-encoding", "connection", "content-type"}) {
    if (beast::iequals(name, owned)) return false;
  }
  return true;
}

bool IsHttpParseError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

std::string_view CapForLog(std::string_view s) {
  return s.substr(0, std::min(s.size(), kMaxLoggedPath));
}

void SetThreadName(const std::string& name) {
  // Linux limits names to 15 characters; a failure only costs debuggability.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// "127.0.0.1:8080", "[::1]:8080", ":8080" (all interfaces).
Result<tcp::endpoint> ParseListen(std::string_view text) {
  const Error bad(ErrorCode::kValidationFailed,
                  "listen address must be HOST:PORT, got '" + std::string(text) + "'");
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad;
  }
  error_code aec;
  const asio::ip::address address = asio::ip::make_address(std::string(host), aec);
  if (aec) return bad;
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace

struct ServerCore;

// ---------------------------------------------------------------------------------------
// Runtime

struct Runtime::Impl {
  enum class State { kCreated, kRunning, kStopped };

  Impl(size_t io_threads, size_t blocking_threads);
  ~Impl();

  void Start();
  void Stop();
  void RequestStop();
  bool RunUntilSignal(std::chrono::milliseconds drain_timeout);
  void RegisterServer(std::shared_ptr<ServerCore> core);
  void UnregisterServer(const ServerCore* core);

  // The blocking pool of the servers of one role (created on first use, before Start).
  // Each role has its own, so a handler of one role that waits on a request to another
  // role in the same process (the provider calling the host's open API) cannot take the
  // threads that request needs: with one shared pool, as many such handlers as threads
  // deadlocked the process until their client timeouts.
  asio::thread_pool& RolePool(const std::string& role);

  // Created in the constructor; the vector and the pool never change until the destructor.
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::unique_ptr<asio::thread_pool> pool;                               // PostBlocking jobs
  size_t blocking_threads = 1;                                           // per pool
  std::map<std::string, std::unique_ptr<asio::thread_pool>> role_pools;  // guarded by mu

  // True between Start and Stop. Read without a lock by servers deciding whether coroutines
  // can still run.
  std::atomic<bool> running{false};

  std::mutex mu;               // guards the fields below
  std::condition_variable cv;  // signals stop_requested
  State state = State::kCreated;
  bool stop_requested = false;
  std::vector<std::shared_ptr<ServerCore>> servers;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::unique_ptr<asio::signal_set> signals;

  std::mutex stop_mu;  // serialises Stop() as a whole (held while joining threads)
};

// ---------------------------------------------------------------------------------------
// Connections and the per-server state shared with coroutines

namespace {

enum class ConnState {
  kIdle,    // waiting for the first byte of the next request: a drain may close it
  kActive,  // reading, handling, writing or lingering: a drain lets it finish
};

// One accepted connection. Every field is touched only on the connection's own I/O thread
// (`shard`), including by the drain/close tasks, which are posted to that thread.
struct Connection {
  Connection(tcp::socket socket, size_t shard_index)
      : stream(std::move(socket)), read_timer(stream.get_executor()), shard(shard_index) {}

  beast::tcp_stream stream;
  // tcp_stream's own timeout closes the socket, which would leave no way to send a 408;
  // this timer only cancels the pending read instead.
  asio::steady_timer read_timer;
  const size_t shard;
  std::string remote;
  ConnState state = ConnState::kActive;
  uint64_t read_timer_generation = 0;  // stale timer callbacks compare and do nothing
  bool read_timed_out = false;
  std::string write_head;  // the response head being written, reused across requests
  Request request;         // the request being served, reused across requests (Parser, FinishRequest)
};

}  // namespace

struct ServerCore : std::enable_shared_from_this<ServerCore> {
  ServerCore(Runtime::Impl& runtime, const Router& r, Metrics& m, ServerOptions o)
      : rt(runtime), router(r), metrics(m), options(std::move(o)), pool(rt.RolePool(options.role)) {}

  // Posted to I/O thread `shard`: stop accepting there.
  void CloseAcceptor(size_t shard) {
    if (shard < acceptors.size() && acceptors[shard]) {
      error_code ignored;
      acceptors[shard]->close(ignored);
    }
  }

  // Posted to I/O thread `shard`: a drain cancels the idle connections living there (the
  // busy ones close themselves after their response); `all` aborts every connection.
  void CancelConnections(size_t shard, bool all) {
    std::lock_guard lock(mu);
    for (Connection* c : conns) {
      if (c->shard != shard) continue;
      error_code ignored;
      if (all) {
        c->stream.socket().close(ignored);
      } else if (c->state == ConnState::kIdle) {
        c->stream.socket().cancel(ignored);
      }
    }
  }

  // Control thread: stop accepting, close idle connections; busy ones finish with
  // `Connection: close`. Defined below LiveToken.
  void BeginDrain();

  // Control thread: true once no connection is open, false if `deadline` passed first.
  bool WaitForNoConnections(SteadyClock::time_point deadline) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [this] { return conns.empty(); });
  }

  size_t OpenConnections() {
    std::lock_guard lock(mu);
    return conns.size();
  }

  // Control thread, while no I/O thread runs (before Start, or after Stop joined them):
  // nothing else can touch the acceptors and connections, so close them here. New
  // connections are refused and clients of parked connections see the close at once
  // rather than when the runtime is destroyed.
  void CloseAllWhileNotRunning() {
    error_code ignored;
    for (auto& a : acceptors) {
      if (a) a->close(ignored);
    }
    {
      std::lock_guard lock(mu);
      for (Connection* c : conns) c->stream.socket().close(ignored);
    }
    cv.notify_all();
  }

  Metrics::RouteSeries* SeriesFor(const Route* route, Method method) {
    if (route == nullptr) return unmatched_series[static_cast<size_t>(method)];
    auto& cache = method == route->method ? route_series : head_series;
    auto it = cache.find(route);
    if (it != cache.end()) return it->second;
    // A route added after Listen: correct, just slower (Series takes a lock).
    return metrics.Series(options.role, MethodName(method), route->pattern);
  }

  Runtime::Impl& rt;
  const Router& router;
  Metrics& metrics;
  const ServerOptions options;
  asio::thread_pool& pool;  // the role's blocking pool (Runtime::Impl::RolePool)

  // Written by Listen on the control thread before any accept loop runs; afterwards
  // acceptors[i] is used only on I/O thread i (and by CloseAllWhileNotRunning).
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  uint16_t port = 0;
  bool listening = false;
  // Metric series, filled by Listen and only read afterwards.
  std::unordered_map<const Route*, Metrics::RouteSeries*> route_series;  // route's own method
  std::unordered_map<const Route*, Metrics::RouteSeries*> head_series;   // HEAD served by a GET route
  std::array<Metrics::RouteSeries*, static_cast<size_t>(Method::kOther) + 1> unmatched_series{};

  std::atomic<bool> draining{false};  // set once by a drain (or the destructor)
  std::atomic<bool> closed{false};    // set once by ~Server: abandon everything

  std::mutex mu;                   // guards conns and live
  std::condition_variable cv;      // notified whenever conns or live shrink
  std::vector<Connection*> conns;  // registered by their coroutines while they run
  size_t live = 0;                 // LiveTokens alive: coroutine frames and posted tasks
};

namespace {

// Held by every coroutine of a server (as a parameter, so it lives exactly as long as the
// frame): keeps the ServerCore alive and counts live frames for ~Server.
class LiveToken {
 public:
  explicit LiveToken(std::shared_ptr<ServerCore> core) : core_(std::move(core)) {
    std::lock_guard lock(core_->mu);
    ++core_->live;
  }
  LiveToken(LiveToken&&) noexcept = default;
  LiveToken& operator=(LiveToken&&) = delete;
  ~LiveToken() {
    if (!core_) return;
    {
      std::lock_guard lock(core_->mu);
      --core_->live;
    }
    core_->cv.notify_all();
  }
  ServerCore& core() const { return *core_; }

 private:
  std::shared_ptr<ServerCore> core_;
};

// Puts a connection in its server's registry for the lifetime of its coroutine.
class Registration {
 public:
  Registration(ServerCore& core, Connection* c) : core_(core), c_(c) {
    std::lock_guard lock(core_.mu);
    core_.conns.push_back(c_);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() {
    {
      std::lock_guard lock(core_.mu);
      auto it = std::find(core_.conns.begin(), core_.conns.end(), c_);
      if (it != core_.conns.end()) {
        *it = core_.conns.back();
        core_.conns.pop_back();
      }
    }
    core_.cv.notify_all();
  }

 private:
  ServerCore& core_;
  Connection* c_;
};

// Posts `task(core, shard)` to every I/O thread. Each posted task holds a LiveToken, so
// waiting for `live == 0` also waits for these tasks to have run: an accept loop that had
// not even started when the server closed must not let ~Server return before its acceptor
// is closed.
template <typename Task>
void PostToEveryShard(ServerCore& core, Task task) {
  for (size_t i = 0; i < core.rt.ios.size(); ++i) {
    asio::post(*core.rt.ios[i],
               [token = LiveToken(core.shared_from_this()), task, i] { task(token.core(), i); });
  }
}

void ArmReadTimer(const std::shared_ptr<Connection>& c, std::chrono::milliseconds timeout) {
  c->read_timed_out = false;
  const uint64_t generation = ++c->read_timer_generation;
  c->read_timer.expires_after(timeout);
  // Holding `c` keeps the timer alive until its callback has run.
  c->read_timer.async_wait([c, generation](const error_code& ec) {
    if (ec || generation != c->read_timer_generation) return;
    c->read_timed_out = true;
    error_code ignored;
    c->stream.socket().cancel(ignored);
  });
}

void DisarmReadTimer(Connection& c) {
  ++c.read_timer_generation;
  c.read_timer.cancel();
}

// Runs a handler on whichever thread calls it and turns every outcome into a response.
Response Invoke(const Route& route, Request& req) {
  try {
    Result<Response> result = route.handler(req);
    if (result.ok()) return std::move(result).value();
    const Error& error = result.error();
    if (!error.internal.empty()) {
      Log(StatusFor(error.code) >= 500 ? LogLevel::kError : LogLevel::kWarn, "request failed",
          {{"request_id", req.request_id},
           {"route", route.pattern},
           {"code", ErrorCodeName(error.code)},
           {"internal", error.internal}});
    }
    return Response::Problem(error, req.path);
  } catch (const std::exception& e) {
    LogError(
        "handler threw",
        {{"request_id", req.request_id}, {"route", route.pattern}, {"what", std::string_view(e.what())}});
  } catch (...) {
    LogError(
        "handler threw",
        {{"request_id", req.request_id}, {"route", route.pattern}, {"what", std::string_view("unknown")}});
  }
  return Response::Problem(Error(ErrorCode::kInternal, "internal error"), req.path);
}

struct WriteResult {
  error_code ec;
  size_t bytes = 0;
};

// "Wed, 25 Nov 2026 18:57:41 GMT" (RFC 9110 §5.6.7), formatted at most once a second
// per thread. `Date` is required of an origin server with a clock.
std::string_view HttpDate() {
  thread_local time_t cached_second = -1;
  thread_local std::array<char, 40> text{};
  thread_local size_t length = 0;
  const time_t now = std::time(nullptr);
  if (now != cached_second) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    // Names spelled out rather than strftime's %a/%b, which follow the locale.
    const int n = std::snprintf(text.data(), text.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
    length = n > 0 ? std::min(static_cast<size_t>(n), text.size() - 1) : 0;
    cached_second = now;
  }
  return {text.data(), length};
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

// The status line and header block of a response, serialized into `out` (a buffer the
// connection reuses, so steady keep-alive traffic allocates nothing here).
void SerializeHead(std::string& out, const Response& r, unsigned version, bool keep_alive, bool bodyless,
                   std::string_view request_id) {
  out.clear();
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char status_digits[4] = {static_cast<char>('0' + r.status / 100),
                           static_cast<char>('0' + r.status / 10 % 10),
                           static_cast<char>('0' + r.status % 10), ' '};
  out.append(status_digits, 4);
  out.append(bhttp::obsolete_reason(static_cast<bhttp::status>(r.status)));
  out.append("\r\nServer: hutong\r\n");
  AppendHeader(out, "Date", HttpDate());
  AppendHeader(out, "X-Request-Id", request_id);
  for (const auto& [name, value] : r.headers) {
    if (IsAllowedExtraHeader(name, value)) {
      AppendHeader(out, name, value);
    } else {
      LogWarn("dropped a response header", {{"request_id", request_id}, {"header", CapForLog(name)}});
    }
  }
  if (!bodyless) {
    AppendHeader(out, "Content-Type", r.content_type);
    // For HEAD the length of the body a GET would get, with no body (RFC 9110 §9.3.2).
    char digits[24];
    const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), r.BodyView().size());
    (void)ec;  // 24 digits hold any size_t
    AppendHeader(out, "Content-Length", std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  // HTTP/1.1 persists unless told otherwise, HTTP/1.0 closes unless told otherwise.
  if (version == 10 && keep_alive) out.append("Connection: keep-alive\r\n");
  if (version != 10 && !keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n", 2);
}

// `r.status` must be 100–599 (ServeOne makes sure). The head and the body go out in one
// gather write; the body is never copied (a shared cached body included).
asio::awaitable<WriteResult> WriteResponse(const ServerCore& core, Connection& c, const Response& r,
                                           unsigned version, bool keep_alive, bool head,
                                           std::string_view request_id) {
  const bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  SerializeHead(c.write_head, r, version, keep_alive, bodyless, request_id);
  const std::string_view body = bodyless || head ? std::string_view() : r.BodyView();
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(c.write_head),
                                                  asio::buffer(body.data(), body.size())};
  const size_t total = c.write_head.size() + body.size();
  // The socket usually takes the whole response at once: one sendmsg, no deadline to arm
  // and cancel. (The socket is non-blocking, so this never waits.)
  error_code ec;
  size_t bytes = c.stream.socket().write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    bytes = 0;
  }
  if (!ec && bytes < total) {
    // A full socket buffer (a large body, a slow reader): the rest under a deadline.
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
    rest.consume(bytes);
    c.stream.expires_after(std::max(core.options.read_timeout, kMinWriteTimeout));
    auto [wec, more] = co_await asio::async_write(c.stream, rest, kAwait);
    if (!wec) c.stream.expires_never();
    ec = wec;
    bytes += more;
  }
  // A burst of large error pages must not pin memory on a connection that lives for long.
  if (c.write_head.capacity() > kMaxKeptHeadBytes) std::string().swap(c.write_head);
  co_return WriteResult{ec, bytes};
}

// After an error response: stop sending, read and discard for a bounded time, close.
asio::awaitable<void> LingerAndClose(Connection& c) {
  error_code ignored;
  c.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  c.stream.expires_after(kLingerTime);
  std::array<char, 4096> scratch;
  size_t discarded = 0;
  while (discarded < kLingerMaxBytes) {
    auto [ec, n] = co_await c.stream.async_read_some(asio::buffer(scratch), kAwait);
    if (ec) break;
    discarded += n;
  }
  c.stream.close();
}

void AccessLog(const ServerCore& core, const Connection& c, std::string_view request_id, Method method,
               std::string_view path, const Route* route, int status, SteadyClock::time_point start,
               size_t bytes) {
  if (!core.options.access_log) return;
  const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
  Log(LogLevel::kInfo, "request",
      {{"request_id", request_id},
       {"role", core.options.role},
       {"method", MethodName(method)},
       {"path", CapForLog(path)},  // the query is left out: it may carry one-time codes
       {"route", route != nullptr ? std::string_view(route->pattern) : std::string_view("-")},
       {"status", int64_t{status}},
       {"duration_ms", ms},
       {"bytes_out", static_cast<int64_t>(bytes)},
       {"remote", c.remote}});
}

// Parses a request straight into the connection's own Request, reused from its previous
// request: the method, target, header pairs and body are assigned into strings that keep
// their buffers, so a steady keep-alive client costs no allocation here (Beast's own
// request_parser allocates a node per header field and a body per request, then we copied
// them). Header names are lowercased as they arrive. Limits, framing (Content-Length,
// chunked) and errors are Beast's. Construct one per request (basic_parser is single-use;
// constructing it allocates nothing).
class Parser final : public bhttp::basic_parser<true> {
 public:
  explicit Parser(Request& req) : req_(req) {}

  // Valid once is_header_done().
  unsigned version() const { return version_; }
  std::string_view method_text() const { return {method_text_, method_length_}; }
  bool expects_continue() const { return expects_continue_; }

 private:
  // A body larger than this is not kept for the connection's next request.
  static constexpr size_t kMaxKeptBodyBytes = 64 << 10;

  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       error_code&) override {
    req_.method = ParseMethod(method);
    method_length_ = std::min(method.size(), sizeof(method_text_));
    std::memcpy(method_text_, method.data(), method_length_);
    version_ = version == 10 ? 10 : 11;
    req_.target.assign(target.data(), target.size());
    const std::string_view t(req_.target);
    const size_t question = t.find('?');
    req_.path.assign(t.substr(0, question));
    if (question != std::string_view::npos) {
      req_.query.assign(t.substr(question + 1));
    } else {
      req_.query.clear();
    }
    if (req_.body.capacity() > kMaxKeptBodyBytes) std::string().swap(req_.body);
    req_.body.clear();
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}  // a request parser
  void on_field_impl(bhttp::field name, beast::string_view name_string, beast::string_view value,
                     error_code&) override {
    if (fields_ == req_.headers.size()) req_.headers.emplace_back();
    auto& [n, v] = req_.headers[fields_++];
    n.assign(name_string.data(), name_string.size());
    // ASCII only: header names are tokens (RFC 9110 §5.1), and std::tolower asks the locale.
    for (char& ch : n) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    v.assign(value.data(), value.size());
    if (name == bhttp::field::expect && beast::iequals(value, "100-continue")) expects_continue_ = true;
  }
  void on_header_impl(error_code&) override { req_.headers.resize(fields_); }
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) override {
    // basic_parser has already refused a Content-Length above the body limit.
    if (content_length) req_.body.reserve(static_cast<size_t>(*content_length));
  }
  size_t on_body_impl(beast::string_view body, error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  Request& req_;
  size_t fields_ = 0;
  unsigned version_ = 11;
  char method_text_[32] = {};  // as received, for messages (capped)
  size_t method_length_ = 0;
  bool expects_continue_ = false;
};

// A request the server itself refuses (400, 408, 413, 431): answer with problem+json and
// `Connection: close`, then close without reading the rest of the request.
asio::awaitable<void> RejectAndClose(ServerCore& core, Connection& c, Parser& parser, Error error,
                                     SteadyClock::time_point start) {
  Method method = Method::kOther;
  std::string path;
  unsigned version = 11;
  std::string request_id;
  if (parser.is_header_done()) {
    // The connection's Request holds this request's line and headers (Parser).
    const Request& req = c.request;
    method = req.method;
    path = req.path;
    version = parser.version();
    const auto incoming = req.Header("x-request-id");
    if (incoming && IsSaneRequestId(*incoming)) request_id = std::string(*incoming);
  }
  if (request_id.empty()) AssignThreadLocalId(request_id, "req");
  Response response = Response::Problem(error, path);
  Metrics::Observe(core.SeriesFor(nullptr, method), response.status,
                   std::chrono::duration<double>(SteadyClock::now() - start).count());
  const int status = response.status;
  const WriteResult written = co_await WriteResponse(core, c, response, version, /*keep_alive=*/false,
                                                     method == Method::kHead, request_id);
  AccessLog(core, c, request_id, method, path, nullptr, status, start, written.bytes);
  if (!written.ec) co_await LingerAndClose(c);
}

// Sets the fields of `req` that the parser does not (see Parser: it set the method, target,
// path, query, headers and body). A field added to Request must be set (or cleared) by one
// of the two.
void FinishRequest(Request& req, const std::string& remote) {
  if (req.remote_addr != remote) req.remote_addr = remote;
  const std::optional<std::string_view> incoming_id = req.Header("x-request-id");
  if (incoming_id && IsSaneRequestId(*incoming_id)) {
    req.request_id.assign(*incoming_id);
  } else {
    AssignThreadLocalId(req.request_id, "req");
  }
  req.path_params.clear();
}

// Reads, handles and answers one request whose first byte is in `buffer`. Returns whether
// the connection may carry another request.
asio::awaitable<bool> ServeOne(ServerCore& core, const std::shared_ptr<Connection>& c,
                               beast::flat_buffer& buffer) {
  const auto start = SteadyClock::now();
  const ServerOptions& options = core.options;
  Parser parser(c->request);
  parser.header_limit(static_cast<uint32_t>(std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
  parser.body_limit(options.max_body_bytes);

  error_code ec;
  c->read_timed_out = false;
  // Keep-alive clients usually send a whole request at once, so it is in the buffer
  // already: parse it in place, without a read deadline to arm and then cancel.
  while (!parser.is_done() && buffer.size() > 0) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec || used == 0) break;
  }
  if (ec == bhttp::error::need_more) ec = {};
  if (!ec && !parser.is_done()) {
    // One deadline for the rest of the request, header and body.
    ArmReadTimer(c, options.read_timeout);
    if (!parser.is_header_done()) {
      auto [hec, header_bytes] = co_await bhttp::async_read_header(c->stream, buffer, parser, kAwait);
      (void)header_bytes;
      ec = hec;
    }
    if (!ec && !parser.is_done()) {
      // The client is holding the body back until we agree to take it (curl does this for
      // large uploads). An oversized Content-Length never gets here: it failed above.
      if (parser.version() >= 11 && parser.expects_continue()) {
        bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, parser.version()};
        auto [wec, wn] = co_await bhttp::async_write(c->stream, go_on, kAwait);
        (void)wn;
        ec = wec;
      }
      if (!ec) {
        auto [bec, body_bytes] = co_await bhttp::async_read(c->stream, buffer, parser, kAwait);
        (void)body_bytes;
        ec = bec;
      }
    }
    DisarmReadTimer(*c);
  }
  if (core.closed.load()) co_return false;
  if (ec) {
    if (c->read_timed_out) {
      co_await RejectAndClose(
          core, *c, parser,
          Error(ErrorCode::kRequestTimeout, "the request was not received within " +
                                                std::to_string(options.read_timeout.count()) + " ms"),
          start);
    } else if (ec == bhttp::error::header_limit) {
      co_await RejectAndClose(
          core, *c, parser,
          Error(ErrorCode::kHeadersTooLarge,
                "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes"),
          start);
    } else if (ec == bhttp::error::body_limit) {
      co_await RejectAndClose(
          core, *c, parser,
          Error(ErrorCode::kPayloadTooLarge,
                "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes"),
          start);
    } else if (IsHttpParseError(ec)) {
      co_await RejectAndClose(core, *c, parser,
                              Error(ErrorCode::kValidationFailed, "malformed HTTP request: " + ec.message()),
                              start);
    }
    // Anything else is the peer going away or a drain/close: nothing to answer.
    co_return false;
  }

  Request& req = c->request;
  FinishRequest(req, c->remote);
  const unsigned version = parser.version();
  bool keep_alive = parser.keep_alive();

  // Built by whichever branch answers (a default Response would allocate its content type
  // only to have it replaced).
  std::optional<Response> answer;
  const Route* route = nullptr;
  if (req.path.empty() || req.path.front() != '/') {
    // Absolute-form or asterisk-form targets: we are nobody's proxy.
    answer = Response::Problem(Error(ErrorCode::kValidationFailed, "the request target must be a path"));
  } else {
    Router::Match match = core.router.Find(req.method, req.path);
    if (match.bad_escape) {
      answer = Response::Problem(
          Error(ErrorCode::kValidationFailed, "the path contains a malformed percent-escape"), req.path);
    } else if (match.route == nullptr) {
      if (match.path_matched_other_method) {
        answer = Response::Problem(
            Error(ErrorCode::kMethodNotAllowed,
                  "method " + std::string(parser.method_text()) + " is not allowed on this path"),
            req.path);
        std::string allow;
        for (Method m : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += MethodName(m);
        }
        answer->headers.emplace_back("Allow", std::move(allow));
      } else {
        answer = Response::Problem(Error(ErrorCode::kNotFound, "no such resource"), req.path);
      }
    } else {
      route = match.route;
      req.path_params = std::move(match.params);
      if (route->fast_path) {
        try {
          answer = route->fast_path(req);
        } catch (const std::exception& e) {
          // A failing fast path only costs the fast path: the handler still answers.
          answer.reset();
          LogError("fast path threw", {{"request_id", req.request_id}, {"what", std::string_view(e.what())}});
        }
      }
      if (answer) {
        // Answered on this thread from memory.
      } else if (route->exec == Exec::kInline) {
        answer = Invoke(*route, req);
      } else {
        // The frame (answer) and the connection (req) stay put while suspended, so the job
        // may use them.
        co_await RunOnPool(
            core.pool, [&answer, route, &req] { answer = Invoke(*route, req); }, asio::use_awaitable);
        if (core.closed.load()) co_return false;
      }
    }
  }

  if (!answer)
    answer = Response::Problem(Error(ErrorCode::kInternal, "internal error"), req.path);  // cannot happen
  Response& response = *answer;
  if (response.status < 100 || response.status > 599) {
    LogError("handler returned an invalid status",
             {{"request_id", req.request_id}, {"status", int64_t{response.status}}});
    response = Response::Problem(Error(ErrorCode::kInternal, "internal error"), req.path);
  }
  // Observed before writing: the latency is ours, not the client's download speed.
  Metrics::Observe(core.SeriesFor(route, req.method), response.status,
                   std::chrono::duration<double>(SteadyClock::now() - start).count());
  keep_alive = keep_alive && !core.draining.load();
  const int status = response.status;
  const WriteResult written = co_await WriteResponse(core, *c, response, version, keep_alive,
                                                     req.method == Method::kHead, req.request_id);
  AccessLog(core, *c, req.request_id, req.method, req.path, route, status, start, written.bytes);
  co_return !written.ec && keep_alive;
}

// Waits (at most `timeout`) until the idle connection is readable, then reads what is
// there. Waiting first, rather than trying a read at once as Asio does, saves a recv that
// would fail: the next request of a keep-alive client is rarely there yet. Returns an
// error when the connection is to be closed (timeout, drain, peer gone).
asio::awaitable<error_code> ReadWhenReadable(const std::shared_ptr<Connection>& c, beast::flat_buffer& buffer,
                                             std::chrono::milliseconds timeout) {
  ArmReadTimer(c, timeout);  // on expiry it cancels the wait
  for (;;) {
    auto [ec] = co_await c->stream.socket().async_wait(tcp::socket::wait_read, kAwait);
    if (!ec) {
      const size_t n = c->stream.socket().read_some(buffer.prepare(kReadChunk), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;  // spurious
      buffer.commit(n);
    }
    DisarmReadTimer(*c);
    co_return ec;
  }
}

asio::awaitable<void> Session(LiveToken token, std::shared_ptr<Connection> c) {
  ServerCore& core = token.core();
  Registration registration(core, c.get());
  const ServerOptions& options = core.options;
  beast::flat_buffer buffer;
  bool first = true;
  while (!core.draining.load() && !core.closed.load()) {
    if (buffer.size() == 0) {
      // Idle: between requests (or before the first). A drain may cancel this read; the
      // stream's own timeout closes the connection silently.
      c->state = ConnState::kIdle;
      if (co_await ReadWhenReadable(
              c, buffer,
              first ? std::min(options.read_timeout, options.idle_timeout) : options.idle_timeout)) {
        break;
      }
    }
    c->state = ConnState::kActive;
    first = false;
    if (!co_await ServeOne(core, c, buffer)) break;
  }
  DisarmReadTimer(*c);
  c->stream.close();
}

asio::awaitable<void> AcceptLoop(LiveToken token, size_t shard) {
  ServerCore& core = token.core();
  tcp::acceptor& acceptor = *core.acceptors[shard];
  // However the loop ends (even before it first ran), the socket stops listening with it.
  struct CloseOnExit {
    tcp::acceptor& a;
    ~CloseOnExit() {
      error_code ignored;
      a.close(ignored);
    }
  } close_on_exit{acceptor};
  for (;;) {
    if (core.draining.load() || core.closed.load() || !acceptor.is_open()) break;
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (core.draining.load() || core.closed.load() || !acceptor.is_open()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      // Out of file descriptors and the like: back off rather than spin.
      LogWarn("accept failed", {{"role", core.options.role}, {"error", ec.message()}});
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(kAwait);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    // Direct reads and writes (ReadWhenReadable, WriteResponse) must never block the thread.
    socket.non_blocking(true, ignored);
    auto conn = std::make_shared<Connection>(std::move(socket), shard);
    error_code rec;
    const tcp::endpoint peer = conn->stream.socket().remote_endpoint(rec);
    if (!rec) conn->remote = peer.address().to_string();
    asio::co_spawn(acceptor.get_executor(), Session(LiveToken(core.shared_from_this()), std::move(conn)),
                   LogUncaught{"session"});
  }
}

}  // namespace

void ServerCore::BeginDrain() {
  draining.store(true);
  PostToEveryShard(*this, [](ServerCore& core, size_t shard) {
    core.CloseAcceptor(shard);
    core.CancelConnections(shard, /*all=*/false);
  });
}

namespace {

void RunIoLoop(asio::io_context& io) {
  // A handler that throws is a bug; log it and keep the thread serving.
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      LogError("uncaught exception on an I/O thread", {{"what", std::string_view(e.what())}});
    } catch (...) {
      LogError("uncaught exception on an I/O thread", {{"what", std::string_view("unknown")}});
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Runtime::Impl

Runtime::Impl::Impl(size_t io_threads, size_t blocking_threads) {
  io_threads = std::max<size_t>(io_threads, 1);
  blocking_threads = std::max<size_t>(blocking_threads, 1);
  for (size_t i = 0; i < io_threads; ++i) {
    // Hint 1: each io_context is run by exactly one thread (others still post to it).
    ios.push_back(std::make_unique<asio::io_context>(1));
    guards.push_back(asio::make_work_guard(*ios.back()));
  }
  this->blocking_threads = blocking_threads;
  pool = std::make_unique<asio::thread_pool>(blocking_threads);
}

asio::thread_pool& Runtime::Impl::RolePool(const std::string& role) {
  std::lock_guard lock(mu);
  auto& p = role_pools[role];
  if (!p) p = std::make_unique<asio::thread_pool>(blocking_threads);
  return *p;
}

Runtime::Impl::~Impl() {
  Stop();
  // Order matters: queued pool jobs and signal waits hold coroutine frames whose sockets
  // belong to the io_contexts, so those go first and the io_contexts last.
  signals.reset();
  role_pools.clear();
  pool.reset();
  guards.clear();
  ios.clear();
}

void Runtime::Impl::Start() {
  std::lock_guard lock(mu);
  if (state != State::kCreated) return;
  state = State::kRunning;
  running.store(true);
  for (size_t i = 0; i < ios.size(); ++i) {
    threads.emplace_back([this, i] {
      SetThreadName("hutong-io-" + std::to_string(i));
      RunIoLoop(*ios[i]);
    });
  }
}

void Runtime::Impl::Stop() {
  std::lock_guard stop_lock(stop_mu);
  std::vector<std::thread> to_join;
  std::vector<std::shared_ptr<ServerCore>> to_notify;
  std::vector<asio::thread_pool*> role_pool_list;
  {
    std::lock_guard lock(mu);
    if (state == State::kStopped) return;
    state = State::kStopped;
    running.store(false);
    to_join = std::move(threads);
    to_notify = servers;
    for (auto& [role, p] : role_pools) role_pool_list.push_back(p.get());
  }
  for (auto& io : ios) io->stop();
  for (auto& t : to_join) t.join();
  // Running jobs finish; queued ones are dropped.
  pool->stop();
  pool->join();
  for (auto* p : role_pool_list) {
    p->stop();
    p->join();
  }
  for (auto& s : to_notify) s->CloseAllWhileNotRunning();
  cv.notify_all();
}

void Runtime::Impl::RequestStop() {
  {
    std::lock_guard lock(mu);
    stop_requested = true;
  }
  cv.notify_all();
}

bool Runtime::Impl::RunUntilSignal(std::chrono::milliseconds drain_timeout) {
  Start();
  {
    std::lock_guard lock(mu);
    if (state != State::kStopped && !signals) {
      signals = std::make_unique<asio::signal_set>(*ios[0], SIGTERM, SIGINT);
      signals->async_wait([this](const error_code& ec, int signal_number) {
        if (ec) return;
        LogInfo("signal received", {{"signal", int64_t{signal_number}}});
        RequestStop();
      });
    }
  }
  std::vector<std::shared_ptr<ServerCore>> to_drain;
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return stop_requested || state == State::kStopped; });
    if (state == State::kStopped) return false;  // Stop() came first: nothing was drained
    to_drain = servers;
  }
  const auto deadline = SteadyClock::now() + drain_timeout;
  LogInfo("draining", {{"servers", static_cast<int64_t>(to_drain.size())},
                       {"timeout_ms", static_cast<int64_t>(drain_timeout.count())}});
  for (auto& s : to_drain) s->BeginDrain();
  bool drained = true;
  for (auto& s : to_drain) drained = s->WaitForNoConnections(deadline) && drained;
  if (!drained) {
    size_t open = 0;
    for (auto& s : to_drain) open += s->OpenConnections();
    LogWarn("drain timed out; stopping with connections open",
            {{"open_connections", static_cast<int64_t>(open)}});
  }
  // Joins the pool too: a blocking handler still running past the deadline is waited for,
  // since a thread cannot be interrupted safely.
  Stop();
  LogInfo("stopped", {{"drained", drained}});
  return drained;
}

void Runtime::Impl::RegisterServer(std::shared_ptr<ServerCore> core) {
  std::lock_guard lock(mu);
  servers.push_back(std::move(core));
}

void Runtime::Impl::UnregisterServer(const ServerCore* core) {
  std::lock_guard lock(mu);
  std::erase_if(servers, [core](const auto& s) { return s.get() == core; });
}

// ---------------------------------------------------------------------------------------
// Runtime

Runtime::Runtime(size_t io_threads, size_t blocking_threads)
    : impl_(std::make_unique<Impl>(io_threads, blocking_threads)) {}
Runtime::~Runtime() = default;
void Runtime::Start() {
  impl_->Start();
}
bool Runtime::RunUntilSignal(std::chrono::milliseconds drain_timeout) {
  return impl_->RunUntilSignal(drain_timeout);
}
void Runtime::RequestStopForTest() {
  impl_->RequestStop();
}
void Runtime::Stop() {
  impl_->Stop();
}

void Runtime::PostBlocking(std::function<void()> fn) {
  asio::post(*impl_->pool, [fn = std::move(fn)] {
    try {
      fn();
    } catch (const std::exception& e) {
      LogError("background job threw", {{"what", std::string_view(e.what())}});
    } catch (...) {
      LogError("background job threw", {{"what", std::string_view("unknown")}});
    }
  });
}

// ---------------------------------------------------------------------------------------
// Server

struct Server::Impl {
  std::shared_ptr<ServerCore> core;
};

Server::Server(Runtime& runtime, const Router& router, Metrics& metrics, ServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->core = std::make_shared<ServerCore>(runtime.impl(), router, metrics, std::move(options));
  runtime.impl().RegisterServer(impl_->core);
}

Server::~Server() {
  ServerCore& core = *impl_->core;
  core.closed.store(true);
  core.draining.store(true);
  if (core.rt.running.load()) {
    // Abort every connection on its own thread, then wait until no coroutine can touch the
    // router or the metrics any more (a blocking handler in flight is waited for).
    PostToEveryShard(core, [](ServerCore& c, size_t shard) {
      c.CloseAcceptor(shard);
      c.CancelConnections(shard, /*all=*/true);
    });
    std::unique_lock lock(core.mu);
    // Polls `running` too: if the runtime stops meanwhile, parked frames never resume and
    // are destroyed with it (they keep the core alive until then).
    while (core.live > 0 && core.rt.running.load()) {
      core.cv.wait_for(lock, std::chrono::milliseconds(20));
    }
  } else {
    core.CloseAllWhileNotRunning();
  }
  core.rt.UnregisterServer(&core);
}

Status Server::Listen() {
  ServerCore& core = *impl_->core;
  if (core.listening) return Error(ErrorCode::kInternal, "already listening", "Server::Listen called twice");
  ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(core.options.listen));
  const auto fail = [&](std::string_view step, const error_code& ec) {
    return Error(ErrorCode::kUnavailable,
                 "cannot listen on " + core.options.listen + ": " + std::string(step) + ": " + ec.message());
  };
  // SO_REUSEPORT below would let us share a port another server (or a second hutong
  // started by mistake) already listens on, silently splitting its traffic. A probe bound
  // without SO_REUSEPORT fails on any port in use, so a taken port is refused instead.
  if (endpoint.port() != 0) {
    tcp::acceptor probe(*core.rt.ios[0]);
    error_code ec;
    probe.open(endpoint.protocol(), ec);
    if (!ec) probe.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(endpoint, ec);
    if (ec) return fail("bind", ec);
    probe.close(ec);
  }
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // One acceptor per io_context on the same port (SO_REUSEPORT): the kernel spreads new
  // connections over the I/O threads. With port 0 the first bind picks the port.
  for (size_t i = 0; i < core.rt.ios.size(); ++i) {
    auto acceptor = std::make_unique<tcp::acceptor>(*core.rt.ios[i]);
    error_code ec;
    acceptor->open(endpoint.protocol(), ec);
    if (ec) return fail("open", ec);
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("SO_REUSEADDR", ec);
    acceptor->set_option(ReusePort(true), ec);
    if (ec) return fail("SO_REUSEPORT", ec);
    acceptor->bind(endpoint, ec);
    if (ec) return fail("bind", ec);
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen", ec);
    if (i == 0) {
      endpoint = acceptor->local_endpoint(ec);
      if (ec) return fail("local_endpoint", ec);
    }
    acceptors.push_back(std::move(acceptor));
  }
  core.acceptors = std::move(acceptors);
  core.port = endpoint.port();
  core.listening = true;

  for (const auto& route : core.router.routes()) {
    core.route_series[route.get()] =
        core.metrics.Series(core.options.role, MethodName(route->method), route->pattern);
    if (route->method == Method::kGet) {
      core.head_series[route.get()] =
          core.metrics.Series(core.options.role, MethodName(Method::kHead), route->pattern);
    }
  }
  for (size_t m = 0; m < core.unmatched_series.size(); ++m) {
    core.unmatched_series[m] =
        core.metrics.Series(core.options.role, MethodName(static_cast<Method>(m)), "unmatched");
  }

  for (size_t i = 0; i < core.acceptors.size(); ++i) {
    asio::co_spawn(*core.rt.ios[i], AcceptLoop(LiveToken(impl_->core), i), LogUncaught{"accept"});
  }
  Log(LogLevel::kDebug, "listening",
      {{"role", core.options.role},
       {"address", endpoint.address().to_string()},
       {"port", int64_t{core.port}},
       {"io_threads", static_cast<int64_t>(core.acceptors.size())}});
  return Ok();
}

uint16_t Server::port() const {
  return impl_->core->port;
}
const ServerOptions& Server::options() const {
  return impl_->core->options;
}

}  // namespace hutong::http
