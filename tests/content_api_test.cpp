// Creators, videos, mounts, feed, views and likes over real HTTP on the seeded demo, on
// SQLite and PostgreSQL: the happy paths, ownership, bad input that changes nothing,
// cursor paging with equal timestamps and concurrent inserts, same-city-first, and like
// idempotency under concurrency.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "common/ids.h"
#include "storage/db.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kVideoCount{"test.content.video_count", storage::Access::kRead,
                                     "SELECT COUNT(*) FROM videos"};
constexpr storage::Query kPublishedCount{"test.content.published_count", storage::Access::kRead,
                                         "SELECT COUNT(*) FROM videos WHERE status = 'published'"};
constexpr storage::Query kSameTime{"test.content.same_time", storage::Access::kWrite,
                                   "UPDATE videos SET created_at = $1"};
constexpr storage::Query kDealOffline{"test.content.deal_offline", storage::Access::kWrite,
                                      "UPDATE app_deals SET status = 'offline' WHERE deal_id = $1"};
constexpr storage::Query kLikeRows{"test.content.like_rows", storage::Access::kRead,
                                   "SELECT COUNT(*) FROM video_likes WHERE video_id = $1"};

http::ClientResponse Send(const std::string& method, const std::string& url, const std::string& body,
                          const Headers& headers) {
  http::ClientRequest req;
  req.method = method;
  req.url = url;
  req.body = body;
  req.headers = headers;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto r = http::Fetch(req);
  if (!r.ok()) {
    ADD_FAILURE() << method << " " << url << ": " << r.error().detail;
    return {};
  }
  return std::move(r).value();
}

class ContentApiTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    h_ = node_->host_url();
    db_ = OpenHostDb();
    auto first = ParseBody(Get(h_ + "/api/feed?limit=50")).at("items").as_array();
    for (const auto& v : first) {
      for (const auto& m : v.at("mounts").as_array()) {
        mounts_.emplace_back(std::string(m.at("app_id").as_string()),
                             std::string(m.at("deal_id").as_string()));
      }
    }
    ASSERT_GE(mounts_.size(), 6u);
  }

  Headers Login(const std::string& phone) { return LoginViewer(h_, phone); }
  Headers Register(const std::string& phone) {
    auto r = Post(h_ + "/api/auth/register",
                  R"({"phone":")" + phone + R"(","password":"demo-pass-1","nickname":"测试用户"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return BearerAuth(ParseBody(r).at("token").as_string());
  }
  json::object MountJson(size_t i) const {
    return json::object{{"app_id", mounts_.at(i).first}, {"deal_id", mounts_.at(i).second}};
  }
  json::object VideoBody(const std::string& title, const std::string& city = "北京") const {
    return json::object{{"title", title},
                        {"description", "测试视频"},
                        {"cover_url", "https://cdn.example/c.jpg"},
                        {"video_url", "https://cdn.example/v.mp4"},
                        {"tags", json::array{"测试"}},
                        {"city", city},
                        {"mounts", json::array{MountJson(0)}}};
  }
  // Publishes as a demo creator (北京吃货小王 unless another token is given); the video id.
  std::string Publish(const json::object& body, const Headers& creator) {
    auto r = Post(h_ + "/api/videos", json::serialize(body), creator);
    EXPECT_EQ(r.status, 201) << r.body;
    if (r.status != 201) return {};
    return std::string(ParseBody(r).at("id").as_string());
  }
  int64_t Count(const storage::Query& q, std::vector<storage::Value> params = {}) {
    return RunQuery(*db_, q, std::move(params)).rows.at(0).Int(0);
  }
  std::vector<std::string> FeedIds(const std::string& query, int64_t limit, const Headers& auth = {}) {
    std::vector<std::string> ids;
    std::string cursor;
    for (int i = 0; i < 200; ++i) {
      auto r = Get(h_ + "/api/feed?limit=" + std::to_string(limit) + query +
                       (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)),
                   auth);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      auto page = ParseBody(r).as_object();
      for (const auto& it : page.at("items").as_array()) ids.emplace_back(it.at("id").as_string());
      if (page.at("next_cursor").is_null()) break;
      cursor = std::string(page.at("next_cursor").as_string());
    }
    return ids;
  }
  bool SearchFinds(const std::string& q, const std::string& id) {
    auto page = ParseBody(Get(h_ + "/api/search?q=" + UrlEncode(q))).as_object();
    for (const auto& it : page.at("items").as_array()) {
      if (it.at("id").as_string() == id) return true;
    }
    return false;
  }

  std::string h_;
  std::unique_ptr<storage::Db> db_;
  std::vector<std::pair<std::string, std::string>> mounts_;
};

