// The outbox's stored payload: the exact bytes that are signed and posted, on SQLite and
// PostgreSQL.
#include "host/webhooks/outbox.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/clock.h"
#include "host/host.h"
#include "support/test_env.h"

namespace hutong::host {
namespace {
using hutong::testing::Backend;
namespace json = boost::json;

constexpr storage::Query kInsertApp{
    "test.outbox.insert_app", storage::Access::kWrite,
    "INSERT INTO apps (id, name, service_url, notify_url, secret_sealed, created_at) "
    "VALUES ('app_test', 'test', 'http://127.0.0.1:1', 'http://127.0.0.1:1/notify', 'x', 0)"};
constexpr storage::Query kPayload{
    "test.outbox.payload", storage::Access::kRead,
    "SELECT payload, type, app_id, created_at FROM webhook_events WHERE id = $1"};

class OutboxTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    storage::DbOptions options;
    options.default_schema = "host";
    auto db = storage::OpenDb(dbs_->host_db(), options);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    auto migrated = storage::Migrate(*db_, HostMigrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().internal;
    ASSERT_TRUE(db_->WithWrite([](storage::Tx& tx) -> Status {
                     RETURN_IF_ERROR(tx.Exec(kInsertApp));
                     return Ok();
                   })
                    .ok());
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
};

// The payload is spliced from two serializations (no deep copy of `data`): it must be the
// very bytes of serializing the whole {"id","type","app_id","created_at","data"} object.
TEST_P(OutboxTest, PayloadIsTheSerializedEventObject) {
  constexpr int64_t kAt = 1'767'225'600'123;  // 2026-01-01T00:00:00.123Z
  const json::object data{{"pay_order_id", "pay_01"},
                          {"amount_fen", 12800},
                          {"note", "湊湊 \"火锅\"\n"},
                          {"items", json::array{1, "two", json::object{{"three", nullptr}}}},
                          {"empty", json::object{}}};
  for (const bool last : {false, true}) {
    for (const json::object& d : {data, json::object{}}) {
      std::string id;
      ASSERT_TRUE(db_->WithWrite([&](storage::Tx& tx) -> Status {
                       ASSIGN_OR_RETURN(id, EnqueueEvent(tx, "app_test", "payment.succeeded", d, kAt, last));
                       return Ok();
                     })
                      .ok());
      auto rows = db_->Read([&](storage::Tx& tx) { return tx.Exec(kPayload, {id}); });
      ASSERT_TRUE(rows.ok()) << rows.error().internal;
      ASSERT_EQ(rows->size(), 1u);
      const json::object whole{{"id", id},
                               {"type", "payment.succeeded"},
                               {"app_id", "app_test"},
                               {"created_at", FormatRfc3339(kAt)},
                               {"data", d}};
      EXPECT_EQ((*rows)[0].Str(0), json::serialize(whole));
      EXPECT_EQ((*rows)[0].Str(1), "payment.succeeded");
      EXPECT_EQ((*rows)[0].Int(3), kAt);
      const json::value parsed = json::parse((*rows)[0].Str(0));
      EXPECT_EQ(parsed.at("data"), json::value(d));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::host
