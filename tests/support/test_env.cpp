#include "support/test_env.h"

#include <cstdlib>
#include <filesystem>

#include "app/demo.h"
#include "app/master_key.h"
#include "common/random.h"
#include "http/message.h"

namespace hutong::testing {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

FreshDatabases::FreshDatabases(Backend backend) {
  dir_ = (std::filesystem::temp_directory_path() / ("hutong-test-" + RandomHex(6))).string();
  std::filesystem::create_directories(dir_);
  if (backend == Backend::kSqlite) {
    host_db_ = dir_ + "/host.db";
    provider_db_ = dir_ + "/provider.db";
    return;
  }
  const char* url = std::getenv("HUTONG_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "HUTONG_TEST_PG_URL is not set: run the PostgreSQL tests through `make test` "
                     "or scripts/with-postgres.sh";
    host_db_ = provider_db_ = "postgresql://unset@127.0.0.1:1/none";
    return;
  }
  const std::string suffix = RandomHex(5);
  const std::string sep = std::string(url).find('?') == std::string::npos ? "?" : "&";
  host_db_ = std::string(url) + sep + "schema=h_" + suffix;
  provider_db_ = std::string(url) + sep + "schema=p_" + suffix;
}

FreshDatabases::~FreshDatabases() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

app::Config TestConfig(const FreshDatabases& dbs) {
  app::Config c;
  c.command = "serve";
  c.data_dir = dbs.dir();
  c.host_db = dbs.host_db();
  c.provider_db = dbs.provider_db();
  c.host_listen = "127.0.0.1:0";
  c.provider_listen = "127.0.0.1:0";
  c.provider_public_url = "http://127.0.0.1:0";
  c.access_log = false;
  c.log_level = "warn";
  c.io_threads = 2;
  c.workers = 8;
  c.db_pool = 4;
  return c;
}

TestNode::TestNode(const app::Config& config) {
  auto node = app::Node::Start(config);
  if (!node.ok()) {
    ADD_FAILURE() << "node failed to start: " << node.error().detail << " / " << node.error().internal;
    throw std::runtime_error("node failed to start");
  }
  node_ = std::move(node).value();
}

TestNode::~TestNode() {
  Stop();
}

bool TestNode::Stop() {
  if (stopped_) return true;
  stopped_ = true;
  return node_->StopForTest();
}

std::string TestNode::host_url() const {
  return "http://127.0.0.1:" + std::to_string(node_->host_port());
}
std::string TestNode::provider_url() const {
  return "http://127.0.0.1:" + std::to_string(node_->provider_port());
}

void SeedDemoFor(app::Config config, const TestNode& node) {
  config.provider_public_url = node.provider_url();
  Status s = app::RunSeedDemo(config);
  ASSERT_TRUE(s.ok()) << s.error().detail << " / " << s.error().internal;
}

void SeededNodeTest::SetUp() {
  dbs_ = std::make_unique<FreshDatabases>(GetParam());
  config_ = TestConfig(*dbs_);
  node_ = std::make_unique<TestNode>(config_);
  SeedDemoFor(config_, *node_);
}

void SeededNodeTest::TearDown() {
  if (node_) {
    EXPECT_TRUE(node_->Stop());
  }
}

namespace {
std::unique_ptr<storage::Db> OpenRoleDb(const std::string& target, const std::string& schema) {
  storage::DbOptions o;
  o.default_schema = schema;
  auto db = storage::OpenDb(target, o);
  if (!db.ok()) {
    ADD_FAILURE() << "cannot open " << target << ": " << db.error().internal;
    throw std::runtime_error("cannot open the test database");
  }
  return std::move(db).value();
}
}  // namespace

std::unique_ptr<storage::Db> SeededNodeTest::OpenHostDb() const {
  return OpenRoleDb(config_.host_db, "host");
}
std::unique_ptr<storage::Db> SeededNodeTest::OpenProviderDb() const {
  return OpenRoleDb(config_.provider_db, "provider");
}

std::pair<std::string, std::string> SeededNodeTest::LocalAppCredentials() const {
  static constexpr storage::Query kLocalApp{
      "test.local_app", storage::Access::kRead,
      "SELECT a.id, a.secret_sealed FROM apps a JOIN meta m ON m.value = a.id "
      "WHERE m.key = 'local_provider_app_id'"};
  auto db = OpenHostDb();
  auto rows = RunQuery(*db, kLocalApp);
  if (rows.empty()) {
    ADD_FAILURE() << "the node registered no local provider app";
    return {};
  }
  auto secret = app::LoadMasterKey(config_).value().Open(rows[0].Str(1));
  EXPECT_TRUE(secret.ok());
  return {rows[0].Str(0), secret.ok() ? *secret : std::string()};
}

storage::Rows RunQuery(storage::Db& db, const storage::Query& q, std::vector<storage::Value> params) {
  auto r = q.access == storage::Access::kRead ? db.Read([&](storage::Tx& tx) { return tx.Exec(q, params); })
                                              : db.Write([&](storage::Tx& tx) { return tx.Exec(q, params); });
  EXPECT_TRUE(r.ok()) << q.name << ": " << (r.ok() ? "" : r.error().internal);
  return r.ok() ? std::move(r).value() : storage::Rows{};
}

namespace {
http::ClientResponse Send(http::ClientRequest req) {
  auto r = http::Fetch(req);
  if (!r.ok()) {
    ADD_FAILURE() << req.method << " " << req.url << " failed: " << r.error().detail << " "
                  << r.error().internal;
    return {};
  }
  return std::move(r).value();
}
}  // namespace

http::ClientResponse Get(const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  http::ClientRequest req;
  req.url = url;
  req.headers = headers;
  return Send(std::move(req));
}

http::ClientResponse Post(const std::string& url, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.headers = headers;
  req.headers.emplace_back("Content-Type", "application/json");
  return Send(std::move(req));
}

boost::json::value ParseBody(const http::ClientResponse& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  if (ec) ADD_FAILURE() << "response is not JSON: " << r.body.substr(0, 300);
  return v;
}

std::string UrlEncode(std::string_view s) {
  return http::PercentEncode(s);
}

void ExpectProblem(const http::ClientResponse& r, int status, std::string_view code) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  ASSERT_TRUE(v.is_object());
  const auto& o = v.as_object();
  ASSERT_TRUE(o.contains("code") && o.at("code").is_string()) << r.body;
  EXPECT_EQ(o.at("code").as_string(), code) << r.body;
  EXPECT_EQ(o.at("status").to_number<int64_t>(), status);
  EXPECT_TRUE(o.contains("title") && o.contains("type")) << r.body;
}

