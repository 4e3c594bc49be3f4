// Method + path-pattern routing with `{param}` segments. Routes are registered at start-up
// (single thread) and only read afterwards, so lookups need no lock.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/message.h"

namespace hutong::http {

using Handler = std::function<Result<Response>(Request&)>;
using FastPath = std::function<std::optional<Response>(const Request&)>;

// Where a handler runs. kBlocking handlers (anything touching a database or sleeping) run
// on the bounded worker pool; kInline ones run on the I/O thread and must never block.
enum class Exec { kBlocking, kInline };

struct Route {
  Method method;
  std::string pattern;  // e.g. /mp/v1/deals/{id}; also the metrics label
  Exec exec;
  Handler handler;
  // Optional, for kBlocking routes: tried first on the I/O thread; an answer (a cache hit)
  // is sent without the hop to the worker pool, nullopt falls through to `handler`. Must
  // never block.
  FastPath fast_path;
  std::vector<std::string> segments;  // pattern split on '/'
};

class Router {
 public:
  // Start-up only. Throws std::logic_error on a malformed pattern or a duplicate
  // (method, pattern) — both are programmer errors.
  void Add(Method method, std::string pattern, Handler handler, Exec exec = Exec::kBlocking,
           FastPath fast_path = {});
  void Get(std::string pattern, Handler h, Exec exec = Exec::kBlocking) {
    Add(Method::kGet, std::move(pattern), std::move(h), exec);
  }
  void Post(std::string pattern, Handler h, Exec exec = Exec::kBlocking) {
    Add(Method::kPost, std::move(pattern), std::move(h), exec);
  }

  struct Match {
    const Route* route = nullptr;            // null when nothing matched
    bool path_matched_other_method = false;  // → 405 rather than 404
    std::vector<std::pair<std::string, std::string>> params;
    bool bad_escape = false;  // a path segment had a malformed %-escape → 400
    // When path_matched_other_method: the methods the path does accept (for `Allow`).
    std::vector<Method> allowed;
  };
  // HEAD falls back to the GET route. Literal segments beat `{param}` ones. Thread-safe
  // once registration is over.
  Match Find(Method method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace hutong::http
