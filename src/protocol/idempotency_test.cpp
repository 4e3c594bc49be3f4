// Idempotency-Key guard on SQLite and PostgreSQL, around a fake handler that counts its runs:
// replay, mismatch, in-flight, takeover of abandoned claims, what is (not) stored, scoping,
// expiry, and many concurrent retries of one key.
#include "protocol/idempotency.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "support/test_env.h"

namespace hutong::protocol {
namespace {
using hutong::testing::Backend;

constexpr int64_t kT0 = 1'790'000'000'000;
constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr std::string_view kRoute = "/things";

// What the fake handler does on one run.
struct Behaviour {
  std::optional<Error> error;             // return this instead of a 201
  bool throws = false;                    // throw instead of returning
  std::shared_future<void> gate;          // when valid: wait for it before answering
  std::promise<void>* entered = nullptr;  // when set: fulfilled as soon as the run starts
};

class IdempotencyTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    auto db = storage::OpenDb(dbs_->provider_db(), {});
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    auto migrated = storage::Migrate(*db_, {{1, "idempotency_keys", kIdempotencyMigrationSql}});
    ASSERT_TRUE(migrated.ok()) << migrated.error().internal;
  }

  // A handler answering 201 with a body naming its run, unless `next_` says otherwise.
  http::Handler Inner() {
    return [this](http::Request&) -> Result<http::Response> {
      const int run = ++runs_;
      Behaviour b;
      {
        std::lock_guard lock(mu_);
        b = next_;
      }
      if (b.entered != nullptr) {
        // Only the first run may announce itself; a second run is a bug the counts report.
        try {
          b.entered->set_value();
        } catch (const std::future_error&) {
        }
      }
      if (b.gate.valid()) b.gate.wait();
      if (b.throws) throw std::runtime_error("boom");
      if (b.error) return *b.error;
      auto r = http::Response::JsonText(201, R"({"run":)" + std::to_string(run) + "}");
      r.headers.emplace_back("Location", "/things/" + std::to_string(run));
      return r;
    };
  }
  void SetNext(Behaviour b) {
    std::lock_guard lock(mu_);
    next_ = std::move(b);
  }

  static http::Request Req(std::string key, std::string body = R"({"a":1})", std::string auth = "Bearer one",
                           std::string target = "/things") {
    http::Request r;
    r.method = http::Method::kPost;
    r.target = target;
    r.path = target.substr(0, target.find('?'));
    r.body = std::move(body);
    if (!key.empty()) r.headers.emplace_back("idempotency-key", std::move(key));
    if (!auth.empty()) r.headers.emplace_back("authorization", std::move(auth));
    return r;
  }

  Result<http::Response> Call(const http::Handler& h, http::Request req) { return h(req); }

  int64_t Rows() {
    static constexpr storage::Query kCount{"test.idempotency.count", storage::Access::kRead,
                                           "SELECT COUNT(*) FROM idempotency_keys"};
    auto n = db_->Read([](storage::Tx& tx) { return tx.Exec(kCount); });
    EXPECT_TRUE(n.ok());
    return n.ok() ? n->rows[0].Int(0) : -1;
  }

  static bool Replayed(const http::Response& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == kIdempotentReplayedHeader && value == "true") return true;
    }
    return false;
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  ManualClockForTest clock_{kT0};
  std::atomic<int> runs_{0};
  std::mutex mu_;
  Behaviour next_;  // GUARDED_BY(mu_)
};

TEST_P(IdempotencyTest, WithoutKeyRunsEveryTime) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  for (int i = 1; i <= 3; ++i) {
    auto r = Call(h, Req(""));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, R"({"run":)" + std::to_string(i) + "}");
    EXPECT_FALSE(Replayed(*r));
  }
  EXPECT_EQ(runs_, 3);
  EXPECT_EQ(Rows(), 0);
}

