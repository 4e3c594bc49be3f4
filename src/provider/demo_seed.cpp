#include "provider/demo_seed.h"

#include <map>
#include <string>

#include "common/ids.h"
#include "common/password.h"
#include "provider/catalog/catalog.h"

namespace hutong::provider {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kDemoMarker{"demo.marker", Access::kRead, "SELECT value FROM meta WHERE key = 'demo_seeded'"};
constexpr Query kAnyData{"demo.any_data", Access::kRead,
                         "SELECT (SELECT COUNT(*) FROM brands) + (SELECT COUNT(*) FROM staff)"};
constexpr Query kSetMarker{"demo.set_marker", Access::kWrite,
                           "INSERT INTO meta (key, value) VALUES ('demo_seeded', $1)"};
constexpr Query kInsertStaff{
    "demo.insert_staff", Access::kWrite,
    "INSERT INTO staff (id, account, password_hash, role, brand_id, name, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr Query kInsertCampaign{
    "demo.insert_campaign", Access::kWrite,
    "INSERT INTO campaigns (id, slug, title, keywords, starts_at, ends_at, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr Query kInsertCampaignDeal{
    "demo.insert_campaign_deal", Access::kWrite,
    "INSERT INTO campaign_deals (campaign_id, deal_id, campaign_price_fen, stock_total, stock_left, "
    "per_user_limit) VALUES ($1, $2, $3, $4, $4, $5)"};

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kShanghaiOffset = 8 * 3'600'000;

struct DemoStore {
  const char* city;
  const char* name;
  const char* address;
  double lat, lng;
};

struct DemoBrand {
  const char* key;
  const char* name;
  const char* category;
  const char* description;
  const char* hours;
  std::vector<DemoStore> stores;
};

// Midnight Asia/Shanghai of the day containing `ms`, plus `days`.
int64_t ShanghaiMidnight(int64_t ms, int64_t days) {
  int64_t local = ms + kShanghaiOffset;
  return local - (local % kDay) - kShanghaiOffset + days * kDay;
}

// 3 January 23:59:59 Asia/Shanghai of the next new year at least a week away.
int64_t NextCampaignEnd(int64_t now) {
  // Walk forward day by day (at most ~400 iterations) to the first 3 January ≥ now + 7 days.
  for (int64_t d = 7; d < 400; ++d) {
    int64_t midnight = ShanghaiMidnight(now, d);
    std::string iso = FormatRfc3339(midnight + kShanghaiOffset);  // local date as if UTC
    if (iso.compare(5, 5, "01-03") == 0) return midnight + kDay - 1000;
  }
  return now + 30 * kDay;
}

// Called inside the seeding transaction too, so a concurrent writer cannot slip in.
Result<DemoState> StateIn(storage::Tx& tx) {
  ASSIGN_OR_RETURN(auto marker, tx.Exec(kDemoMarker));
  if (!marker.empty()) return DemoState::kDemo;
  ASSIGN_OR_RETURN(auto any, tx.Exec(kAnyData));
  return any[0].Int(0) == 0 ? DemoState::kEmpty : DemoState::kForeign;
}

}  // namespace

Result<DemoState> ProviderDemoState(storage::Db& db) {
  return db.Read([](storage::Tx& tx) { return StateIn(tx); });
}

