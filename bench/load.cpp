// hutong_load: the load client of bench/run.sh for what wrk cannot drive alone — flows of
// several requests on two servers (create an order on the provider, pay it at the host's
// cashier), many users with their own sessions, and checks of the outcome read from the
// databases afterwards. Keep-alive HTTP/1.1 over loopback, one blocking connection per
// thread and server (flash: --threads connections on --loops epoll threads, default 1);
// latencies are kept exactly (every sample) for the percentiles.
//
//   hutong_load orders  --host URL --provider URL --provider-db DB --tokens FILE --deals ID,ID,...
//                       --threads N --seconds S
//   hutong_load flash   --provider URL --provider-db DB --tokens FILE --deal ID --campaign ID
//                       --units N --attempts N --threads N [--loops N]
//   hutong_load redeem  --host URL --provider URL --provider-db DB --tokens FILE --vouchers N --threads N
//
// Prints one JSON object with the figures on stdout; exits 1 when a check fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/db.h"

namespace {
using Clock = std::chrono::steady_clock;
using hutong::storage::Access;
using hutong::storage::Query;

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "hutong_load: " << why << "\n";
  std::exit(2);
}

struct Url {
  std::string host = "127.0.0.1";
  int port = 0;
};
Url ParseUrl(const std::string& s) {
  // http://127.0.0.1:PORT (loopback only; no path)
  const std::string prefix = "http://";
  if (s.rfind(prefix, 0) != 0) Die("not an http:// URL: " + s);
  auto colon = s.rfind(':');
  Url u;
  u.host = s.substr(prefix.size(), colon - prefix.size());
  u.port = std::atoi(s.c_str() + colon + 1);
  if (u.port <= 0) Die("no port in " + s);
  return u;
}

struct Response {
  int status = 0;
  std::string body;
};

// One keep-alive connection; reconnects when the server closes it.
class Conn {
 public:
  explicit Conn(Url url) : url_(std::move(url)) {}
  ~Conn() { Close(); }

  Response Send(const std::string& method, const std::string& path, const std::string& bearer,
                const std::string& body) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + url_.host + "\r\n";
    if (!bearer.empty()) req += "Authorization: Bearer " + bearer + "\r\n";
    if (method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n";
    req += body;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0) Connect();
      Response r;
      if (WriteAll(req) && Read(r)) return r;
      Close();  // a closed keep-alive connection: retry once on a fresh one
    }
    return Response{0, ""};
  }

 private:
  void Connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(url_.port));
    ::inet_pton(AF_INET, url_.host.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Die("cannot connect to port " + std::to_string(url_.port));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf_.clear();
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool WriteAll(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  bool Read(Response& r) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    const std::string head = buf_.substr(0, end);
    if (head.size() < 12) return false;
    r.status = std::atoi(head.c_str() + 9);
    size_t length = 0;
    bool close = false;
    std::istringstream lines(head);
    std::string line;
    while (std::getline(lines, line)) {
      std::string lower = line;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.rfind("content-length:", 0) == 0) length = std::strtoul(line.c_str() + 15, nullptr, 10);
      if (lower.rfind("transfer-encoding:", 0) == 0) Die("chunked responses are not supported");
      if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos) close = true;
    }
    while (buf_.size() < end + 4 + length) {
      if (!Fill()) return false;
    }
    r.body = buf_.substr(end + 4, length);
    buf_.erase(0, end + 4 + length);
    if (close) Close();
    return true;
  }

  Url url_;
  int fd_ = -1;
  std::string buf_;
};

// "key":"value" of a flat JSON answer (ids only; no escapes in them).
std::string JsonString(const std::string& body, const std::string& key) {
  const std::string k = "\"" + key + "\":\"";
  auto p = body.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  auto e = body.find('"', p);
  return e == std::string::npos ? "" : body.substr(p, e - p);
}