TEST_P(IdempotencyTest, SameKeyAndBodyReplaysTheFirstAnswer) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  auto first = Call(h, Req("k-1"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(Replayed(*first));
  for (int i = 0; i < 3; ++i) {
    auto again = Call(h, Req("k-1"));
    ASSERT_TRUE(again.ok()) << again.error().detail;
    EXPECT_EQ(again->status, 201);
    EXPECT_EQ(again->content_type, first->content_type);
    EXPECT_EQ(again->body, first->body);
    EXPECT_TRUE(Replayed(*again));
    ASSERT_FALSE(again->headers.empty());
    EXPECT_EQ(again->headers[0], (std::pair<std::string, std::string>{"Location", "/things/1"}));
  }
  EXPECT_EQ(runs_, 1);
  // Another key is another request.
  auto other = Call(h, Req("k-2"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->body, R"({"run":2})");
}

TEST_P(IdempotencyTest, SameKeyOtherRequestIs422) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  ASSERT_TRUE(Call(h, Req("k")).ok());
  auto other_body = Call(h, Req("k", R"({"a":2})"));
  ASSERT_FALSE(other_body.ok());
  EXPECT_EQ(other_body.error().code, ErrorCode::kIdempotencyMismatch);
  EXPECT_EQ(http::StatusFor(other_body.error().code), 422);
  auto other_query = Call(h, Req("k", R"({"a":1})", "Bearer one", "/things?x=1"));
  ASSERT_FALSE(other_query.ok());
  EXPECT_EQ(other_query.error().code, ErrorCode::kIdempotencyMismatch);
  EXPECT_EQ(runs_, 1);
  // The mismatch did not disturb the stored answer.
  auto again = Call(h, Req("k"));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(Replayed(*again));
}

TEST_P(IdempotencyTest, MalformedKeyIs400) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  for (const std::string& bad :
       {std::string(256, 'k'), std::string("tab\there"), std::string("北京"), std::string("nul\0x", 5)}) {
    auto r = Call(h, Req(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed);
  }
  auto empty = Req("");
  empty.headers.emplace_back("idempotency-key", "");
  EXPECT_FALSE(Call(h, empty).ok());
  auto twice = Req("a");
  twice.headers.emplace_back("idempotency-key", "b");
  EXPECT_FALSE(Call(h, twice).ok());
  EXPECT_EQ(runs_, 0);
  auto longest = Call(h, Req(std::string(255, '~') + ""));
  EXPECT_TRUE(longest.ok());
  EXPECT_TRUE(Call(h, Req("with space and !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}")).ok());
}

TEST_P(IdempotencyTest, WhileTheFirstRunsTheKeyIsInFlight) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  std::promise<void> entered, release;
  SetNext({.gate = release.get_future().share(), .entered = &entered});
  auto first = std::async(std::launch::async, [&] { return Call(h, Req("k")); });
  entered.get_future().wait();
  SetNext({});

  auto during = Call(h, Req("k"));
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code, ErrorCode::kIdempotencyInFlight);
  EXPECT_EQ(http::StatusFor(during.error().code), 409);
  // A different body under the running key is still a misuse of the key.
  auto other = Call(h, Req("k", R"({"a":2})"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kIdempotencyMismatch);

  release.set_value();
  auto done = first.get();
  ASSERT_TRUE(done.ok());
  auto after = Call(h, Req("k"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, done->body);
  EXPECT_EQ(runs_, 1);
}

TEST_P(IdempotencyTest, AbandonedClaimIsTakenOverAfterItsTimeout) {
  IdempotencyOptions options;
  options.abandon_after_ms = 60'000;
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner(), options);
  // The first request stalls as if its node had died mid-request.
  std::promise<void> entered, release;
  SetNext({.gate = release.get_future().share(), .entered = &entered});
  auto stalled = std::async(std::launch::async, [&] { return Call(h, Req("k")); });
  entered.get_future().wait();
  SetNext({});

  clock_.Advance(59'999);
  auto early = Call(h, Req("k"));
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.error().code, ErrorCode::kIdempotencyInFlight);

  clock_.Advance(1);
  auto retry = Call(h, Req("k"));
  ASSERT_TRUE(retry.ok()) << retry.error().detail;
  EXPECT_EQ(retry->body, R"({"run":2})");
  EXPECT_FALSE(Replayed(*retry));

  // The stalled request finishing late must not overwrite the new owner's answer.
  release.set_value();
  ASSERT_TRUE(stalled.get().ok());
  auto replay = Call(h, Req("k"));
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(Replayed(*replay));
  EXPECT_EQ(replay->body, R"({"run":2})");
  EXPECT_EQ(runs_, 2);
}

