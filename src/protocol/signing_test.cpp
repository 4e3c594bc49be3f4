#include "protocol/signing.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/random.h"

namespace hutong::protocol {
namespace {

constexpr int64_t kT = 1'700'000'000;  // the fixed vectors' timestamp, seconds
constexpr int64_t kTMs = kT * 1000;

// Vector 1, derived once with the openssl CLI (any POSIX shell):
//   H=$(printf '%s' '{"deals":[]}' | openssl dgst -sha256 -r | cut -d' ' -f1)
//   N=0123456789abcdef0123456789abcdef
//   printf 'POST\n/open/v1/deals/sync?city=%%E5%%8C%%97&page=2\n1700000000\n%s\n%s' $N $H |
//     openssl dgst -sha256 -hmac sk_test_secret
constexpr std::string_view kV1Method = "POST";
constexpr std::string_view kV1Target = "/open/v1/deals/sync?city=%E5%8C%97&page=2";
constexpr std::string_view kV1Nonce = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kV1Body = R"({"deals":[]})";
constexpr std::string_view kV1Secret = "sk_test_secret";
constexpr std::string_view kV1BodyHash = "681a33d230441a97b097286ab1305d86179ef9d4c1a38df03a080cedc34be93d";
constexpr std::string_view kV1Signature = "d617d5e3733ace9e03b07db8cf8705f7a020f99a03a93ca02686611959734fdc";
// Vector 2: a GET with an empty body (SHA-256 of nothing is e3b0c442…):
//   E=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
//   printf 'GET\n/open/v1/jscode2session?js_code=abc\n1700000000\nnonce_-ABCDEFGHIJ\n%s' $E |
//     openssl dgst -sha256 -hmac sk_test_secret
constexpr std::string_view kV2Signature = "19b29b7ccb96d92cdba7dea062ac405a0ca5c7bb676c4f984de4b9760b992a72";

constexpr std::string_view kApp = "app_test";

// What a server hands a handler for a request sent with `signed_headers`.
http::Request MakeRequest(std::string_view method, std::string_view target, std::string_view body,
                          const SignedHeaders& signed_headers) {
  http::Request r;
  r.method = http::ParseMethod(method);
  r.target = std::string(target);
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  r.body = std::string(body);
  r.headers = {{"x-hutong-app-id", signed_headers.app_id},
               {"x-hutong-timestamp", signed_headers.timestamp},
               {"x-hutong-nonce", signed_headers.nonce},
               {"x-hutong-signature", signed_headers.signature},
               {"content-type", "application/json"}};
  return r;
}

http::Request Vector1Request() {
  SignedHeaders h{std::string(kApp), std::to_string(kT), std::string(kV1Nonce), std::string(kV1Signature)};
  return MakeRequest(kV1Method, kV1Target, kV1Body, h);
}

void SetHeader(http::Request& r, std::string_view name, const std::string& value) {
  for (auto& [n, v] : r.headers) {
    if (n == name) v = value;
  }
}

void RemoveHeader(http::Request& r, std::string_view name) {
  std::erase_if(r.headers, [&](const auto& h) { return h.first == name; });
}

// The secrets a host knows: app_test signs with kV1Secret.
std::vector<std::string> Secrets(const std::string& app_id) {
  if (app_id == kApp) return {std::string(kV1Secret)};
  return {};
}

class VerifyTest : public ::testing::Test {
 protected:
  Result<std::string> Verify(const http::Request& r) {
    return VerifySignedRequest(r, Secrets, nonces_, clock_);
  }
  Result<std::string> Verify(const http::Request& r, const SecretsForApp& secrets) {
    return VerifySignedRequest(r, secrets, nonces_, clock_);
  }
  void ExpectRejected(const http::Request& r, std::string_view detail_part) {
    auto v = Verify(r);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().code, ErrorCode::kInvalidSignature);
    EXPECT_NE(v.error().detail.find(detail_part), std::string::npos) << v.error().detail;
  }

