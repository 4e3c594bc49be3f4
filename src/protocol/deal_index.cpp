#include "protocol/deal_index.h"

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
  return e;
}

}  // namespace hutong::protocol
