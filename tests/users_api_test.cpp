// The user account API over real HTTP on both backends: register → login → me → logout,
// bad input, wrong passwords, and the per-phone and per-network login limits (429 with
// Retry-After). Expiry is covered on a manual clock in src/host/users/users_test.cpp.
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr const char* kDemoViewer = "13800000000";
constexpr const char* kDemoPassword = "demo-pass-1";

class UsersApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<FreshDatabases>(GetParam());
    config_ = TestConfig(*dbs_);
  }
  void Start() {
    node_ = std::make_unique<TestNode>(config_);
    SeedDemoFor(config_, *node_);
    h_ = node_->host_url();
  }
  void TearDown() override {
    if (node_) {
      EXPECT_TRUE(node_->Stop());
    }
  }

  static std::string Body(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    json::object o;
    for (const auto& [k, v] : fields) o[k] = v;
    return json::serialize(o);
  }
  http::ClientResponse Login(std::string_view phone, std::string_view password) {
    return Post(h_ + "/api/auth/login", Body({{"phone", phone}, {"password", password}}));
  }
  http::ClientResponse Register(std::string_view phone, std::string_view password,
                                std::string_view nickname) {
    return Post(h_ + "/api/auth/register",
                Body({{"phone", phone}, {"password", password}, {"nickname", nickname}}));
  }
  static Headers Bearer(std::string_view token) {
    return {{"Authorization", "Bearer " + std::string(token)}};
  }
  static std::string TokenOf(const http::ClientResponse& r) {
    return std::string(ParseBody(r).at("token").as_string());
  }

  std::unique_ptr<FreshDatabases> dbs_;
  app::Config config_;
  std::unique_ptr<TestNode> node_;
  std::string h_;
};

TEST_P(UsersApiTest, RegisterLoginMeLogout) {
  Start();
  auto reg = Register("13912345678", "correct horse 1", "新用户");
  ASSERT_EQ(reg.status, 201) << reg.body;
  EXPECT_EQ(reg.Header("cache-control"), "no-store");
  auto created = ParseBody(reg).as_object();
  const std::string user_id(created.at("user").at("id").as_string());
  EXPECT_TRUE(user_id.starts_with("usr_"));
  EXPECT_EQ(created.at("user").at("nickname").as_string(), "新用户");
  const std::string reg_token(created.at("token").as_string());
  EXPECT_TRUE(reg_token.starts_with("utok_"));

  auto login = Login("13912345678", "correct horse 1");
  ASSERT_EQ(login.status, 200) << login.body;
  auto session = ParseBody(login).as_object();
  const std::string token(session.at("token").as_string());
  EXPECT_NE(token, reg_token);
  EXPECT_EQ(session.at("user").at("id").as_string(), user_id);
  EXPECT_TRUE(session.at("expires_at").is_string());
  EXPECT_EQ(session.size(), 3u) << login.body;

  auto me = Get(h_ + "/api/me", Bearer(token));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.Header("cache-control"), "no-store");
  auto profile = ParseBody(me).as_object();
  EXPECT_EQ(profile.at("id").as_string(), user_id);
  EXPECT_EQ(profile.at("nickname").as_string(), "新用户");
  EXPECT_EQ(profile.at("phone").as_string(), "139****5678");
  EXPECT_EQ(profile.at("city").as_string(), "");
  EXPECT_TRUE(profile.at("created_at").is_string());
  EXPECT_EQ(me.body.find("13912345678"), std::string::npos) << "the full number leaked";

  auto out = Post(h_ + "/api/auth/logout", "", Bearer(token));
  EXPECT_EQ(out.status, 204) << out.body;
  EXPECT_TRUE(out.body.empty());
  ExpectProblem(Get(h_ + "/api/me", Bearer(token)), 401, "unauthorized");
  ExpectProblem(Post(h_ + "/api/auth/logout", "", Bearer(token)), 401, "unauthorized");
  // Logging out one device leaves the other logged in.
  EXPECT_EQ(Get(h_ + "/api/me", Bearer(reg_token)).status, 200);
}

TEST_P(UsersApiTest, DemoViewerLogsIn) {
  Start();
  auto login = Login(kDemoViewer, kDemoPassword);
  ASSERT_EQ(login.status, 200) << login.body;
  auto me = ParseBody(Get(h_ + "/api/me", Bearer(TokenOf(login)))).as_object();
  EXPECT_EQ(me.at("nickname").as_string(), "小美食家");
  EXPECT_EQ(me.at("city").as_string(), "北京");
  EXPECT_EQ(me.at("phone").as_string(), "138****0000");
}

