#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace hutong::http {
namespace {

// "/a/{id}/b" → {"a", "{id}", "b"}; "/" → {""}. The leading '/' is not a segment.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Whether `a` should win over `b` when both match the same path. Scanning left to right,
// the first position where one has a literal and the other a parameter decides (so
// /x/new beats /x/{id}); with the same shape, a route for the exact method beats the GET
// route that a HEAD request falls back to.
bool Beats(const Route& a, const Route& b, Method method) {
  for (size_t i = 0; i < a.segments.size(); ++i) {
    const bool a_param = IsParam(a.segments[i]);
    const bool b_param = IsParam(b.segments[i]);
    if (a_param != b_param) return !a_param;
  }
  return a.method == method && b.method != method;
}

bool MethodFits(Method route_method, Method request_method) {
  return route_method == request_method || (request_method == Method::kHead && route_method == Method::kGet);
}

}  // namespace

void Router::Add(Method method, std::string pattern, Handler handler, Exec exec, FastPath fast_path) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::logic_error("route pattern must start with '/': " + pattern);
  }
  if (!handler) throw std::logic_error("route without a handler: " + pattern);
  auto route = std::make_unique<Route>();
  route->method = method;
  route->exec = exec;
  route->handler = std::move(handler);
  route->fast_path = std::move(fast_path);
  for (std::string_view segment : SplitPath(pattern)) {
    const bool has_brace = segment.find_first_of("{}") != std::string_view::npos;
    if (has_brace) {
      const std::string_view name = segment.size() >= 2 ? segment.substr(1, segment.size() - 2) : "";
      if (!IsParam(segment) || name.empty() || name.find_first_of("{}") != std::string_view::npos) {
        throw std::logic_error("malformed `{param}` segment in route pattern: " + pattern);
      }
    }
    route->segments.emplace_back(segment);
  }
  route->pattern = std::move(pattern);
  // Two routes with the same method and the same shape (parameter names aside) could never
  // be told apart.
  for (const auto& other : routes_) {
    if (other->method != method || other->segments.size() != route->segments.size()) continue;
    bool same_shape = true;
    for (size_t i = 0; i < route->segments.size() && same_shape; ++i) {
      const bool p = IsParam(route->segments[i]);
      same_shape = p == IsParam(other->segments[i]) && (p || route->segments[i] == other->segments[i]);
    }
    if (same_shape) {
      throw std::logic_error("duplicate route " + std::string(MethodName(method)) + " " + route->pattern +
                             " (clashes with " + other->pattern + ")");
    }
  }
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Method method, std::string_view path) const {
  Match match;
  if (path.empty() || path.front() != '/') return match;

  // Decode every segment first: a malformed escape anywhere is a bad request, and literal
  // segments compare against decoded text. Splitting before decoding keeps %2F inside its
  // segment.
  const std::vector<std::string_view> raw = SplitPath(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (std::string_view s : raw) {
    if (s.find('%') == std::string_view::npos) {
      segments.emplace_back(s);
      continue;
    }
    std::optional<std::string> decoded = PercentDecode(s, /*plus_as_space=*/false);
    if (!decoded) {
      match.bad_escape = true;
      return match;
    }
    segments.push_back(std::move(*decoded));
  }

  // A linear scan: route tables are small (tens of routes) and this costs well under a
  // microsecond; a trie can replace it behind the same interface if profiles say so.
  const Route* best = nullptr;
  for (const auto& route : routes_) {
    if (route->segments.size() != segments.size()) continue;
    bool fits = true;
    for (size_t i = 0; i < segments.size() && fits; ++i) {
      const std::string& pattern_segment = route->segments[i];
      fits = IsParam(pattern_segment) ? !segments[i].empty() : pattern_segment == segments[i];
    }
    if (!fits) continue;
    if (!MethodFits(route->method, method)) {
      match.path_matched_other_method = true;
      if (std::find(match.allowed.begin(), match.allowed.end(), route->method) == match.allowed.end()) {
        match.allowed.push_back(route->method);
      }
      continue;
    }
    if (best == nullptr || Beats(*route, *best, method)) best = route.get();
  }

  if (best == nullptr) {
    if (match.path_matched_other_method) {
      // HEAD is served wherever GET is.
      const bool has_get =
          std::find(match.allowed.begin(), match.allowed.end(), Method::kGet) != match.allowed.end();
      const bool has_head =
          std::find(match.allowed.begin(), match.allowed.end(), Method::kHead) != match.allowed.end();
      if (has_get && !has_head) match.allowed.push_back(Method::kHead);
      std::sort(match.allowed.begin(), match.allowed.end());
    }
    return match;
  }
  match.route = best;
  match.path_matched_other_method = false;
  match.allowed.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& pattern_segment = best->segments[i];
    if (IsParam(pattern_segment)) {
      match.params.emplace_back(pattern_segment.substr(1, pattern_segment.size() - 2),
                                std::move(segments[i]));
    }
  }
  return match;
}

}  // namespace hutong::http