struct Args {
  std::map<std::string, std::string> v;
  std::string Get(const std::string& k, const std::string& def = "") const {
    auto it = v.find(k);
    if (it == v.end()) {
      if (def.empty()) Die("--" + k + " is required");
      return def;
    }
    return it->second;
  }
  long Int(const std::string& k, long def) const { return std::atol(Get(k, std::to_string(def)).c_str()); }
};

struct User {
  std::string host_token;
  std::string mp_token;
};
std::vector<User> ReadTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read " + path);
  std::vector<User> out;
  std::string line;
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  if (out.empty()) Die("no tokens in " + path);
  return out;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Latency samples in microseconds.
struct Samples {
  std::vector<double> us;
  void Add(Clock::time_point t0) {
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  void Merge(const Samples& o) { us.insert(us.end(), o.us.begin(), o.us.end()); }
  double Pct(double p) {
    if (us.empty()) return 0;
    std::sort(us.begin(), us.end());
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(us.size() - 1) + 0.5);
    return us[std::min(i, us.size() - 1)] / 1000.0;  // ms
  }
};

std::string Fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::unique_ptr<hutong::storage::Db> OpenDb(const std::string& target) {
  hutong::storage::DbOptions o;
  o.default_schema = "provider";
  o.pool_size = 1;
  auto db = hutong::storage::OpenDb(target, o);
  if (!db.ok()) Die("cannot open " + target + ": " + db.error().internal);
  return std::move(*db);
}

int64_t ScalarInt(hutong::storage::Db& db, const Query& q, std::vector<hutong::storage::Value> params) {
  auto rows = db.Read([&](hutong::storage::Tx& tx) { return tx.Exec(q, params); });
  if (!rows.ok()) Die(std::string("query ") + q.name + " failed: " + rows.error().internal);
  return rows->empty() ? 0 : (*rows)[0].Int(0);
}

constexpr Query kCountPaidWithVouchers{
    "load.count_paid", Access::kRead,
    "SELECT COUNT(*) FROM orders o WHERE o.status = 'paid' AND o.created_at >= $1 "
    "AND EXISTS (SELECT 1 FROM vouchers v WHERE v.order_id = o.id)"};

// A buyer: create (provider) → pay (host cashier). Vouchers follow by webhook.
struct Buy {
  int create_status = 0;
  int pay_status = 0;
};
Buy PlaceAndPay(Conn& provider, Conn& host, const User& u, const std::string& deal, int quantity,
                Samples* create, Samples* pay) {
  Buy b;
  auto t0 = Clock::now();
  auto r = provider.Send("POST", "/mp/v1/orders", u.mp_token,
                         "{\"deal_id\":\"" + deal + "\",\"quantity\":" + std::to_string(quantity) + "}");
  if (create) create->Add(t0);
  b.create_status = r.status;
  if (r.status != 201 && r.status != 200) return b;
  const std::string pay_order = JsonString(r.body, "pay_order_id");
  if (pay_order.empty()) Die("no pay_order_id in " + r.body);
  auto t1 = Clock::now();
  auto p = host.Send("POST", "/api/cashier/" + pay_order + "/pay", u.host_token, "");
  if (pay) pay->Add(t1);
  b.pay_status = p.status;
  return b;
}