TEST_P(UsersApiTest, BadInputIsRefusedAndWritesNothing) {
  Start();
  const std::string reg = h_ + "/api/auth/register";
  ExpectProblem(Register(kDemoViewer, "another password", "冒名"), 409, "conflict");
  ExpectProblem(Post(reg, "{\"phone\":"), 400, "invalid_json");
  ExpectProblem(Post(reg, "[]"), 400, "invalid_json");
  ExpectProblem(Post(h_ + "/api/auth/login", "not json"), 400, "invalid_json");
  ExpectProblem(Post(reg, R"({"phone":13912345678,"password":"long enough 1","nickname":"x"})"), 400,
                "validation_failed");
  ExpectProblem(Post(reg, R"({"phone":"13912345678","password":["long enough 1"],"nickname":"x"})"), 400,
                "validation_failed");
  ExpectProblem(Post(reg, R"({"phone":"13912345678","password":"long enough 1","nickname":null})"), 400,
                "validation_failed");
  ExpectProblem(Post(reg, R"({"phone":"13912345678","password":"long enough 1"})"), 400, "validation_failed");
  for (const char* phone :
       {"1391234567", "12912345678", "139123456789", "+8613912345678", "1391234567x", ""}) {
    ExpectProblem(Register(phone, "long enough 1", "x"), 400, "validation_failed");
    ExpectProblem(Login(phone, "long enough 1"), 400, "validation_failed");
  }
  ExpectProblem(Register("13912345678", "short", "x"), 400, "validation_failed");
  ExpectProblem(Register("13912345678", std::string(129, 'p'), "x"), 400, "validation_failed");
  ExpectProblem(Register("13912345678", std::string(600, 'p'), "x"), 400, "validation_failed");
  ExpectProblem(Register("13912345678", "long enough 1", std::string(33, 'n')), 400, "validation_failed");
  ExpectProblem(Register("13912345678", "long enough 1",
                         "a\x07"
                         "b"),
                400, "validation_failed");
  ExpectProblem(Login(kDemoViewer, ""), 400, "validation_failed");
  ExpectProblem(Post(h_ + "/api/auth/login", R"({"phone":"13800000000","password":12345678})"), 400,
                "validation_failed");
  ExpectProblem(Get(h_ + "/api/me"), 401, "unauthorized");
  ExpectProblem(Get(h_ + "/api/me", Bearer("utok_0000")), 401, "unauthorized");
  ExpectProblem(Get(h_ + "/api/me", {{"Authorization", "Basic MTM4MDAwMDAwMDA6ZGVtby1wYXNzLTE="}}), 401,
                "unauthorized");
  ExpectProblem(Post(h_ + "/api/auth/logout", ""), 401, "unauthorized");
  ExpectProblem(Get(h_ + "/api/auth/login"), 405, "method_not_allowed");

  // None of that registered 139…: the number is still free, and the demo viewer unchanged.
  EXPECT_EQ(Register("13912345678", "long enough 1", "x").status, 201);
  EXPECT_EQ(Login(kDemoViewer, kDemoPassword).status, 200);
}

TEST_P(UsersApiTest, SixthFailureForAPhoneIsRateLimitedEvenWithTheRightPassword) {
  Start();
  const std::string secret = "Wr0ng-Guess-Unique-7731";
  for (int i = 0; i < 5; ++i) {
    auto r = Login(kDemoViewer, secret);
    ExpectProblem(r, 401, "unauthorized");
    EXPECT_EQ(r.body.find(secret), std::string::npos);
    EXPECT_TRUE(r.Header("retry-after").empty());
  }
  for (const char* password : {"yet another guess", kDemoPassword}) {
    auto limited = Login(kDemoViewer, password);
    ExpectProblem(limited, 429, "rate_limited");
    const std::string retry = limited.Header("retry-after");
    ASSERT_FALSE(retry.empty()) << "429 without Retry-After";
    const int seconds = std::stoi(retry);
    EXPECT_GE(seconds, 1);
    EXPECT_LE(seconds, 15 * 60);
    EXPECT_EQ(limited.body.find(password), std::string::npos);
  }
  // Other people, from the same address, are not locked out by someone else's phone.
  auto other = Login("13800000001", kDemoPassword);
  EXPECT_EQ(other.status, 200) << other.body;
  // Nor are sessions that already exist.
  auto reg = Register("13912345678", "long enough 1", "x");
  ASSERT_EQ(reg.status, 201);
  EXPECT_EQ(Get(h_ + "/api/me", Bearer(TokenOf(reg))).status, 200);
}

TEST_P(UsersApiTest, TwentyFailuresFromOneNetworkLockItOut) {
  Start();
  // A success before, between and after does not reset the network's count.
  ASSERT_EQ(Login(kDemoViewer, kDemoPassword).status, 200);
  for (int i = 0; i < 20; ++i) {
    const std::string phone = "1370000" + std::to_string(1000 + i);  // unknown numbers count too
    ExpectProblem(Login(phone, "spray-password-1"), 401, "unauthorized");
    if (i == 10) {
      ASSERT_EQ(Login(kDemoViewer, kDemoPassword).status, 200);
    }
  }
  auto limited = Login(kDemoViewer, kDemoPassword);
  ExpectProblem(limited, 429, "rate_limited");
  EXPECT_FALSE(limited.Header("retry-after").empty());
  ExpectProblem(Login("13800000002", kDemoPassword), 429, "rate_limited");
  // Registration is not login: it is not refused by the login limit.
  EXPECT_EQ(Register("13912345678", "long enough 1", "x").status, 201);
}

TEST_P(UsersApiTest, PasswordsNeverReachTheLogs) {
  config_.log_level = "debug";
  config_.access_log = true;
  ::testing::internal::CaptureStdout();
  Start();
  const std::string secret = "Tr4ceable-Secret-Passw0rd";
  Register("13912345678", secret, "x");
  Register("13912345678", secret, "y");                   // 409
  Register("13912345670", secret, std::string(40, 'z'));  // 400
  Login("13912345678", secret);
  for (int i = 0; i < 6; ++i) Login("13912345678", secret + "!");  // 401s then 429
  Post(h_ + "/api/auth/login", "{\"phone\":\"13912345678\",\"password\":\"" + secret + "\"");  // bad JSON
  node_->Stop();
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("/api/auth/login"), std::string::npos) << "the access log was not captured";
  EXPECT_EQ(out.find(secret), std::string::npos) << "a password was logged";
  EXPECT_EQ(out.find("13912345678"), std::string::npos) << "a full phone number was logged";
}

INSTANTIATE_TEST_SUITE_P(Backends, UsersApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
