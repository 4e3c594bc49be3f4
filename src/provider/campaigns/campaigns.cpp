#include "provider/campaigns/campaigns.h"

#include <boost/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "provider/campaigns/hot_stock.h"
#include "provider/hosts/host_sync.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

constexpr Query kSlugTaken{"campaigns.slug_taken", Access::kRead, "SELECT 1 FROM campaigns WHERE slug = $1"};
constexpr Query kDealForCampaign{"campaigns.deal", Access::kRead,
                                 "SELECT price_fen, status FROM deals WHERE id = $1"};
constexpr Query kInsertCampaign{
    "campaigns.insert", Access::kWrite,
    "INSERT INTO campaigns (id, slug, title, keywords, starts_at, ends_at, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr Query kInsertCampaignDeal{
    "campaigns.insert_deal", Access::kWrite,
    "INSERT INTO campaign_deals (campaign_id, deal_id, campaign_price_fen, stock_total, stock_left, "
    "per_user_limit) VALUES ($1, $2, $3, $4, $4, $5)"};
constexpr Query kCampaignBySlug{
    "campaigns.by_slug", Access::kRead,
    "SELECT id, slug, title, keywords, starts_at, ends_at FROM campaigns WHERE slug = $1"};
constexpr Query kCampaignById{
    "campaigns.by_id", Access::kRead,
    "SELECT id, slug, title, keywords, starts_at, ends_at FROM campaigns WHERE id = $1"};
constexpr Query kAllCampaigns{
    "campaigns.all", Access::kRead,
    "SELECT id, slug, title, keywords, starts_at, ends_at FROM campaigns ORDER BY id"};
constexpr Query kCampaignDeals{
    "campaigns.deals", Access::kRead,
    "SELECT cd.deal_id, d.title, d.image_url, d.type, d.price_fen, d.original_price_fen, "
    "cd.campaign_price_fen, "
    "cd.stock_total, cd.stock_left, cd.per_user_limit, d.status FROM campaign_deals cd "
    "JOIN deals d ON d.id = cd.deal_id WHERE cd.campaign_id = $1 ORDER BY cd.deal_id"};
constexpr Query kCampaignDealIds{
    "campaigns.deal_ids", Access::kRead,
    "SELECT deal_id FROM campaign_deals WHERE campaign_id = $1 ORDER BY deal_id"};

std::vector<std::string> SplitKeywords(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

json::array KeywordsJson(const std::string& text) {
  json::array out;
  for (auto& k : SplitKeywords(text)) out.emplace_back(k);
  return out;
}

Result<int64_t> RequireTime(const json::object& o, std::string_view key) {
  ASSIGN_OR_RETURN(auto text, RequireString(o, key, 64));
  auto ms = ParseRfc3339(text);
  if (!ms) return Invalid("'" + std::string(key) + "' must be an RFC 3339 time");
  return *ms;
}

protocol::CampaignIndexEntry EntryFromRow(const storage::Row& r) {
  protocol::CampaignIndexEntry e;
  e.slug = r.Str(1);
  e.title = r.Str(2);
  e.keywords = SplitKeywords(r.Str(3));
  e.starts_at = r.Int(4);
  e.ends_at = r.Int(5);
  return e;
}

}  // namespace

Result<CampaignInput> ParseCampaignInput(const json::object& o) {
  CampaignInput in;
  ASSIGN_OR_RETURN(in.slug, RequireString(o, "slug", 64));
  if (!protocol::IsCampaignSlug(in.slug)) return Invalid("'slug' must be 1..64 of a-z, 0-9 and '-'");
  ASSIGN_OR_RETURN(in.title, RequireString(o, "title", 100));
  if (in.title.empty()) return Invalid("'title' must not be empty");
  auto kw = o.find("keywords");
  if (kw == o.end() || !kw->value().is_array()) return Invalid("'keywords' must be an array of strings");
  for (const auto& k : kw->value().as_array()) {
    if (!k.is_string() || k.as_string().empty() || k.as_string().size() > 32 ||
        std::string_view(k.as_string()).find(',') != std::string_view::npos) {
      return Invalid("each keyword must be a string of 1..32 bytes without ','");
    }
    in.keywords.emplace_back(k.as_string());
  }
  if (in.keywords.empty() || in.keywords.size() > 20) return Invalid("'keywords' must hold 1..20 keywords");
  ASSIGN_OR_RETURN(in.starts_at, RequireTime(o, "starts_at"));
  ASSIGN_OR_RETURN(in.ends_at, RequireTime(o, "ends_at"));
  if (in.ends_at <= in.starts_at) return Invalid("'ends_at' must be after 'starts_at'");
  auto deals = o.find("deals");
  if (deals == o.end() || !deals->value().is_array()) return Invalid("'deals' must be an array");
  const auto& arr = deals->value().as_array();
  if (arr.empty() || arr.size() > 100) return Invalid("'deals' must hold 1..100 deals");
  std::set<std::string> seen;
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string where = "deals[" + std::to_string(i) + "]: ";
    if (!arr[i].is_object()) return Invalid(where + "must be an object");
    const auto& d = arr[i].as_object();
    CampaignDealInput cd;
    auto id = RequireString(d, "deal_id", 64);
    if (!id.ok()) return Invalid(where + id.error().detail);
    cd.deal_id = *id;
    auto price = RequireInt(d, "campaign_price_fen", 1, 100'000'000'00);
    if (!price.ok()) return Invalid(where + price.error().detail);
    cd.campaign_price_fen = *price;
    auto stock = RequireInt(d, "stock", 0, 100'000'000);
    if (!stock.ok()) return Invalid(where + stock.error().detail);
    cd.stock = *stock;
    auto limit = OptionalInt(d, "per_user_limit", 0, 1000);
    if (!limit.ok()) return Invalid(where + limit.error().detail);
    cd.per_user_limit = limit->value_or(0);
    if (!seen.insert(cd.deal_id).second) return Invalid(where + "deal listed twice");
    in.deals.push_back(std::move(cd));
  }
  return in;
}

