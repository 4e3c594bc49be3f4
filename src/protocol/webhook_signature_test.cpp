#include "protocol/webhook_signature.h"

#include <gtest/gtest.h>

namespace hutong::protocol {
namespace {

constexpr int64_t kT = 1'700'000'000;
constexpr std::string_view kBody = R"({"id":"evt_1","type":"payment.succeeded"})";
// Derived once with the openssl CLI:
//   printf '%s' '1700000000.{"id":"evt_1","type":"payment.succeeded"}' | openssl dgst -sha256 -hmac
//   whsec_test (and -hmac whsec_old for the second)
constexpr std::string_view kSigTest = "3d34f860ecc2c5fc3978518b0564a6649bd191eb2caa286ec3976e3bc9929d7d";
constexpr std::string_view kSigOld = "5e061c97668702737ec5fb4d7a7aa277625bb7d9b0e4c81d8a2ec76d5488bc29";

const std::vector<std::string> kSecrets = {"whsec_test"};

std::string Header(std::string_view rest) {
  return "t=1700000000," + std::string(rest);
}

class WebhookTest : public ::testing::Test {
 protected:
  Status Verify(std::string_view header, std::string_view body = kBody,
                const std::vector<std::string>& secrets = kSecrets) {
    return VerifyWebhook(header, body, secrets, clock_);
  }
  void ExpectRejected(std::string_view header, std::string_view body = kBody,
                      const std::vector<std::string>& secrets = kSecrets) {
    Status s = Verify(header, body, secrets);
    ASSERT_FALSE(s.ok()) << header;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidSignature) << header;
    EXPECT_FALSE(s.error().detail.empty());
  }

  ManualClockForTest clock_{kT * 1000};
};

TEST(WebhookSignature, MatchesVectorsComputedWithTheOpensslCli) {
  EXPECT_EQ(WebhookSignature("whsec_test", kT, kBody), kSigTest);
  EXPECT_EQ(SignWebhookAt({"whsec_test"}, kBody, kT), "t=1700000000,v1=" + std::string(kSigTest));
  EXPECT_EQ(SignWebhookAt({"whsec_test", "whsec_old"}, kBody, kT),
            "t=1700000000,v1=" + std::string(kSigTest) + ",v1=" + std::string(kSigOld));
  EXPECT_EQ(SignWebhookAt({"", "whsec_old"}, kBody, kT), "t=1700000000,v1=" + std::string(kSigOld));
}

TEST_F(WebhookTest, RoundTrips) {
  clock_.Set(kT * 1000 + 456);
  const std::string header = SignWebhook({"whsec_test"}, kBody, clock_);
  EXPECT_EQ(header, "t=1700000000,v1=" + std::string(kSigTest));
  EXPECT_TRUE(Verify(header).ok());
  // Bytes that are not JSON, or not UTF-8, are signed as they are.
  const std::string binary("\x00\xff\r\n{}", 6);
  EXPECT_TRUE(Verify(SignWebhook({"whsec_test"}, binary, clock_), binary).ok());
}

TEST_F(WebhookTest, RejectsATamperedBody) {
  ExpectRejected(Header("v1=" + std::string(kSigTest)), R"({"id":"evt_1","type":"refund.succeeded"})");
  ExpectRejected(Header("v1=" + std::string(kSigTest)), std::string(kBody) + "\n");
}

TEST_F(WebhookTest, RejectsAWrongSecret) {
  ExpectRejected(Header("v1=" + std::string(kSigTest)), kBody, {"whsec_other"});
  ExpectRejected(Header("v1=" + std::string(kSigTest)), kBody, {});
  ExpectRejected(Header("v1=" + std::string(kSigTest)), kBody, {""});
}

TEST_F(WebhookTest, RejectsATimestampOutsideTheTolerance) {
  const std::string header = Header("v1=" + std::string(kSigTest));
  for (int64_t skew : {-301, -300, -299, 299, 300, 301}) {
    clock_.Set((kT + skew) * 1000);
    if (skew < -300 || skew > 300) {
      ExpectRejected(header);
    } else {
      EXPECT_TRUE(Verify(header).ok()) << skew;
    }
  }
  clock_.Set((kT + 3600) * 1000);
  ExpectRejected(header);
  EXPECT_TRUE(VerifyWebhook(header, kBody, kSecrets, clock_, std::chrono::hours(2)).ok());
}

TEST_F(WebhookTest, SignatureCoversTheTimestamp) {
  // Same signature, moved to another second: refused.
  ExpectRejected("t=1700000001,v1=" + std::string(kSigTest));
  // And to another spelling of the same second.
  ExpectRejected("t=01700000000,v1=" + std::string(kSigTest));
}

TEST_F(WebhookTest, AcceptsAnyMatchingV1AmongSeveral) {
  EXPECT_TRUE(Verify(Header("v1=" + std::string(64, '0') + ",v1=" + std::string(kSigTest))).ok());
  EXPECT_TRUE(Verify(Header("v1=" + std::string(kSigOld) + ",v1=" + std::string(kSigTest))).ok());
  // The receiver knows both secrets while it rotates; the sender signed with the old one.
  EXPECT_TRUE(Verify(Header("v1=" + std::string(kSigOld)), kBody, {"whsec_new", "whsec_old"}).ok());
  ExpectRejected(Header("v1=" + std::string(64, '0') + ",v1=" + std::string(kSigOld)));
}

TEST_F(WebhookTest, ParsesInAnyOrderWithSpacesAndUnknownKeys) {
  const std::string sig(kSigTest);
  for (const std::string& header :
       {"v1=" + sig + ",t=1700000000", "t=1700000000, v1=" + sig, " t = 1700000000 ,\tv1=" + sig + " ",
        "v0=abc,t=1700000000,scheme=x,v1=" + sig + ",v2=zz", "t=1700000000,,v1=" + sig + ",",
        "junk,t=1700000000,v1=" + sig}) {
    EXPECT_TRUE(Verify(header).ok()) << header;
  }
}

TEST_F(WebhookTest, RejectsGarbage) {
  const std::string sig(kSigTest);
  for (const std::string& header :
       {std::string(), std::string("garbage"), std::string(",,,"), std::string("=,="), std::string("t="),
        std::string("t=1700000000"), std::string("t=1700000000,v1="), "v1=" + sig, "t=abc,v1=" + sig,
        "t=-1700000000,v1=" + sig, "t=1700000000.0,v1=" + sig, "t=1700000000,t=1700000000,v1=" + sig,
        "t=1700000000,V1=" + sig, "t=1700000000,v1=" + sig.substr(0, 63), "T=1700000000,v1=" + sig,
        "t=1700000000,v1=" + sig + std::string(5000, ' ')}) {
    ExpectRejected(header);
  }
  std::string many = "t=1700000000";
  for (int i = 0; i < 17; ++i) many += ",v1=" + std::string(64, 'a');
  ExpectRejected(many + ",v1=" + sig);
}

}  // namespace
}  // namespace hutong::protocol