  ManualClockForTest clock_{kTMs};
  InMemoryNonceStore nonces_{clock_};
};

TEST(CanonicalRequest, HasTheExactBytesOfTheContract) {
  EXPECT_EQ(
      CanonicalRequest(kV1Method, kV1Target, "1700000000", kV1Nonce, kV1Body),
      "POST\n/open/v1/deals/sync?city=%E5%8C%97&page=2\n1700000000\n0123456789abcdef0123456789abcdef\n" +
          std::string(kV1BodyHash));
  EXPECT_EQ(CanonicalRequest("GET", "/x", "1", "n", ""),
            "GET\n/x\n1\nn\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(RequestSignature, MatchesVectorsComputedWithTheOpensslCli) {
  EXPECT_EQ(RequestSignature(kV1Secret, kV1Method, kV1Target, "1700000000", kV1Nonce, kV1Body), kV1Signature);
  EXPECT_EQ(RequestSignature(kV1Secret, "GET", "/open/v1/jscode2session?js_code=abc", "1700000000",
                             "nonce_-ABCDEFGHIJ", ""),
            kV2Signature);
}

// Runs `openssl dgst` on a file; empty when the CLI is not there.
std::string OpensslHmac(const std::string& key, const std::string& data) {
  const auto path = std::filesystem::temp_directory_path() / ("hutong_sig_" + RandomHex(8));
  std::ofstream(path, std::ios::binary) << data;
  const std::string cmd = "openssl dgst -sha256 -hmac '" + key + "' -r < '" + path.string() + "' 2>/dev/null";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  std::filesystem::remove(path);
  return out.substr(0, std::min<size_t>(out.find(' '), out.size()));
}

TEST(RequestSignature, AgreesWithTheOpensslCliOnRandomRequests) {
  if (OpensslHmac("k", "x").size() != 64) GTEST_SKIP() << "no openssl CLI";
  for (int i = 0; i < 5; ++i) {
    const std::string secret = RandomHex(16);
    const std::string body = "{\"n\":\"" + RandomHex(20) + "\",\"t\":\"新年好食记\"}\n";
    const std::string target = "/open/v1/pay-orders?x=" + RandomHex(3) + "&y=%20";
    const std::string nonce = RandomHex(16);
    EXPECT_EQ(RequestSignature(secret, "POST", target, "1700000123", nonce, body),
              OpensslHmac(secret, CanonicalRequest("POST", target, "1700000123", nonce, body)));
  }
}

TEST(SignRequest, SignsAtTheClocksSecondWithAFreshNonce) {
  ManualClockForTest clock(kTMs + 999);
  const SignedHeaders a = SignRequest(kApp, kV1Secret, "POST", kV1Target, kV1Body, clock);
  const SignedHeaders b = SignRequest(kApp, kV1Secret, "POST", kV1Target, kV1Body, clock);
  EXPECT_EQ(a.app_id, kApp);
  EXPECT_EQ(a.timestamp, "1700000000");
  EXPECT_EQ(a.nonce.size(), 32u);
  EXPECT_EQ(a.nonce.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_EQ(a.signature, RequestSignature(kV1Secret, "POST", kV1Target, a.timestamp, a.nonce, kV1Body));
  const auto pairs = a.Pairs();
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"X-Hutong-App-Id", a.app_id}));
  EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"X-Hutong-Timestamp", a.timestamp}));
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"X-Hutong-Nonce", a.nonce}));
  EXPECT_EQ(pairs[3], (std::pair<std::string, std::string>{"X-Hutong-Signature", a.signature}));
}

TEST_F(VerifyTest, AcceptsTheFixedVectorAndNamesTheApp) {
  auto v = Verify(Vector1Request());
  ASSERT_TRUE(v.ok()) << v.error().detail;
  EXPECT_EQ(*v, kApp);
}

TEST_F(VerifyTest, AcceptsWhatSignRequestProduces) {
  for (std::string_view body : {std::string_view(), std::string_view(R"({"a":1})")}) {
    const SignedHeaders h = SignRequest(kApp, kV1Secret, "PUT", "/open/v1/x?a=b", body, clock_);
    auto v = Verify(MakeRequest("PUT", "/open/v1/x?a=b", body, h));
    EXPECT_TRUE(v.ok()) << v.error().detail;
  }
}

TEST_F(VerifyTest, RejectsATamperedBody) {
  http::Request r = Vector1Request();
  r.body = R"({"deals":[1]})";
  ExpectRejected(r, "signature does not match");
}

TEST_F(VerifyTest, RejectsATamperedPathOrQuery) {
  for (std::string_view target :
       {"/open/v1/deals/sync?city=%E5%8C%97&page=3", "/open/v1/deals/sync?page=2&city=%E5%8C%97",
        "/open/v1/deals/sync", "/open/v1/deals/SYNC?city=%E5%8C%97&page=2",
        "/open/v1/deals/sync?city=北&page=2"}) {
    http::Request r = Vector1Request();
    r.target = std::string(target);
    ExpectRejected(r, "signature does not match");
  }
}

