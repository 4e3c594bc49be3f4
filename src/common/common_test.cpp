#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "common/clock.h"
#include "common/geo.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/money.h"

namespace hutong {
namespace {

TEST(Ids, PrefixedSortedAndUnique) {
  std::string prev;
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    std::string id = NewId("deal");
    ASSERT_TRUE(IsWellFormedId(id, "deal")) << id;
    ASSERT_LT(prev, id);
    ASSERT_TRUE(seen.insert(id).second);
    prev = id;
  }
  EXPECT_FALSE(IsWellFormedId(prev, "ord"));
  EXPECT_FALSE(IsWellFormedId("deal_xyz", "deal"));
  EXPECT_FALSE(IsWellFormedId("deal_0000000000000000000000000!", "deal"));
}

TEST(Ids, MonotonicWhenClockStandsStill) {
  ManualClockForTest clock(1'700'000'000'000);
  std::string a = NewId("ord", clock), b = NewId("ord", clock);
  EXPECT_LT(a, b);
  // Time prefix encodes the clock: a later clock sorts later.
  clock.Advance(1);
  EXPECT_LT(b, NewId("ord", clock));
}

TEST(Ids, UniqueAcrossThreads) {
  std::vector<std::vector<std::string>> out(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) out[static_cast<size_t>(t)].push_back(NewId("x"));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 8000u);
}

TEST(Ids, ThreadLocalIdsWellFormedIncreasingAndUniqueAcrossThreads) {
  // All threads in the same frozen millisecond: only the per-thread random parts keep
  // them apart, and each thread's own ids still increase.
  ManualClockForTest clock(1'700'000'000'000);
  std::vector<std::vector<std::string>> out(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string id;
      for (int i = 0; i < 5000; ++i) {
        AssignThreadLocalId(id, "req", clock);
        out[static_cast<size_t>(t)].push_back(id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (auto& v : out) {
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_TRUE(IsWellFormedId(v[i], "req")) << v[i];
      if (i > 0) {
        ASSERT_LT(v[i - 1], v[i]);
      }
    }
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), 20000u);
  // The time part is the clock's (48 bits: "req_" and 9 characters, then random bits).
  for (const auto& v : out) EXPECT_EQ(v.front().substr(0, 13), out[0].front().substr(0, 13));
  EXPECT_NE(out[0].front().substr(0, 13), NewId("req").substr(0, 13)) << "not the system clock's";
  std::string id = "an old id that is longer than any new one";
  AssignThreadLocalId(id, "req", clock);
  EXPECT_TRUE(IsWellFormedId(id, "req")) << id;
}

TEST(Money, BasisPointsRoundHalfUp) {
  EXPECT_EQ(ApplyBasisPoints(10000, 500), 500);
  EXPECT_EQ(ApplyBasisPoints(9999, 500), 500);  // 499.95 → 500
  EXPECT_EQ(ApplyBasisPoints(9989, 500), 499);  // 499.45 → 499
  EXPECT_EQ(ApplyBasisPoints(0, 800), 0);
  EXPECT_FALSE(ApplyBasisPoints(-1, 800).has_value());
  EXPECT_FALSE(AddFen(INT64_MAX, 1).has_value());
  EXPECT_FALSE(MulFen(INT64_MAX / 2 + 1, 2).has_value());
  EXPECT_EQ(FormatYuan(12345), "¥123.45");
  EXPECT_EQ(FormatYuan(-5), "-¥0.05");
}

TEST(Time, FormatAndParseRoundTrip) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(1735920000123), "2025-01-03T16:00:00.123Z");
  EXPECT_EQ(ParseRfc3339("2025-01-03T16:00:00.123Z"), 1735920000123);
  EXPECT_EQ(ParseRfc3339("2025-01-04T00:00:00+08:00"), 1735920000000);
  EXPECT_EQ(ParseRfc3339("2024-02-29T00:00:00Z").has_value(), true);
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2025-01-03 16:00").has_value());
  EXPECT_FALSE(ParseRfc3339("2025-13-03T16:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2025-01-03T16:00:00Zjunk").has_value());
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Json, TypedFieldsWithClearErrors) {
  auto bad = ParseJsonObject("{\"a\":");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidJson);
  EXPECT_FALSE(ParseJsonObject("[1,2]").ok());
  auto o = ParseJsonObject(R"({"name":"湊湊","n":3,"f":1.5,"big":1e30,"s":"x"})");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*RequireString(*o, "name"), "湊湊");
  EXPECT_EQ(*RequireInt(*o, "n", 1, 10), 3);
  auto wrong = RequireInt(*o, "name", 0, 10);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kValidationFailed);
  EXPECT_NE(wrong.error().detail.find("'name'"), std::string::npos);
  EXPECT_FALSE(RequireInt(*o, "f", 0, 10).ok());
  EXPECT_FALSE(RequireInt(*o, "big", 0, INT64_MAX).ok());
  EXPECT_FALSE(RequireInt(*o, "n", 5, 10).ok());
  EXPECT_FALSE(RequireString(*o, "missing").ok());
  EXPECT_FALSE(RequireString(*o, "s", 0).ok());
  std::string deep(100, '[');
  EXPECT_FALSE(ParseJsonObject("{\"a\":" + deep).ok());
}

}  // namespace
}  // namespace hutong

