// The HTTP/1.1 server (Boost.Beast behind a pimpl): per-core I/O threads, keep-alive,
// limits, timeouts, request ids, access log, metrics and graceful drain.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/metrics.h"
#include "http/router.h"

namespace hutong::http {

// The threads everything runs on: `io_threads` event loops (one io_context each) and
// bounded pools of `blocking_threads` for handlers that touch databases: one pool per
// server role (ServerOptions::role), and one for PostBlocking jobs.
// Start, RunUntilSignal, Stop and the destructor are for the controlling thread (main or a
// test), never for an I/O or pool thread: they wait for those threads.
class Runtime {
 public:
  Runtime(size_t io_threads, size_t blocking_threads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Starts the threads; returns at once.
  void Start();
  // Blocks until SIGTERM or SIGINT (or RequestStopForTest), then drains every server:
  // stop accepting, close idle keep-alive connections, let in-flight requests finish for
  // up to `drain_timeout`, and stop all threads. Returns true if the drain finished in time.
  bool RunUntilSignal(std::chrono::milliseconds drain_timeout = std::chrono::seconds(10));
  // Same drain without a signal, from any thread: wakes RunUntilSignal (now, or as soon as
  // it is called), which then drains and returns.
  void RequestStopForTest();
  // Stops everything immediately (tests' teardown after a drain): I/O threads are joined,
  // queued blocking jobs dropped (running ones finish), open connections closed. Idempotent.
  void Stop();

  // Runs `fn` on the blocking pool (for background jobs started by wiring code).
  void PostBlocking(std::function<void()> fn);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct ServerOptions {
  std::string role;                    // "host" or "provider": metrics and log label
  std::string listen = "127.0.0.1:0";  // ADDR:PORT; port 0 picks a free one
  size_t max_body_bytes = 1 << 20;     // larger → 413 without reading it
  size_t max_header_bytes = 16 << 10;  // larger → 431
  std::chrono::milliseconds read_timeout{std::chrono::seconds(15)};  // slow client → 408
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};  // keep-alive idle → close
  bool access_log = true;
};

class Server {
 public:
  // `runtime`, `router` and `metrics` must outlive the server. Registers
  // itself with the runtime so RunUntilSignal drains it. The destructor closes every
  // connection and, if the runtime is still running, waits for in-flight handlers.
  Server(Runtime& runtime, const Router& router, Metrics& metrics, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting (once the runtime runs). Fails with a clear error if the
  // address is taken or bad. Call before RunUntilSignal, from the controlling thread.
  Status Listen();
  // The bound port (useful with port 0). Valid after Listen.
  uint16_t port() const;
  const ServerOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hutong::http
