// User accounts on SQLite and PostgreSQL: registration rules, login, sessions that end on
// logout and on expiry, tokens and passwords stored only as hashes; and the login guard's
// counting on a manual clock.
#include "host/users/users.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/credentials.h"
#include "common/crypto.h"
#include "common/ids.h"
#include "host/host.h"
#include "host/users/login_guard.h"
#include "support/test_env.h"

namespace hutong::host {
namespace {
using hutong::testing::Backend;

constexpr int64_t kStart = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;

constexpr storage::Query kSessionsOf{
    "test.users.sessions_of", storage::Access::kRead,
    "SELECT token_hash FROM user_sessions WHERE user_id = $1 ORDER BY created_at"};
constexpr storage::Query kStoredUser{"test.users.stored", storage::Access::kRead,
                                     "SELECT phone, password_hash, nickname FROM users WHERE id = $1"};
constexpr storage::Query kUserCount{"test.users.count", storage::Access::kRead, "SELECT COUNT(*) FROM users"};

http::Request WithAuthorization(std::string value) {
  http::Request req;
  req.headers.emplace_back("authorization", std::move(value));
  return req;
}
http::Request WithToken(const std::string& token) {
  return WithAuthorization("Bearer " + token);
}

TEST(UserRules, PhoneNumbers) {
  for (const char* ok : {"13800000000", "19912345678", "15000000001"}) EXPECT_TRUE(CheckPhone(ok).ok()) << ok;
  for (const char* bad : {"", "1380000000", "138000000000", "12800000000", "23800000000", "1380000000a",
                          "+8613800000000", "138 0000 000", "１３８００００００００"}) {
    auto s = CheckPhone(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kValidationFailed);
  }
}

TEST(UserRules, PasswordsCountCharactersNotBytes) {
  EXPECT_TRUE(CheckPassword("12345678").ok());
  EXPECT_FALSE(CheckPassword("1234567").ok());
  EXPECT_TRUE(CheckPassword("密码密码密码密码").ok()) << "8 characters, 24 bytes";
  EXPECT_FALSE(CheckPassword("密码密码密码密").ok());
  EXPECT_TRUE(CheckPassword(std::string(128, 'x')).ok());
  EXPECT_FALSE(CheckPassword(std::string(129, 'x')).ok());
  EXPECT_FALSE(CheckPassword("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8").ok()) << "not UTF-8";
  // The failure message states the rule and never echoes the password.
  auto s = CheckPassword("hunter2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail.find("hunter2"), std::string::npos);
}

TEST(UserRules, Nicknames) {
  EXPECT_TRUE(CheckNickname("小美食家").ok());
  EXPECT_TRUE(CheckNickname("魔都探店Lily 🍲").ok());
  EXPECT_TRUE(CheckNickname("x").ok());
  std::string max;
  for (int i = 0; i < 32; ++i) max += "吃";
  EXPECT_TRUE(CheckNickname(max).ok());
  EXPECT_FALSE(CheckNickname(max + "x").ok());
  EXPECT_FALSE(CheckNickname("").ok());
  EXPECT_FALSE(CheckNickname("   ").ok());
  EXPECT_FALSE(CheckNickname("\xe3\x80\x80").ok()) << "only an ideographic space";
  EXPECT_FALSE(CheckNickname("a\nb").ok());
  EXPECT_FALSE(CheckNickname(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(CheckNickname("a\x7f").ok());
  EXPECT_FALSE(CheckNickname("a\xc2\x85").ok()) << "C1 control NEL";
  EXPECT_FALSE(CheckNickname("abc\xe2\x80\xaegpj.exe").ok()) << "right-to-left override";
  EXPECT_FALSE(CheckNickname("\xc0\xaf").ok()) << "overlong encoding";
  EXPECT_FALSE(CheckNickname("\xed\xa0\x80").ok()) << "surrogate";
}

TEST(UserRules, MaskPhone) {
  EXPECT_EQ(MaskPhone("13800000000"), "138****0000");
  EXPECT_EQ(MaskPhone("13912345678"), "139****5678");
  EXPECT_EQ(MaskPhone("123"), "***");
}

TEST(UserRules, BearerTokenHeader) {
  EXPECT_EQ(BearerToken(std::string_view("Bearer abc")), "abc");
  EXPECT_EQ(BearerToken(std::string_view("bearer abc")), "abc");
  EXPECT_EQ(BearerToken(std::string_view("BEARER  abc ")), "abc");
  EXPECT_FALSE(BearerToken(std::nullopt));
  EXPECT_FALSE(BearerToken(std::string_view("Bearer")));
  EXPECT_FALSE(BearerToken(std::string_view("Bearer ")));
  EXPECT_FALSE(BearerToken(std::string_view("Basic YWJjOmRlZg==")));
  EXPECT_FALSE(BearerToken(std::string_view("Bearerabc")));
  EXPECT_FALSE(BearerToken(std::string_view("Bearer a b")));
  EXPECT_FALSE(BearerToken(std::string("Bearer ") + std::string(kMaxBearerTokenLength + 1, 'a')));
  EXPECT_TRUE(BearerToken(std::string("Bearer ") + std::string(kMaxBearerTokenLength, 'a')));
}

class UsersTest : public ::testing::TestWithParam<Backend> {
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
  }

  Result<UserSession> RegisterViewer(const std::string& phone = "13912345678") {
    return Register(*db_, {phone, "correct horse 1", "小美食家"}, clock_);
  }
  std::vector<std::string> SessionHashes(const std::string& user_id) {
    auto rows = db_->Read([&](storage::Tx& tx) { return tx.Exec(kSessionsOf, {user_id}); });
    EXPECT_TRUE(rows.ok());
    std::vector<std::string> out;
    for (const auto& r : *rows) out.push_back(r.Str(0));
    return out;
  }
  int64_t UserCount() {
    auto rows = db_->Read([&](storage::Tx& tx) { return tx.Exec(kUserCount); });
    return rows.ok() ? (*rows)[0].Int(0) : -1;
  }

  ManualClockForTest clock_{kStart};
  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
};

TEST_P(UsersTest, RegisterLogsInAndStoresOnlyHashes) {
  auto reg = RegisterViewer();
  ASSERT_TRUE(reg.ok()) << reg.error().detail << reg.error().internal;
  EXPECT_TRUE(IsWellFormedId(reg->user.id, "usr")) << reg->user.id;
  EXPECT_TRUE(reg->token.starts_with(kUserTokenPrefix));
  EXPECT_EQ(reg->token.size(), kUserTokenPrefix.size() + 64) << "256 random bits as hex";
  EXPECT_EQ(reg->expires_at, kStart + kUserSessionTtlMs);
  EXPECT_EQ(reg->user.phone_masked, "139****5678");

  auto me = AuthenticateUser(*db_, WithToken(reg->token), clock_.NowMs());
  ASSERT_TRUE(me.ok()) << me.error().detail;
  EXPECT_EQ(me->id, reg->user.id);
  EXPECT_EQ(me->nickname, "小美食家");
  EXPECT_EQ(me->phone_masked, "139****5678");
  EXPECT_EQ(me->city, "");
  EXPECT_EQ(me->created_at, kStart);

  auto hashes = SessionHashes(reg->user.id);
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_EQ(hashes[0], Sha256Hex(reg->token));
  auto stored = db_->Read([&](storage::Tx& tx) { return tx.Exec(kStoredUser, {reg->user.id}); });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ((*stored)[0].Str(0), "13912345678");
  EXPECT_TRUE((*stored)[0].Str(1).starts_with("$argon2id$")) << (*stored)[0].Str(1);
  EXPECT_EQ((*stored)[0].Str(1).find("correct horse 1"), std::string::npos);
}

TEST_P(UsersTest, RegistrationRulesAndDuplicatePhones) {
  ASSERT_TRUE(RegisterViewer().ok());
  auto again = Register(*db_, {"13912345678", "another password", "someone else"}, clock_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(again.error().detail, "phone already registered");

  EXPECT_EQ(Register(*db_, {"12345", "long enough 1", "x"}, clock_).error().code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(Register(*db_, {"13900000001", "short", "x"}, clock_).error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(Register(*db_, {"13900000001", "long enough 1", ""}, clock_).error().code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(Register(*db_, {"13900000001", "long enough 1", "a\tb"}, clock_).error().code,
            ErrorCode::kValidationFailed);
  EXPECT_EQ(UserCount(), 1) << "a rejected registration wrote a row";
}

TEST_P(UsersTest, ConcurrentRegistrationsOfOnePhoneMakeOneAccount) {
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, conflicts{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto r = Register(*db_, {"13700000000", "password " + std::to_string(i), "racer"}, clock_);
      if (r.ok())
        created.fetch_add(1);
      else if (r.error().code == ErrorCode::kConflict)
        conflicts.fetch_add(1);
      else
        ADD_FAILURE() << r.error().detail << " " << r.error().internal;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 3);
  EXPECT_EQ(UserCount(), 1);
}

TEST_P(UsersTest, LoginChecksThePasswordAndGivesEachLoginItsOwnSession) {
  auto reg = RegisterViewer();
  ASSERT_TRUE(reg.ok());
  auto wrong = Login(*db_, "13912345678", "wrong password", clock_.NowMs());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthorized);
  auto unknown = Login(*db_, "13900000009", "correct horse 1", clock_.NowMs());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(unknown.error().detail, wrong.error().detail)
      << "the message must not reveal which accounts exist";

  clock_.Advance(kMinute);
  auto login = Login(*db_, "13912345678", "correct horse 1", clock_.NowMs());
  ASSERT_TRUE(login.ok()) << login.error().detail;
  EXPECT_NE(login->token, reg->token);
  EXPECT_EQ(login->user.id, reg->user.id);
  EXPECT_EQ(login->expires_at, kStart + kMinute + kUserSessionTtlMs);
  EXPECT_TRUE(AuthenticateUser(*db_, WithToken(reg->token), clock_.NowMs()).ok());
  EXPECT_TRUE(AuthenticateUser(*db_, WithToken(login->token), clock_.NowMs()).ok());
}

TEST_P(UsersTest, LogoutEndsOnlyThatSession) {
  auto phone = RegisterViewer();
  ASSERT_TRUE(phone.ok());
  auto laptop = Login(*db_, "13912345678", "correct horse 1", clock_.NowMs());
  ASSERT_TRUE(laptop.ok());

  ASSERT_TRUE(Logout(*db_, WithToken(phone->token), clock_.NowMs()).ok());
  auto refused = AuthenticateUser(*db_, WithToken(phone->token), clock_.NowMs());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthorized);
  EXPECT_TRUE(AuthenticateUser(*db_, WithToken(laptop->token), clock_.NowMs()).ok());

  auto twice = Logout(*db_, WithToken(phone->token), clock_.NowMs());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(Logout(*db_, http::Request{}, clock_.NowMs()).error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(SessionHashes(phone->user.id).size(), 1u);
}

TEST_P(UsersTest, SessionsExpireAfterThirtyDaysAndArePurgedAtTheNextLogin) {
  auto reg = RegisterViewer();
  ASSERT_TRUE(reg.ok());
  clock_.Set(reg->expires_at - 1);
  EXPECT_TRUE(AuthenticateUser(*db_, WithToken(reg->token), clock_.NowMs()).ok());
  clock_.Set(reg->expires_at);
  auto expired = AuthenticateUser(*db_, WithToken(reg->token), clock_.NowMs());
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kUnauthorized);
  EXPECT_EQ(Logout(*db_, WithToken(reg->token), clock_.NowMs()).error().code, ErrorCode::kUnauthorized)
      << "an expired session cannot be logged out either";

  auto fresh = Login(*db_, "13912345678", "correct horse 1", clock_.NowMs());
  ASSERT_TRUE(fresh.ok());
  auto hashes = SessionHashes(reg->user.id);
  ASSERT_EQ(hashes.size(), 1u) << "the expired session was not purged";
  EXPECT_EQ(hashes[0], Sha256Hex(fresh->token));
}

TEST_P(UsersTest, MalformedOrForgedTokensAreRefused) {
  auto reg = RegisterViewer();
  ASSERT_TRUE(reg.ok());
  for (const std::string& header :
       {std::string(""), std::string("Bearer"), "Basic " + reg->token, "Bearer " + reg->token + "x",
        "Bearer " + reg->token.substr(0, reg->token.size() - 1), "Bearer " + Sha256Hex(reg->token),
        "Bearer " + std::string(5000, 'a')}) {
    auto r = AuthenticateUser(*db_, WithAuthorization(header), clock_.NowMs());
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthorized) << header;
  }
  EXPECT_FALSE(AuthenticateUser(*db_, http::Request{}, clock_.NowMs()).ok());
  EXPECT_TRUE(AuthenticateUser(*db_, WithAuthorization("bearer " + reg->token), clock_.NowMs()).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, UsersTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

// --- the login guard ---

TEST(LoginGuard, FiveFailuresPerPhoneThenEvenTheRightPasswordWaits) {
  ManualClockForTest clock(kStart);
  InMemoryRateLimiter limiter(clock);
  LoginGuard guard(limiter);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(guard.Admit("13800000000", "203.0.113.7").allowed) << i;
    guard.Finish("13800000000", "203.0.113.7", LoginGuard::Outcome::kWrongCredentials);
    clock.Advance(kMinute);
  }
  RateDecision refused = guard.Admit("13800000000", "198.51.100.1");  // from anywhere
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 10 * kMinute);
  EXPECT_TRUE(guard.Admit("13800000001", "203.0.113.7").allowed) << "another phone is not affected";
  guard.Finish("13800000001", "203.0.113.7", LoginGuard::Outcome::kSucceeded);

  clock.Advance(10 * kMinute);  // the first failure leaves the window
  ASSERT_TRUE(guard.Admit("13800000000", "203.0.113.7").allowed);
  guard.Finish("13800000000", "203.0.113.7", LoginGuard::Outcome::kSucceeded);
  // A success clears the phone's count: five fresh failures are allowed again.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(guard.Admit("13800000000", "198.51.100.1").allowed) << i;
    guard.Finish("13800000000", "198.51.100.1", LoginGuard::Outcome::kWrongCredentials);
  }
  EXPECT_FALSE(guard.Admit("13800000000", "198.51.100.1").allowed);
}

TEST(LoginGuard, TwentyFailuresPerNetworkAndSuccessDoesNotClearThem) {
  ManualClockForTest clock(kStart);
  InMemoryRateLimiter limiter(clock);
  LoginGuard guard(limiter);
  const std::string net = "2001:db8:1:2::10";
  for (int i = 0; i < 19; ++i) {
    const std::string phone = "1390000" + std::to_string(1000 + i);
    ASSERT_TRUE(guard.Admit(phone, net).allowed) << i;
    guard.Finish(phone, net, LoginGuard::Outcome::kWrongCredentials);
  }
  // A success of the attacker's own account does not launder the count.
  ASSERT_TRUE(guard.Admit("13811111111", net).allowed);
  guard.Finish("13811111111", net, LoginGuard::Outcome::kSucceeded);
  ASSERT_TRUE(guard.Admit("13900002000", net).allowed);
  guard.Finish("13900002000", net, LoginGuard::Outcome::kWrongCredentials);
  // 20 failures: the whole /64 is refused, whichever phone; other networks are not.
  RateDecision refused = guard.Admit("13811111111", "2001:db8:1:2:ffff::1");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 15 * kMinute);
  EXPECT_TRUE(guard.Admit("13811111111", "2001:db8:1:3::10").allowed);
  guard.Finish("13811111111", "2001:db8:1:3::10", LoginGuard::Outcome::kSucceeded);
  // A refusal by the network reserved nothing against the phone.
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(guard.Admit("13822222222", net).allowed);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(guard.Admit("13822222222", "192.0.2.1").allowed) << i;
    guard.Finish("13822222222", "192.0.2.1", LoginGuard::Outcome::kWrongCredentials);
  }
}

TEST(LoginGuard, AttemptsWithoutAVerdictAreNotCounted) {
  ManualClockForTest clock(kStart);
  InMemoryRateLimiter limiter(clock);
  LoginGuard guard(limiter, LoginPolicy{{1, kMinute}, {1, kMinute}});
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(guard.Admit("13800000000", "192.0.2.1").allowed) << i;
    guard.Finish("13800000000", "192.0.2.1", LoginGuard::Outcome::kNotCounted);
  }
  ASSERT_TRUE(guard.Admit("13800000000", "192.0.2.1").allowed);
  // An attempt still in flight holds its place: a concurrent second one is refused.
  EXPECT_FALSE(guard.Admit("13800000000", "192.0.2.2").allowed);
  EXPECT_FALSE(guard.Admit("13800000001", "192.0.2.1").allowed);
}

TEST(LoginGuard, NetworksOfAddresses) {
  EXPECT_EQ(LoginGuard::NetworkOf("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(LoginGuard::NetworkOf("::ffff:203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(LoginGuard::NetworkOf("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginGuard::NetworkOf("2001:DB8:1:2::"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginGuard::NetworkOf("fe80::1%eth0"), "fe80::/64");
  EXPECT_EQ(LoginGuard::NetworkOf("::1"), "::/64");
  EXPECT_EQ(LoginGuard::NetworkOf("not an address"), "not an address");
  EXPECT_EQ(LoginGuard::NetworkOf(""), "");
}

}  // namespace
}  // namespace hutong::host
