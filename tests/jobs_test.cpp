// Leased background jobs (src/jobs) on a real SQLite file and a real PostgreSQL schema:
// two runners (two "nodes", each with its own connection pool) never run one job at
// once, a lapsed lease is taken over, a crashed holder's job is picked up after its lease
// expires, a long run keeps its lease renewed; the jobs endpoints and metrics of both
// roles.
#include <atomic>
#include <future>
#include <thread>

#include "common/clock.h"
#include "jobs/job_leases.h"
#include "jobs/job_runner.h"
#include "provider/provider.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kStart = 1'800'000'000'000;

class JobLeaseTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<FreshDatabases>(GetParam());
    a_ = Open();
    ASSERT_TRUE(storage::Migrate(*a_, provider::ProviderMigrations()).ok());
    b_ = Open();
  }
  // Another node's connection pool on the same database.
  std::unique_ptr<storage::Db> Open() {
    storage::DbOptions o;
    o.default_schema = "provider";
    auto db = storage::OpenDb(dbs_->provider_db(), o);
    EXPECT_TRUE(db.ok());
    return std::move(db).value();
  }
  jobs::JobState State(const std::string& name) {
    auto states = jobs::ListJobStates(*a_);
    EXPECT_TRUE(states.ok());
    for (auto& s : *states) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no job " << name;
    return {};
  }

  std::unique_ptr<FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> a_, b_;
};

TEST_P(JobLeaseTest, LeaseIsExclusiveUntilItLapsesOrIsReleased) {
  auto ok = [](Result<bool> r) {
    EXPECT_TRUE(r.ok());
    return r.ok() && *r;
  };
  EXPECT_TRUE(ok(jobs::TryAcquireLease(*a_, "j", "node_a", kStart, 1000)));
  EXPECT_FALSE(ok(jobs::TryAcquireLease(*b_, "j", "node_b", kStart + 999, 1000)));
  EXPECT_TRUE(ok(jobs::RenewLease(*a_, "j", "node_a", kStart + 900, 1000)));  // now until +1900
  EXPECT_FALSE(ok(jobs::TryAcquireLease(*b_, "j", "node_b", kStart + 1899, 1000)));
  EXPECT_FALSE(ok(jobs::RenewLease(*b_, "j", "node_b", kStart + 1899, 1000)));      // not its lease
  EXPECT_TRUE(ok(jobs::TryAcquireLease(*b_, "j", "node_b", kStart + 1900, 1000)));  // lapsed: taken over
  // The old holder can neither renew nor release (and so records nothing).
  EXPECT_FALSE(ok(jobs::RenewLease(*a_, "j", "node_a", kStart + 1901, 1000)));
  EXPECT_FALSE(ok(jobs::ReleaseLease(*a_, "j", "node_a", kStart + 1901, "")));
  EXPECT_EQ(State("j").runs, 0);
  EXPECT_EQ(State("j").holder, "node_b");
  EXPECT_TRUE(ok(jobs::ReleaseLease(*b_, "j", "node_b", kStart + 1950, "")));
  // Released: anyone may take it at once.
  EXPECT_TRUE(ok(jobs::TryAcquireLease(*a_, "j", "node_a", kStart + 1951, 1000)));
  auto s = State("j");
  EXPECT_EQ(s.runs, 1);
  EXPECT_EQ(s.last_success_at, kStart + 1950);
  EXPECT_EQ(s.last_started_at, kStart + 1951);
  // Other jobs have their own leases.
  EXPECT_TRUE(ok(jobs::TryAcquireLease(*b_, "other", "node_b", kStart + 1951, 1000)));
}

