// Content repository on SQLite and PostgreSQL: mounts must name an online deal the app
// has synced (else kUnprocessable); the feed joins creators and mounts and pages by cursor.
#include "host/content/content.h"

#include <gtest/gtest.h>

#include "host/host.h"
#include "host/openplatform/apps.h"
#include "support/test_env.h"

namespace hutong::host {
namespace {
using hutong::testing::Backend;

class ContentTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    storage::DbOptions options;
    options.default_schema = "host";
    auto db = storage::OpenDb(dbs_->host_db(), options);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    ASSERT_TRUE(storage::Migrate(*db_, HostMigrations()).ok());
    auto r = db_->Write([&](storage::Tx& tx) -> Result<std::pair<std::string, std::string>> {
      auto box = SecretBox::FromHex(SecretBox::NewHexKey()).value();
      ASSIGN_OR_RETURN(
          auto creds, CreateApp(tx, {"demo", "http://127.0.0.1:8081", "http://127.0.0.1:8081/hook"}, box, 1));
      const std::string& app = creds.app_id;
      protocol::DealIndexEntry on{
          "deal_A", "湊湊火锅双人套餐", "湊湊", "set_meal", "catering", "北京", 19800, 29600, 800};
      protocol::DealIndexEntry off = on;
      off.deal_id = "deal_B";
      off.status = "offline";
      RETURN_IF_ERROR(UpsertAppDeals(tx, app, {on, off}, 1));
      ASSIGN_OR_RETURN(auto creator, CreateCreator(tx, {"", "北京吃货小王", "", ""}, 1));
      return std::make_pair(app, creator);
    });
    ASSERT_TRUE(r.ok()) << r.error().detail << r.error().internal;
    app_ = r->first;
    creator_ = r->second;
  }

  VideoInput Video(std::vector<MountInput> mounts) {
    VideoInput v;
    v.creator_id = creator_;
    v.title = "新年好食记";
    v.cover_url = "https://cdn.example/c.jpg";
    v.video_url = "https://cdn.example/v.mp4";
    v.tags = {"火锅", "新年"};
    v.mounts = std::move(mounts);
    return v;
  }
  Result<std::string> Publish(const VideoInput& v) {
    return db_->Write([&](storage::Tx& tx) { return CreateVideo(tx, v, 2); });
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  std::string app_, creator_;
};

TEST_P(ContentTest, MountsMustBeOnlineSyncedDeals) {
  EXPECT_EQ(Publish(Video({{app_, "deal_B"}})).error().code, ErrorCode::kUnprocessable);  // offline
  EXPECT_EQ(Publish(Video({{app_, "deal_C"}})).error().code, ErrorCode::kUnprocessable);  // never synced
  EXPECT_EQ(Publish(Video({{"app_01ZZZZZZZZZZZZZZZZZZZZZZZZ", "deal_A"}})).error().code,
            ErrorCode::kUnprocessable);  // other app
  auto bad_url = Video({});
  bad_url.video_url = "javascript:alert(1)";
  EXPECT_EQ(Publish(bad_url).error().code, ErrorCode::kValidationFailed);
  auto bad_tag = Video({});
  bad_tag.tags = {"a,b"};
  EXPECT_EQ(Publish(bad_tag).error().code, ErrorCode::kValidationFailed);
  auto feed = FeedJson(*db_, FeedParams{});
  ASSERT_TRUE(feed.ok());
  EXPECT_TRUE(feed->at("items").as_array().empty()) << "a rejected video was written";

  ASSERT_TRUE(Publish(Video({{app_, "deal_A"}})).ok());
  feed = FeedJson(*db_, FeedParams{});
  const auto& item = feed->at("items").as_array().at(0);
  EXPECT_EQ(item.at("creator").at("name").as_string(), "北京吃货小王");
  EXPECT_EQ(item.at("tags").as_array().size(), 2u);
  const auto& mount = item.at("mounts").as_array().at(0);
  EXPECT_EQ(mount.at("title").as_string(), "湊湊火锅双人套餐");
  EXPECT_EQ(mount.at("price_fen").as_int64(), 19800);
  EXPECT_EQ(mount.at("deal_url").as_string(), "http://127.0.0.1:8081/mp/v1/deals/deal_A");
}

TEST_P(ContentTest, ADealTakenOfflineDisappearsFromMounts) {
  ASSERT_TRUE(Publish(Video({{app_, "deal_A"}})).ok());
  protocol::DealIndexEntry off{
      "deal_A", "湊湊火锅双人套餐", "湊湊", "set_meal", "catering", "北京", 19800, 29600, 800};
  off.status = "offline";
  ASSERT_TRUE(db_->Write([&](storage::Tx& tx) { return UpsertAppDeals(tx, app_, {off}, 3); }).ok());
  auto feed = FeedJson(*db_, FeedParams{});
  ASSERT_TRUE(feed.ok());
  EXPECT_TRUE(feed->at("items").as_array().at(0).at("mounts").as_array().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ContentTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::host