TEST_F(VerifyTest, RejectsAnotherMethod) {
  http::Request r = Vector1Request();
  r.method = http::Method::kPut;
  ExpectRejected(r, "signature does not match");
}

TEST_F(VerifyTest, RejectsATamperedTimestampOrNonce) {
  http::Request r = Vector1Request();
  SetHeader(r, "x-hutong-timestamp", std::to_string(kT + 1));
  ExpectRejected(r, "signature does not match");
  r = Vector1Request();
  SetHeader(r, "x-hutong-nonce", "0123456789abcdef0123456789abcdeF");
  ExpectRejected(r, "signature does not match");
}

TEST_F(VerifyTest, RejectsAWrongSecretWithoutRevealingTheExpectedSignature) {
  const SignedHeaders h = SignRequest(kApp, "not_the_secret", "POST", kV1Target, kV1Body, clock_);
  const http::Request r = MakeRequest("POST", kV1Target, kV1Body, h);
  auto v = Verify(r);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidSignature);
  const std::string expected = RequestSignature(kV1Secret, "POST", kV1Target, h.timestamp, h.nonce, kV1Body);
  EXPECT_EQ(v.error().detail.find(expected), std::string::npos);
  EXPECT_EQ(v.error().internal.find(expected), std::string::npos);
  EXPECT_EQ(v.error().detail.find(kV1Secret), std::string::npos);
}

TEST_F(VerifyTest, RejectsAnUnknownApp) {
  http::Request r = Vector1Request();
  SetHeader(r, "x-hutong-app-id", "app_nobody");
  ExpectRejected(r, "unknown or disabled app");
  // A secret list holding only empty strings counts as none: an empty HMAC key is not a key.
  auto v = Verify(Vector1Request(), [](const std::string&) { return std::vector<std::string>{""}; });
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidSignature);
}

TEST_F(VerifyTest, TimestampWindowIsThreeHundredSecondsEitherWay) {
  for (int64_t skew : {-301, -300, -299, 0, 299, 300, 301}) {
    for (int64_t ms_in_second : {0, 999}) {
      // Server at kT + skew: the request's timestamp is |skew| seconds off.
      clock_.Set((kT + skew) * 1000 + ms_in_second);
      InMemoryNonceStore fresh(clock_);
      auto v = VerifySignedRequest(Vector1Request(), Secrets, fresh, clock_);
      if (skew < -300 || skew > 300) {
        ASSERT_FALSE(v.ok()) << skew;
        EXPECT_EQ(v.error().code, ErrorCode::kInvalidSignature);
        EXPECT_NE(v.error().detail.find("300 s"), std::string::npos) << v.error().detail;
      } else {
        EXPECT_TRUE(v.ok()) << skew << ": " << v.error().detail;
      }
    }
  }
}

