// The provider's cached catalog pages over real HTTP, on SQLite and PostgreSQL: the deal
// list (cached per normalized query) and deal pages show a sale, a cancellation and a new
// deal on the very next request, every query keeps its own page, bad queries still get
// their 400, and concurrent readers of one cached page all get it whole.
#include <atomic>
#include <thread>

#include "common/clock.h"
#include "common/ids.h"
#include "provider/orders/orders.h"
#include "storage/db.h"
#include "support/provider_fixtures.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
namespace json = boost::json;

constexpr storage::Query kSetStock{"test.catalog_cache.set_stock", storage::Access::kWrite,
                                   "UPDATE deals SET stock_left = $2, stock_total = $2, per_user_limit = 0 "
                                   "WHERE id = $1"};

class CatalogCacheTest : public SeededNodeTest {
 protected:
  void SetUp() override {
    SeededNodeTest::SetUp();
    if (HasFatalFailure()) return;
    p_ = node_->provider_url();
    provider_db_ = OpenProviderDb();
    auto deals = PlainDeals(*provider_db_, 1);
    ASSERT_EQ(deals.size(), 1u);
    deal_ = deals[0];
    // Written before anything was read, so no cached page predates it.
    RunQuery(*provider_db_, kSetStock, {deal_, int64_t{20}});
    user_id_ = NewId("mpu");
    InsertMpUser(*provider_db_, user_id_, "o_catalog_cache");
  }

  // The deal's stock as the list (all demo deals on one page) shows it; -1 if absent.
  int64_t ListedStock() {
    auto r = Get(p_ + "/mp/v1/deals?limit=50");
    EXPECT_EQ(r.status, 200) << r.body;
    const json::value page = ParseBody(r);
    for (const auto& item : page.at("items").as_array()) {
      if (item.at("id").as_string() == deal_) return item.at("stock_left").as_int64();
    }
    return -1;
  }
  int64_t PageStock() { return ParseBody(Get(p_ + "/mp/v1/deals/" + deal_)).at("stock_left").as_int64(); }

  Result<provider::PlacedOrder> Buy(int64_t quantity, bool host_fails) {
    provider::MpUser user{user_id_, "local", "o_catalog_cache"};
    return provider::PlaceOrder(*provider_db_, FakePayOrderGateway(host_fails), user,
                                {deal_, quantity, {}, {}}, SystemClock::Instance().NowMs());
  }

  std::string p_;
  std::unique_ptr<storage::Db> provider_db_;
  std::string deal_;
  std::string user_id_;
};

TEST_P(CatalogCacheTest, ASaleAndACancellationShowOnTheNextRequest) {
  // Read twice: the second answer comes from the cache.
  EXPECT_EQ(ListedStock(), 20);
  EXPECT_EQ(ListedStock(), 20);
  EXPECT_EQ(PageStock(), 20);
  EXPECT_EQ(PageStock(), 20);

  ASSERT_TRUE(Buy(3, /*host_fails=*/false).ok());
  EXPECT_EQ(ListedStock(), 17);
  EXPECT_EQ(PageStock(), 17);
  EXPECT_EQ(ListedStock(), 17);

  // The host refuses a pay order: that reservation is cancelled at once, stock unchanged.
  ASSERT_FALSE(Buy(2, /*host_fails=*/true).ok());
  EXPECT_EQ(ListedStock(), 17);
  EXPECT_EQ(PageStock(), 17);

  // The unpaid order expires: cancelled, its 3 units back, on the next request.
  const int64_t after_window = SystemClock::Instance().NowMs() + provider::kOrderPaymentWindowMs +
                               provider::kUnpaidOrderGraceMs + 60'000;
  ASSERT_EQ(*provider::ExpireUnpaidOrders(*provider_db_, after_window), 1);
  EXPECT_EQ(ListedStock(), 20);
  EXPECT_EQ(PageStock(), 20);
}