TEST_P(JobLeaseTest, TwoRunnersOnOneDatabaseNeverRunAJobConcurrently) {
  const SystemClock& clock = SystemClock::Instance();
  std::atomic<int> in_flight{0}, max_in_flight{0}, bodies{0};
  auto body = [&]() -> Status {
    int now = in_flight.fetch_add(1) + 1;
    int seen = max_in_flight.load();
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(2));  // widen the window an overlap would need
    bodies.fetch_add(1);
    in_flight.fetch_sub(1);
    return Ok();
  };
  jobs::JobRunner ra(*a_, clock, "provider", "node_a"), rb(*b_, clock, "provider", "node_b");
  ra.Add({"shared", seconds(3600), body});
  rb.Add({"shared", seconds(3600), body});
  std::atomic<int> succeeded{0}, busy{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      jobs::JobRunner& r = t % 2 == 0 ? ra : rb;  // two callers per runner, too
      for (int i = 0; i < 40; ++i) {
        switch (r.RunOnce("shared")) {
          case jobs::RunOutcome::kSucceeded:
            succeeded.fetch_add(1);
            break;
          case jobs::RunOutcome::kBusy:
            busy.fetch_add(1);
            break;
          default:
            other.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(max_in_flight.load(), 1);
  EXPECT_GT(succeeded.load(), 0);
  EXPECT_EQ(succeeded.load(), bodies.load());
  EXPECT_EQ(succeeded.load() + busy.load() + other.load(), 160);
  // Lock or serialization errors may refuse an attempt (it is simply not run), never overlap.
  EXPECT_EQ(State("shared").runs, succeeded.load());
  EXPECT_EQ(State("shared").holder, "");
}

TEST_P(JobLeaseTest, CrashedHoldersJobIsPickedUpAfterTheLeaseExpires) {
  ManualClockForTest clock(kStart);
  // A node took the lease and died mid-run: it never releases it.
  ASSERT_TRUE(*jobs::TryAcquireLease(*a_, "expiry", "crashed_node", kStart, 30'000));
  int runs = 0;
  jobs::JobRunner survivor(*b_, clock, "provider", "node_b");
  survivor.Add({"expiry", seconds(10),
                [&]() -> Status {
                  ++runs;
                  return Ok();
                },
                seconds(30)});
  EXPECT_EQ(survivor.RunOnce("expiry"), jobs::RunOutcome::kBusy);
  clock.Advance(29'999);
  EXPECT_EQ(survivor.RunOnce("expiry"), jobs::RunOutcome::kBusy);
  EXPECT_EQ(runs, 0);
  clock.Advance(1);
  EXPECT_EQ(survivor.RunOnce("expiry"), jobs::RunOutcome::kSucceeded);
  EXPECT_EQ(runs, 1);
  auto s = State("expiry");
  EXPECT_EQ(s.holder, "");
  EXPECT_EQ(s.runs, 1);
  EXPECT_EQ(s.last_success_at, kStart + 30'000);
}

TEST_P(JobLeaseTest, ALongRunKeepsItsLeaseRenewed) {
  ManualClockForTest clock(kStart);
  std::promise<void> entered, finish;
  std::shared_future<void> finish_f = finish.get_future().share();
  jobs::JobRunner ra(*a_, clock, "provider", "node_a"), rb(*b_, clock, "provider", "node_b");
  ra.Add({"settle", seconds(60),
          [&]() -> Status {
            entered.set_value();
            finish_f.wait();
            return Ok();
          },
          seconds(60)});
  int b_runs = 0;
  rb.Add({"settle", seconds(60),
          [&]() -> Status {
            ++b_runs;
            return Ok();
          },
          seconds(60)});
  auto running = std::async(std::launch::async, [&] { return ra.RunOnce("settle"); });
  entered.get_future().wait();
  clock.Advance(40'000);
  ra.RenewNowForTest();   // what the renewer thread does every lease/3
  clock.Advance(40'000);  // 80 s after the start, 40 s after the renewal
  EXPECT_EQ(rb.RunOnce("settle"), jobs::RunOutcome::kBusy);
  finish.set_value();
  EXPECT_EQ(running.get(), jobs::RunOutcome::kSucceeded);
  EXPECT_EQ(rb.RunOnce("settle"), jobs::RunOutcome::kSucceeded);
  EXPECT_EQ(b_runs, 1);
  EXPECT_EQ(State("settle").runs, 2);
}

TEST_P(JobLeaseTest, FailuresAreRecordedAndTheNextSuccessClearsThem) {
  ManualClockForTest clock(kStart);
  bool fail = true;
  jobs::JobRunner r(*a_, clock, "provider", "node_a");
  r.Add({"flaky", seconds(10), [&]() -> Status {
           if (fail) return Error(ErrorCode::kUnavailable, "host unreachable");
           return Ok();
         }});
  r.Add({"throws", seconds(10), []() -> Status { throw std::runtime_error("boom"); }});
  EXPECT_EQ(r.RunOnce("flaky"), jobs::RunOutcome::kFailed);
  EXPECT_EQ(r.RunOnce("throws"), jobs::RunOutcome::kFailed);
  auto s = State("flaky");
  EXPECT_EQ(s.failures, 1);
  EXPECT_EQ(s.last_error.rfind("host unreachable", 0), 0u) << s.last_error;
  EXPECT_FALSE(s.last_success_at.has_value());
  EXPECT_EQ(s.holder, "");  // a failed run gives its lease back too
  EXPECT_NE(State("throws").last_error.find("boom"), std::string::npos);
  fail = false;
  clock.Advance(10'000);
  EXPECT_EQ(r.RunOnce("flaky"), jobs::RunOutcome::kSucceeded);
  s = State("flaky");
  EXPECT_EQ(s.runs, 2);
  EXPECT_EQ(s.failures, 1);
  EXPECT_EQ(s.last_error, "");
  EXPECT_EQ(s.last_success_at, kStart + 10'000);
  std::string metrics;
  jobs::AppendJobMetrics(metrics, {&r});
  EXPECT_NE(metrics.find("hutong_job_runs_total{role=\"provider\",job=\"flaky\",outcome=\"failed\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("hutong_job_runs_total{role=\"provider\",job=\"flaky\",outcome=\"succeeded\"} 1\n"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, JobLeaseTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

// The jobs endpoints of a real node: who holds what, last runs, errors; admin/ops only.
class JobsApiTest : public SeededNodeTest {};

TEST_P(JobsApiTest, BothRolesShowTheirJobsToOperatorsOnly) {
  // Record a run on each role's database as a node would.
  auto host_db = OpenHostDb();
  auto provider_db = OpenProviderDb();
  const int64_t now = SystemClock::Instance().NowMs();
  ASSERT_TRUE(*jobs::TryAcquireLease(*host_db, "settlement", "node_x", now, 60'000));
  ASSERT_TRUE(*jobs::TryAcquireLease(*provider_db, "order_expiry_test", "node_y", now, 60'000));
  ASSERT_TRUE(*jobs::ReleaseLease(*provider_db, "order_expiry_test", "node_y", now + 5, "db down"));

  const std::string h = node_->host_url(), p = node_->provider_url();
  ExpectProblem(Get(h + "/api/admin/jobs"), 401, "unauthorized");
  auto r = Get(h + "/api/admin/jobs", {{"Authorization", "Bearer " + config_.admin_token}});
  ASSERT_EQ(r.status, 200) << r.body;
  bool found = false;
  json::value body = ParseBody(r);
  for (const auto& item : body.at("items").as_array()) {
    if (item.at("name") != "settlement") continue;
    found = true;
    EXPECT_EQ(item.at("held"), true);
    EXPECT_EQ(item.at("holder"), "node_x");
    EXPECT_TRUE(item.at("lease_until").is_string());
    EXPECT_TRUE(item.at("last_run_at").is_null());
  }
  EXPECT_TRUE(found) << r.body;

  ExpectProblem(Get(p + "/ops/v1/jobs"), 401, "unauthorized");
  auto login = [&](const std::string& account) {
    auto l = Post(p + "/merchant/v1/auth/login",
                  json::serialize(json::object{{"account", account}, {"password", "demo-pass-1"}}));
    EXPECT_EQ(l.status, 200) << l.body;
    return std::string(ParseBody(l).at("token").as_string());
  };
  ExpectProblem(Get(p + "/ops/v1/jobs", {{"Authorization", "Bearer " + login("coucou")}}), 403, "forbidden");
  r = Get(p + "/ops/v1/jobs", {{"Authorization", "Bearer " + login("ops")}});
  ASSERT_EQ(r.status, 200) << r.body;
  found = false;
  body = ParseBody(r);
  for (const auto& item : body.at("items").as_array()) {
    if (item.at("name") != "order_expiry_test") continue;
    found = true;
    EXPECT_EQ(item.at("held"), false);
    EXPECT_TRUE(item.at("holder").is_null());
    EXPECT_EQ(item.at("last_error"), "db down");
    EXPECT_EQ(item.at("runs"), 1);
    EXPECT_EQ(item.at("failures"), 1);
    EXPECT_TRUE(item.at("last_success_at").is_null());
  }
  EXPECT_TRUE(found) << r.body;

  // The node's own jobs are in its metrics from the start.
  auto m = Get(p + "/metrics");
  EXPECT_NE(m.body.find("# TYPE hutong_job_runs_total counter"), std::string::npos);
  EXPECT_NE(m.body.find("hutong_job_running{role=\"provider\",job=\"order_expiry\"} "), std::string::npos)
      << m.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, JobsApiTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