Headers BearerAuth(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

namespace {
// The string `name` of a JSON answer, or "" (and a failure) when it has none.
std::string StringField(const http::ClientResponse& r, std::string_view name) {
  const boost::json::value v = ParseBody(r);
  const auto* o = v.if_object();
  const auto* field = o ? o->if_contains(name) : nullptr;
  if (field == nullptr || !field->is_string()) {
    ADD_FAILURE() << "no string '" << name << "' in " << r.body.substr(0, 300);
    return {};
  }
  return std::string(field->as_string());
}
}  // namespace

Headers LoginViewer(const std::string& host_url, const std::string& phone) {
  auto login = Post(host_url + "/api/auth/login", R"({"phone":")" + phone + R"(","password":"demo-pass-1"})");
  EXPECT_EQ(login.status, 200) << login.body;
  return BearerAuth(StringField(login, "token"));
}

Headers LoginStaff(const std::string& provider_url, const std::string& account) {
  auto login = Post(provider_url + "/merchant/v1/auth/login",
                    R"({"account":")" + account + R"(","password":"demo-pass-1"})");
  EXPECT_EQ(login.status, 200) << login.body;
  return BearerAuth(StringField(login, "token"));
}

FeedVideo FirstFeedVideo(const std::string& host_url) {
  auto video = ParseBody(Get(host_url + "/api/feed?limit=1")).at("items").as_array().at(0).as_object();
  return {std::string(video.at("id").as_string()),
          std::string(video.at("mounts").as_array().at(0).at("app_id").as_string())};
}

MiniProgramSession OpenMiniProgram(const std::string& host_url, const std::string& provider_url,
                                   const Headers& viewer, const std::string& app_id,
                                   const std::string& video_id) {
  const std::string body = video_id.empty() ? "{}" : R"({"video_id":")" + video_id + R"("})";
  auto launched = Post(host_url + "/api/miniprogram/" + app_id + "/launch", body, viewer);
  EXPECT_EQ(launched.status, 200) << launched.body;
  MiniProgramSession s;
  if (!video_id.empty()) s.attribution_token = StringField(launched, "attribution_token");
  auto session =
      Post(provider_url + "/mp/v1/session", R"({"code":")" + StringField(launched, "code") + R"("})");
  EXPECT_EQ(session.status, 200) << session.body;
  s.mp = BearerAuth(StringField(session, "session_token"));
  return s;
}

}  // namespace hutong::testing