TEST_P(CatalogCacheTest, EveryQueryKeepsItsOwnPageAndBadQueriesStillFail) {
  auto all = ParseBody(Get(p_ + "/mp/v1/deals?limit=50")).at("items").as_array();
  ASSERT_GT(all.size(), 2u);
  // The same query spelled differently is the same page; other queries are other pages.
  EXPECT_EQ(Get(p_ + "/mp/v1/deals").body, Get(p_ + "/mp/v1/deals?limit=10").body);
  auto two = ParseBody(Get(p_ + "/mp/v1/deals?limit=2"));
  ASSERT_EQ(two.at("items").as_array().size(), 2u);
  EXPECT_EQ(two.at("items").at(0).at("id"), all[0].at("id"));
  auto next =
      ParseBody(Get(p_ + "/mp/v1/deals?limit=2&cursor=" + std::string(two.at("next_cursor").as_string())));
  EXPECT_EQ(next.at("items").at(0).at("id"), all[2].at("id"));
  for (int i = 0; i < 2; ++i) {
    auto hotels = ParseBody(Get(p_ + "/mp/v1/deals?category=hotel&limit=50")).at("items").as_array();
    ASSERT_FALSE(hotels.empty());
    for (const auto& d : hotels) EXPECT_EQ(d.at("category").as_string(), "hotel");
    EXPECT_LT(hotels.size(), all.size());
  }
  // Answered after the valid pages are cached: still problems, never a cached page.
  for (int i = 0; i < 2; ++i) {
    ExpectProblem(Get(p_ + "/mp/v1/deals?limit=0"), 400, "validation_failed");
    ExpectProblem(Get(p_ + "/mp/v1/deals?category=nope"), 400, "validation_failed");
    ExpectProblem(Get(p_ + "/mp/v1/deals?cursor=deal_bad"), 400, "validation_failed");
  }
}

TEST_P(CatalogCacheTest, ANewDealIsListedAtOnce) {
  const Headers auth = LoginStaff(p_, "coucou");
  auto stores = ParseBody(Get(p_ + "/merchant/v1/stores", auth)).at("items").as_array();
  ASSERT_FALSE(stores.empty());
  const std::string first_before(ParseBody(Get(p_ + "/mp/v1/deals")).at("items").at(0).at("id").as_string());
  EXPECT_EQ(ParseBody(Get(p_ + "/mp/v1/deals")).at("items").at(0).at("id").as_string(), first_before);
  json::object deal{{"type", "set_meal"},
                    {"category", "catering"},
                    {"title", "湊湊缓存测试套餐"},
                    {"price_fen", 6800},
                    {"original_price_fen", 9800},
                    {"items", json::array{json::object{{"name", "单人锅底"}, {"price_fen", 3800}}}},
                    {"stock", 100},
                    {"valid_from", "2026-01-01T00:00:00+08:00"},
                    {"valid_to", "2036-01-01T00:00:00+08:00"},
                    {"store_ids", json::array{stores[0].at("id")}}};
  auto created = Post(p_ + "/merchant/v1/deals", json::serialize(deal), auth);
  ASSERT_EQ(created.status, 201) << created.body;
  // Newest first: the new deal heads the list on the next request.
  EXPECT_EQ(ParseBody(Get(p_ + "/mp/v1/deals")).at("items").at(0).at("id"), ParseBody(created).at("id"));
}

TEST_P(CatalogCacheTest, ConcurrentReadersOfOneCachedPageGetItWhole) {
  const std::string list = Get(p_ + "/mp/v1/deals?limit=50").body;
  const std::string page = Get(p_ + "/mp/v1/deals/" + deal_).body;
  ASSERT_FALSE(list.empty());
  ASSERT_FALSE(page.empty());
  std::atomic<int> same{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if ((t + i) % 2) {
          same += Get(p_ + "/mp/v1/deals?limit=50").body == list;
        } else {
          same += Get(p_ + "/mp/v1/deals/" + deal_).body == page;
        }
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(same.load(), 120);
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogCacheTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

}  // namespace
}  // namespace hutong::testing
