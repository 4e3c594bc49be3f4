// The interconnection over real HTTP, on SQLite and PostgreSQL: the app registry, signed
// open-API requests, code2session into a provider session, and signed webhooks.
#include "app/master_key.h"
#include "common/clock.h"
#include "host/host.h"
#include "host/openplatform/apps.h"
#include "host/openplatform/attribution.h"
#include "host/openplatform/login_codes.h"
#include "protocol/open_api_client.h"
#include "protocol/signing.h"
#include "protocol/webhook_signature.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

class OpenPlatformTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    host_db_ = OpenHostDb();
    box_.emplace(app::LoadMasterKey(config_).value());
    admin_ = {{"Authorization", "Bearer " + config_.admin_token}};
  }

  // A new app registered over the admin API.
  std::pair<std::string, std::string> Register(const std::string& name) {
    auto r = Post(node_->host_url() + "/api/admin/apps",
                  json::serialize(json::object{{"name", name},
                                               {"service_url", "http://127.0.0.1:9/mp"},
                                               {"notify_url", "http://127.0.0.1:9/hook"}}),
                  admin_);
    EXPECT_EQ(r.status, 201) << r.body;
    auto o = ParseBody(r).as_object();
    return {std::string(o.at("app_id").as_string()), std::string(o.at("app_secret").as_string())};
  }

  protocol::OpenApiClient Client(const std::string& app_id, const std::string& secret) {
    return protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, SystemClock::Instance())
        .value();
  }

  std::string DemoUserId(const std::string& phone) {
    static constexpr storage::Query kUser{"test.user_by_phone", storage::Access::kRead,
                                          "SELECT id FROM users WHERE phone = $1"};
    auto rows = host_db_->Read([&](storage::Tx& tx) { return tx.Exec(kUser, {phone}); });
    EXPECT_TRUE(rows.ok() && !rows->empty());
    return rows->rows.at(0).Str(0);
  }

  std::string Code(const std::string& app_id, const std::string& user_id) {
    auto c = host::IssueLoginCode(*host_db_, app_id, user_id, std::nullopt, SystemClock::Instance().NowMs());
    EXPECT_TRUE(c.ok());
    return c->code;
  }

  std::unique_ptr<storage::Db> host_db_;
  std::optional<SecretBox> box_;
  std::vector<std::pair<std::string, std::string>> admin_;
};

