// The mini-program session cache on SQLite and PostgreSQL: a busy session is refreshed ahead
// of its trust in one batched read, never trusted past its expiry, forgotten at once after a
// sign-out on this node and within kMpSessionCacheMs after a revocation elsewhere.
#include "provider/miniprogram/mp_session.h"

#include <gtest/gtest.h>

#include "common/credentials.h"
#include "provider/provider.h"
#include "support/test_env.h"

namespace hutong::provider {
namespace {
using hutong::testing::Backend;

constexpr int64_t kT0 = 1'800'000'000'000;

constexpr storage::Query kInsertUser{
    "test.mp_user", storage::Access::kWrite,
    "INSERT INTO mp_users (id, host, openid, created_at) VALUES ($1, $2, $3, $4)"};
constexpr storage::Query kInsertSession{
    "test.mp_session", storage::Access::kWrite,
    "INSERT INTO mp_sessions (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)"};
constexpr storage::Query kDeleteSession{"test.mp_session_delete", storage::Access::kWrite,
                                        "DELETE FROM mp_sessions WHERE token_hash = $1"};
constexpr storage::Query kCountSessions{"test.mp_session_count", storage::Access::kRead,
                                        "SELECT COUNT(*) FROM mp_sessions WHERE token_hash = $1"};

class MpSessionTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ForgetMpSessions();  // the cache is process-wide
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    storage::DbOptions options;
    options.default_schema = "provider";
    auto db = storage::OpenDb(dbs_->provider_db(), options);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    ASSERT_TRUE(storage::Migrate(*db_, ProviderMigrations()).ok());
  }
  void TearDown() override { ForgetMpSessions(); }

  // A session of a new user, valid until `expires_at`; returns its request.
  http::Request Session(const std::string& name, int64_t expires_at) {
    const std::string token = "mps_test_" + name + "_0123456789abcdef";
    auto written = db_->Write([&](storage::Tx& tx) -> Status {
      RETURN_IF_ERROR(tx.Exec(kInsertUser, {"mpu_" + name, std::string("local"), "openid_" + name, kT0}));
      RETURN_IF_ERROR(tx.Exec(kInsertSession, {SessionTokenHash(token), "mpu_" + name, expires_at, kT0}));
      return Ok();
    });
    EXPECT_TRUE(written.ok()) << written.error().internal;
    http::Request req;
    req.headers.emplace_back("authorization", "Bearer " + token);
    return req;
  }
  void DeleteRow(const http::Request& req) {
    const std::string hash = SessionTokenHash(*BearerToken(req.Header("authorization")));
    auto done = db_->Write([&](storage::Tx& tx) { return tx.Exec(kDeleteSession, {hash}); });
    ASSERT_TRUE(done.ok());
    ASSERT_EQ(done->affected, 1);
  }
  bool Cached(const http::Request& req, int64_t now) { return CachedMpUser(req, now).has_value(); }
  size_t Refresh(int64_t now) {
    auto n = RefreshMpSessionsOnce(*db_, now);
    EXPECT_TRUE(n.ok()) << n.error().internal;
    return n.ok() ? *n : 0;
  }

  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
};

