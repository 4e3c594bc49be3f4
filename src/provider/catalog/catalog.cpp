#include "provider/catalog/catalog.h"

#include <boost/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/validate.h"
#include "provider/catalog/categories.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;
using storage::Value;

namespace {

constexpr Query kInsertBrand{"catalog.insert_brand", Access::kWrite,
                             "INSERT INTO brands (id, name, logo_url, description, created_at) "
                             "VALUES ($1, $2, $3, $4, $5)"};
constexpr Query kBrandExists{"catalog.brand_exists", Access::kRead, "SELECT 1 FROM brands WHERE id = $1"};
constexpr Query kInsertStore{
    "catalog.insert_store", Access::kWrite,
    "INSERT INTO stores (id, brand_id, name, category, city, address, lat, lng, hours, phone, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"};
constexpr Query kStoreOfBrand{"catalog.store_of_brand", Access::kRead,
                              "SELECT city, lat, lng FROM stores WHERE id = $1 AND brand_id = $2"};
constexpr Query kInsertDeal{
    "catalog.insert_deal", Access::kWrite,
    "INSERT INTO deals (id, brand_id, type, category, city, title, description, image_url, price_fen, "
    "original_price_fen, face_value_fen, uses, items, stock_total, stock_left, sold, valid_from, valid_to, "
    "usage_rules, refund_policy, commission_bps, per_user_limit, status, created_at, updated_at) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 0, $15, $16, $17, $18, $19, $20, "
    "'online', $21, $21)"};
constexpr Query kInsertDealStore{"catalog.insert_deal_store", Access::kWrite,
                                 "INSERT INTO deal_stores (deal_id, store_id) VALUES ($1, $2)"};
constexpr Query kInsertSlot{"catalog.insert_slot", Access::kWrite,
                            "INSERT INTO deal_slots (deal_id, slot, starts_at, stock_total, stock_left) "
                            "VALUES ($1, $2, $3, $4, $4)"};

constexpr Query kGetDeal{"catalog.get_deal", Access::kRead,
                         "SELECT d.id, d.type, d.category, d.city, d.title, d.description, d.image_url, "
                         "d.price_fen, d.original_price_fen, d.face_value_fen, d.uses, d.items, "
                         "d.stock_total, d.stock_left, d.sold, d.valid_from, d.valid_to, d.usage_rules, "
                         "d.refund_policy, d.commission_bps, d.per_user_limit, d.status, d.created_at, "
                         "d.updated_at, b.id, b.name, b.logo_url "
                         "FROM deals d JOIN brands b ON b.id = d.brand_id WHERE d.id = $1"};
constexpr Query kDealStores{"catalog.deal_stores", Access::kRead,
                            "SELECT s.id, s.name, s.category, s.city, s.address, s.lat, s.lng, s.hours, "
                            "s.phone FROM deal_stores ds JOIN stores s ON s.id = ds.store_id "
                            "WHERE ds.deal_id = $1 ORDER BY s.id"};
constexpr Query kDealSlots{"catalog.deal_slots", Access::kRead,
                           "SELECT slot, starts_at, stock_total, stock_left FROM deal_slots "
                           "WHERE deal_id = $1 ORDER BY starts_at, slot"};
constexpr Query kListDeals{
    "catalog.list_deals", Access::kRead,
    "SELECT d.id, d.type, d.category, d.city, d.title, d.image_url, d.price_fen, d.original_price_fen, "
    "d.stock_left, d.sold, d.refund_policy, b.id, b.name FROM deals d JOIN brands b ON b.id = d.brand_id "
    "WHERE d.status = 'online' AND (CAST($1 AS TEXT) = '' OR d.category = $1) "
    "AND (CAST($2 AS TEXT) = '' OR d.city = $2) AND (CAST($3 AS TEXT) = '' OR d.id < $3) "
    "ORDER BY d.id DESC LIMIT $4"};
constexpr Query kDealIndex{
    "catalog.deal_index", Access::kRead,
    "SELECT d.id, d.title, b.name, d.type, d.category, d.city, d.price_fen, d.original_price_fen, "
    "d.commission_bps, d.sold, d.status, "
    "(SELECT s.lat FROM deal_stores ds JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = d.id "
    " ORDER BY s.id LIMIT 1), "
    "(SELECT s.lng FROM deal_stores ds JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = d.id "
    " ORDER BY s.id LIMIT 1) "
    "FROM deals d JOIN brands b ON b.id = d.brand_id ORDER BY d.id"};
constexpr Query kDealIndexOne{
    "catalog.deal_index_one", Access::kRead,
    "SELECT d.id, d.title, b.name, d.type, d.category, d.city, d.price_fen, d.original_price_fen, "
    "d.commission_bps, d.sold, d.status, "
    "(SELECT s.lat FROM deal_stores ds JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = d.id "
    " ORDER BY s.id LIMIT 1), "
    "(SELECT s.lng FROM deal_stores ds JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = d.id "
    " ORDER BY s.id LIMIT 1) "
    "FROM deals d JOIN brands b ON b.id = d.brand_id WHERE d.id = $1"};
constexpr Query kAllDealStores{"catalog.all_deal_stores", Access::kRead,
                               "SELECT ds.deal_id, s.id, s.name, s.address, s.lat, s.lng FROM deal_stores ds "
                               "JOIN stores s ON s.id = ds.store_id ORDER BY ds.deal_id, s.id"};
constexpr Query kOneDealStores{"catalog.one_deal_stores", Access::kRead,
                               "SELECT ds.deal_id, s.id, s.name, s.address, s.lat, s.lng FROM deal_stores ds "
                               "JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = $1 ORDER BY s.id"};

protocol::DealIndexEntry IndexEntryFromRow(const storage::Row& r) {
  protocol::DealIndexEntry e;
  e.deal_id = r.Str(0);
  e.title = r.Str(1);
  e.brand_name = r.Str(2);
  e.type = r.Str(3);
  e.category = r.Str(4);
  e.city = r.Str(5);
  e.price_fen = r.Int(6);
  e.original_price_fen = r.Int(7);
  e.commission_bps = r.Int(8);
  e.sales = r.Int(9);
  e.status = r.Str(10);
  if (!r.IsNull(11) && !r.IsNull(12)) {
    e.lat = r.Double(11);
    e.lng = r.Double(12);
  }
  e.stores.emplace();
  return e;
}

protocol::StoreIndexEntry StoreEntryFromRow(const storage::Row& r) {
  return protocol::StoreIndexEntry{r.Str(1), r.Str(2), r.Str(3), r.Double(4), r.Double(5)};
}

}  // namespace