Result<SeedOutcome> SeedDemoCatalog(storage::Db& db, const Clock& clock) {
  // Hash passwords before taking the write lock: argon2id is deliberately slow.
  ASSIGN_OR_RETURN(std::string password_hash, HashPassword(kDemoPassword));
  const int64_t now = clock.NowMs();

  return db.Write([&](storage::Tx& tx) -> Result<SeedOutcome> {
    ASSIGN_OR_RETURN(auto state, StateIn(tx));
    if (state == DemoState::kDemo) return SeedOutcome::kAlreadySeeded;
    if (state == DemoState::kForeign) {
      return Error(ErrorCode::kDemoRefused,
                   "the provider database already holds data that is not the demo's; refusing to seed");
    }

    const std::vector<DemoBrand> brands = {
        {"coucou",
         "湊湊",
         "catering",
         "台式麻辣火锅与现煮奶茶",
         "10:00-02:00",
         {{"北京", "湊湊火锅·茶憩（三里屯店）", "北京市朝阳区三里屯路19号太古里南区B1", 39.9334, 116.4551},
          {"北京", "湊湊火锅·茶憩（西单大悦城店）", "北京市西城区西单北大街131号大悦城8层", 39.9120,
           116.3736},
          {"上海", "湊湊火锅·茶憩（静安嘉里中心店）", "上海市静安区南京西路1515号嘉里中心B1", 31.2242,
           121.4495}}},
        {"ziguangyuan",
         "紫光园",
         "catering",
         "北京清真老字号，烤鸭与京味小吃",
         "06:30-21:30",
         {{"北京", "紫光园（王府井店）", "北京市东城区王府井大街138号", 39.9139, 116.4103},
          {"北京", "紫光园（朝外店）", "北京市朝阳区朝阳门外大街8号", 39.9225, 116.4383}}},
        {"shuyi",
         "书亦烧仙草",
         "catering",
         "半杯都是料的烧仙草",
         "09:30-23:00",
         {{"成都", "书亦烧仙草（春熙路店）", "成都市锦江区春熙路北段8号", 30.6570, 104.0805},
          {"上海", "书亦烧仙草（人民广场店）", "上海市黄浦区南京东路300号", 31.2363, 121.4776}}},
        {"85c",
         "85度C",
         "catering",
         "咖啡、蛋糕与现烤面包",
         "07:00-22:00",
         {{"上海", "85度C（徐家汇店）", "上海市徐汇区漕溪北路88号", 31.1956, 121.4367},
          {"成都", "85度C（天府广场店）", "成都市青羊区人民南路一段86号", 30.6598, 104.0633}}},
        {"coco",
         "CoCo都可",
         "catering",
         "珍珠奶茶与鲜果茶",
         "10:00-22:30",
         {{"北京", "CoCo都可（中关村店）", "北京市海淀区中关村大街27号", 39.9836, 116.3164},
          {"上海", "CoCo都可（五角场店）", "上海市杨浦区淞沪路8号", 31.3017, 121.5140},
          {"成都", "CoCo都可（太古里店）", "成都市锦江区中纱帽街8号", 30.6533, 104.0830}}},
        {"jingcheng",
         "京城之眼酒店",
         "hotel",
         "长安街旁的城景酒店",
         "00:00-24:00",
         {{"北京", "京城之眼酒店（建国门店）", "北京市东城区建国门内大街18号", 39.9075, 116.4345}}},
        {"houhai",
         "后海小院民宿",
         "homestay",
         "老胡同里的四合院",
         "00:00-24:00",
         {{"北京", "后海小院·鸦儿胡同", "北京市西城区鸦儿胡同31号", 39.9421, 116.3886}}},
        {"qingcheng",
         "青城山景区",
         "scenic",
         "青城天下幽",
         "08:00-18:00",
         {{"成都", "青城山前山景区", "成都市都江堰市青城山镇", 30.9006, 103.5700}}},
        {"xingyun",
         "星云保龄球馆",
         "leisure",
         "十八条标准球道",
         "11:00-02:00",
         {{"上海", "星云保龄球馆（长宁店）", "上海市长宁区长宁路1018号", 31.2197, 121.4168}}},
        {"sifa",
         "丝发造型",
         "beauty",
         "剪发、染烫与头皮护理",
         "10:00-21:00",
         {{"北京", "丝发造型（国贸店）", "北京市朝阳区建国门外大街1号", 39.9087, 116.4605},
          {"成都", "丝发造型（IFS店）", "成都市锦江区红星路三段1号", 30.6550, 104.0810}}},
        {"miwu",
         "迷雾剧本杀",
         "script_murder",
         "沉浸式实景剧本杀",
         "13:00-02:00",
         {{"成都", "迷雾剧本杀（玉林店）", "成都市武侯区玉林西路55号", 30.6333, 104.0545},
          {"上海", "迷雾剧本杀（新天地店）", "上海市黄浦区马当路245号", 31.2166, 121.4741}}},
    };

    std::map<std::string, std::string> brand_ids;
    std::map<std::string, std::vector<std::string>> store_ids;
    for (const auto& b : brands) {
      ASSIGN_OR_RETURN(
          auto brand_id,
          CreateBrand(tx, {b.name, "/static/brands/" + std::string(b.key) + ".png", b.description}, now));
      brand_ids[b.key] = brand_id;
      for (const auto& s : b.stores) {
        ASSIGN_OR_RETURN(auto store_id, CreateStore(tx,
                                                    {brand_id, s.name, b.category, s.city, s.address, s.lat,
                                                     s.lng, b.hours, "400-800-1234"},
                                                    now));
        store_ids[b.key].push_back(store_id);
      }
    }

    const int64_t valid_from = ShanghaiMidnight(now, -1);
    const int64_t valid_to = ShanghaiMidnight(now, 90);
    auto deal = [&](const char* brand, const char* type, const char* category, const char* title, Fen price,
                    Fen original) {
      DealInput d;
      d.brand_id = brand_ids.at(brand);
      d.type = type;
      d.category = category;
      d.title = title;
      d.description = std::string(title) + "，到店出示券码即可使用。";
      d.image_url = "/static/deals/" + std::string(brand) + ".jpg";
      d.price_fen = price;
      d.original_price_fen = original;
      d.stock = 500;
      d.valid_from = valid_from;
      d.valid_to = valid_to;
      d.usage_rules = "营业时间内可用；不与店内其他优惠同享；每桌限用一张。";
      d.commission_bps = 800;
      d.store_ids = store_ids.at(brand);
      return d;
    };
    auto slots = [&](int64_t first_day, int64_t days, std::vector<int64_t> hours, int64_t stock) {
      std::vector<SlotInput> out;
      for (int64_t day = first_day; day < first_day + days; ++day) {
        for (int64_t h : hours) {
          int64_t start = ShanghaiMidnight(now, day) + h * 3'600'000;
          std::string key = FormatRfc3339(start + kShanghaiOffset).substr(0, h == 0 ? 10 : 16);
          out.push_back({key, start, stock});
        }
      }
      return out;
    };

    std::vector<DealInput> deals;
    {
      auto d = deal("coucou", "set_meal", "catering", "湊湊火锅双人套餐（含招牌奶茶两杯）", 19800, 29600);
      d.items = {{"麻辣锅底", 1, 6800},
                 {"精品肥牛", 1, 6800},
                 {"手切羊肉", 1, 5800},
                 {"时蔬拼盘", 1, 3200},
                 {"台式奶茶", 2, 3500}};
      d.commission_bps = 1000;
      d.per_user_limit = 2;
      deals.push_back(d);
      auto v = deal("coucou", "voucher", "catering", "湊湊100元代金券", 8800, 10000);
      v.face_value_fen = 10000;
      deals.push_back(v);
    }
    {
      auto d = deal("ziguangyuan", "set_meal", "catering", "紫光园烤鸭四人餐", 26800, 35800);
      d.items = {{"招牌烤鸭", 1, 16800}, {"芥末墩", 1, 2800}, {"炸咯吱", 1, 3200}, {"羊肉串", 8, 1600}};
      deals.push_back(d);
      auto m = deal("ziguangyuan", "multi_use", "catering", "紫光园早餐次卡（10次）", 9900, 15000);
      m.uses = 10;
      deals.push_back(m);
    }
    {
      auto v = deal("shuyi", "voucher", "catering", "书亦烧仙草20元代金券", 1500, 2000);
      v.face_value_fen = 2000;
      deals.push_back(v);
      auto m = deal("shuyi", "multi_use", "catering", "书亦烧仙草招牌烧仙草5杯次卡", 4900, 7500);
      m.uses = 5;
      deals.push_back(m);
    }
    {
      auto v = deal("85c", "voucher", "catering", "85度C 50元代金券", 3990, 5000);
      v.face_value_fen = 5000;
      deals.push_back(v);
      auto d = deal("85c", "set_meal", "catering", "85度C 海盐咖啡双人下午茶", 4500, 6800);
      d.items = {{"海盐咖啡", 2, 2200}, {"提拉米苏", 1, 1800}, {"葡式蛋挞", 2, 300}};
      deals.push_back(d);
    }
    {
      auto m = deal("coco", "multi_use", "catering", "CoCo都可奶茶10杯次卡", 9900, 16000);
      m.uses = 10;
      deals.push_back(m);
      auto v = deal("coco", "voucher", "catering", "CoCo都可15元代金券", 1000, 1500);
      v.face_value_fen = 1500;
      deals.push_back(v);
    }
    {
      auto r = deal("jingcheng", "reservation", "hotel", "京城之眼酒店 豪华城景大床房 1晚", 58800, 88800);
      r.slots = slots(1, 14, {0}, 5);
      r.refund_policy = "anytime";
      deals.push_back(r);
    }
    {
      auto r =
          deal("houhai", "reservation", "homestay", "后海小院民宿 整院四合院 1晚（可住6人）", 128800, 168800);
      r.slots = slots(1, 14, {0}, 1);
      deals.push_back(r);
    }
    {
      auto r = deal("qingcheng", "reservation", "scenic", "青城山前山成人门票（含索道单程）", 11000, 14000);
      r.slots = slots(0, 14, {0}, 200);
      deals.push_back(r);
    }
    {
      auto m = deal("xingyun", "multi_use", "leisure", "星云保龄球 畅打3局次卡", 6900, 12000);
      m.uses = 3;
      deals.push_back(m);
    }
    {
      auto d = deal("sifa", "set_meal", "beauty", "丝发造型 总监洗剪吹套餐", 6800, 18800);
      d.items = {{"总监剪发", 1, 12800}, {"洗发护理", 1, 4000}, {"造型吹风", 1, 2000}};
      deals.push_back(d);
      auto r = deal("sifa", "reservation", "beauty", "丝发造型 头皮护理 预约", 9800, 19800);
      r.slots = slots(1, 7, {10, 14, 18}, 3);
      deals.push_back(r);
    }
    {
      auto r =
          deal("miwu", "reservation", "script_murder", "迷雾剧本杀《雾都谜案》6人场 单人票", 12800, 16800);
      r.slots = slots(0, 7, {14, 19}, 6);
      r.refund_policy = "no_refund";
      deals.push_back(r);
    }

    std::vector<std::string> deal_ids;
    for (auto& d : deals) {
      ASSIGN_OR_RETURN(auto id, CreateDeal(tx, d, now));
      deal_ids.push_back(id);
    }

    // Staff: coucou for 湊湊's stores; ops runs campaigns.
    RETURN_IF_ERROR(
        tx.Exec(kInsertStaff, {NewId("staff"), std::string("coucou"), password_hash, std::string("merchant"),
                               brand_ids.at("coucou"), std::string("湊湊店长"), now}));
    RETURN_IF_ERROR(tx.Exec(kInsertStaff, {NewId("staff"), std::string("ops"), password_hash,
                                           std::string("ops"), storage::Null(), std::string("运营"), now}));

    // 新年好食记: the New-Year set meals of the launch brands, running until 3 January.
    std::string campaign_id = NewId("camp");
    RETURN_IF_ERROR(
        tx.Exec(kInsertCampaign, {campaign_id, std::string("xinnian-haoshiji"), std::string("新年好食记"),
                                  std::string("新年好食记,新年,年夜饭,好食记"), ShanghaiMidnight(now, -1),
                                  NextCampaignEnd(now), now}));
    struct CampaignDeal {
      size_t index;
      Fen price;
      int64_t stock, limit;
    };
    // Indexes into `deals` above: the launch brands' catering deals.
    for (const CampaignDeal& cd :
         {CampaignDeal{0, 16800, 200, 2}, CampaignDeal{2, 22800, 100, 1}, CampaignDeal{4, 1200, 300, 3},
          CampaignDeal{7, 3800, 150, 2}, CampaignDeal{8, 8800, 200, 2}}) {
      RETURN_IF_ERROR(
          tx.Exec(kInsertCampaignDeal, {campaign_id, deal_ids.at(cd.index), cd.price, cd.stock, cd.limit}));
    }
    RETURN_IF_ERROR(tx.Exec(kSetMarker, {FormatRfc3339(now)}));
    return SeedOutcome::kSeeded;
  });
}

}  // namespace hutong::provider
