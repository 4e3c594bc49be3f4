// Bad input gets a clear 4xx problem+json and changes nothing; nothing crashes the server.
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

class BadInputTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    p_ = node_->provider_url();
    h_ = node_->host_url();
  }

  std::string Login(const std::string& account) {
    auto r =
        Post(p_ + "/merchant/v1/auth/login", R"({"account":")" + account + R"(","password":"demo-pass-1"})");
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(ParseBody(r).at("token").as_string());
  }
  size_t DealCount() { return ParseBody(Get(p_ + "/mp/v1/deals?limit=50")).at("items").as_array().size(); }

  // A valid deal body for the given stores.
  static json::object DealBody(const json::array& store_ids) {
    return json::object{{"type", "set_meal"},
                        {"category", "catering"},
                        {"title", "湊湊午市单人套餐"},
                        {"price_fen", 6800},
                        {"original_price_fen", 9800},
                        {"items", json::array{json::object{{"name", "单人锅底"}, {"price_fen", 3800}}}},
                        {"stock", 100},
                        {"valid_from", "2026-01-01T00:00:00+08:00"},
                        {"valid_to", "2027-01-01T00:00:00+08:00"},
                        {"store_ids", store_ids}};
  }

  std::string p_, h_;
};

TEST_P(BadInputTest, LoginRejectsMalformedAndWrongInput) {
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", "{\"account\":"), 400, "invalid_json");
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", "[]"), 400, "invalid_json");
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", R"({"account":7,"password":"x"})"), 400,
                "validation_failed");
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", R"({"account":"coucou"})"), 400, "validation_failed");
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", R"({"account":"coucou","password":"wrong"})"), 401,
                "unauthorized");
  ExpectProblem(Post(p_ + "/merchant/v1/auth/login", R"({"account":"nobody","password":"demo-pass-1"})"), 401,
                "unauthorized");
  EXPECT_FALSE(Login("coucou").empty());
}

TEST_P(BadInputTest, DealCreationValidatesAndIsolatesBrands) {
  const std::string token = Login("coucou");
  const std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + token}};
  auto stores = ParseBody(Get(p_ + "/merchant/v1/stores", auth)).at("items").as_array();
  ASSERT_EQ(stores.size(), 3u);  // 湊湊's three stores
  json::array own;
  for (const auto& s : stores) own.push_back(s.at("id"));
  const size_t before = DealCount();

  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(DealBody(own))), 401, "unauthorized");
  ExpectProblem(
      Post(p_ + "/merchant/v1/deals", json::serialize(DealBody(own)), {{"Authorization", "Bearer stf_nope"}}),
      401, "unauthorized");
  ExpectProblem(Post(p_ + "/merchant/v1/deals", "{not json", auth), 400, "invalid_json");

  auto wrong_type = DealBody(own);
  wrong_type["price_fen"] = "68.00";
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(wrong_type), auth), 400, "validation_failed");
  auto fractional = DealBody(own);
  fractional["price_fen"] = 68.5;
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(fractional), auth), 400, "validation_failed");
  auto negative = DealBody(own);
  negative["stock"] = -1;
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(negative), auth), 400, "validation_failed");
  auto cheap_original = DealBody(own);
  cheap_original["original_price_fen"] = 100;
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(cheap_original), auth), 400,
                "validation_failed");
  auto bad_time = DealBody(own);
  bad_time["valid_to"] = "next year";
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(bad_time), auth), 400, "validation_failed");
  auto bad_type = DealBody(own);
  bad_type["type"] = "lottery";
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(bad_type), auth), 400, "validation_failed");

  // Someone else's store: another brand's id is simply not found, and nothing is written.
  auto other_deal = ParseBody(Get(p_ + "/mp/v1/deals?category=hotel")).at("items").as_array().at(0);
  auto other = ParseBody(Get(p_ + "/mp/v1/deals/" + std::string(other_deal.at("id").as_string())));
  json::array foreign{other.at("stores").as_array().at(0).at("id")};
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(DealBody(foreign)), auth), 404, "not_found");
  // Half own, half foreign: still nothing written.
  json::array mixed{own.at(0), foreign.at(0)};
  ExpectProblem(Post(p_ + "/merchant/v1/deals", json::serialize(DealBody(mixed)), auth), 404, "not_found");

  // Oversized body: refused before it is read.
  std::string huge = "{\"title\":\"" + std::string(2 << 20, 'x') + "\"}";
  auto big = Post(p_ + "/merchant/v1/deals", huge, auth);
  ExpectProblem(big, 413, "payload_too_large");

  EXPECT_EQ(DealCount(), before) << "a rejected request changed the catalog";

  // The valid one goes through and is listed.
  auto created = Post(p_ + "/merchant/v1/deals", json::serialize(DealBody(own)), auth);
  ASSERT_EQ(created.status, 201) << created.body;
  auto deal = ParseBody(created).as_object();
  EXPECT_EQ(deal.at("brand").at("name").as_string(), "湊湊");
  EXPECT_EQ(deal.at("stock_left").as_int64(), 100);
  EXPECT_EQ(deal.at("stores").as_array().size(), 3u);
  EXPECT_EQ(created.Header("location"), "/mp/v1/deals/" + std::string(deal.at("id").as_string()));
  EXPECT_EQ(DealCount(), before + 1);
}

TEST_P(BadInputTest, ReadEndpointsRejectBadParameters) {
  ExpectProblem(Get(p_ + "/mp/v1/deals/deal_does_not_exist"), 404, "not_found");
  ExpectProblem(Get(p_ + "/mp/v1/deals/deal_01ZZZZZZZZZZZZZZZZZZZZZZZZ"), 404, "not_found");
  ExpectProblem(Get(p_ + "/mp/v1/deals/%ZZ"), 400, "validation_failed");
  ExpectProblem(Get(p_ + "/mp/v1/deals?limit=abc"), 400, "validation_failed");
  ExpectProblem(Get(p_ + "/mp/v1/deals?limit=0"), 400, "validation_failed");
  ExpectProblem(Get(p_ + "/mp/v1/deals?limit=51"), 400, "validation_failed");
  ExpectProblem(Get(p_ + "/mp/v1/deals?category=casino"), 400, "validation_failed");
  ExpectProblem(Get(p_ + "/mp/v1/deals?cursor=' OR 1=1 --"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?cursor=vid_bogus"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?limit=-3"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/nowhere"), 404, "not_found");
  ExpectProblem(Post(h_ + "/api/feed", "{}"), 405, "method_not_allowed");
  ExpectProblem(Get(p_ + "/merchant/v1/stores"), 401, "unauthorized");

  // Still serving.
  EXPECT_EQ(Get(h_ + "/healthz").status, 200);
  EXPECT_EQ(Get(p_ + "/readyz").status, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, BadInputTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