Result<std::string> CreateBrand(storage::Tx& tx, const BrandInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.name, "name", 100));
  RETURN_IF_ERROR(CheckText(in.logo_url, "logo_url", 500, false));
  RETURN_IF_ERROR(CheckText(in.description, "description", 2000, false));
  std::string id = NewId("brand");
  RETURN_IF_ERROR(tx.Exec(kInsertBrand, {id, in.name, in.logo_url, in.description, now_ms}));
  return id;
}

Result<std::string> CreateStore(storage::Tx& tx, const StoreInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.name, "name", 100));
  RETURN_IF_ERROR(CheckText(in.city, "city", 64));
  RETURN_IF_ERROR(CheckText(in.address, "address", 300));
  RETURN_IF_ERROR(CheckText(in.hours, "hours", 100));
  RETURN_IF_ERROR(CheckText(in.phone, "phone", 32, false));
  if (FindCategory(in.category) == nullptr) return Invalid("'category' is not a known category");
  if (!(in.lat >= -90 && in.lat <= 90) || !(in.lng >= -180 && in.lng <= 180)) {
    return Invalid("'lat'/'lng' are out of range");
  }
  ASSIGN_OR_RETURN(auto brand, tx.Exec(kBrandExists, {in.brand_id}));
  if (brand.empty()) return NotFound("brand not found");
  std::string id = NewId("store");
  RETURN_IF_ERROR(tx.Exec(kInsertStore, {id, in.brand_id, in.name, in.category, in.city, in.address, in.lat,
                                         in.lng, in.hours, in.phone, now_ms}));
  return id;
}