// Waits until `expected` orders created since `since_ms` are paid with vouchers; returns
// the time it happened (or gives up after the timeout).
Clock::time_point WaitForVouchers(hutong::storage::Db& db, int64_t since_ms, int64_t expected, int64_t* seen,
                                  double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    *seen = ScalarInt(db, kCountPaidWithVouchers, {since_ms});
    if (*seen >= expected || Clock::now() > deadline) return Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------
int RunOrders(const Args& a) {
  const Url host = ParseUrl(a.Get("host")), provider = ParseUrl(a.Get("provider"));
  auto users = ReadTokens(a.Get("tokens"));
  auto deals = Split(a.Get("deals"));
  const int threads = static_cast<int>(a.Int("threads", 64));
  const double seconds = static_cast<double>(a.Int("seconds", 10));
  auto db = OpenDb(a.Get("provider-db"));
  const int64_t since = NowMs() - 1000;

  std::atomic<bool> stop{false};
  std::mutex mu;
  Samples create_all, pay_all, flow_all;
  std::map<std::string, int64_t> statuses;
  int64_t paid = 0;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Conn pc(provider), hc(host);
      Samples create, pay, flow;
      std::map<std::string, int64_t> st;
      int64_t ok = 0;
      for (size_t i = static_cast<size_t>(t); !stop.load(std::memory_order_relaxed);
           i += static_cast<size_t>(threads)) {
        const User& u = users[i % users.size()];
        auto t0 = Clock::now();
        Buy b = PlaceAndPay(pc, hc, u, deals[i % deals.size()], 1, &create, &pay);
        st["create " + std::to_string(b.create_status)]++;
        if (b.pay_status != 0) st["pay " + std::to_string(b.pay_status)]++;
        if (b.pay_status == 200) {
          ++ok;
          flow.Add(t0);
        }
      }
      std::lock_guard lock(mu);
      create_all.Merge(create);
      pay_all.Merge(pay);
      flow_all.Merge(flow);
      for (auto& [k, n] : st) statuses[k] += n;
      paid += ok;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double load_s = std::chrono::duration<double>(Clock::now() - start).count();
  int64_t with_vouchers = 0;
  auto done = WaitForVouchers(*db, since, paid, &with_vouchers, 120);
  const double total_s = std::chrono::duration<double>(done - start).count();

  std::cout << "{\"threads\":" << threads << ",\"load_seconds\":" << Fmt(load_s)
            << ",\"seconds_until_vouchers\":" << Fmt(total_s) << ",\"paid\":" << paid
            << ",\"paid_with_vouchers\":" << with_vouchers
            << ",\"complete_per_second\":" << Fmt(static_cast<double>(with_vouchers) / total_s)
            << ",\"paid_per_second\":" << Fmt(static_cast<double>(paid) / load_s)
            << ",\"create_p50_ms\":" << Fmt(create_all.Pct(50))
            << ",\"create_p99_ms\":" << Fmt(create_all.Pct(99)) << ",\"pay_p50_ms\":" << Fmt(pay_all.Pct(50))
            << ",\"pay_p99_ms\":" << Fmt(pay_all.Pct(99)) << ",\"flow_p50_ms\":" << Fmt(flow_all.Pct(50))
            << ",\"flow_p99_ms\":" << Fmt(flow_all.Pct(99)) << ",\"statuses\":{";
  bool first = true;
  for (auto& [k, n] : statuses) {
    std::cout << (first ? "" : ",") << "\"" << k << "\":" << n;
    first = false;
  }
  std::cout << "}}\n";
  if (paid == 0) std::cerr << "hutong_load: no order was paid\n";
  return paid > 0 && with_vouchers == paid ? 0 : 1;
}

constexpr Query kFlashSold{
    "load.flash_sold", Access::kRead,
    "SELECT COALESCE(SUM(quantity), 0) FROM orders WHERE campaign_id = $1 AND deal_id = $2 "
    "AND status <> 'cancelled'"};
constexpr Query kFlashLeft{"load.flash_left", Access::kRead,
                           "SELECT stock_left FROM campaign_deals WHERE campaign_id = $1 AND deal_id = $2"};

// The flash sale's client: `connections` keep-alive connections multiplexed on `loops`
// epoll threads (one request in flight per connection, no pipelining), so that the client
// costs little of the CPU it shares with the server: 64 blocking threads spent about
// 20 µs per attempt, mostly in context switches. Every attempt is one complete HTTP request
// answered by the server; a connection the server closes is reopened and its unanswered
// attempt sent again once, as Conn::Send does.
class FlashLoop {
 public:
  struct Shared {
    Url url;
    const std::vector<User>* users = nullptr;
    std::string body;  // the order, the same for every attempt
    int64_t attempts = 0;
    std::atomic<int64_t> next{0};
  };

  FlashLoop(Shared& shared, int connections) : shared_(shared), conns_(static_cast<size_t>(connections)) {}

  // Runs until every attempt this loop took is answered (or failed).
  void Run() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) Die("epoll_create1 failed");
    int active = 0;
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (Start(conns_[i], i)) ++active;
    }
    std::array<epoll_event, 64> events;
    while (active > 0) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("epoll_wait failed");
      }
      for (int e = 0; e < n; ++e) {
        const size_t i = events[static_cast<size_t>(e)].data.u64;
        if (!OnReadable(conns_[i], i)) --active;
      }
    }
    ::close(epoll_);
  }

  Samples all, rejected;
  std::map<int, int64_t> statuses;

 private:
  struct C {
    int fd = -1;
    int64_t attempt = -1;  // the attempt in flight
    bool resent = false;   // already sent again on a fresh connection
    Clock::time_point t0;
    std::string in;   // bytes received, not yet consumed
    std::string out;  // the request being sent (reused)
  };

  void Connect(C& c, size_t i) {
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(shared_.url.port));
    ::inet_pton(AF_INET, shared_.url.host.c_str(), &a.sin_addr);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Die("cannot connect to port " + std::to_string(shared_.url.port));
    }
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev) != 0) Die("epoll_ctl failed");
    c.in.clear();
  }

  void Close(C& c) {
    if (c.fd >= 0) ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.in.clear();
  }

  // Sends the request of c.attempt (blocking socket: a request is far below the send buffer).
  bool Send(C& c) {
    const User& u = (*shared_.users)[static_cast<size_t>(c.attempt) % shared_.users->size()];
    c.out.clear();
    c.out.append("POST /mp/v1/orders HTTP/1.1\r\nHost: ").append(shared_.url.host);
    c.out.append("\r\nAuthorization: Bearer ").append(u.mp_token);
    c.out.append("\r\nContent-Type: application/json\r\nContent-Length: ");
    c.out.append(std::to_string(shared_.body.size())).append("\r\n\r\n").append(shared_.body);
    size_t off = 0;
    while (off < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Takes the next attempt and sends it; false when there are none left.
  bool Start(C& c, size_t i) {
    c.attempt = shared_.next.fetch_add(1, std::memory_order_relaxed);
    if (c.attempt >= shared_.attempts) {
      Close(c);
      return false;
    }
    c.resent = false;
    c.t0 = Clock::now();
    return SendOrRetry(c, i);
  }

  bool SendOrRetry(C& c, size_t i) {
    for (;;) {
      if (c.fd < 0) Connect(c, i);
      if (Send(c)) return true;
      if (!Fail(c)) return Start(c, i);
    }
  }

  // The connection broke before the answer: once more on a fresh one, else status 0.
  // Returns true when the attempt is to be sent again.
  bool Fail(C& c) {
    Close(c);
    if (!c.resent) {
      c.resent = true;
      return true;
    }
    all.Add(c.t0);
    ++statuses[0];
    return false;
  }

  bool OnReadable(C& c, size_t i) {
    char tmp[16384];
    const ssize_t n = ::recv(c.fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
      if (Fail(c)) return SendOrRetry(c, i);
      return Start(c, i);
    }
    c.in.append(tmp, static_cast<size_t>(n));
    int status = 0;
    bool close = false;
    size_t used = 0;
    if (!ParseResponse(c.in, &status, &close, &used)) return true;  // not complete yet
    c.in.erase(0, used);
    all.Add(c.t0);
    if (status == 409) rejected.Add(c.t0);
    ++statuses[status];
    if (close) Close(c);
    return Start(c, i);
  }

  // A whole response in `in`? Then its status, whether the server closes, and its length.
  static bool ParseResponse(const std::string& in, int* status, bool* close, size_t* used) {
    const size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const std::string_view head(in.data(), end);
    if (head.size() < 12) Die("malformed response head");
    *status = std::atoi(head.data() + 9);
    size_t length = 0;
    *close = false;
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string_view line =
          head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) - pos - 2);
      const auto starts = [&](std::string_view name) {
        if (line.size() < name.size()) return false;
        for (size_t k = 0; k < name.size(); ++k) {
          if (std::tolower(static_cast<unsigned char>(line[k])) != name[k]) return false;
        }
        return true;
      };
      if (starts("content-length:")) length = std::strtoul(line.data() + 15, nullptr, 10);
      if (starts("transfer-encoding:")) Die("chunked responses are not supported");
      if (starts("connection:") && line.find("close") != std::string_view::npos) *close = true;
      pos = next;
    }
    if (in.size() < end + 4 + length) return false;
    *used = end + 4 + length;
    return true;
  }

  Shared& shared_;
  std::vector<C> conns_;
  int epoll_ = -1;
};

