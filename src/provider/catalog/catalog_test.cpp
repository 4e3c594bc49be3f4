// Catalog repository on SQLite and PostgreSQL: validation per deal type, stock from slots,
// brand isolation of stores, and reading back what was written.
#include "provider/catalog/catalog.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "provider/provider.h"
#include "support/test_env.h"

namespace hutong::provider {
namespace {
using hutong::testing::Backend;

class CatalogTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dbs_ = std::make_unique<hutong::testing::FreshDatabases>(GetParam());
    storage::DbOptions options;
    options.default_schema = "provider";
    auto db = storage::OpenDb(dbs_->provider_db(), options);
    ASSERT_TRUE(db.ok()) << db.error().internal;
    db_ = std::move(db).value();
    ASSERT_TRUE(storage::Migrate(*db_, ProviderMigrations()).ok());
    auto ids = db_->Write([&](storage::Tx& tx) -> Result<std::pair<std::string, std::string>> {
      ASSIGN_OR_RETURN(auto brand, CreateBrand(tx, {"湊湊", "", ""}, kNow));
      ASSIGN_OR_RETURN(auto store, CreateStore(tx,
                                               {brand, "三里屯店", "catering", "北京", "三里屯路19号", 39.93,
                                                116.45, "10:00-22:00", ""},
                                               kNow));
      return std::make_pair(brand, store);
    });
    ASSERT_TRUE(ids.ok()) << ids.error().internal;
    brand_ = ids->first;
    store_ = ids->second;
  }

  DealInput Base(const std::string& type) {
    DealInput d;
    d.brand_id = brand_;
    d.type = type;
    d.category = "catering";
    d.title = "测试团购";
    d.price_fen = 1000;
    d.original_price_fen = 2000;
    d.stock = 10;
    d.valid_from = kNow;
    d.valid_to = kNow + 86'400'000;
    d.store_ids = {store_};
    if (type == "set_meal") d.items = {{"锅底", 1, 1000}};
    if (type == "voucher") d.face_value_fen = 1500;
    if (type == "multi_use") d.uses = 5;
    if (type == "reservation") d.slots = {{"2026-12-24", kNow, 3}, {"2026-12-25", kNow + 86'400'000, 4}};
    return d;
  }

  Result<std::string> Create(const DealInput& d) {
    return db_->Write([&](storage::Tx& tx) { return CreateDeal(tx, d, kNow); });
  }

  static constexpr int64_t kNow = 1'790'000'000'000;
  std::unique_ptr<hutong::testing::FreshDatabases> dbs_;
  std::unique_ptr<storage::Db> db_;
  std::string brand_, store_;
};

TEST_P(CatalogTest, EveryTypeRoundTrips) {
  for (const char* type : {"set_meal", "voucher", "multi_use", "reservation"}) {
    auto id = Create(Base(type));
    ASSERT_TRUE(id.ok()) << type << ": " << id.error().detail;
    auto deal = GetDealJson(*db_, *id);
    ASSERT_TRUE(deal.ok());
    EXPECT_EQ(deal->at("type").as_string(), type);
    EXPECT_EQ(deal->at("city").as_string(), "北京");  // from its store
    EXPECT_EQ(deal->at("brand").at("name").as_string(), "湊湊");
    EXPECT_EQ(deal->at("valid_from").as_string(), FormatRfc3339(kNow));
    if (std::string_view(type) == "reservation") {
      EXPECT_EQ(deal->at("stock_left").as_int64(), 7);  // 3 + 4, stock field ignored
      EXPECT_EQ(deal->at("slots").as_array().size(), 2u);
    } else {
      EXPECT_EQ(deal->at("stock_left").as_int64(), 10);
    }
  }
  auto index = DealIndex(*db_);
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->size(), 4u);
  EXPECT_NEAR(*index->front().lat, 39.93, 1e-9);
  EXPECT_EQ(index->front().brand_name, "湊湊");
}