Result<std::string> CreateDeal(storage::Tx& tx, const DealInput& in, int64_t now_ms) {
  RETURN_IF_ERROR(CheckText(in.title, "title", 200));
  RETURN_IF_ERROR(CheckText(in.description, "description", 4000, false));
  RETURN_IF_ERROR(CheckText(in.image_url, "image_url", 500, false));
  RETURN_IF_ERROR(CheckText(in.usage_rules, "usage_rules", 4000, false));
  if (!IsDealType(in.type)) return Invalid("'type' must be set_meal, voucher, multi_use or reservation");
  if (FindCategory(in.category) == nullptr) return Invalid("'category' is not a known category");
  constexpr Fen kMaxPrice = 100'000'000'00;  // one hundred million yuan
  if (in.price_fen <= 0 || in.price_fen > kMaxPrice) return Invalid("'price_fen' must be positive");
  if (in.original_price_fen < in.price_fen || in.original_price_fen > kMaxPrice) {
    return Invalid("'original_price_fen' must be at least 'price_fen'");
  }
  if (in.valid_to <= in.valid_from) return Invalid("'valid_to' must be after 'valid_from'");
  if (in.refund_policy != "anytime" && in.refund_policy != "no_refund") {
    return Invalid("'refund_policy' must be anytime or no_refund");
  }
  if (in.commission_bps < 0 || in.commission_bps > 10000) return Invalid("'commission_bps' must be 0..10000");
  if (in.per_user_limit < 0 || in.per_user_limit > 1000) return Invalid("'per_user_limit' must be 0..1000");
  if (in.store_ids.empty()) return Invalid("a deal needs at least one store");

  int64_t stock = in.stock;
  if (in.type == "voucher") {
    if (!in.face_value_fen || *in.face_value_fen <= in.price_fen || *in.face_value_fen > kMaxPrice) {
      return Invalid("a voucher needs 'face_value_fen' above its price");
    }
  } else if (in.face_value_fen) {
    return Invalid("'face_value_fen' is only for vouchers");
  }
  if (in.type == "multi_use") {
    if (in.uses < 2 || in.uses > 100) return Invalid("a multi-use card needs 2..100 'uses'");
  } else if (in.uses != 1) {
    return Invalid("'uses' is only for multi-use cards");
  }
  if (in.type == "set_meal") {
    if (in.items.empty() || in.items.size() > 50) return Invalid("a set meal lists 1..50 items");
    for (const auto& item : in.items) {
      RETURN_IF_ERROR(CheckText(item.name, "items.name", 100));
      if (item.quantity < 1 || item.quantity > 1000 || item.price_fen < 0 || item.price_fen > kMaxPrice) {
        return Invalid("set meal items need a quantity ≥ 1 and a price ≥ 0");
      }
    }
  }
  if (in.type == "reservation") {
    if (in.slots.empty() || in.slots.size() > 1000) return Invalid("a reservation lists 1..1000 slots");
    stock = 0;
    std::set<std::string> keys;
    for (const auto& s : in.slots) {
      RETURN_IF_ERROR(CheckText(s.slot, "slots.slot", 32));
      if (!keys.insert(s.slot).second) return Invalid("slot '" + s.slot + "' is listed twice");
      if (s.stock < 0 || s.stock > 1'000'000) return Invalid("slot stock must be 0..1000000");
      stock += s.stock;
    }
  } else if (!in.slots.empty()) {
    return Invalid("'slots' are only for reservations");
  }
  if (stock < 0 || stock > 100'000'000) return Invalid("'stock' must be 0..100000000");

  // Stores must belong to the deal's brand; the deal's city is its first store's.
  std::string city;
  std::set<std::string> seen;
  for (const auto& store_id : in.store_ids) {
    if (!seen.insert(store_id).second) return Invalid("store '" + store_id + "' is listed twice");
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kStoreOfBrand, {store_id, in.brand_id}));
    if (rows.empty()) return NotFound("store '" + store_id + "' not found for this brand");
    if (city.empty()) city = rows[0].Str(0);
  }

  json::array items;
  for (const auto& item : in.items) {
    items.push_back(
        json::object{{"name", item.name}, {"quantity", item.quantity}, {"price_fen", item.price_fen}});
  }
  std::string id = NewId("deal");
  RETURN_IF_ERROR(tx.Exec(kInsertDeal, {id,
                                        in.brand_id,
                                        in.type,
                                        in.category,
                                        city,
                                        in.title,
                                        in.description,
                                        in.image_url,
                                        in.price_fen,
                                        in.original_price_fen,
                                        storage::Opt(in.face_value_fen),
                                        in.uses,
                                        json::serialize(items),
                                        stock,
                                        in.valid_from,
                                        in.valid_to,
                                        in.usage_rules,
                                        in.refund_policy,
                                        in.commission_bps,
                                        in.per_user_limit,
                                        now_ms}));
  for (const auto& store_id : in.store_ids) RETURN_IF_ERROR(tx.Exec(kInsertDealStore, {id, store_id}));
  for (const auto& s : in.slots) RETURN_IF_ERROR(tx.Exec(kInsertSlot, {id, s.slot, s.starts_at, s.stock}));
  return id;
}