Result<std::string> CreateCampaign(storage::Tx& tx, const CampaignInput& in, int64_t now_ms) {
  if (in.ends_at <= now_ms) return Invalid("'ends_at' has already passed");
  for (size_t i = 0; i < in.deals.size(); ++i) {
    const auto& cd = in.deals[i];
    ASSIGN_OR_RETURN(auto deal, tx.Exec(kDealForCampaign, {cd.deal_id}));
    if (deal.empty() || deal[0].Str(1) != "online") {
      return NotFound("deals[" + std::to_string(i) + "]: deal '" + cd.deal_id + "' is not an online deal");
    }
    if (cd.campaign_price_fen > deal[0].Int(0)) {
      return Invalid("deals[" + std::to_string(i) + "]: 'campaign_price_fen' is above the deal's price");
    }
  }
  ASSIGN_OR_RETURN(auto taken, tx.Exec(kSlugTaken, {in.slug}));
  if (!taken.empty()) return Error(ErrorCode::kConflict, "a campaign with this slug already exists");
  std::string keywords;
  for (const auto& k : in.keywords) keywords += (keywords.empty() ? "" : ",") + k;
  const std::string id = NewId("camp");
  RETURN_IF_ERROR(
      tx.Exec(kInsertCampaign, {id, in.slug, in.title, keywords, in.starts_at, in.ends_at, now_ms}));
  for (const auto& cd : in.deals) {
    RETURN_IF_ERROR(
        tx.Exec(kInsertCampaignDeal, {id, cd.deal_id, cd.campaign_price_fen, cd.stock, cd.per_user_limit}));
    // New stock and limits for the deal: what this node remembered of it no longer holds.
    ProcessHotStock().StockReturned(cd.deal_id);
  }
  RETURN_IF_ERROR(EnqueueHostSync(tx, SyncKind::kCampaign, id, now_ms));
  return id;
}

Result<json::object> GetCampaignJson(storage::Db& db, const std::string& slug, int64_t now_ms) {
  if (!protocol::IsCampaignSlug(slug)) return NotFound("campaign not found");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kCampaignBySlug, {slug}));
    if (rows.empty()) return NotFound("campaign not found");
    const storage::Row& c = rows[0];
    const int64_t starts = c.Int(4), ends = c.Int(5);
    const char* status = now_ms < starts ? "upcoming" : (now_ms < ends ? "running" : "ended");
    ASSIGN_OR_RETURN(auto deals, tx.Exec(kCampaignDeals, {c.Str(0)}));
    json::array items;
    for (const auto& d : deals) {
      if (d.Str(10) != "online") continue;
      items.push_back(json::object{{"deal_id", d.Str(0)},
                                   {"title", d.Str(1)},
                                   {"image_url", d.Str(2)},
                                   {"type", d.Str(3)},
                                   {"price_fen", d.Int(4)},
                                   {"original_price_fen", d.Int(5)},
                                   {"campaign_price_fen", d.Int(6)},
                                   {"stock_total", d.Int(7)},
                                   {"stock_left", d.Int(8)},
                                   {"per_user_limit", d.Int(9)},
                                   {"sold_out", d.Int(8) == 0}});
    }
    return json::object{{"id", c.Str(0)},
                        {"slug", c.Str(1)},
                        {"title", c.Str(2)},
                        {"keywords", KeywordsJson(c.Str(3))},
                        {"starts_at", FormatRfc3339Shanghai(starts)},
                        {"ends_at", FormatRfc3339Shanghai(ends)},
                        {"status", status},
                        {"server_time", FormatRfc3339Shanghai(now_ms)},
                        {"deals", std::move(items)}};
  });
}

Result<std::optional<protocol::CampaignIndexEntry>> CampaignIndexEntryFor(storage::Tx& tx,
                                                                          const std::string& campaign_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kCampaignById, {campaign_id}));
  if (rows.empty()) return std::optional<protocol::CampaignIndexEntry>();
  auto e = EntryFromRow(rows[0]);
  ASSIGN_OR_RETURN(auto deals, tx.Exec(kCampaignDealIds, {campaign_id}));
  for (const auto& d : deals) e.deal_ids.push_back(d.Str(0));
  return std::optional<protocol::CampaignIndexEntry>(std::move(e));
}

Result<std::vector<protocol::CampaignIndexEntry>> CampaignIndex(storage::Db& db) {
  return db.Read([&](storage::Tx& tx) -> Result<std::vector<protocol::CampaignIndexEntry>> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kAllCampaigns));
    std::vector<protocol::CampaignIndexEntry> out;
    for (const auto& r : rows) {
      ASSIGN_OR_RETURN(auto e, CampaignIndexEntryFor(tx, r.Str(0)));
      if (e) out.push_back(std::move(*e));
    }
    return out;
  });
}

}  // namespace hutong::provider
