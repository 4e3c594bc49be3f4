#include "http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace hutong::http {
namespace {

Handler Named(std::string name) {
  return [name = std::move(name)](Request&) -> Result<Response> { return Response::Text(200, name); };
}

std::string Call(const Router::Match& m) {
  if (m.route == nullptr) return "<none>";
  Request req;
  return m.route->handler(req).value().body;
}

TEST(Router, MatchesLiteralsAndParams) {
  Router r;
  r.Get("/", Named("root"));
  r.Get("/deals", Named("list"));
  r.Get("/deals/{id}", Named("one"));
  r.Get("/deals/{id}/reviews/{review_id}", Named("review"));

  EXPECT_EQ(Call(r.Find(Method::kGet, "/")), "root");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/deals")), "list");

  auto m = r.Find(Method::kGet, "/deals/deal_123");
  EXPECT_EQ(Call(m), "one");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "deal_123");
  EXPECT_EQ(m.route->pattern, "/deals/{id}");

  m = r.Find(Method::kGet, "/deals/d1/reviews/r9");
  EXPECT_EQ(Call(m), "review");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[1].first, "review_id");
  EXPECT_EQ(m.params[1].second, "r9");

  // No partial, trailing-slash or empty-parameter matches.
  EXPECT_EQ(r.Find(Method::kGet, "/deals/").route, nullptr);
  EXPECT_EQ(r.Find(Method::kGet, "/deals/x/reviews").route, nullptr);
  EXPECT_EQ(r.Find(Method::kGet, "/deal").route, nullptr);
  EXPECT_EQ(r.Find(Method::kGet, "/deals/a/b").route, nullptr);
  EXPECT_EQ(r.Find(Method::kGet, "deals").route, nullptr);
  EXPECT_EQ(r.Find(Method::kGet, "").route, nullptr);
  EXPECT_FALSE(r.Find(Method::kGet, "/nowhere").path_matched_other_method);
}

TEST(Router, LiteralBeatsParamWhateverTheOrder) {
  Router r;
  r.Get("/x/{id}", Named("param"));
  r.Get("/x/new", Named("literal"));
  r.Get("/y/new", Named("literal-y"));
  r.Get("/y/{id}", Named("param-y"));
  EXPECT_EQ(Call(r.Find(Method::kGet, "/x/new")), "literal");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/x/old")), "param");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/y/new")), "literal-y");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/y/old")), "param-y");

  // The leftmost difference decides: /a/lit/{p} beats /a/{p}/lit for /a/lit/lit.
  r.Get("/a/{p}/lit", Named("right"));
  r.Get("/a/lit/{p}", Named("left"));
  EXPECT_EQ(Call(r.Find(Method::kGet, "/a/lit/lit")), "left");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/a/zzz/lit")), "right");
}

TEST(Router, LiteralForAnotherMethodDoesNotHideParamRoute) {
  Router r;
  r.Post("/x/new", Named("create"));
  r.Get("/x/{id}", Named("show"));
  EXPECT_EQ(Call(r.Find(Method::kGet, "/x/new")), "show");
  EXPECT_EQ(Call(r.Find(Method::kPost, "/x/new")), "create");
}

TEST(Router, OtherMethodIsDetectedWithAllowedList) {
  Router r;
  r.Get("/items/{id}", Named("get"));
  r.Add(Method::kDelete, "/items/{id}", Named("delete"));
  r.Post("/items", Named("create"));

  auto m = r.Find(Method::kPost, "/items/7");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_matched_other_method);
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::kGet, Method::kHead, Method::kDelete}));

  m = r.Find(Method::kGet, "/items");
  EXPECT_TRUE(m.path_matched_other_method);
  EXPECT_EQ(m.allowed, (std::vector<Method>{Method::kPost}));

  m = r.Find(Method::kGet, "/items/7");
  EXPECT_EQ(Call(m), "get");
  EXPECT_FALSE(m.path_matched_other_method);
  EXPECT_TRUE(m.allowed.empty());

  m = r.Find(Method::kOther, "/items/7");
  EXPECT_TRUE(m.path_matched_other_method);
}

TEST(Router, HeadFallsBackToGetButPrefersItsOwnRoute) {
  Router r;
  r.Get("/a", Named("get-a"));
  r.Get("/b", Named("get-b"));
  r.Add(Method::kHead, "/b", Named("head-b"));
  r.Post("/c", Named("post-c"));
  EXPECT_EQ(Call(r.Find(Method::kHead, "/a")), "get-a");
  EXPECT_EQ(Call(r.Find(Method::kHead, "/b")), "head-b");
  EXPECT_EQ(Call(r.Find(Method::kGet, "/b")), "get-b");
  auto m = r.Find(Method::kHead, "/c");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_matched_other_method);
}

TEST(Router, ParamsArePercentDecoded) {
  Router r;
  r.Get("/city/{name}", Named("city"));
  r.Get("/lit/北京", Named("utf8-literal"));

  auto m = r.Find(Method::kGet, "/city/%E5%8C%97%E4%BA%AC");
  ASSERT_EQ(Call(m), "city");
  EXPECT_EQ(m.params[0].second, "北京");

  // %2F stays inside its segment; '+' is not a space in paths.
  m = r.Find(Method::kGet, "/city/a%2Fb+c%20d");
  ASSERT_EQ(Call(m), "city");
  EXPECT_EQ(m.params[0].second, "a/b+c d");

  // Literal segments compare decoded text.
  EXPECT_EQ(Call(r.Find(Method::kGet, "/lit/%E5%8C%97%E4%BA%AC")), "utf8-literal");
}

TEST(Router, MalformedEscapeIsReportedNotMatched) {
  Router r;
  r.Get("/city/{name}", Named("city"));
  for (const char* path : {"/city/%", "/city/%E", "/city/%ZZ", "/city/abc%4", "/nowhere/%G1"}) {
    auto m = r.Find(Method::kGet, path);
    EXPECT_TRUE(m.bad_escape) << path;
    EXPECT_EQ(m.route, nullptr) << path;
  }
}

TEST(Router, ProgrammerErrorsThrow) {
  Router r;
  r.Get("/x/{id}", Named("a"));
  EXPECT_THROW(r.Get("/x/{id}", Named("b")), std::logic_error);
  EXPECT_THROW(r.Get("/x/{other_name}", Named("b")), std::logic_error);  // same shape
  EXPECT_NO_THROW(r.Post("/x/{id}", Named("c")));                        // other method is fine
  EXPECT_THROW(r.Get("no-slash", Named("d")), std::logic_error);
  EXPECT_THROW(r.Get("/x/{}", Named("d")), std::logic_error);
  EXPECT_THROW(r.Get("/x/{id", Named("d")), std::logic_error);
  EXPECT_THROW(r.Get("/x/pre{id}", Named("d")), std::logic_error);
  EXPECT_THROW(r.Get("/y", Handler()), std::logic_error);
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(Router, RouteKeepsItsSegments) {
  Router r;
  r.Get("/mp/v1/deals/{id}", Named("x"), Exec::kInline);
  ASSERT_EQ(r.routes().size(), 1u);
  const Route& route = *r.routes()[0];
  EXPECT_EQ(route.segments, (std::vector<std::string>{"mp", "v1", "deals", "{id}"}));
  EXPECT_EQ(route.exec, Exec::kInline);
  EXPECT_EQ(route.method, Method::kGet);
}

}  // namespace
}  // namespace hutong::http
