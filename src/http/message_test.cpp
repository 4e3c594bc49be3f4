#include "http/message.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/metrics.h"

namespace hutong::http {
namespace {

boost::json::object ParseObject(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  EXPECT_FALSE(ec) << body;
  EXPECT_TRUE(v.is_object()) << body;
  return v.is_object() ? v.as_object() : boost::json::object();
}

TEST(Message, ProblemHasRfc9457ShapeAndNeverLeaksInternal) {
  Error e(ErrorCode::kOutOfStock, "deal deal_1 is sold out",
          "SQL: UPDATE stock SET n = n - 1 WHERE ... secret");
  Response r = Response::Problem(e, "/mp/v1/orders");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body.find("SQL"), std::string::npos);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  auto o = ParseObject(r.body);
  EXPECT_EQ(o.at("type").as_string(), "https://hutong.dev/problems/out_of_stock");
  EXPECT_EQ(o.at("title").as_string(), "Out of stock");
  EXPECT_EQ(o.at("status").as_int64(), 409);
  EXPECT_EQ(o.at("detail").as_string(), "deal deal_1 is sold out");
  EXPECT_EQ(o.at("code").as_string(), "out_of_stock");
  EXPECT_EQ(o.at("instance").as_string(), "/mp/v1/orders");
  EXPECT_EQ(o.size(), 6u);
}

TEST(Message, ProblemWithoutInstanceAndWithHostileDetail) {
  Response r = Response::Problem(Internal("stack trace here"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("stack trace"), std::string::npos);
  auto o = ParseObject(r.body);
  EXPECT_FALSE(o.contains("instance"));
  EXPECT_EQ(o.at("detail").as_string(), "internal error");
  EXPECT_EQ(o.at("code").as_string(), "internal");

  // Quotes, control characters and CJK in the detail stay valid JSON.
  r = Response::Problem(Invalid("'name' \"bad\"\n\t\x01 北京"), "/p?\"x\"");
  o = ParseObject(r.body);
  EXPECT_EQ(o.at("detail").as_string(), "'name' \"bad\"\n\t\x01 北京");
  EXPECT_EQ(o.at("instance").as_string(), "/p?\"x\"");

  // An empty detail falls back to the title.
  r = Response::Problem(Error(ErrorCode::kForbidden, ""));
  EXPECT_EQ(ParseObject(r.body).at("detail").as_string(), "Forbidden");
}

TEST(Message, StatusMapping) {
  const std::pair<ErrorCode, int> expected[] = {
      {ErrorCode::kInvalidJson, 400},
      {ErrorCode::kValidationFailed, 400},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kMethodNotAllowed, 405},
      {ErrorCode::kUnauthorized, 401},
      {ErrorCode::kInvalidSignature, 401},
      {ErrorCode::kForbidden, 403},
      {ErrorCode::kConflict, 409},
      {ErrorCode::kIdempotencyMismatch, 422},
      {ErrorCode::kIdempotencyInFlight, 409},
      {ErrorCode::kOutOfStock, 409},
      {ErrorCode::kRateLimited, 429},
      {ErrorCode::kPayloadTooLarge, 413},
      {ErrorCode::kHeadersTooLarge, 431},
      {ErrorCode::kRequestTimeout, 408},
      {ErrorCode::kUnsupportedMediaType, 415},
      {ErrorCode::kDemoRefused, 409},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kInternal, 500},
  };
  for (const auto& [code, status] : expected) {
    EXPECT_EQ(StatusFor(code), status) << ErrorCodeName(code);
    Response r = Response::Problem(Error(code, "x"));
    EXPECT_EQ(r.status, status);
    auto o = ParseObject(r.body);
    EXPECT_EQ(o.at("status").as_int64(), status);
    EXPECT_EQ(o.at("code").as_string(), ErrorCodeName(code));
    EXPECT_FALSE(o.at("title").as_string().empty());
  }
}

TEST(Message, MethodNamesRoundTrip) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    EXPECT_EQ(ParseMethod(MethodName(m)), m);
  }
  EXPECT_EQ(ParseMethod("get"), Method::kOther);  // methods are case-sensitive
  EXPECT_EQ(ParseMethod("PROPFIND"), Method::kOther);
  EXPECT_EQ(ParseMethod(""), Method::kOther);
}