TEST_F(VerifyTest, RejectsAReplayedNonce) {
  ASSERT_TRUE(Verify(Vector1Request()).ok());
  ExpectRejected(Vector1Request(), "already used");
  clock_.Advance(299'000);
  ExpectRejected(Vector1Request(), "already used");
  // Past the window the timestamp check refuses it: replays stay impossible forever.
  clock_.Advance(2'000);
  ExpectRejected(Vector1Request(), "300 s");
}

TEST_F(VerifyTest, ANonceMayBeReusedByAnotherApp) {
  ASSERT_TRUE(Verify(Vector1Request()).ok());
  const SignedHeaders h{
      "app_other", std::to_string(kT), std::string(kV1Nonce),
      RequestSignature("other_secret", kV1Method, kV1Target, std::to_string(kT), kV1Nonce, kV1Body)};
  auto v = Verify(MakeRequest(kV1Method, kV1Target, kV1Body, h), [](const std::string& app) {
    return app == "app_other" ? std::vector<std::string>{"other_secret"} : std::vector<std::string>{};
  });
  EXPECT_TRUE(v.ok()) << v.error().detail;
}

TEST_F(VerifyTest, AForgedRequestDoesNotBurnTheNonce) {
  http::Request forged = Vector1Request();
  forged.body = R"({"deals":["forged"]})";
  ExpectRejected(forged, "signature does not match");
  http::Request wrong = Vector1Request();
  SetHeader(wrong, "x-hutong-signature", std::string(64, 'a'));
  ExpectRejected(wrong, "signature does not match");
  EXPECT_EQ(nonces_.Size(), 0u);
  auto v = Verify(Vector1Request());
  EXPECT_TRUE(v.ok()) << v.error().detail;
}

TEST_F(VerifyTest, EitherSecretVerifiesDuringRotation) {
  const SecretsForApp rotating = [](const std::string& app) {
    return app == kApp ? std::vector<std::string>{"sk_new", "sk_old"} : std::vector<std::string>{};
  };
  for (std::string_view secret : {"sk_new", "sk_old"}) {
    const SignedHeaders h = SignRequest(kApp, secret, "POST", "/open/v1/x", "{}", clock_);
    auto v = Verify(MakeRequest("POST", "/open/v1/x", "{}", h), rotating);
    EXPECT_TRUE(v.ok()) << secret << ": " << v.error().detail;
  }
  const SignedHeaders h = SignRequest(kApp, "sk_older", "POST", "/open/v1/x", "{}", clock_);
  auto v = Verify(MakeRequest("POST", "/open/v1/x", "{}", h), rotating);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, ErrorCode::kInvalidSignature);
}

TEST_F(VerifyTest, RejectsMissingHeaders) {
  for (std::string_view name :
       {"x-hutong-app-id", "x-hutong-timestamp", "x-hutong-nonce", "x-hutong-signature"}) {
    http::Request r = Vector1Request();
    RemoveHeader(r, name);
    ExpectRejected(r, "missing");
    r = Vector1Request();
    SetHeader(r, name, "");
    ExpectRejected(r, "missing");
  }
}

TEST_F(VerifyTest, RejectsRepeatedHeaders) {
  http::Request r = Vector1Request();
  r.headers.emplace_back("x-hutong-signature", std::string(kV1Signature));
  ExpectRejected(r, "more than once");
  r = Vector1Request();
  r.headers.insert(r.headers.begin(), {"x-hutong-app-id", "app_evil"});
  ExpectRejected(r, "more than once");
}

TEST_F(VerifyTest, RejectsMalformedTimestamps) {
  for (std::string_view bad : {"+1700000000", "-1700000000", "1700000000.5", "17e8", " 1700000000",
                               "0x6553f100", "1700000000000000", "now"}) {
    http::Request r = Vector1Request();
    SetHeader(r, "x-hutong-timestamp", std::string(bad));
    ExpectRejected(r, "Unix time");
  }
}

TEST_F(VerifyTest, NonceMustBeSixteenToOneHundredTwentyEightSafeCharacters) {
  const auto with_nonce = [&](const std::string& nonce) {
    const std::string ts = std::to_string(kT);
    return MakeRequest(kV1Method, kV1Target, kV1Body,
                       {std::string(kApp), ts, nonce,
                        RequestSignature(kV1Secret, kV1Method, kV1Target, ts, nonce, kV1Body)});
  };
  for (const std::string& bad : {std::string(15, 'a'), std::string(129, 'b'),
                                 std::string("abcdefghijklmnop."), std::string("abcdefgh ijklmnop"),
                                 std::string("abcdefghijklmnop\n"), std::string("abcdefghijklmnöp")}) {
    ExpectRejected(with_nonce(bad), "X-Hutong-Nonce must be 16 to 128");
  }
  for (const std::string& good :
       {std::string(16, 'a'), std::string(128, 'B'), std::string("Az09_-Az09_-Az09")}) {
    auto v = Verify(with_nonce(good));
    EXPECT_TRUE(v.ok()) << good << ": " << v.error().detail;
  }
}

TEST_F(VerifyTest, SignatureMustBeSixtyFourLowercaseHexCharacters) {
  std::string upper(kV1Signature);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {upper, std::string(kV1Signature.substr(0, 63)),
                                 std::string(kV1Signature) + "0", std::string(64, 'g')}) {
    http::Request r = Vector1Request();
    SetHeader(r, "x-hutong-signature", bad);
    ExpectRejected(r, "64 lowercase hex");
  }
}

TEST_F(VerifyTest, RejectsMalformedAppIds) {
  for (const std::string& bad : {std::string("app test"), std::string("app\r\nx"), std::string(129, 'a')}) {
    http::Request r = Vector1Request();
    SetHeader(r, "x-hutong-app-id", bad);
    ExpectRejected(r, "well-formed app id");
  }
}