TEST_P(ContentApiTest, BecomeCreatorPublishAndFindEverywhere) {
  auto viewer = Register("13900000011");
  // Not a creator yet: publishing is forbidden.
  ExpectProblem(Post(h_ + "/api/videos", json::serialize(VideoBody("还不是创作者")), viewer), 403,
                "forbidden");
  ExpectProblem(Post(h_ + "/api/creators", R"({"name":"小张"})"), 401, "unauthorized");
  auto created =
      Post(h_ + "/api/creators",
           R"({"name":"小张探店","avatar_url":"https://cdn.example/a.png","bio":"只吃火锅"})", viewer);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string creator_id(ParseBody(created).at("id").as_string());
  EXPECT_TRUE(IsWellFormedId(creator_id, "cr"));
  ExpectProblem(Post(h_ + "/api/creators", R"({"name":"又一次"})", viewer), 409, "conflict");
  ExpectProblem(Post(h_ + "/api/creators", R"j({"name":"坏头像","avatar_url":"javascript:alert(1)"})j",
                     Register("13900000012")),
                400, "validation_failed");

  json::object body = VideoBody("Zanzibarq 麻辣火锅测评", "成都");
  body["mounts"] = json::array{MountJson(0), MountJson(1)};
  auto r = Post(h_ + "/api/videos", json::serialize(body), viewer);
  ASSERT_EQ(r.status, 201) << r.body;
  auto video = ParseBody(r).as_object();
  const std::string id(video.at("id").as_string());
  EXPECT_EQ(r.Header("location"), "/api/videos/" + id);
  EXPECT_EQ(video.at("status").as_string(), "published");
  EXPECT_EQ(video.at("creator").at("id").as_string(), creator_id);
  EXPECT_EQ(video.at("creator").at("bio").as_string(), "只吃火锅");
  ASSERT_EQ(video.at("mounts").as_array().size(), 2u);
  const auto& mount = video.at("mounts").as_array()[0].as_object();
  EXPECT_EQ(mount.at("deal_id").as_string(), mounts_[0].second);
  EXPECT_EQ(mount.at("status").as_string(), "online");
  EXPECT_GT(mount.at("price_fen").as_int64(), 0);
  EXPECT_FALSE(mount.at("title").as_string().empty());
  EXPECT_EQ(video.at("mine").as_bool(), true);

  // The public video page, newest in the feed, on the creator's page, and searchable.
  auto page = Get(h_ + "/api/videos/" + id);
  ASSERT_EQ(page.status, 200);
  EXPECT_FALSE(ParseBody(page).as_object().contains("liked_by_me"));
  auto feed = ParseBody(Get(h_ + "/api/feed?limit=1")).at("items").as_array();
  EXPECT_EQ(feed.at(0).at("id").as_string(), id);
  auto profile = ParseBody(Get(h_ + "/api/creators/" + creator_id)).as_object();
  EXPECT_EQ(profile.at("creator").at("name").as_string(), "小张探店");
  EXPECT_EQ(profile.at("creator").at("videos").as_int64(), 1);
  ASSERT_EQ(profile.at("items").as_array().size(), 1u);
  EXPECT_EQ(profile.at("items").as_array()[0].at("id").as_string(), id);
  EXPECT_TRUE(SearchFinds("zanzibarq", id));
  EXPECT_TRUE(SearchFinds("麻辣", id));

  // Idempotency-Key: the retry answers the first video and creates nothing.
  const int64_t before = Count(kVideoCount);
  Headers keyed = viewer;
  keyed.emplace_back("Idempotency-Key", "video-retry-1");
  auto first = Post(h_ + "/api/videos", json::serialize(VideoBody("重试一次")), keyed);
  auto again = Post(h_ + "/api/videos", json::serialize(VideoBody("重试一次")), keyed);
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(ParseBody(first).at("id"), ParseBody(again).at("id"));
  EXPECT_EQ(Count(kVideoCount), before + 1);

  ExpectProblem(Get(h_ + "/api/creators/cr_00000000000000000000000000"), 404, "not_found");
  ExpectProblem(Get(h_ + "/api/creators/nonsense"), 404, "not_found");
  ExpectProblem(Get(h_ + "/api/videos/vid_00000000000000000000000000"), 404, "not_found");
}

TEST_P(ContentApiTest, MountsAreCheckedAgainstTheAppsDeals) {
  auto creator = Login("13800000001");
  const int64_t before = Count(kVideoCount);
  json::object body = VideoBody("挂载检查");
  body["mounts"] =
      json::array{MountJson(0), json::object{{"app_id", mounts_[0].first}, {"deal_id", "deal_nope"}}};
  auto r = Post(h_ + "/api/videos", json::serialize(body), creator);
  ExpectProblem(r, 422, "unprocessable");
  EXPECT_NE(r.body.find("deal_nope"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("mounts[1]"), std::string::npos) << r.body;
  body["mounts"] = json::array{json::object{{"app_id", "app_unknown"}, {"deal_id", mounts_[0].second}}};
  ExpectProblem(Post(h_ + "/api/videos", json::serialize(body), creator), 422, "unprocessable");
  // An offline deal cannot be mounted either.
  RunQuery(*db_, kDealOffline, {mounts_[5].second});
  body["mounts"] = json::array{MountJson(5)};
  r = Post(h_ + "/api/videos", json::serialize(body), creator);
  ExpectProblem(r, 422, "unprocessable");
  EXPECT_NE(r.body.find(mounts_[5].second), std::string::npos);
  // Too many and repeated mounts are malformed requests.
  json::array six;
  for (size_t i = 0; i < 6; ++i) six.push_back(MountJson(i));
  body["mounts"] = six;
  ExpectProblem(Post(h_ + "/api/videos", json::serialize(body), creator), 400, "validation_failed");
  body["mounts"] = json::array{MountJson(0), MountJson(0)};
  ExpectProblem(Post(h_ + "/api/videos", json::serialize(body), creator), 400, "validation_failed");
  EXPECT_EQ(Count(kVideoCount), before);
  // Five distinct online ones are fine.
  body["mounts"] = json::array{MountJson(0), MountJson(1), MountJson(2), MountJson(3), MountJson(4)};
  EXPECT_FALSE(Publish(body, creator).empty());
}

TEST_P(ContentApiTest, BadInputIs4xxAndChangesNothing) {
  auto creator = Login("13800000001");
  const int64_t before = Count(kVideoCount);
  const std::string url = h_ + "/api/videos";
  ExpectProblem(Post(url, json::serialize(VideoBody("无令牌"))), 401, "unauthorized");
  ExpectProblem(Post(url, "{\"title\":", creator), 400, "invalid_json");
  for (
      const char* bad :
      {R"({"title":5,"cover_url":"https://a/b","video_url":"https://a/c"})",
       R"({"title":"x","cover_url":"https://a/b","video_url":"https://a/c","tags":"x"})",
       R"({"title":"x","cover_url":"https://a/b","video_url":"https://a/c","tags":[1]})",
       R"({"title":"x","cover_url":"https://a/b","video_url":"https://a/c","mounts":"m"})",
       R"({"title":"x","cover_url":"https://a/b","video_url":"https://a/c","mounts":[1]})",
       R"({"title":"x","cover_url":"https://a/b","video_url":"https://a/c","mounts":[{"app_id":1,"deal_id":"d"}]})",
       R"({"title":"x","cover_url":"ftp://a/b","video_url":"https://a/c"})",
       R"({"title":"x","cover_url":"https://a/b"})",
       R"({"title":"","cover_url":"https://a/b","video_url":"https://a/c"})",
       R"({"title":"a\u0001b","cover_url":"https://a/b","video_url":"https://a/c"})"}) {
    ExpectProblem(Post(url, bad, creator), 400, "validation_failed");
  }
  json::object body = VideoBody(std::string(201, 'x'));
  ExpectProblem(Post(url, json::serialize(body), creator), 400, "validation_failed");
  body = VideoBody("标签太多");
  json::array tags;
  for (int i = 0; i < 21; ++i) tags.push_back(json::string("t" + std::to_string(i)));
  body["tags"] = tags;
  ExpectProblem(Post(url, json::serialize(body), creator), 400, "validation_failed");
  body = VideoBody("很长的描述");
  body["description"] = std::string(2 * 1024 * 1024, 'a');
  ExpectProblem(Post(url, json::serialize(body), creator), 413, "payload_too_large");
  EXPECT_EQ(Count(kVideoCount), before);

  // Query parameters of the reads.
  ExpectProblem(Get(h_ + "/api/feed?limit=0"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?limit=abc"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?cursor=garbage"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?cursor=" + std::string(600, 'a')), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed", {{"Authorization", "Bearer utok_not_a_token"}}), 401, "unauthorized");
  auto first = ParseBody(Get(h_ + "/api/feed?limit=1")).as_object();
  auto creator_id = std::string(first.at("items").as_array()[0].at("creator").at("id").as_string());
  // A feed cursor is not a creator-page cursor.
  ExpectProblem(Get(h_ + "/api/creators/" + creator_id +
                    "?cursor=" + UrlEncode(std::string(first.at("next_cursor").as_string()))),
                400, "validation_failed");
}

TEST_P(ContentApiTest, OnlyTheOwnerEditsAndHiddenVideosLeaveFeedAndSearch) {
  auto owner = Login("13800000001");
  auto other = Login("13800000002");
  const std::string id = Publish(VideoBody("Quokkavision 原标题"), owner);
  ASSERT_FALSE(id.empty());
  const std::string url = h_ + "/api/videos/" + id;
  ASSERT_TRUE(SearchFinds("quokkavision", id));

  // Someone else's video, an unknown one, no token, bad types.
  ExpectProblem(Send("PATCH", url, R"({"title":"抢走"})", other), 404, "not_found");
  ExpectProblem(Send("PATCH", h_ + "/api/videos/vid_00000000000000000000000000", R"({"title":"x"})", owner),
                404, "not_found");
  ExpectProblem(Send("PATCH", url, R"({"title":"x"})", {}), 401, "unauthorized");
  ExpectProblem(Send("PATCH", url, R"({"hidden":"yes"})", owner), 400, "validation_failed");
  ExpectProblem(Send("PATCH", url, R"({"title":""})", owner), 400, "validation_failed");
  ExpectProblem(Send("PATCH", url, R"({"mounts":[{"app_id":"a","deal_id":"nope"}]})", owner), 422,
                "unprocessable");
  EXPECT_EQ(ParseBody(Get(url)).at("title").as_string(), "Quokkavision 原标题");
  EXPECT_EQ(ParseBody(Get(url)).at("mounts").as_array().size(), 1u);

  // The owner edits text and mounts: search follows.
  auto edited = Send("PATCH", url,
                     json::serialize(json::object{{"title", "Wallabyfilm 新标题"},
                                                  {"tags", json::array{"新年"}},
                                                  {"mounts", json::array{MountJson(1), MountJson(2)}}}),
                     owner);
  ASSERT_EQ(edited.status, 200) << edited.body;
  auto v = ParseBody(edited).as_object();
  EXPECT_EQ(v.at("title").as_string(), "Wallabyfilm 新标题");
  EXPECT_EQ(v.at("description").as_string(), "测试视频");  // untouched
  ASSERT_EQ(v.at("mounts").as_array().size(), 2u);
  EXPECT_EQ(v.at("mounts").as_array()[0].at("deal_id").as_string(), mounts_[1].second);
  EXPECT_TRUE(SearchFinds("wallabyfilm", id));
  EXPECT_FALSE(SearchFinds("quokkavision", id));

  // Hidden: gone from the feed, search, the creator page and others' view; the owner still sees it.
  auto hidden = Send("PATCH", url, R"({"hidden":true})", owner);
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  EXPECT_EQ(ParseBody(hidden).at("status").as_string(), "hidden");
  auto all = FeedIds("", 50);
  EXPECT_EQ(std::count(all.begin(), all.end(), id), 0);
  EXPECT_FALSE(SearchFinds("wallabyfilm", id));
  ExpectProblem(Get(url), 404, "not_found");
  ExpectProblem(Get(url, other), 404, "not_found");
  EXPECT_EQ(Get(url, owner).status, 200);
  ExpectProblem(Post(url + "/view", ""), 404, "not_found");
  ExpectProblem(Post(url + "/like", "", other), 404, "not_found");

  ASSERT_EQ(Send("PATCH", url, R"({"hidden":false})", owner).status, 200);
  all = FeedIds("", 50);
  EXPECT_EQ(std::count(all.begin(), all.end(), id), 1);
  EXPECT_TRUE(SearchFinds("wallabyfilm", id));
}

TEST_P(ContentApiTest, FeedPagesNeverRepeatOrSkipWithEqualTimestampsAndConcurrentInserts) {
  auto creator = Login("13800000002");
  for (int i = 0; i < 6; ++i)
    ASSERT_FALSE(Publish(VideoBody("同一毫秒 " + std::to_string(i)), creator).empty());
  // Every video at the same millisecond: only the id orders them.
  RunQuery(*db_, kSameTime, {int64_t{1'767'000'000'000}});
  const auto all = FeedIds("", 50);
  ASSERT_EQ(static_cast<int64_t>(all.size()), Count(kPublishedCount));
  EXPECT_TRUE(std::is_sorted(all.rbegin(), all.rend()));  // newest (largest id) first
  for (int64_t limit : {1, 2, 3, 7}) EXPECT_EQ(FeedIds("", limit), all) << "limit " << limit;

  // A video published between two pages appears on neither later page, and nothing is lost.
  auto page1 = ParseBody(Get(h_ + "/api/feed?limit=4")).as_object();
  const std::string cursor(page1.at("next_cursor").as_string());
  const std::string added = Publish(VideoBody("翻页途中新发布"), creator);
  std::vector<std::string> walked;
  for (const auto& it : page1.at("items").as_array()) walked.emplace_back(it.at("id").as_string());
  std::string next = cursor;
  while (!next.empty()) {
    auto page = ParseBody(Get(h_ + "/api/feed?limit=4&cursor=" + UrlEncode(next))).as_object();
    for (const auto& it : page.at("items").as_array()) walked.emplace_back(it.at("id").as_string());
    next = page.at("next_cursor").is_null() ? "" : std::string(page.at("next_cursor").as_string());
  }
  EXPECT_EQ(walked, all);
  auto fresh = FeedIds("", 50);
  EXPECT_EQ(fresh.front(), added);
}

TEST_P(ContentApiTest, SameCityFirstThenTheRest) {
  auto creator = Login("13800000003");
  Publish(VideoBody("上海新店", "上海"), creator);
  Publish(VideoBody("成都新店", "成都"), creator);
  auto city_of = [&](const std::string& id) {
    return std::string(ParseBody(Get(h_ + "/api/videos/" + id)).at("city").as_string());
  };
  const auto all = FeedIds("", 50);
  const auto shanghai = FeedIds("&city=" + UrlEncode("上海"), 50);
  ASSERT_EQ(shanghai.size(), all.size());
  EXPECT_EQ(std::set<std::string>(shanghai.begin(), shanghai.end()),
            std::set<std::string>(all.begin(), all.end()));
  size_t first_other = 0;
  while (first_other < shanghai.size() && city_of(shanghai[first_other]) == "上海") ++first_other;
  EXPECT_GE(first_other, 2u);
  for (size_t i = first_other; i < shanghai.size(); ++i) EXPECT_NE(city_of(shanghai[i]), "上海") << i;
  // Within each part newest first, and paging walks the same list.
  for (int64_t limit : {1, 2, 3, 5})
    EXPECT_EQ(FeedIds("&city=" + UrlEncode("上海"), limit), shanghai) << limit;
  // The logged-in viewer's own city (the demo viewer lives in 北京) without the parameter.
  auto viewer = Login("13800000000");
  auto mine = FeedIds("", 3, viewer);
  ASSERT_EQ(mine.size(), all.size());
  EXPECT_EQ(city_of(mine[0]), "北京");
  EXPECT_EQ(mine, FeedIds("&city=" + UrlEncode("北京"), 50));
  // An unknown city is simply the plain feed.
  EXPECT_EQ(FeedIds("&city=" + UrlEncode("拉萨"), 4), all);
}

TEST_P(ContentApiTest, ViewsAndLikesCountOncePerUser) {
  auto viewer = Login("13800000000");
  auto other = Login("13800000002");
  auto first = ParseBody(Get(h_ + "/api/feed?limit=1")).at("items").as_array()[0].as_object();
  const std::string id(first.at("id").as_string());
  const int64_t views = first.at("views").as_int64();
  const int64_t likes = first.at("likes").as_int64();
  const std::string url = h_ + "/api/videos/" + id;

  auto viewed = Post(url + "/view", "");
  ASSERT_EQ(viewed.status, 200) << viewed.body;
  EXPECT_EQ(ParseBody(viewed).at("views").as_int64(), views + 1);
  Post(url + "/view", "", viewer);
  EXPECT_EQ(ParseBody(Get(url)).at("views").as_int64(), views + 2);
  ExpectProblem(Post(h_ + "/api/videos/vid_00000000000000000000000000/view", ""), 404, "not_found");
  ExpectProblem(Post(h_ + "/api/videos/x/view", ""), 404, "not_found");

  ExpectProblem(Post(url + "/like", ""), 401, "unauthorized");
  auto liked = Post(url + "/like", "", viewer);
  ASSERT_EQ(liked.status, 200) << liked.body;
  EXPECT_EQ(ParseBody(liked).at("liked").as_bool(), true);
  EXPECT_EQ(ParseBody(liked).at("likes").as_int64(), likes + 1);
  EXPECT_EQ(ParseBody(Post(url + "/like", "", viewer)).at("likes").as_int64(),
            likes + 1);  // twice counts once
  EXPECT_EQ(ParseBody(Get(url, viewer)).at("liked_by_me").as_bool(), true);
  EXPECT_EQ(ParseBody(Get(url, other)).at("liked_by_me").as_bool(), false);
  // The viewer's feed puts their city first: find the video in it.
  json::object feed_item;
  const auto viewer_feed = ParseBody(Get(h_ + "/api/feed?limit=50", viewer));
  for (const auto& it : viewer_feed.at("items").as_array()) {
    if (it.at("id").as_string() == id) feed_item = it.as_object();
  }
  ASSERT_FALSE(feed_item.empty());
  EXPECT_EQ(feed_item.at("liked_by_me").as_bool(), true);
  EXPECT_EQ(feed_item.at("likes").as_int64(), likes + 1);
  EXPECT_EQ(feed_item.at("views").as_int64(), views + 2);
  EXPECT_FALSE(
      ParseBody(Get(h_ + "/api/feed?limit=1")).at("items").as_array()[0].as_object().contains("liked_by_me"));

  auto unliked = Send("DELETE", url + "/like", "", viewer);
  ASSERT_EQ(unliked.status, 200) << unliked.body;
  EXPECT_EQ(ParseBody(unliked).at("liked").as_bool(), false);
  EXPECT_EQ(ParseBody(unliked).at("likes").as_int64(), likes);
  EXPECT_EQ(ParseBody(Send("DELETE", url + "/like", "", viewer)).at("likes").as_int64(), likes);
  EXPECT_EQ(ParseBody(Send("DELETE", url + "/like", "", other)).at("likes").as_int64(), likes);

  // Twenty concurrent likes by one user, and one by another: exactly two more.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      if (Post(url + "/like", "", viewer).status == 200) ++ok;
    });
  }
  threads.emplace_back([&] {
    if (Post(url + "/like", "", other).status == 200) ++ok;
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 21);
  EXPECT_EQ(ParseBody(Get(url)).at("likes").as_int64(), likes + 2);
  EXPECT_EQ(Count(kLikeRows, {id}), 2);
}

// Anonymous feed pages are served from memory: every change made through this node shows
// on the very next request, a write behind its back (another node) within the 1 s bound,
// and a viewer's own page (liked_by_me) is never the cached anonymous one.
TEST_P(ContentApiTest, CachedAnonymousFeedShowsEveryChange) {
  auto viewer = Login("13800000000");
  auto first_item = [&] {
    const json::value page = ParseBody(Get(h_ + "/api/feed?limit=3"));
    return page.at("items").as_array().at(0).as_object();
  };
  const auto a = Get(h_ + "/api/feed?limit=3");
  const auto b = Get(h_ + "/api/feed?limit=3");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, b.body);
  const json::object first = first_item();
  const std::string id(first.at("id").as_string());
  const std::string url = h_ + "/api/videos/" + id;
  const int64_t views = first.at("views").as_int64();
  const int64_t likes = first.at("likes").as_int64();

  ASSERT_EQ(Post(url + "/view", "").status, 200);
  EXPECT_EQ(first_item().at("views").as_int64(), views + 1);
  ASSERT_EQ(Post(url + "/like", "", viewer).status, 200);
  EXPECT_EQ(first_item().at("likes").as_int64(), likes + 1);
  EXPECT_FALSE(first_item().contains("liked_by_me"));
  // The viewer's page, same query: their own, with liked_by_me (their city may order it
  // differently, so the video is looked up).
  bool found = false;
  const json::value viewer_page = ParseBody(Get(h_ + "/api/feed?limit=50", viewer));  // alive while iterated
  for (const auto& it : viewer_page.at("items").as_array()) {
    if (it.at("id").as_string() != id) continue;
    found = true;
    EXPECT_EQ(it.at("liked_by_me").as_bool(), true);
  }
  EXPECT_TRUE(found);
  // A like that changes nothing keeps the page; an unlike changes it.
  ASSERT_EQ(Post(url + "/like", "", viewer).status, 200);
  EXPECT_EQ(first_item().at("likes").as_int64(), likes + 1);
  ASSERT_EQ(Send("DELETE", url + "/like", "", viewer).status, 200);
  EXPECT_EQ(first_item().at("likes").as_int64(), likes);

  // A new video is first at once; hidden, it is gone at once.
  auto creator = Login("13800000001");
  const std::string added = Publish(VideoBody("缓存之后新发布"), creator);
  ASSERT_FALSE(added.empty());
  EXPECT_EQ(first_item().at("id").as_string(), added);
  auto hidden = Send("PATCH", h_ + "/api/videos/" + added, R"({"hidden":true})", creator);
  ASSERT_EQ(hidden.status, 200) << hidden.body;
  EXPECT_EQ(first_item().at("id").as_string(), id);

  // Equivalent queries share a page; bad ones still get their 400.
  EXPECT_EQ(Get(h_ + "/api/feed?limit=3&city=").body, Get(h_ + "/api/feed?limit=3").body);
  ExpectProblem(Get(h_ + "/api/feed?limit=0"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?cursor=nonsense"), 400, "validation_failed");
  ExpectProblem(Get(h_ + "/api/feed?limit=3", {{"Authorization", "Bearer not-a-token"}}), 401,
                "unauthorized");

  // A deal taken offline behind this node's back (as another node would) leaves the
  // cached page within the TTL.
  const auto mounts = first_item().at("mounts").as_array();
  ASSERT_FALSE(mounts.empty());
  const std::string deal(mounts[0].at("deal_id").as_string());
  RunQuery(*db_, kDealOffline, {deal});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const json::object after = first_item();  // alive while iterated
  for (const auto& m : after.at("mounts").as_array()) EXPECT_NE(m.at("deal_id").as_string(), deal);
}

INSTANTIATE_TEST_SUITE_P(Backends, ContentApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
