// The webhook receiver's batched delivery on SQLite and PostgreSQL: one transaction for the
// batch; a failing event rolls the batch back and then fails alone while the others are
// processed exactly once; duplicates (within a batch, across retries) change nothing.
#include "provider/hosts/webhook_receiver.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "provider/provider.h"
#include "support/test_env.h"

namespace hutong::provider {
namespace {
namespace json = boost::json;
using hutong::testing::Backend;

constexpr int64_t kT0 = 1'800'000'000'000;

// Each handled "test.write" event leaves one row in meta (key = the event's id).
constexpr storage::Query kWrite{"test.receiver.write", storage::Access::kWrite,
                                "INSERT INTO meta (key, value) VALUES ($1, 'handled')"};
constexpr storage::Query kWritten{"test.receiver.written", storage::Access::kRead,
                                  "SELECT COUNT(*) FROM meta WHERE key LIKE 'evt_%'"};
constexpr storage::Query kRecorded{"test.receiver.recorded", storage::Access::kRead,
                                   "SELECT COUNT(*) FROM webhook_events WHERE host = 'local'"};

class WebhookBatchTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    storage::DbOptions options;
    options.default_schema = "provider";
    auto db = storage::OpenDb(dbs_->provider_db(), options);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    ASSERT_TRUE(storage::Migrate(*db_, ProviderMigrations()).ok());
    // Ends with ExecLast, as a handler running alone may: in a batch that must not commit
    // early nor stop the later events.
    handlers_.On("test.write", [this](storage::Tx& tx, const std::string&, const json::object& ev) -> Status {
      ++calls_;
      RETURN_IF_ERROR(tx.ExecLast(kWrite, {std::string(ev.at("id").as_string())}));
      return Ok();
    });
    handlers_.On("test.fail", [this](storage::Tx& tx, const std::string&, const json::object& ev) -> Status {
      ++calls_;
      RETURN_IF_ERROR(tx.Exec(kWrite, {std::string(ev.at("id").as_string())}));
      if (fail_) return Internal("refused by the test");
      return Ok();
    });
  }
  int64_t Count(const storage::Query& q) {
    return db_->Read([&](storage::Tx& tx) { return tx.Exec(q, {}); }).value().rows.at(0).Int(0);
  }
  static json::value Event(const std::string& id, const std::string& type) {
    return json::object{{"id", id}, {"type", type}, {"data", json::object{}}};
  }
  std::vector<WebhookBatchResult> Deliver(const json::array& events) {
    auto r = ProcessWebhookBatch(*db_, handlers_, "local", events, kT0);
    EXPECT_TRUE(r.ok()) << r.error().internal;
    return r.ok() ? *r : std::vector<WebhookBatchResult>{};
  }
  static std::vector<std::string> Statuses(const std::vector<WebhookBatchResult>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.status);
    return out;
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  WebhookHandlers handlers_;
  int calls_ = 0;
  bool fail_ = true;
};

TEST_P(WebhookBatchTest, EventsOfABatchAreHandledOnceEachWithDuplicatesAcknowledged) {
  const json::array batch{Event("evt_a", "test.write"), Event("evt_b", "test.write"),
                          Event("evt_a", "test.write"),  // the same event twice in one batch
                          Event("evt_c", "some.future.type"), Event("evt_d", "test.write")};
  auto results = Deliver(batch);
  EXPECT_EQ(Statuses(results),
            (std::vector<std::string>{"processed", "processed", "duplicate", "processed", "processed"}));
  EXPECT_EQ(results[1].event_id, "evt_b");
  EXPECT_EQ(Count(kWritten), 3);
  EXPECT_EQ(Count(kRecorded), 4);
  // The host retries the whole batch (its answer was lost): nothing runs again.
  calls_ = 0;
  EXPECT_EQ(Statuses(Deliver(batch)),
            (std::vector<std::string>{"duplicate", "duplicate", "duplicate", "duplicate", "duplicate"}));
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(Count(kWritten), 3);
  // A single delivery of one of them is a duplicate too.
  auto single = ProcessWebhook(*db_, handlers_, "local", json::serialize(Event("evt_d", "test.write")), kT0);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(single->duplicate);
}

TEST_P(WebhookBatchTest, AFailingEventFailsAloneAndIsProcessedOnItsRetry) {
  const json::array batch{Event("evt_1", "test.write"), Event("evt_2", "test.fail"),
                          Event("evt_3", "test.write")};
  auto results = Deliver(batch);
  EXPECT_EQ(Statuses(results), (std::vector<std::string>{"processed", "failed", "processed"}));
  EXPECT_FALSE(results[1].detail.empty());
  // The failed event left nothing behind (neither its record nor its write), so its retry
  // runs it; the others are written once although the batch's transaction ran them first.
  EXPECT_EQ(Count(kWritten), 2);
  EXPECT_EQ(Count(kRecorded), 2);
  fail_ = false;
  EXPECT_EQ(Statuses(Deliver(batch)), (std::vector<std::string>{"duplicate", "processed", "duplicate"}));
  EXPECT_EQ(Count(kWritten), 3);
  EXPECT_EQ(Count(kRecorded), 3);
}

TEST_P(WebhookBatchTest, MalformedElementsFailWithoutTouchingTheOthers) {
  json::array batch{Event("evt_x", "test.write"), json::value("not an event"),
                    json::value(json::object{{"id", "evt_no_type"}}), Event("evt_y", "test.write")};
  auto results = Deliver(batch);
  EXPECT_EQ(Statuses(results), (std::vector<std::string>{"processed", "failed", "failed", "processed"}));
  EXPECT_EQ(results[2].event_id, "evt_no_type");
  EXPECT_EQ(Count(kWritten), 2);
  json::array too_many;
  for (int i = 0; i <= kWebhookBatchMax; ++i)
    too_many.push_back(Event("evt_m" + std::to_string(i), "test.write"));
  auto refused = ProcessWebhookBatch(*db_, handlers_, "local", too_many, kT0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(Count(kWritten), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, WebhookBatchTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::provider