TEST_P(CatalogTest, RejectsInvalidDealsWithoutWriting) {
  std::vector<std::pair<const char*, DealInput>> bad;
  auto add = [&](const char* why, DealInput d) { bad.emplace_back(why, std::move(d)); };
  {
    auto d = Base("set_meal");
    d.items.clear();
    add("set meal without items", d);
  }
  {
    auto d = Base("voucher");
    d.face_value_fen = 900;
    add("voucher worth less than its price", d);
  }
  {
    auto d = Base("voucher");
    d.face_value_fen.reset();
    add("voucher without face value", d);
  }
  {
    auto d = Base("set_meal");
    d.face_value_fen = 5000;
    add("face value on a set meal", d);
  }
  {
    auto d = Base("multi_use");
    d.uses = 1;
    add("multi-use with one use", d);
  }
  {
    auto d = Base("set_meal");
    d.uses = 3;
    add("uses on a set meal", d);
  }
  {
    auto d = Base("reservation");
    d.slots.clear();
    add("reservation without slots", d);
  }
  {
    auto d = Base("reservation");
    d.slots.push_back(d.slots[0]);
    add("duplicate slot", d);
  }
  {
    auto d = Base("set_meal");
    d.slots = {{"x", kNow, 1}};
    add("slots on a set meal", d);
  }
  {
    auto d = Base("set_meal");
    d.price_fen = 0;
    add("free deal", d);
  }
  {
    auto d = Base("set_meal");
    d.original_price_fen = 999;
    add("original below price", d);
  }
  {
    auto d = Base("set_meal");
    d.valid_to = d.valid_from;
    add("empty validity", d);
  }
  {
    auto d = Base("set_meal");
    d.refund_policy = "sometimes";
    add("unknown refund policy", d);
  }
  {
    auto d = Base("set_meal");
    d.commission_bps = 10001;
    add("commission above 100%", d);
  }
  {
    auto d = Base("set_meal");
    d.category = "casino";
    add("unknown category", d);
  }
  {
    auto d = Base("set_meal");
    d.type = "lottery";
    add("unknown type", d);
  }
  {
    auto d = Base("set_meal");
    d.store_ids.clear();
    add("no store", d);
  }
  {
    auto d = Base("set_meal");
    d.store_ids = {store_, store_};
    add("store twice", d);
  }
  {
    auto d = Base("set_meal");
    d.stock = -1;
    add("negative stock", d);
  }
  {
    auto d = Base("set_meal");
    d.title = std::string(201, 'x');
    add("long title", d);
  }
  for (const auto& [why, d] : bad) {
    auto r = Create(d);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.error().code, ErrorCode::kValidationFailed) << why << ": " << r.error().detail;
  }
  EXPECT_TRUE(DealIndex(*db_)->empty());
}

TEST_P(CatalogTest, StoresOfAnotherBrandAreNotFound) {
  auto other = db_->Write([&](storage::Tx& tx) -> Result<std::string> {
    ASSIGN_OR_RETURN(auto brand, CreateBrand(tx, {"紫光园", "", ""}, kNow));
    return CreateStore(
        tx, {brand, "王府井店", "catering", "北京", "王府井大街138号", 39.91, 116.41, "06:30-21:30", ""},
        kNow);
  });
  ASSERT_TRUE(other.ok());
  auto d = Base("set_meal");
  d.store_ids = {store_, *other};
  auto r = Create(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(DealIndex(*db_)->empty());
}

TEST_P(CatalogTest, ListPagesNewestFirstAndFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(*Create(Base(i % 2 ? "voucher" : "set_meal")));
  DealFilter f;
  f.limit = 3;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto r = ListDealsJson(*db_, f);
    ASSERT_TRUE(r.ok());
    for (const auto& item : r->at("items").as_array()) seen.emplace_back(item.at("id").as_string());
    if (r->at("next_cursor").is_null()) break;
    f.cursor = std::string(r->at("next_cursor").as_string());
  }
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));
  f = {};
  f.city = "上海";
  EXPECT_TRUE(ListDealsJson(*db_, f)->at("items").as_array().empty());
  f = {};
  f.category = "hotel";
  EXPECT_TRUE(ListDealsJson(*db_, f)->at("items").as_array().empty());
  f.category = "nope";
  EXPECT_EQ(ListDealsJson(*db_, f).error().code, ErrorCode::kValidationFailed);
  EXPECT_EQ(GetDealJson(*db_, "deal_nope").error().code, ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         hutong::testing::BackendName);

}  // namespace
}  // namespace hutong::provider