int RunFlash(const Args& a) {
  const Url provider = ParseUrl(a.Get("provider"));
  auto users = ReadTokens(a.Get("tokens"));
  const std::string deal = a.Get("deal"), campaign = a.Get("campaign");
  const int64_t units = a.Int("units", 1000);
  const int64_t attempts = a.Int("attempts", 200000);
  const int threads = static_cast<int>(a.Int("threads", 64));  // connections, one attempt in flight each
  const int loops = std::clamp(static_cast<int>(a.Int("loops", 1)), 1, threads);
  auto db = OpenDb(a.Get("provider-db"));

  FlashLoop::Shared shared;
  shared.url = provider;
  shared.users = &users;
  shared.body = "{\"deal_id\":\"" + deal + "\",\"quantity\":1}";
  shared.attempts = attempts;
  std::vector<std::unique_ptr<FlashLoop>> flash_loops;
  for (int l = 0; l < loops; ++l) {
    flash_loops.push_back(
        std::make_unique<FlashLoop>(shared, threads / loops + (l < threads % loops ? 1 : 0)));
  }
  Samples all, rejected_all;
  std::map<int, int64_t> statuses;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (auto& loop : flash_loops) pool.emplace_back([&loop] { loop->Run(); });
  for (auto& th : pool) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& loop : flash_loops) {
    all.Merge(loop->all);
    rejected_all.Merge(loop->rejected);
    for (auto& [k, n] : loop->statuses) statuses[k] += n;
  }
  const int64_t sold = ScalarInt(*db, kFlashSold, {campaign, deal});
  const int64_t left = ScalarInt(*db, kFlashLeft, {campaign, deal});
  const int64_t created = statuses[201] + statuses[200];
  const int64_t rejected = statuses[409];
  std::cout << "{\"threads\":" << threads << ",\"loops\":" << loops << ",\"attempts\":" << attempts
            << ",\"seconds\":" << Fmt(secs)
            << ",\"attempts_per_second\":" << Fmt(static_cast<double>(attempts) / secs)
            << ",\"accepted\":" << created << ",\"rejected\":" << rejected
            << ",\"rejected_per_second\":" << Fmt(static_cast<double>(rejected) / secs)
            << ",\"sold_in_db\":" << sold << ",\"stock_left_in_db\":" << left << ",\"units\":" << units
            << ",\"p50_ms\":" << Fmt(all.Pct(50)) << ",\"p99_ms\":" << Fmt(all.Pct(99))
            << ",\"rejected_p99_ms\":" << Fmt(rejected_all.Pct(99)) << ",\"statuses\":{";
  bool first = true;
  for (auto& [k, n] : statuses) {
    std::cout << (first ? "" : ",") << "\"" << k << "\":" << n;
    first = false;
  }
  std::cout << "}}\n";
  // Errors other than 409 (e.g. 503 when the host is slow) are reported, not failures:
  // what must hold is the stock — exactly `units` sold and none left.
  const bool exact = sold == units && left == 0 && created == units;
  if (!exact) std::cerr << "hutong_load: flash sale check FAILED (sold " << sold << " of " << units << ")\n";
  return exact ? 0 : 1;
}