TEST_F(VerifyTest, ConcurrentCopiesOfOneRequestSucceedExactlyOnce) {
  constexpr int kThreads = 8;
  const http::Request r = Vector1Request();
  std::atomic<int> ok{0};
  std::atomic<int> replayed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto v = VerifySignedRequest(r, Secrets, nonces_, clock_);
      if (v.ok()) {
        ++ok;
      } else if (v.error().detail.find("already used") != std::string::npos) {
        ++replayed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(replayed.load(), kThreads - 1);
}

TEST(InMemoryNonceStore, RemembersUntilExpiry) {
  ManualClockForTest clock(kTMs);
  InMemoryNonceStore store(clock);
  EXPECT_TRUE(store.Remember("app_a", "nonce-1", kTMs + 1000));
  EXPECT_FALSE(store.Remember("app_a", "nonce-1", kTMs + 5000));
  EXPECT_TRUE(store.Remember("app_b", "nonce-1", kTMs + 1000));
  EXPECT_TRUE(store.Remember("app_a", "nonce-2", kTMs + 1000));
  clock.Advance(999);
  EXPECT_FALSE(store.Remember("app_a", "nonce-1", kTMs + 5000));
  clock.Advance(1);  // expiry is exclusive: at expires_at the entry is gone
  EXPECT_TRUE(store.Remember("app_a", "nonce-1", kTMs + 5000));
  EXPECT_EQ(store.Size(), 1u);  // the three that expired were purged
  EXPECT_FALSE(store.Remember("app_a", "nonce-1", kTMs + 5000));
}

TEST(InMemoryNonceStore, AppAndNonceCannotCollideAcrossTheBoundary) {
  ManualClockForTest clock(kTMs);
  InMemoryNonceStore store(clock);
  EXPECT_TRUE(store.Remember("ab", "c", kTMs + 1000));
  EXPECT_TRUE(store.Remember("a", "bc", kTMs + 1000));
}

TEST(InMemoryNonceStore, AnAlreadyExpiredEntryIsNotStored) {
  ManualClockForTest clock(kTMs);
  InMemoryNonceStore store(clock);
  EXPECT_TRUE(store.Remember("app", "n", kTMs));
  EXPECT_EQ(store.Size(), 0u);
}

TEST(InMemoryNonceStore, IsBoundedAndEvictsWhatExpiresSoonest) {
  ManualClockForTest clock(kTMs);
  InMemoryNonceStore store(clock, 3);
  EXPECT_TRUE(store.Remember("app", "late", kTMs + 30'000));
  EXPECT_TRUE(store.Remember("app", "soon", kTMs + 10'000));
  EXPECT_TRUE(store.Remember("app", "mid", kTMs + 20'000));
  EXPECT_TRUE(store.Remember("app", "new", kTMs + 40'000));
  EXPECT_EQ(store.Size(), 3u);
  EXPECT_EQ(store.Evictions(), 1u);
  // "soon" was the one evicted, so it is new again; making room for it evicts "mid".
  EXPECT_TRUE(store.Remember("app", "soon", kTMs + 40'000));
  EXPECT_EQ(store.Evictions(), 2u);
  EXPECT_FALSE(store.Remember("app", "late", kTMs + 40'000));
  EXPECT_FALSE(store.Remember("app", "new", kTMs + 40'000));
  EXPECT_EQ(store.Size(), 3u);
  // Expired entries make room before anything is evicted: "late" expires now.
  clock.Advance(30'000);
  EXPECT_TRUE(store.Remember("app", "x", kTMs + 50'000));
  EXPECT_EQ(store.Evictions(), 2u);
  EXPECT_EQ(store.Size(), 3u);
}

TEST(InMemoryNonceStore, ExactlyOneOfManyThreadsWinsEachNonce) {
  constexpr int kThreads = 8;
  constexpr int kNonces = 2000;
  ManualClockForTest clock(kTMs);
  InMemoryNonceStore store(clock);
  std::vector<std::atomic<int>> wins(kNonces);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kNonces; ++i) {
        // Each thread walks the nonces from a different starting point to vary the races.
        const int n = (i + t * kNonces / kThreads) % kNonces;
        if (store.Remember("app", "nonce-" + std::to_string(n), kTMs + 60'000)) ++wins[n];
      }
    });
  }
  go.store(true);
  for (auto& t : threads) t.join();
  for (int n = 0; n < kNonces; ++n) ASSERT_EQ(wins[n].load(), 1) << n;
  EXPECT_EQ(store.Size(), static_cast<size_t>(kNonces));
}

}  // namespace
}  // namespace hutong::protocol