TEST_P(IdempotencyTest, ServerErrorsAreNotStoredClientErrorsAre) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  SetNext({.error = Error(ErrorCode::kUnavailable, "database down")});
  auto failed = Call(h, Req("k"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(Rows(), 0);

  SetNext({.throws = true});
  EXPECT_THROW((void)Call(h, Req("k")), std::runtime_error);
  EXPECT_EQ(Rows(), 0);

  SetNext({.error = Error(ErrorCode::kRateLimited, "slow down")});
  EXPECT_FALSE(Call(h, Req("k")).ok());
  EXPECT_EQ(Rows(), 0);

  SetNext({});
  auto ok = Call(h, Req("k"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body, R"({"run":4})");
  EXPECT_EQ(runs_, 4);

  // A 4xx is the request's final answer: replayed as the server rendered it the first time.
  SetNext({.error = Error(ErrorCode::kOutOfStock, "sold out", "log only")});
  auto refused = Call(h, Req("k2"));
  ASSERT_FALSE(refused.ok());
  SetNext({});
  auto replay = Call(h, Req("k2"));
  ASSERT_TRUE(replay.ok());
  const auto expected = http::Response::Problem(refused.error(), "/things");
  EXPECT_EQ(replay->status, expected.status);
  EXPECT_EQ(replay->content_type, expected.content_type);
  EXPECT_EQ(replay->body, expected.body);
  EXPECT_EQ(replay->body.find("log only"), std::string::npos);
  EXPECT_TRUE(Replayed(*replay));
  EXPECT_EQ(runs_, 5);
}

TEST_P(IdempotencyTest, CallersAndRoutesDoNotCollide) {
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner());
  auto other_route = WithIdempotency(*db_, clock_, "/others", Inner());
  ASSERT_TRUE(Call(h, Req("k", R"({"a":1})", "Bearer one")).ok());
  // Same key, other callers, even with other bodies: each its own request.
  auto two = Call(h, Req("k", R"({"a":2})", "Bearer two"));
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(Replayed(*two));
  auto app = Req("k", R"({"a":3})", "");
  app.headers.emplace_back("x-hutong-app-id", "app_1");
  auto by_app = Call(h, app);
  ASSERT_TRUE(by_app.ok());
  EXPECT_FALSE(Replayed(*by_app));
  auto anonymous = Call(h, Req("k", R"({"a":4})", ""));
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE(Replayed(*anonymous));
  auto routed = Call(other_route, Req("k", R"({"a":5})", "Bearer one"));
  ASSERT_TRUE(routed.ok());
  EXPECT_FALSE(Replayed(*routed));
  EXPECT_EQ(runs_, 5);
  EXPECT_EQ(Rows(), 5);

  // The Run form with an explicit caller (as a signed route uses it, with the verified app
  // id): the same scope as the header-derived one for that app, whatever else is sent.
  Idempotency guard(*db_, clock_, std::string(kRoute));
  auto inner = Inner();
  auto same_app = Req("k", R"({"a":3})", "Bearer one");
  auto replayed = guard.Run(same_app, "app:app_1", [&] { return inner(same_app); });
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(Replayed(*replayed));
  EXPECT_EQ(replayed->body, by_app->body);
  auto other_app = Req("k", R"({"a":3})", "");
  auto ran = guard.Run(other_app, "app:app_2", [&] { return inner(other_app); });
  ASSERT_TRUE(ran.ok());
  EXPECT_FALSE(Replayed(*ran));
  EXPECT_EQ(runs_, 6);
}

TEST_P(IdempotencyTest, KeysLiveADayThenArePurgedAndWorkAnew) {
  IdempotencyOptions no_purge;
  no_purge.purge_every = 0;
  auto h = WithIdempotency(*db_, clock_, std::string(kRoute), Inner(), no_purge);
  ASSERT_TRUE(Call(h, Req("k")).ok());
  ASSERT_TRUE(Call(h, Req("old")).ok());

  clock_.Advance(kDayMs - 1);
  auto still = Call(h, Req("k"));
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(Replayed(*still));
  EXPECT_FALSE(Call(h, Req("k", R"({"a":2})")).ok());
  auto nothing = PurgeExpiredIdempotencyKeys(*db_, clock_.NowMs());
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(*nothing, 0);

  clock_.Advance(1);
  auto purged = PurgeExpiredIdempotencyKeys(*db_, clock_.NowMs());
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 2);
  EXPECT_EQ(Rows(), 0);
  auto anew = Call(h, Req("k", R"({"a":2})"));
  ASSERT_TRUE(anew.ok());
  EXPECT_FALSE(Replayed(*anew));
  EXPECT_EQ(runs_, 3);

  // An expired row that nobody purged yet counts as absent too.
  clock_.Advance(kDayMs);
  auto over_expired = Call(h, Req("k", R"({"a":3})"));
  ASSERT_TRUE(over_expired.ok());
  EXPECT_FALSE(Replayed(*over_expired));
  EXPECT_EQ(runs_, 4);

  // With the default options, keyed requests purge now and then by themselves.
  IdempotencyOptions every;
  every.purge_every = 1;
  auto purging = WithIdempotency(*db_, clock_, std::string(kRoute), Inner(), every);
  clock_.Advance(kDayMs);
  ASSERT_TRUE(Call(purging, Req("fresh")).ok());
  EXPECT_EQ(Rows(), 1);  // the expired "k" is gone, "fresh" is there
}

TEST_P(IdempotencyTest, FiftyConcurrentRetriesRunTheHandlerOnce) {
  auto h = WithIdempotency(*db_, SystemClock::Instance(), std::string(kRoute), Inner());
  // The handler lasts long enough for most retries to arrive while it runs.
  std::promise<void> entered, release;
  SetNext({.gate = release.get_future().share(), .entered = &entered});
  constexpr int kN = 50;
  std::latch start(kN);
  std::vector<std::optional<Result<http::Response>>> answers(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i].emplace(Call(h, Req("one-key")));
    });
  }
  entered.get_future().wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  release.set_value();
  for (auto& t : threads) t.join();

  EXPECT_EQ(runs_, 1);
  int first = 0, replays = 0, in_flight = 0;
  for (const auto& a : answers) {
    ASSERT_TRUE(a.has_value());
    if (!a->ok()) {
      EXPECT_EQ(a->error().code, ErrorCode::kIdempotencyInFlight) << a->error().detail;
      ++in_flight;
      continue;
    }
    EXPECT_EQ((*a)->status, 201);
    EXPECT_EQ((*a)->body, R"({"run":1})");
    if (Replayed(**a)) {
      ++replays;
    } else {
      ++first;
    }
  }
  EXPECT_EQ(first, 1);
  EXPECT_EQ(first + replays + in_flight, kN);
  auto after = Call(h, Req("one-key"));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, R"({"run":1})");
  EXPECT_EQ(runs_, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdempotencyTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::protocol
