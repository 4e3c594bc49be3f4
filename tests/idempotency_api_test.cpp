// Idempotency-Key over real HTTP on a creating POST (POST /merchant/v1/deals), on SQLite and
// PostgreSQL: many concurrent retries of one key create exactly one deal, retries get the
// first answer, and reusing a key for another body is refused.
#include <latch>
#include <set>
#include <thread>
#include <vector>

#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

class IdempotencyApiTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    p_ = node_->provider_url();
    auth_ = LoginStaff(p_, "coucou");
    ASSERT_FALSE(HasFailure());
    auto stores = ParseBody(Get(p_ + "/merchant/v1/stores", auth_)).at("items").as_array();
    ASSERT_FALSE(stores.empty());
    for (const auto& s : stores) stores_.push_back(s.at("id"));
  }

  size_t DealCount() { return ParseBody(Get(p_ + "/mp/v1/deals?limit=50")).at("items").as_array().size(); }

  std::string DealBody(std::string_view title) const {
    return json::serialize(
        json::object{{"type", "set_meal"},
                     {"category", "catering"},
                     {"title", title},
                     {"price_fen", 6800},
                     {"original_price_fen", 9800},
                     {"items", json::array{json::object{{"name", "单人锅底"}, {"price_fen", 3800}}}},
                     {"stock", 100},
                     {"valid_from", "2026-01-01T00:00:00+08:00"},
                     {"valid_to", "2027-01-01T00:00:00+08:00"},
                     {"store_ids", stores_}});
  }

  Headers WithKey(const std::string& key) const {
    Headers h = auth_;
    h.emplace_back("Idempotency-Key", key);
    return h;
  }

  std::string p_;
  Headers auth_;
  json::array stores_;
};

TEST_P(IdempotencyApiTest, FiftyConcurrentRetriesCreateOneDeal) {
  const size_t before = DealCount();
  const std::string body = DealBody("湊湊午市单人套餐");
  const Headers headers = WithKey("create-lunch-set-0001");

  constexpr int kN = 50;
  std::latch start(kN);
  std::vector<http::ClientResponse> answers(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      answers[i] = Post(p_ + "/merchant/v1/deals", body, headers);
    });
  }
  for (auto& t : threads) t.join();

  std::set<std::string> ids;
  int created = 0, replayed = 0, in_flight = 0;
  for (const auto& a : answers) {
    if (a.status == 409) {
      ExpectProblem(a, 409, "idempotency_key_in_flight");
      ++in_flight;
      continue;
    }
    ASSERT_EQ(a.status, 201) << a.body;
    ids.insert(std::string(ParseBody(a).at("id").as_string()));
    (a.Header("idempotent-replayed") == "true" ? replayed : created)++;
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(created + replayed + in_flight, kN);
  ASSERT_EQ(ids.size(), 1u) << "retries answered with different deals";
  const std::string deal_id = *ids.begin();
  EXPECT_EQ(DealCount(), before + 1);

  // Once the first has finished, every retry is its answer again, Location included.
  auto retry = Post(p_ + "/merchant/v1/deals", body, headers);
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.Header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.Header("content-type"), "application/json");
  EXPECT_EQ(retry.Header("location"), "/mp/v1/deals/" + deal_id);
  EXPECT_EQ(ParseBody(retry).at("id").as_string(), deal_id);
  EXPECT_EQ(DealCount(), before + 1);

  // The same key for another deal is a client bug, not a second deal.
  ExpectProblem(Post(p_ + "/merchant/v1/deals", DealBody("湊湊晚市双人套餐"), headers), 422,
                "idempotency_key_reused");
  EXPECT_EQ(DealCount(), before + 1);

  // Another key, or none, is another deal.
  auto other = Post(p_ + "/merchant/v1/deals", body, WithKey("create-lunch-set-0002"));
  ASSERT_EQ(other.status, 201) << other.body;
  EXPECT_TRUE(other.Header("idempotent-replayed").empty());
  EXPECT_NE(ParseBody(other).at("id").as_string(), deal_id);
  ASSERT_EQ(Post(p_ + "/merchant/v1/deals", body, auth_).status, 201);
  EXPECT_EQ(DealCount(), before + 3);
}

TEST_P(IdempotencyApiTest, MalformedKeyIsRefusedAndFailuresAreReplayed) {
  const size_t before = DealCount();
  ExpectProblem(Post(p_ + "/merchant/v1/deals", DealBody("x"), WithKey(std::string(256, 'k'))), 400,
                "validation_failed");
  // A 4xx is the request's final answer and comes back the same for the same request.
  auto bad = DealBody("x");
  bad.replace(bad.find("6800"), 4, "0");
  auto first = Post(p_ + "/merchant/v1/deals", bad, WithKey("bad-deal"));
  ExpectProblem(first, 400, "validation_failed");
  auto again = Post(p_ + "/merchant/v1/deals", bad, WithKey("bad-deal"));
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.Header("idempotent-replayed"), "true");
  EXPECT_EQ(DealCount(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdempotencyApiTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace hutong::testing