Result<json::object> GetDealJson(storage::Db& db, const std::string& deal_id) {
  if (!IsWellFormedId(deal_id, "deal")) return NotFound("deal not found");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kGetDeal, {deal_id}));
    if (rows.empty() || rows[0].Str(21) != "online") return NotFound("deal not found");
    const auto& r = rows[0];
    json::object d;
    d["id"] = r.Str(0);
    d["type"] = r.Str(1);
    d["category"] = r.Str(2);
    if (const Category* c = FindCategory(r.Str(2))) d["category_name"] = c->name_zh;
    d["city"] = r.Str(3);
    d["title"] = r.Str(4);
    d["description"] = r.Str(5);
    d["image_url"] = r.Str(6);
    d["price_fen"] = r.Int(7);
    d["original_price_fen"] = r.Int(8);
    if (!r.IsNull(9)) d["face_value_fen"] = r.Int(9);
    d["uses"] = r.Int(10);
    boost::system::error_code ec;
    json::value items = json::parse(r.Str(11), ec);
    d["items"] = ec ? json::value(json::array()) : items;
    d["stock_total"] = r.Int(12);
    d["stock_left"] = r.Int(13);
    d["sold"] = r.Int(14);
    d["valid_from"] = FormatRfc3339(r.Int(15));
    d["valid_to"] = FormatRfc3339(r.Int(16));
    d["usage_rules"] = r.Str(17);
    d["refund_policy"] = r.Str(18);
    d["commission_bps"] = r.Int(19);
    d["per_user_limit"] = r.Int(20);
    d["status"] = r.Str(21);
    d["created_at"] = FormatRfc3339(r.Int(22));
    d["updated_at"] = FormatRfc3339(r.Int(23));
    d["brand"] = json::object{{"id", r.Str(24)}, {"name", r.Str(25)}, {"logo_url", r.Str(26)}};

    ASSIGN_OR_RETURN(auto stores, tx.Exec(kDealStores, {deal_id}));
    json::array store_list;
    for (const auto& s : stores) {
      store_list.push_back(json::object{{"id", s.Str(0)},
                                        {"name", s.Str(1)},
                                        {"category", s.Str(2)},
                                        {"city", s.Str(3)},
                                        {"address", s.Str(4)},
                                        {"lat", s.Double(5)},
                                        {"lng", s.Double(6)},
                                        {"hours", s.Str(7)},
                                        {"phone", s.Str(8)}});
    }
    d["stores"] = std::move(store_list);
    json::array slot_list;
    if (r.Str(1) == "reservation") {
      ASSIGN_OR_RETURN(auto slots, tx.Exec(kDealSlots, {deal_id}));
      for (const auto& s : slots) {
        slot_list.push_back(json::object{{"slot", s.Str(0)},
                                         {"starts_at", FormatRfc3339(s.Int(1))},
                                         {"stock_total", s.Int(2)},
                                         {"stock_left", s.Int(3)}});
      }
    }
    d["slots"] = std::move(slot_list);
    return d;
  });
}

