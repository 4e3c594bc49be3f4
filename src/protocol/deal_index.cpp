#include "protocol/deal_index.h"

#include "common/clock.h"
#include "common/json.h"

namespace hutong::protocol {

boost::json::value ToJson(const DealIndexEntry& e) {
  boost::json::object o;
  o["deal_id"] = e.deal_id;
  o["title"] = e.title;
  o["brand_name"] = e.brand_name;
  o["type"] = e.type;
  o["category"] = e.category;
  o["city"] = e.city;
  o["price_fen"] = e.price_fen;
  o["original_price_fen"] = e.original_price_fen;
  o["commission_bps"] = e.commission_bps;
  if (e.lat && e.lng) {
    o["lat"] = *e.lat;
    o["lng"] = *e.lng;
  }
  o["sales"] = e.sales;
  o["status"] = e.status;
  if (e.stores) {
    boost::json::array stores;
    for (const auto& s : *e.stores) {
      stores.push_back(boost::json::object{{"store_id", s.store_id},
                                           {"name", s.name},
                                           {"address", s.address},
                                           {"lat", s.lat},
                                           {"lng", s.lng}});
    }
    o["stores"] = std::move(stores);
  }
  return o;
}

Result<DealIndexEntry> DealIndexEntryFromJson(const boost::json::value& v) {
  if (!v.is_object()) return Invalid("each deal must be a JSON object");
  const auto& o = v.as_object();
  DealIndexEntry e;
  ASSIGN_OR_RETURN(e.deal_id, RequireString(o, "deal_id", 64));
  ASSIGN_OR_RETURN(e.title, RequireString(o, "title", 200));
  ASSIGN_OR_RETURN(auto brand, OptionalString(o, "brand_name", 100));
  e.brand_name = brand.value_or("");
  ASSIGN_OR_RETURN(e.type, RequireString(o, "type", 32));
  ASSIGN_OR_RETURN(e.category, RequireString(o, "category", 32));
  ASSIGN_OR_RETURN(e.city, RequireString(o, "city", 64));
  ASSIGN_OR_RETURN(e.price_fen, RequireInt(o, "price_fen", 1, 100'000'000'00));
  ASSIGN_OR_RETURN(e.original_price_fen, RequireInt(o, "original_price_fen", 0, 100'000'000'00));
  ASSIGN_OR_RETURN(auto bps, OptionalInt(o, "commission_bps", 0, 10000));
  e.commission_bps = bps.value_or(0);
  ASSIGN_OR_RETURN(e.lat, OptionalDouble(o, "lat", -90, 90));
  ASSIGN_OR_RETURN(e.lng, OptionalDouble(o, "lng", -180, 180));
  if (e.lat.has_value() != e.lng.has_value()) return Invalid("'lat' and 'lng' come together");
  ASSIGN_OR_RETURN(auto sales, OptionalInt(o, "sales", 0, INT64_MAX));
  e.sales = sales.value_or(0);
  ASSIGN_OR_RETURN(auto status, OptionalString(o, "status", 16));
  e.status = status.value_or("online");
  if (e.status != "online" && e.status != "offline") return Invalid("'status' must be online or offline");
  if (auto it = o.find("stores"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_array()) return Invalid("'stores' must be an array");
    const auto& arr = it->value().as_array();
    if (arr.size() > kMaxStoresPerDeal) return Invalid("'stores' holds at most 200 stores");
    std::vector<StoreIndexEntry> stores;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_object()) return Invalid("stores[" + std::to_string(i) + "] must be an object");
      const auto& so = arr[i].as_object();
      StoreIndexEntry s;
      ASSIGN_OR_RETURN(s.store_id, RequireString(so, "store_id", 64));
      ASSIGN_OR_RETURN(s.name, RequireString(so, "name", 100));
      ASSIGN_OR_RETURN(auto address, OptionalString(so, "address", 300));
      s.address = address.value_or("");
      ASSIGN_OR_RETURN(auto lat, OptionalDouble(so, "lat", -90, 90));
      ASSIGN_OR_RETURN(auto lng, OptionalDouble(so, "lng", -180, 180));
      if (!lat || !lng) return Invalid("stores[" + std::to_string(i) + "]: 'lat' and 'lng' are required");
      s.lat = *lat;
      s.lng = *lng;
      for (const auto& prev : stores) {
        if (prev.store_id == s.store_id)
          return Invalid("stores[" + std::to_string(i) + "]: duplicate store_id");
      }
      stores.push_back(std::move(s));
    }
    // A deal's own lat/lng default to its first store's, for distance ranking in search.
    if (!e.lat && !stores.empty()) {
      e.lat = stores[0].lat;
      e.lng = stores[0].lng;
    }
    e.stores = std::move(stores);
  }
  return e;
}

bool IsCampaignSlug(std::string_view slug) {
  if (slug.empty() || slug.size() > 64 || slug[0] == '-') return false;
  for (char c : slug) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

boost::json::value ToJson(const CampaignIndexEntry& e) {
  boost::json::array keywords(e.keywords.begin(), e.keywords.end());
  boost::json::array deals(e.deal_ids.begin(), e.deal_ids.end());
  return boost::json::object{{"slug", e.slug},
                             {"title", e.title},
                             {"keywords", std::move(keywords)},
                             {"starts_at", FormatRfc3339(e.starts_at)},
                             {"ends_at", FormatRfc3339(e.ends_at)},
                             {"deal_ids", std::move(deals)},
                             {"status", e.status}};
}

Result<CampaignIndexEntry> CampaignIndexEntryFromJson(const boost::json::value& v) {
  if (!v.is_object()) return Invalid("each campaign must be a JSON object");
  const auto& o = v.as_object();
  CampaignIndexEntry e;
  ASSIGN_OR_RETURN(e.slug, RequireString(o, "slug", 64));
  if (!IsCampaignSlug(e.slug)) return Invalid("'slug' must be 1..64 of a-z, 0-9 and '-'");
  ASSIGN_OR_RETURN(e.title, RequireString(o, "title", 100));
  auto kw = o.find("keywords");
  if (kw == o.end() || !kw->value().is_array()) return Invalid("'keywords' must be an array of strings");
  for (const auto& k : kw->value().as_array()) {
    if (!k.is_string() || k.as_string().empty() || k.as_string().size() > 32) {
      return Invalid("'keywords' must hold strings of 1..32 bytes");
    }
    e.keywords.emplace_back(k.as_string());
  }
  if (e.keywords.empty() || e.keywords.size() > 20) return Invalid("'keywords' must hold 1..20 keywords");
  for (const char* key : {"starts_at", "ends_at"}) {
    ASSIGN_OR_RETURN(auto text, RequireString(o, key, 64));
    auto ms = ParseRfc3339(text);
    if (!ms) return Invalid(std::string("'") + key + "' must be an RFC 3339 time");
    (std::string_view(key) == "starts_at" ? e.starts_at : e.ends_at) = *ms;
  }
  if (e.ends_at <= e.starts_at) return Invalid("'ends_at' must be after 'starts_at'");
  if (auto d = o.find("deal_ids"); d != o.end() && !d->value().is_null()) {
    if (!d->value().is_array() || d->value().as_array().size() > 500) {
      return Invalid("'deal_ids' must be an array of at most 500 deal ids");
    }
    for (const auto& id : d->value().as_array()) {
      if (!id.is_string() || id.as_string().empty() || id.as_string().size() > 64) {
        return Invalid("'deal_ids' must hold deal ids");
      }
      e.deal_ids.emplace_back(id.as_string());
    }
  }
  ASSIGN_OR_RETURN(auto status, OptionalString(o, "status", 16));
  e.status = status.value_or("active");
  if (e.status != "active" && e.status != "withdrawn") return Invalid("'status' must be active or withdrawn");
  return e;
}

}  // namespace hutong::protocol
