#include "provider/merchant/merchant_routes.h"

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/json.h"
#include "protocol/idempotency.h"
#include "provider/catalog/catalog.h"
#include "provider/catalog/deal_page_cache.h"
#include "provider/hosts/host_sync.h"
#include "provider/merchant/staff_auth.h"

namespace hutong::provider {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kBrandStores{"merchant.brand_stores", Access::kRead,
                             "SELECT id, name, category, city, address, lat, lng, hours, phone FROM stores "
                             "WHERE brand_id = $1 ORDER BY id"};

json::object StaffJson(const Staff& s) {
  json::object o{{"id", s.id}, {"account", s.account}, {"name", s.name}, {"role", s.role}};
  o["brand_id"] = s.brand_id.empty() ? json::value(nullptr) : json::value(s.brand_id);
  return o;
}

Result<std::vector<std::string>> StringArray(const json::object& o, std::string_view key, size_t max_items) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::vector<std::string>();
  if (!it->value().is_array()) return Invalid("'" + std::string(key) + "' must be an array of strings");
  const auto& arr = it->value().as_array();
  if (arr.size() > max_items) return Invalid("'" + std::string(key) + "' has too many entries");
  std::vector<std::string> out;
  for (const auto& v : arr) {
    if (!v.is_string() || v.as_string().size() > 64) {
      return Invalid("'" + std::string(key) + "' must be an array of strings");
    }
    out.emplace_back(v.as_string().c_str());
  }
  return out;
}

Result<int64_t> RequireTime(const json::object& o, std::string_view key) {
  ASSIGN_OR_RETURN(auto text, RequireString(o, key, 64));
  auto ms = ParseRfc3339(text);
  if (!ms) return Invalid("'" + std::string(key) + "' must be an RFC 3339 time");
  return *ms;
}