Result<json::object> ListDealsJson(storage::Db& db, const DealFilter& f) {
  if (!f.category.empty() && FindCategory(f.category) == nullptr) {
    return Invalid("'category' is not a known category");
  }
  if (!f.cursor.empty() && !IsWellFormedId(f.cursor, "deal")) return Invalid("'cursor' is not valid");
  if (f.limit < 1 || f.limit > 50) return Invalid("'limit' must be 1..50");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kListDeals, {f.category, f.city, f.cursor, f.limit + 1}));
    json::array items;
    for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < f.limit; ++i) {
      const auto& r = rows[i];
      items.push_back(json::object{{"id", r.Str(0)},
                                   {"type", r.Str(1)},
                                   {"category", r.Str(2)},
                                   {"city", r.Str(3)},
                                   {"title", r.Str(4)},
                                   {"image_url", r.Str(5)},
                                   {"price_fen", r.Int(6)},
                                   {"original_price_fen", r.Int(7)},
                                   {"stock_left", r.Int(8)},
                                   {"sold", r.Int(9)},
                                   {"refund_policy", r.Str(10)},
                                   {"brand", json::object{{"id", r.Str(11)}, {"name", r.Str(12)}}}});
    }
    json::object out;
    const bool more = static_cast<int64_t>(rows.size()) > f.limit;
    out["next_cursor"] = more ? json::value(items.back().as_object().at("id")) : json::value(nullptr);
    out["items"] = std::move(items);
    return out;
  });
}

Result<std::vector<protocol::DealIndexEntry>> DealIndex(storage::Db& db) {
  return db.Read([&](storage::Tx& tx) -> Result<std::vector<protocol::DealIndexEntry>> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kDealIndex));
    ASSIGN_OR_RETURN(auto stores, tx.Exec(kAllDealStores));
    std::vector<protocol::DealIndexEntry> out;
    out.reserve(rows.size());
    size_t si = 0;
    for (const auto& r : rows) {
      out.push_back(IndexEntryFromRow(r));
      // Both ordered by deal id: walk the stores alongside.
      while (si < stores.size() && stores[si].Str(0) < out.back().deal_id) ++si;
      for (; si < stores.size() && stores[si].Str(0) == out.back().deal_id; ++si) {
        out.back().stores->push_back(StoreEntryFromRow(stores[si]));
      }
    }
    return out;
  });
}

Result<std::optional<protocol::DealIndexEntry>> DealIndexEntryFor(storage::Tx& tx,
                                                                  const std::string& deal_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kDealIndexOne, {deal_id}));
  if (rows.empty()) return std::optional<protocol::DealIndexEntry>();
  auto e = IndexEntryFromRow(rows[0]);
  ASSIGN_OR_RETURN(auto stores, tx.Exec(kOneDealStores, {deal_id}));
  for (const auto& st : stores) e.stores->push_back(StoreEntryFromRow(st));
  return std::optional<protocol::DealIndexEntry>(std::move(e));
}

}  // namespace hutong::provider
