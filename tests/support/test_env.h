// Shared fixtures for integration tests: fresh databases on SQLite or PostgreSQL, a real
// node on loopback port 0, and small HTTP helpers.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/config.h"
#include "app/node.h"
#include "http/client.h"
#include "storage/db.h"

namespace hutong::testing {

enum class Backend { kSqlite, kPostgres };
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);

// A fresh, empty pair of databases: temp SQLite files, or new schemas on the server in
// HUTONG_TEST_PG_URL (a PostgreSQL test fails, never skips, when it is unset).
class FreshDatabases {
 public:
  explicit FreshDatabases(Backend backend);
  ~FreshDatabases();
  const std::string& host_db() const { return host_db_; }
  const std::string& provider_db() const { return provider_db_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string host_db_;
  std::string provider_db_;
};

// A configuration serving both roles on 127.0.0.1:0 over the given databases.
app::Config TestConfig(const FreshDatabases& dbs);

// A node started from `config`; stopped (drained) on destruction.
class TestNode {
 public:
  explicit TestNode(const app::Config& config);
  ~TestNode();
  std::string host_url() const;
  std::string provider_url() const;
  app::Node& node() { return *node_; }
  bool Stop();

 private:
  std::unique_ptr<app::Node> node_;
  bool stopped_ = false;
};

// Seeds the demo with links pointing at `node`'s provider.
void SeedDemoFor(app::Config config, const TestNode& node);

// A real node (both roles, port 0) over fresh databases of the test's backend, with the
// demo seeded; drained after each test. Derived fixtures call SeededNodeTest::SetUp() first.
class SeededNodeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Another connection to a role's database, for what the API does not show.
  std::unique_ptr<storage::Db> OpenHostDb() const;
  std::unique_ptr<storage::Db> OpenProviderDb() const;
  // The local provider's app on the host (registered by the node at start), read without
  // changing it: {app_id, app_secret}.
  std::pair<std::string, std::string> LocalAppCredentials() const;

  std::unique_ptr<FreshDatabases> dbs_;
  app::Config config_;
  std::unique_ptr<TestNode> node_;
};

// Runs one query in its own transaction (a write transaction for a writing query); a
// failure fails the test and yields no rows.
storage::Rows RunQuery(storage::Db& db, const storage::Query& q, std::vector<storage::Value> params = {});

using Headers = std::vector<std::pair<std::string, std::string>>;

http::ClientResponse Get(const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers = {});
http::ClientResponse Post(const std::string& url, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});
boost::json::value ParseBody(const http::ClientResponse& r);
// Percent-encodes a query value (UTF-8 safe).
std::string UrlEncode(std::string_view s);

// Asserts an RFC 9457 problem with the given status and machine code.
void ExpectProblem(const http::ClientResponse& r, int status, std::string_view code);

// {Authorization: Bearer <token>}.
Headers BearerAuth(std::string_view token);

// Demo logins (password demo-pass-1), as bearer headers; a refused login fails the test.
// A viewer or creator at the host by phone number:
Headers LoginViewer(const std::string& host_url, const std::string& phone);
// Merchant staff or operations at the provider by account (coucou, ops, ...):
Headers LoginStaff(const std::string& provider_url, const std::string& account);

// The newest video of the anonymous feed and the app of its first mounted deal.
struct FeedVideo {
  std::string video_id;
  std::string app_id;
};
FeedVideo FirstFeedVideo(const std::string& host_url);

// A mini-program opened by a logged-in viewer: the launch at the host (from `video_id`,
// or from no video when empty) and the code exchanged at the provider.
struct MiniProgramSession {
  Headers mp;                     // the mini-program session's bearer headers
  std::string attribution_token;  // from the launch; empty without a video
};
MiniProgramSession OpenMiniProgram(const std::string& host_url, const std::string& provider_url,
                                   const Headers& viewer, const std::string& app_id,
                                   const std::string& video_id = "");

}  // namespace hutong::testing