constexpr Query kCoucouVoucherDeal{
    "load.coucou_deal", Access::kRead,
    "SELECT d.id FROM deals d JOIN staff s ON s.brand_id = d.brand_id WHERE s.account = 'coucou' "
    "AND d.type = 'voucher' AND d.status = 'online' ORDER BY d.id LIMIT 1"};
constexpr Query kDealStore{"load.deal_store", Access::kRead,
                           "SELECT store_id FROM deal_stores WHERE deal_id = $1 ORDER BY store_id LIMIT 1"};
constexpr Query kRaiseStock{"load.raise_stock", Access::kWrite,
                            "UPDATE deals SET stock_left = stock_left + $2, stock_total = stock_total + $2 "
                            "WHERE id = $1"};
constexpr Query kUnusedVouchers{"load.unused_vouchers", Access::kRead,
                                "SELECT v.id, v.code FROM vouchers v JOIN orders o ON o.id = v.order_id "
                                "WHERE o.deal_id = $1 AND v.status = 'unused' AND v.uses_left = 1 "
                                "ORDER BY v.id LIMIT $2"};
constexpr Query kRedeemedCount{"load.redeemed", Access::kRead,
                               "SELECT COUNT(*) FROM redemptions WHERE store_id = $1 AND status = 'redeemed' "
                               "AND redeemed_at >= $2"};