#include "common/crypto.h"

namespace hutong {
namespace {

TEST(Crypto, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 1, and an empty key (computed with `openssl mac`).
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256Hex("", ""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

// Each thread reuses its hash and MAC contexts: a call must not see the previous call's
// key or data, whichever thread made it (an empty key after a non-empty one included).
TEST(Crypto, ReusedContextsKeepNothingBetweenCalls) {
  const std::string jefe = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  const std::string empty = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  auto check = [&] {
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"), jefe);
      EXPECT_EQ(HmacSha256Hex("", ""), empty);
      EXPECT_EQ(HmacSha256Hex(std::string_view(), std::string_view()), empty);
      EXPECT_EQ(Sha256Hex("abc"), abc);
      EXPECT_EQ(Sha256Hex(std::string(1000, 'x')).size(), 64u);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(check);
  check();
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace hutong

#include "common/secret_box.h"

namespace hutong {
namespace {

TEST(SecretBox, SealsAndOpensOnlyUnderItsKey) {
  auto box = SecretBox::FromHex(SecretBox::NewHexKey());
  ASSERT_TRUE(box.ok());
  std::string sealed = box->Seal("sk_live_秘密");
  EXPECT_EQ(sealed.find("sk_live"), std::string::npos);
  EXPECT_NE(sealed, box->Seal("sk_live_秘密"));  // fresh nonce each time
  EXPECT_EQ(*box->Open(sealed), "sk_live_秘密");
  auto other = SecretBox::FromHex(SecretBox::NewHexKey());
  EXPECT_FALSE(other->Open(sealed).ok());
  std::string tampered = sealed;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_FALSE(box->Open(tampered).ok());
  EXPECT_FALSE(box->Open("v1:zz").ok());
  EXPECT_FALSE(SecretBox::FromHex("abcd").ok());
  EXPECT_FALSE(SecretBox::FromHex(std::string(64, 'g')).ok());
  EXPECT_NE(box->DeriveKey("openid"), box->DeriveKey("attribution"));
  EXPECT_EQ(box->DeriveKey("openid").size(), 64u);
}

TEST(Clock, ShanghaiTimesCarryTheirOffset) {
  const int64_t t = *ParseRfc3339("2026-01-03T15:59:59Z");
  EXPECT_EQ(FormatRfc3339Shanghai(t), "2026-01-03T23:59:59.000+08:00");
  EXPECT_EQ(FormatRfc3339Shanghai(t + 1000), "2026-01-04T00:00:00.000+08:00");  // the date rolls over
  EXPECT_EQ(*ParseRfc3339(FormatRfc3339Shanghai(t)), t);
}

TEST(Geo, HaversineAndBoxes) {
  EXPECT_DOUBLE_EQ(HaversineMeters(30, 100, 30, 100), 0);
  // Along a meridian the distance is R × Δlat exactly.
  EXPECT_NEAR(HaversineMeters(30, 100, 30 + LatDegreesFor(1000), 100), 1000, 1e-6);
  // 天安门 → 上海人民广场 is about 1,067 km.
  EXPECT_NEAR(HaversineMeters(39.9087, 116.3975, 31.2304, 121.4737), 1'067'000, 5'000);
  // A box of LngDegreesFor holds the circle: a point due east at the radius lies inside.
  const double dlng = LngDegreesFor(5000, 60);
  EXPECT_GT(HaversineMeters(60, 10, 60, 10 + dlng), 5000);
  EXPECT_EQ(LngDegreesFor(1000, 90), 360);
}

}  // namespace
}  // namespace hutong
