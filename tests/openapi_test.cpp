// Every route is documented in its role's /openapi.json and every documented operation is
// routed, so the document and the router cannot drift apart.
#include <set>

#include "common/clock.h"
#include "host/host.h"
#include "http/metrics.h"
#include "http/ops_routes.h"
#include "provider/provider.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

using Ops = std::set<std::pair<std::string, std::string>>;  // (method, path)

Ops Routed(const http::Router& router) {
  Ops out;
  for (const auto& r : router.routes()) {
    std::string m(http::MethodName(r->method));
    for (auto& ch : m) ch = static_cast<char>(std::tolower(ch));
    out.emplace(m, r->pattern);
  }
  return out;
}

Ops Documented(const std::string& doc) {
  auto v = json::parse(doc);
  EXPECT_TRUE(v.at("openapi").as_string().starts_with("3."));
  Ops out;
  for (const auto& [path, item] : v.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      EXPECT_TRUE(op.as_object().contains("responses")) << method << " " << path;
      out.emplace(std::string(method), std::string(path));
    }
  }
  return out;
}

void ExpectSame(const Ops& routed, const Ops& documented) {
  for (const auto& op : routed) {
    EXPECT_TRUE(documented.count(op)) << "routed but not documented: " << op.first << " " << op.second;
  }
  for (const auto& op : documented) {
    EXPECT_TRUE(routed.count(op)) << "documented but not routed: " << op.first << " " << op.second;
  }
}

TEST(OpenApi, HostDocumentMatchesRouter) {
  FreshDatabases dbs(Backend::kSqlite);
  auto db = storage::OpenDb(dbs.host_db(), {});
  ASSERT_TRUE(db.ok());
  http::Router router;
  http::Metrics metrics;
  auto box = SecretBox::FromHex(SecretBox::NewHexKey()).value();
  protocol::InMemoryNonceStore nonces(SystemClock::Instance());
  host::RegisterHostRoutes(router,
                           host::HostDeps{**db, SystemClock::Instance(), "test-admin-token", box, nonces});
  http::AddOpsRoutes(router, metrics, [] { return Ok(); });
  ExpectSame(Routed(router), Documented(host::HostOpenApiJson()));
}

TEST(OpenApi, ProviderDocumentMatchesRouter) {
  FreshDatabases dbs(Backend::kSqlite);
  auto db = storage::OpenDb(dbs.provider_db(), {});
  ASSERT_TRUE(db.ok());
  http::Router router;
  http::Metrics metrics;
  auto hosts = provider::HostDirectory::Create({}, SystemClock::Instance()).value();
  provider::WebhookHandlers webhooks;
  provider::RegisterProviderRoutes(router,
                                   provider::ProviderDeps{**db, SystemClock::Instance(), *hosts, webhooks});
  http::AddOpsRoutes(router, metrics, [] { return Ok(); });
  ExpectSame(Routed(router), Documented(provider::ProviderOpenApiJson()));
}

TEST(OpenApi, ServedByBothRoles) {
  FreshDatabases dbs(Backend::kSqlite);
  TestNode node(TestConfig(dbs));
  for (const auto& base : {node.host_url(), node.provider_url()}) {
    auto r = Get(base + "/openapi.json");
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(ParseBody(r).as_object().contains("paths"));
  }
}

}  // namespace
}  // namespace hutong::testing