// The body of POST /merchant/v1/deals → DealInput (brand comes from the caller).
Result<DealInput> ParseDealInput(const json::object& o) {
  DealInput d;
  ASSIGN_OR_RETURN(d.type, RequireString(o, "type", 32));
  ASSIGN_OR_RETURN(d.category, RequireString(o, "category", 32));
  ASSIGN_OR_RETURN(d.title, RequireString(o, "title", 200));
  ASSIGN_OR_RETURN(auto description, OptionalString(o, "description", 4000));
  d.description = description.value_or("");
  ASSIGN_OR_RETURN(auto image, OptionalString(o, "image_url", 500));
  d.image_url = image.value_or("");
  ASSIGN_OR_RETURN(d.price_fen, RequireInt(o, "price_fen", 1, 100'000'000'00));
  ASSIGN_OR_RETURN(d.original_price_fen, RequireInt(o, "original_price_fen", 1, 100'000'000'00));
  ASSIGN_OR_RETURN(d.face_value_fen, OptionalInt(o, "face_value_fen", 1, 100'000'000'00));
  ASSIGN_OR_RETURN(auto uses, OptionalInt(o, "uses", 1, 100));
  d.uses = uses.value_or(1);
  ASSIGN_OR_RETURN(auto stock, OptionalInt(o, "stock", 0, 100'000'000));
  d.stock = stock.value_or(0);
  ASSIGN_OR_RETURN(d.valid_from, RequireTime(o, "valid_from"));
  ASSIGN_OR_RETURN(d.valid_to, RequireTime(o, "valid_to"));
  ASSIGN_OR_RETURN(auto rules, OptionalString(o, "usage_rules", 4000));
  d.usage_rules = rules.value_or("");
  ASSIGN_OR_RETURN(auto policy, OptionalString(o, "refund_policy", 16));
  d.refund_policy = policy.value_or("anytime");
  ASSIGN_OR_RETURN(auto bps, OptionalInt(o, "commission_bps", 0, 10000));
  d.commission_bps = bps.value_or(0);
  ASSIGN_OR_RETURN(auto limit, OptionalInt(o, "per_user_limit", 0, 1000));
  d.per_user_limit = limit.value_or(0);
  ASSIGN_OR_RETURN(d.store_ids, StringArray(o, "store_ids", 200));

  if (auto it = o.find("items"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return Invalid("'items' must be an array");
    for (const auto& v : it->value().as_array()) {
      if (!v.is_object()) return Invalid("each item must be an object");
      DealItem item;
      ASSIGN_OR_RETURN(item.name, RequireString(v.as_object(), "name", 100));
      ASSIGN_OR_RETURN(auto qty, OptionalInt(v.as_object(), "quantity", 1, 1000));
      item.quantity = qty.value_or(1);
      ASSIGN_OR_RETURN(item.price_fen, RequireInt(v.as_object(), "price_fen", 0, 100'000'000'00));
      d.items.push_back(std::move(item));
      if (d.items.size() > 50) return Invalid("a set meal lists 1..50 items");
    }
  }
  if (auto it = o.find("slots"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return Invalid("'slots' must be an array");
    for (const auto& v : it->value().as_array()) {
      if (!v.is_object()) return Invalid("each slot must be an object");
      SlotInput slot;
      ASSIGN_OR_RETURN(slot.slot, RequireString(v.as_object(), "slot", 32));
      ASSIGN_OR_RETURN(slot.starts_at, RequireTime(v.as_object(), "starts_at"));
      ASSIGN_OR_RETURN(slot.stock, RequireInt(v.as_object(), "stock", 0, 1'000'000));
      d.slots.push_back(std::move(slot));
      if (d.slots.size() > 1000) return Invalid("a reservation lists 1..1000 slots");
    }
  }
  return d;
}

}  // namespace

void RegisterMerchantRoutes(http::Router& router, ProviderDeps deps) {
  router.Post("/merchant/v1/auth/login", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto account, RequireString(body, "account", 64));
    ASSIGN_OR_RETURN(auto password, RequireString(body, "password", 256));
    ASSIGN_OR_RETURN(auto session, StaffLogin(deps.db, account, password, deps.clock.NowMs()));
    return http::Response::Json(200, json::object{{"token", session.token},
                                                  {"expires_at", FormatRfc3339(session.expires_at)},
                                                  {"staff", StaffJson(session.staff)}});
  });

  router.Get("/merchant/v1/me", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, deps.clock.NowMs()));
    return http::Response::Json(200, StaffJson(staff));
  });

  router.Get("/merchant/v1/stores", [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, deps.clock.NowMs()));
    if (staff.brand_id.empty()) return Error(ErrorCode::kForbidden, "only a brand's staff have stores");
    ASSIGN_OR_RETURN(auto rows,
                     deps.db.Read([&](storage::Tx& tx) { return tx.Exec(kBrandStores, {staff.brand_id}); }));
    json::array items;
    for (const auto& s : rows) {
      items.push_back(json::object{{"id", s.Str(0)},
                                   {"name", s.Str(1)},
                                   {"category", s.Str(2)},
                                   {"city", s.Str(3)},
                                   {"address", s.Str(4)},
                                   {"lat", s.Double(5)},
                                   {"lng", s.Double(6)},
                                   {"hours", s.Str(7)},
                                   {"phone", s.Str(8)}});
    }
    return http::Response::Json(200, json::object{{"items", std::move(items)}});
  });

  auto create_deal = [deps](http::Request& req) -> Result<http::Response> {
    ASSIGN_OR_RETURN(auto staff, AuthenticateStaff(deps.db, req, deps.clock.NowMs()));
    ASSIGN_OR_RETURN(auto body, ParseJsonObject(req.body));
    ASSIGN_OR_RETURN(auto input, ParseDealInput(body));
    if (staff.role == "ops") {
      // Operations may create a deal for any brand, named in the body.
      ASSIGN_OR_RETURN(input.brand_id, RequireString(body, "brand_id", 64));
    } else {
      input.brand_id = staff.brand_id;
    }
    const int64_t now = deps.clock.NowMs();
    ASSIGN_OR_RETURN(auto deal_id, deps.db.Write([&](storage::Tx& tx) -> Result<std::string> {
      ASSIGN_OR_RETURN(auto id, CreateDeal(tx, input, now));
      // Every connected host learns of it through the outbox, never inside this request.
      RETURN_IF_ERROR(EnqueueHostSync(tx, SyncKind::kDeal, id, now));
      return id;
    }));
    BumpCatalogVersion();  // committed: cached list pages must show the new deal
    ASSIGN_OR_RETURN(auto deal, GetDealJson(deps.db, deal_id));
    auto resp = http::Response::Json(201, deal);
    resp.headers.emplace_back("Location", "/mp/v1/deals/" + deal_id);
    return resp;
  };
  // A retried create (lost answer, double click) must not make a second deal.
  router.Post("/merchant/v1/deals",
              protocol::WithIdempotency(deps.db, deps.clock, "/merchant/v1/deals", std::move(create_deal)));
}

}  // namespace hutong::provider