TEST(Message, PercentDecode) {
  EXPECT_EQ(PercentDecode("%E5%8C%97%e4%ba%ac", false), "北京");
  EXPECT_EQ(PercentDecode("a+b%20c", false), "a+b c");
  EXPECT_EQ(PercentDecode("a+b%20c", true), "a b c");
  EXPECT_EQ(PercentDecode("%2B", true), "+");
  EXPECT_EQ(PercentDecode("", true), "");
  EXPECT_EQ(PercentDecode("100%25", true), "100%");
  EXPECT_EQ(PercentDecode("%", true), std::nullopt);
  EXPECT_EQ(PercentDecode("%4", true), std::nullopt);
  EXPECT_EQ(PercentDecode("%4g", true), std::nullopt);
  EXPECT_EQ(PercentDecode("ab%", true), std::nullopt);
}

TEST(Message, QueryAndHeaders) {
  Request req;
  req.query = "city=%E5%8C%97%E4%BA%AC&q=hot+pot&empty=&flag&dup=1&dup=2&bad=%ZZ&bad=ok&sp%61ce=x";
  req.headers = {{"content-type", "application/json"}, {"x-a", "1"}};
  req.path_params = {{"id", "deal_1"}};
  EXPECT_EQ(req.Query("city"), "北京");
  EXPECT_EQ(req.Query("q"), "hot pot");
  EXPECT_EQ(req.Query("empty"), "");
  EXPECT_EQ(req.Query("flag"), "");
  EXPECT_EQ(req.Query("dup"), "1");
  EXPECT_EQ(req.Query("bad"), "ok");   // a malformed value is skipped, the next one counts
  EXPECT_EQ(req.Query("space"), "x");  // names are decoded too
  EXPECT_EQ(req.Query("missing"), std::nullopt);
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("x-b"), std::nullopt);
  EXPECT_EQ(req.PathParam("id"), "deal_1");
  EXPECT_EQ(req.PathParam("nope"), "");

  Request none;
  EXPECT_EQ(none.Query("a"), std::nullopt);
}

TEST(Message, ResponseBuilders) {
  boost::json::object o;
  o["name"] = "湊湊";
  o["price_fen"] = 12800;
  Response r = Response::Json(201, o);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(ParseObject(r.body).at("price_fen").as_int64(), 12800);
  r = Response::Text(200, "hi");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  r = Response::JsonText(200, "[]");
  EXPECT_EQ(r.body, "[]");
  EXPECT_EQ(r.BodyView(), "[]");
  // A shared body is what goes out, untouched and uncopied.
  auto shared = std::make_shared<const std::string>("{\"items\":[]}");
  r = Response::SharedJson(200, shared);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.BodyView(), "{\"items\":[]}");
  EXPECT_EQ(r.BodyView().data(), shared->data());
  EXPECT_TRUE(r.body.empty());
}

TEST(Metrics, RendersCountersAndCumulativeHistogram) {
  Metrics m;
  auto* s = m.Series("host", "GET", "/deals/{id}");
  EXPECT_EQ(m.Series("host", "GET", "/deals/{id}"), s);
  auto* idle = m.Series("host", "POST", "/never");
  (void)idle;
  Metrics::Observe(s, 200, 0.0004);
  Metrics::Observe(s, 200, 0.003);
  Metrics::Observe(s, 404, 10.0);
  m.AddCollector([](std::string& out) { out += "# TYPE hutong_pool_size gauge\nhutong_pool_size 4\n"; });
  const std::string text = m.Render();
  EXPECT_NE(text.find("# TYPE hutong_http_requests_total counter"), std::string::npos);
  EXPECT_NE(
      text.find(R"(hutong_http_requests_total{role="host",method="GET",route="/deals/{id}",status="200"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(status="404"} 1)"), std::string::npos);
  EXPECT_EQ(text.find(R"(status="500")"), std::string::npos);  // zero series are left out
  EXPECT_EQ(text.find("/never"), std::string::npos);
  EXPECT_NE(text.find(R"(_bucket{role="host",method="GET",route="/deals/{id}",le="0.0005"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(le="0.005"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="2.5"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(le="+Inf"} 3)"), std::string::npos);
  EXPECT_NE(
      text.find(
          R"(hutong_http_request_duration_seconds_count{role="host",method="GET",route="/deals/{id}"} 3)"),
      std::string::npos);
  EXPECT_NE(
      text.find(
          R"(hutong_http_request_duration_seconds_sum{role="host",method="GET",route="/deals/{id}"} 10.0034)"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("hutong_pool_size 4\n"), std::string::npos);
}

TEST(Metrics, EscapesLabelValues) {
  Metrics m;
  Metrics::Observe(m.Series("a\"b", "GET", "/x\\y\n"), 200, 0.001);
  EXPECT_NE(m.Render().find(R"({role="a\"b",method="GET",route="/x\\y\n",status="200"} 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace hutong::http