TEST_P(MpSessionTest, ABusySessionIsRefreshedAheadAndStaysInMemory) {
  const int64_t day = 24LL * 3600 * 1000;
  const http::Request busy = Session("busy", kT0 + day);
  const http::Request idle = Session("idle", kT0 + day);
  auto user = AuthenticateMpUser(*db_, busy, kT0);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->id, "mpu_busy");
  ASSERT_TRUE(AuthenticateMpUser(*db_, idle, kT0).ok());

  // Before the last part of its trust, a use queues nothing.
  EXPECT_TRUE(Cached(busy, kT0 + 1000));
  EXPECT_TRUE(Cached(idle, kT0 + 1000));
  EXPECT_EQ(Refresh(kT0 + 1000), 0u);

  // Used in the last kMpSessionRefreshAheadMs: queued (once), and re-read in one batch.
  const int64_t late = kT0 + kMpSessionCacheMs - kMpSessionRefreshAheadMs + 500;
  EXPECT_TRUE(Cached(busy, late));
  EXPECT_TRUE(Cached(busy, late + 1));
  EXPECT_EQ(Refresh(late + 100), 1u) << "only the session used late, and once";
  EXPECT_EQ(Refresh(late + 200), 0u);

  // Past the first read's trust: the busy one is still known, the idle one fell out.
  EXPECT_TRUE(Cached(busy, kT0 + kMpSessionCacheMs + 1000));
  EXPECT_FALSE(Cached(idle, kT0 + kMpSessionCacheMs));
  // The refresh trusts it for kMpSessionCacheMs from the refresh, no longer.
  EXPECT_TRUE(Cached(busy, late + 100 + kMpSessionCacheMs - 1));
  EXPECT_FALSE(Cached(busy, late + 100 + kMpSessionCacheMs));

  // The database still knows both: they are read (and remembered) again.
  EXPECT_TRUE(AuthenticateMpUser(*db_, idle, kT0 + 20'000).ok());
  EXPECT_TRUE(Cached(idle, kT0 + 20'001));
}

TEST_P(MpSessionTest, NeverTrustedPastTheSessionsExpiry) {
  const int64_t expires = kT0 + 4000;
  const http::Request req = Session("short", expires);
  ASSERT_TRUE(AuthenticateMpUser(*db_, req, kT0).ok());
  EXPECT_TRUE(Cached(req, expires - 500));  // in the refresh window
  EXPECT_EQ(Refresh(expires - 400), 1u);
  EXPECT_TRUE(Cached(req, expires - 1));
  EXPECT_FALSE(Cached(req, expires));
  auto after = AuthenticateMpUser(*db_, req, expires);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnauthorized);
}

TEST_P(MpSessionTest, RevokedElsewhereIsHonouredAtMostTheCacheBound) {
  const int64_t day = 24LL * 3600 * 1000;
  // Not used late: it lives out its trust, then the database says no.
  const http::Request quiet = Session("quiet", kT0 + day);
  ASSERT_TRUE(AuthenticateMpUser(*db_, quiet, kT0).ok());
  DeleteRow(quiet);  // another node signed it out
  EXPECT_TRUE(Cached(quiet, kT0 + 1000));
  EXPECT_EQ(Refresh(kT0 + 1000), 0u);
  EXPECT_FALSE(Cached(quiet, kT0 + kMpSessionCacheMs));
  auto refused = AuthenticateMpUser(*db_, quiet, kT0 + kMpSessionCacheMs);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized);

  // Used late: the refresh finds the row gone and forgets it at once.
  const http::Request busy = Session("busy2", kT0 + day);
  ASSERT_TRUE(AuthenticateMpUser(*db_, busy, kT0).ok());
  DeleteRow(busy);
  const int64_t late = kT0 + kMpSessionCacheMs - 1000;
  EXPECT_TRUE(Cached(busy, late));
  EXPECT_EQ(Refresh(late + 10), 1u);
  EXPECT_FALSE(Cached(busy, late + 11));
}

TEST_P(MpSessionTest, SignOutOnThisNodeEndsTheSessionAtOnce) {
  const int64_t day = 24LL * 3600 * 1000;
  const http::Request req = Session("leaving", kT0 + day);
  const http::Request other = Session("staying", kT0 + day);
  ASSERT_TRUE(AuthenticateMpUser(*db_, req, kT0).ok());
  ASSERT_TRUE(AuthenticateMpUser(*db_, other, kT0).ok());
  EXPECT_TRUE(Cached(req, kT0 + 3500));  // queued for a refresh, too

  ASSERT_TRUE(EndMpSession(*db_, req, kT0 + 3600).ok());
  EXPECT_FALSE(Cached(req, kT0 + 3601));
  EXPECT_EQ(Refresh(kT0 + 3602), 0u) << "nothing left to refresh";
  EXPECT_FALSE(Cached(req, kT0 + 3603));
  auto after = AuthenticateMpUser(*db_, req, kT0 + 3604);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kUnauthorized);
  const std::string hash = SessionTokenHash(*BearerToken(req.Header("authorization")));
  auto rows = db_->Read([&](storage::Tx& tx) { return tx.Exec(kCountSessions, {hash}); });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->rows.at(0).Int(0), 0);

  // Signing out again, or with no token, is refused and changes nothing.
  auto again = EndMpSession(*db_, req, kT0 + 3605);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthorized);
  EXPECT_FALSE(EndMpSession(*db_, http::Request{}, kT0 + 3606).ok());
  EXPECT_TRUE(Cached(other, kT0 + 3607)) << "other sessions are untouched";
}

TEST_P(MpSessionTest, ManySessionsRefreshInBatches) {
  const int64_t day = 24LL * 3600 * 1000;
  std::vector<http::Request> reqs;
  for (int i = 0; i < 75; ++i) reqs.push_back(Session("many" + std::to_string(i), kT0 + day));
  for (const auto& r : reqs) ASSERT_TRUE(AuthenticateMpUser(*db_, r, kT0).ok());
  DeleteRow(reqs[40]);
  const int64_t late = kT0 + kMpSessionCacheMs - 1000;
  for (const auto& r : reqs) EXPECT_TRUE(Cached(r, late));
  EXPECT_EQ(Refresh(late), 75u);
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(Cached(reqs[i], kT0 + kMpSessionCacheMs + 1000), i != 40) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, MpSessionTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::provider