int RunRedeem(const Args& a) {
  const Url host = ParseUrl(a.Get("host")), provider = ParseUrl(a.Get("provider"));
  auto users = ReadTokens(a.Get("tokens"));
  const int64_t want = a.Int("vouchers", 5000);
  const int threads = static_cast<int>(a.Int("threads", 32));
  const std::string password = a.Get("staff-password", "demo-pass-1");
  auto db = OpenDb(a.Get("provider-db"));
  const int64_t since = NowMs() - 1000;

  // Setup: vouchers of the demo brand 湊湊 bought by the bench users (5 per order).
  auto deal_rows = db->Read([](hutong::storage::Tx& tx) { return tx.Exec(kCoucouVoucherDeal); });
  if (!deal_rows.ok() || deal_rows->empty()) Die("no voucher deal of the demo staff 'coucou'");
  const std::string deal = (*deal_rows)[0].Str(0);
  auto store_rows = db->Read([&](hutong::storage::Tx& tx) { return tx.Exec(kDealStore, {deal}); });
  if (!store_rows.ok() || store_rows->empty()) Die("no store for " + deal);
  const std::string store = (*store_rows)[0].Str(0);
  auto raised = db->Write([&](hutong::storage::Tx& tx) { return tx.Exec(kRaiseStock, {deal, want + 100}); });
  if (!raised.ok()) Die("cannot raise the stock of " + deal);
  const int64_t orders = (want + 4) / 5;
  {
    std::atomic<int64_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < std::min(threads, 16); ++t) {
      pool.emplace_back([&] {
        Conn pc(provider), hc(host);
        int64_t i;
        while ((i = next.fetch_add(1)) < orders) {
          Buy b =
              PlaceAndPay(pc, hc, users[static_cast<size_t>(i) % users.size()], deal, 5, nullptr, nullptr);
          if (b.pay_status != 200)
            Die("setup purchase failed: " + std::to_string(b.create_status) + "/" +
                std::to_string(b.pay_status));
        }
      });
    }
    for (auto& th : pool) th.join();
    int64_t seen = 0;
    WaitForVouchers(*db, since, orders, &seen, 120);
    if (seen < orders) Die("vouchers were not issued for every setup order");
  }
  auto vrows = db->Read([&](hutong::storage::Tx& tx) { return tx.Exec(kUnusedVouchers, {deal, want}); });
  if (!vrows.ok()) Die("cannot read vouchers");
  struct V {
    std::string id, code;
  };
  std::vector<V> vouchers;
  for (const auto& r : *vrows) vouchers.push_back({r.Str(0), r.Str(1)});

  Conn login(provider);
  auto l = login.Send("POST", "/merchant/v1/auth/login", "",
                      "{\"account\":\"coucou\",\"password\":\"" + password + "\"}");
  const std::string staff = JsonString(l.body, "token");
  if (staff.empty()) Die("staff login failed: " + l.body);

  std::atomic<size_t> next{0};
  std::mutex mu;
  Samples prep_all, redeem_all, both_all;
  std::map<std::string, int64_t> statuses;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      Conn pc(provider);
      Samples prep, red, both;
      std::map<std::string, int64_t> st;
      size_t i;
      while ((i = next.fetch_add(1)) < vouchers.size()) {
        auto t0 = Clock::now();
        auto p = pc.Send("POST", "/merchant/v1/vouchers/prepare", staff,
                         "{\"code\":\"" + vouchers[i].code + "\",\"store_id\":\"" + store + "\"}");
        prep.Add(t0);
        st["prepare " + std::to_string(p.status)]++;
        if (p.status != 200) continue;
        const std::string token = JsonString(p.body, "verify_token");
        auto t1 = Clock::now();
        auto r = pc.Send("POST", "/merchant/v1/vouchers/redeem", staff,
                         "{\"verify_token\":\"" + token + "\",\"store_id\":\"" + store +
                             "\",\"voucher_ids\":[\"" + vouchers[i].id + "\"]}");
        red.Add(t1);
        both.Add(t0);
        st["redeem " + std::to_string(r.status)]++;
      }
      std::lock_guard lock(mu);
      prep_all.Merge(prep);
      redeem_all.Merge(red);
      both_all.Merge(both);
      for (auto& [k, n] : st) statuses[k] += n;
    });
  }
  for (auto& th : pool) th.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  const int64_t redeemed = ScalarInt(*db, kRedeemedCount, {store, since});
  std::cout << "{\"threads\":" << threads << ",\"vouchers\":" << vouchers.size()
            << ",\"seconds\":" << Fmt(secs) << ",\"redeemed_in_db\":" << redeemed
            << ",\"redemptions_per_second\":" << Fmt(static_cast<double>(redeemed) / secs)
            << ",\"prepare_p50_ms\":" << Fmt(prep_all.Pct(50))
            << ",\"prepare_p99_ms\":" << Fmt(prep_all.Pct(99))
            << ",\"redeem_p50_ms\":" << Fmt(redeem_all.Pct(50))
            << ",\"redeem_p99_ms\":" << Fmt(redeem_all.Pct(99))
            << ",\"both_p50_ms\":" << Fmt(both_all.Pct(50)) << ",\"both_p99_ms\":" << Fmt(both_all.Pct(99))
            << ",\"statuses\":{";
  bool first = true;
  for (auto& [k, n] : statuses) {
    std::cout << (first ? "" : ",") << "\"" << k << "\":" << n;
    first = false;
  }
  std::cout << "}}\n";
  return redeemed == static_cast<int64_t>(vouchers.size()) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: hutong_load orders|flash|redeem --flag value ...");
  const std::string mode = argv[1];
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) Die("expected --flag, got " + k);
    a.v[k.substr(2)] = argv[i + 1];
  }
  if (mode == "orders") return RunOrders(a);
  if (mode == "flash") return RunFlash(a);
  if (mode == "redeem") return RunRedeem(a);
  Die("unknown mode " + mode);
}