TEST_P(OpenPlatformTest, AdminRegistryNeedsTheTokenAndNeverListsSecrets) {
  const std::string h = node_->host_url();
  ExpectProblem(
      Post(h + "/api/admin/apps", R"({"name":"x","service_url":"http://a","notify_url":"http://b"})"), 401,
      "unauthorized");
  ExpectProblem(Get(h + "/api/admin/apps", {{"Authorization", "Bearer wrong-token-123"}}), 401,
                "unauthorized");
  ExpectProblem(
      Post(h + "/api/admin/apps", R"({"name":"x","service_url":"ftp://a","notify_url":"http://b"})", admin_),
      400, "validation_failed");
  ExpectProblem(Post(h + "/api/admin/apps", "{", admin_), 400, "invalid_json");
  auto [app_id, secret] = Register("第三方小程序");
  EXPECT_TRUE(secret.starts_with("sk_"));
  auto list = Get(h + "/api/admin/apps", admin_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(secret), std::string::npos) << "a secret was listed";
  EXPECT_EQ(list.body.find("secret_sealed"), std::string::npos);
  EXPECT_NE(list.body.find(app_id), std::string::npos);
  ExpectProblem(Get(h + "/api/admin/apps/app_01ZZZZZZZZZZZZZZZZZZZZZZZZ", admin_), 404, "not_found");
  // At rest the secret is sealed, not stored in clear.
  static constexpr storage::Query kSealed{"test.sealed", storage::Access::kRead,
                                          "SELECT secret_sealed FROM apps WHERE id = $1"};
  auto sealed = host_db_->Read([&](storage::Tx& tx) { return tx.Exec(kSealed, {app_id}); });
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->rows.at(0).Str(0).find(secret), std::string::npos);
  EXPECT_EQ(*box_->Open(sealed->rows.at(0).Str(0)), secret);
}

TEST_P(OpenPlatformTest, SignedRequestsAreCheckedAndReplaysRefused) {
  auto [app_id, secret] = Register("signer");
  auto ok = Client(app_id, secret).CallJson("GET", "/open/v1/ping", "");
  ASSERT_TRUE(ok.ok()) << ok.error().detail;
  EXPECT_EQ(ok->at("app_id").as_string(), app_id);

  // Wrong secret.
  auto wrong = Client(app_id, "sk_" + std::string(64, '0')).Call("GET", "/open/v1/ping", "");
  ASSERT_TRUE(wrong.ok());
  ExpectProblem(*wrong, 401, "invalid_signature");

  // Unsigned.
  ExpectProblem(Get(node_->host_url() + "/open/v1/ping"), 401, "invalid_signature");

  // Signed for one path, sent to another (a tampered query).
  auto req = Client(app_id, secret).BuildRequest("GET", "/open/v1/jscode2session?js_code=a", "").value();
  req.url = node_->host_url() + "/open/v1/jscode2session?js_code=b";
  auto tampered = http::Fetch(req);
  ASSERT_TRUE(tampered.ok());
  ExpectProblem(*tampered, 401, "invalid_signature");

  // The very same signed request twice: the second is a replay.
  auto once = Client(app_id, secret).BuildRequest("GET", "/open/v1/ping", "").value();
  EXPECT_EQ(http::Fetch(once)->status, 200);
  ExpectProblem(*http::Fetch(once), 401, "invalid_signature");

  // A timestamp six minutes old.
  ManualClockForTest past(SystemClock::Instance().NowMs() - 360'000);
  auto stale = protocol::OpenApiClient::Create({node_->host_url(), app_id, secret}, past).value();
  ExpectProblem(*stale.Call("GET", "/open/v1/ping", ""), 401, "invalid_signature");
}

TEST_P(OpenPlatformTest, RotationKeepsTheOldSecretForItsGraceAndDisableStopsAll) {
  auto [app_id, old_secret] = Register("rotator");
  const std::string h = node_->host_url();
  auto rotated =
      Post(h + "/api/admin/apps/" + app_id + "/rotate-secret", R"({"grace_seconds":3600})", admin_);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_secret(ParseBody(rotated).at("app_secret").as_string());
  EXPECT_NE(new_secret, old_secret);
  EXPECT_TRUE(Client(app_id, old_secret).CallJson("GET", "/open/v1/ping", "").ok());
  EXPECT_TRUE(Client(app_id, new_secret).CallJson("GET", "/open/v1/ping", "").ok());

  auto again = Post(h + "/api/admin/apps/" + app_id + "/rotate-secret", R"({"grace_seconds":0})", admin_);
  const std::string newest(ParseBody(again).at("app_secret").as_string());
  ExpectProblem(*Client(app_id, new_secret).Call("GET", "/open/v1/ping", ""), 401, "invalid_signature");
  ExpectProblem(*Client(app_id, old_secret).Call("GET", "/open/v1/ping", ""), 401, "invalid_signature");
  EXPECT_TRUE(Client(app_id, newest).CallJson("GET", "/open/v1/ping", "").ok());

  ASSERT_EQ(Post(h + "/api/admin/apps/" + app_id + "/disable", "", admin_).status, 200);
  ExpectProblem(*Client(app_id, newest).Call("GET", "/open/v1/ping", ""), 401, "invalid_signature");
}

// The node remembers an app's secrets for a few seconds (app_secret_cache.h); a secret
// changed behind its back (a rotation on another node) is still accepted at once.
TEST_P(OpenPlatformTest, ASecretRotatedElsewhereIsAcceptedAtOnce) {
  auto [app_id, secret] = Register("elsewhere");
  auto [other_id, other_secret] = Register("donor");
  EXPECT_TRUE(Client(app_id, secret).CallJson("GET", "/open/v1/ping", "").ok());  // remembered now
  static constexpr storage::Query kTakeSecret{
      "test.open_platform.take_secret", storage::Access::kWrite,
      "UPDATE apps SET secret_sealed = (SELECT secret_sealed FROM apps WHERE id = $2) WHERE id = $1"};
  auto host_db = OpenHostDb();
  RunQuery(*host_db, kTakeSecret, {app_id, other_id});
  EXPECT_TRUE(Client(app_id, other_secret).CallJson("GET", "/open/v1/ping", "").ok());
  // Still refused: a secret that is no secret of the app.
  ExpectProblem(*Client(app_id, "sk_" + std::string(64, '1')).Call("GET", "/open/v1/ping", ""), 401,
                "invalid_signature");
}

TEST_P(OpenPlatformTest, CodeToSessionGivesAStablePerAppOpenId) {
  const std::string viewer = DemoUserId("13800000000");
  const std::string other_user = DemoUserId("13800000001");
  const auto [local_app_id, local_secret] = LocalAppCredentials();
  const std::string p = node_->provider_url();

  auto first = Post(p + "/mp/v1/session", R"({"code":")" + Code(local_app_id, viewer) + R"("})");
  ASSERT_EQ(first.status, 200) << first.body;
  auto s1 = ParseBody(first).as_object();
  const std::string openid(s1.at("openid").as_string());
  EXPECT_TRUE(openid.starts_with("o_"));
  EXPECT_EQ(openid.find(viewer), std::string::npos);
  EXPECT_EQ(s1.at("host").as_string(), "local");

  auto me =
      Get(p + "/mp/v1/me", {{"Authorization", "Bearer " + std::string(s1.at("session_token").as_string())}});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(ParseBody(me).at("openid").as_string(), openid);
  ExpectProblem(Get(p + "/mp/v1/me", {{"Authorization", "Bearer mps_forged"}}), 401, "unauthorized");

  // Signing out ends the session at once (this node remembered it a moment ago), and once.
  {
    auto sign_out = [](const std::string& url, const Headers& headers) {
      http::ClientRequest req;
      req.method = "DELETE";
      req.url = url;
      req.headers = headers;
      auto r = http::Fetch(req);
      EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
      return r.ok() ? *r : http::ClientResponse{};
    };
    const Headers bearer{{"Authorization", "Bearer " + std::string(s1.at("session_token").as_string())}};
    auto late = Post(p + "/mp/v1/session", R"({"code":")" + Code(local_app_id, viewer) + R"("})");
    ASSERT_EQ(late.status, 200) << late.body;
    const Headers other{
        {"Authorization", "Bearer " + std::string(ParseBody(late).at("session_token").as_string())}};
    ASSERT_EQ(Get(p + "/mp/v1/me", other).status, 200);
    EXPECT_EQ(sign_out(p + "/mp/v1/session", bearer).status, 204);
    ExpectProblem(Get(p + "/mp/v1/me", bearer), 401, "unauthorized");
    ExpectProblem(sign_out(p + "/mp/v1/session", bearer), 401, "unauthorized");
    ExpectProblem(sign_out(p + "/mp/v1/session", {}), 401, "unauthorized");
    EXPECT_EQ(Get(p + "/mp/v1/me", other).status, 200) << "the user's other session is untouched";
  }

  // Same user, new code: same openid and same provider user.
  auto second = ParseBody(Post(p + "/mp/v1/session", R"({"code":")" + Code(local_app_id, viewer) + R"("})"));
  EXPECT_EQ(second.at("openid").as_string(), openid);
  EXPECT_EQ(second.at("user_id"), s1.at("user_id"));
  // Another user: another openid. Another app: another openid for the same user.
  auto third =
      ParseBody(Post(p + "/mp/v1/session", R"({"code":")" + Code(local_app_id, other_user) + R"("})"));
  EXPECT_NE(third.at("openid").as_string(), openid);
  auto [app_id, secret] = Register("another app");
  auto other_app = host::ExchangeLoginCode(*host_db_, *box_, app_id, Code(app_id, viewer),
                                           SystemClock::Instance().NowMs());
  ASSERT_TRUE(other_app.ok());
  EXPECT_NE(other_app->openid, openid);

  // A code works once, and only for the app it was issued to.
  const std::string code = Code(local_app_id, viewer);
  EXPECT_EQ(Post(p + "/mp/v1/session", R"({"code":")" + code + R"("})").status, 200);
  ExpectProblem(Post(p + "/mp/v1/session", R"({"code":")" + code + R"("})"), 400, "validation_failed");
  const std::string foreign = Code(app_id, viewer);
  ExpectProblem(Post(p + "/mp/v1/session", R"({"code":")" + foreign + R"("})"), 400, "validation_failed");
  ExpectProblem(Post(p + "/mp/v1/session", R"({"code":"nonsense"})"), 400, "validation_failed");
  ExpectProblem(Post(p + "/mp/v1/session", R"({"code":"x","host":"elsewhere"})"), 400, "validation_failed");
  ExpectProblem(Post(p + "/mp/v1/session", R"({"code":17})"), 400, "validation_failed");
}

TEST_P(OpenPlatformTest, CodesExpireAfterFiveMinutes) {
  const std::string viewer = DemoUserId("13800000000");
  const auto [local_app_id, local_secret] = LocalAppCredentials();
  const int64_t t0 = SystemClock::Instance().NowMs();
  auto code = host::IssueLoginCode(*host_db_, local_app_id, viewer, std::nullopt, t0);
  ASSERT_TRUE(code.ok());
  EXPECT_FALSE(host::ExchangeLoginCode(*host_db_, *box_, local_app_id, code->code, t0 + 300'001).ok());
  EXPECT_TRUE(host::ExchangeLoginCode(*host_db_, *box_, local_app_id, code->code, t0 + 299'000).ok());
}

TEST_P(OpenPlatformTest, WebhooksAreVerifiedOnRawBytesAndDeduplicated) {
  const auto [local_app_id, local_secret] = LocalAppCredentials();
  const std::string url = node_->provider_url() + "/mp/v1/webhooks/local";
  const std::string body = R"({"id":"evt_1","type":"test.ping","data":{"n":1}})";
  auto signed_headers = [&](const std::string& b, const std::string& secret) {
    return std::vector<std::pair<std::string, std::string>>{
        {"Hutong-Signature", protocol::SignWebhook({secret}, b, SystemClock::Instance())}};
  };
  auto first = Post(url, body, signed_headers(body, local_secret));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(ParseBody(first).at("duplicate").as_bool());
  auto again = Post(url, body, signed_headers(body, local_secret));
  ASSERT_EQ(again.status, 200);
  EXPECT_TRUE(ParseBody(again).at("duplicate").as_bool());

  const std::string other = R"({"id":"evt_2","type":"test.ping","data":{"n":2}})";
  ExpectProblem(Post(url, other, signed_headers(body, local_secret)), 401,
                "invalid_signature");  // body swapped
  ExpectProblem(Post(url, other, signed_headers(other, "sk_wrong")), 401, "invalid_signature");
  ExpectProblem(Post(url, other), 401, "invalid_signature");
  ExpectProblem(
      Post(node_->provider_url() + "/mp/v1/webhooks/nowhere", other, signed_headers(other, local_secret)),
      404, "not_found");
  const std::string no_id = R"({"type":"test.ping"})";
  ExpectProblem(Post(url, no_id, signed_headers(no_id, local_secret)), 400, "validation_failed");
}

TEST_P(OpenPlatformTest, ViewerLaunchesTheMiniProgramFromAVideo) {
  const std::string h = node_->host_url();
  auto login = Post(h + "/api/auth/login", R"({"phone":"13800000000","password":"demo-pass-1"})");
  ASSERT_EQ(login.status, 200) << login.body;
  const std::vector<std::pair<std::string, std::string>> viewer = {
      {"Authorization", "Bearer " + std::string(ParseBody(login).at("token").as_string())}};
  auto video = ParseBody(Get(h + "/api/feed?limit=1")).at("items").as_array().at(0).as_object();
  const std::string video_id(video.at("id").as_string());
  const std::string app_id(video.at("mounts").as_array().at(0).at("app_id").as_string());
  const std::string launch_url = h + "/api/miniprogram/" + app_id + "/launch";

  auto launched = Post(launch_url, R"({"video_id":")" + video_id + R"("})", viewer);
  ASSERT_EQ(launched.status, 200) << launched.body;
  auto l = ParseBody(launched).as_object();
  const std::string code(l.at("code").as_string());
  const std::string token(l.at("attribution_token").as_string());
  EXPECT_TRUE(l.at("entry_url").as_string().starts_with(node_->provider_url() + "/mp/entry?code=" + code));
  auto attribution = host::VerifyAttributionToken(*box_, token, app_id, SystemClock::Instance().NowMs());
  ASSERT_TRUE(attribution.ok());
  EXPECT_EQ(attribution->video_id, video_id);
  EXPECT_EQ(attribution->creator_id, video.at("creator").at("id").as_string());
  EXPECT_FALSE(host::VerifyAttributionToken(*box_, token, "app_other", SystemClock::Instance().NowMs()).ok());
  EXPECT_FALSE(
      host::VerifyAttributionToken(*box_, token + "0", app_id, SystemClock::Instance().NowMs()).ok());
  EXPECT_FALSE(host::VerifyAttributionToken(
                   *box_, token, app_id, SystemClock::Instance().NowMs() + host::kAttributionWindowMs + 1000)
                   .ok());

  // The provider turns the code into a session for this viewer.
  auto session = Post(node_->provider_url() + "/mp/v1/session", R"({"code":")" + code + R"("})");
  ASSERT_EQ(session.status, 200) << session.body;

  // Launch without a video: a code but no attribution.
  auto plain = ParseBody(Post(launch_url, "", viewer));
  EXPECT_TRUE(plain.at("attribution_token").is_null());
  EXPECT_FALSE(plain.at("code").as_string().empty());

  ExpectProblem(Post(launch_url, R"({"video_id":"vid_nope"})", viewer), 404, "not_found");
  ExpectProblem(Post(launch_url, R"({"video_id":7})", viewer), 400, "validation_failed");
  ExpectProblem(Post(launch_url, "{}"), 401, "unauthorized");
  ExpectProblem(Post(h + "/api/miniprogram/app_01ZZZZZZZZZZZZZZZZZZZZZZZZ/launch", "{}", viewer), 404,
                "not_found");

  // A retried launch with the same Idempotency-Key gets the same code back, and the stored
  // answer does not hold the code in clear.
  auto keyed = viewer;
  keyed.emplace_back("Idempotency-Key", "launch-1");
  auto a = Post(launch_url, R"({"video_id":")" + video_id + R"("})", keyed);
  auto b = Post(launch_url, R"({"video_id":")" + video_id + R"("})", keyed);
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(ParseBody(a).at("code"), ParseBody(b).at("code"));
  EXPECT_EQ(b.Header("idempotent-replayed"), "true");
  static constexpr storage::Query kStored{"test.idem_bodies", storage::Access::kRead,
                                          "SELECT body FROM idempotency_keys WHERE idem_key = 'launch-1'"};
  auto stored = host_db_->Read([](storage::Tx& tx) { return tx.Exec(kStored); });
  ASSERT_TRUE(stored.ok() && stored->size() == 1);
  EXPECT_EQ(stored->rows[0].Str(0).find(std::string(ParseBody(a).at("code").as_string())), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, OpenPlatformTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
