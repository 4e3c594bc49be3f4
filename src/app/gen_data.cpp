#include "app/gen_data.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <string_view>

#include "app/demo.h"
#include "app/master_key.h"
#include "app/node.h"
#include "common/clock.h"
#include "common/credentials.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/password.h"
#include "common/random.h"
#include "host/content/content.h"
#include "host/host.h"
#include "host/ledger/ledger.h"
#include "host/openplatform/apps.h"
#include "host/openplatform/login_codes.h"
#include "host/search/nearby.h"
#include "host/users/users.h"
#include "provider/catalog/catalog.h"
#include "provider/hosts/host_sync.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/provider.h"

namespace hutong::app {
namespace {
using storage::Access;
using storage::Query;

constexpr int64_t kBatch = 20'000;  // rows per transaction
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kOrderDeals = 100;  // generated first, with ample stock and no limit
constexpr int64_t kOrderDealStock = 10'000'000;
constexpr Fen kWalletFen = 1'000'000'000;  // ten million yuan: never the limit in a benchmark

constexpr Query kLocalAppId{"gen.local_app_id", Access::kRead,
                            "SELECT value FROM meta WHERE key = 'local_provider_app_id'"};
constexpr Query kUserCount{"gen.user_count", Access::kRead, "SELECT COUNT(*) FROM users"};
constexpr Query kInsertUser{"gen.insert_user", Access::kWrite,
                            "INSERT INTO users (id, phone, password_hash, nickname, city, created_at) "
                            "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kInsertUserSession{"gen.insert_user_session", Access::kWrite,
                                   "INSERT INTO user_sessions (token_hash, user_id, expires_at, created_at) "
                                   "VALUES ($1, $2, $3, $4)"};
constexpr Query kInsertWallet{"gen.insert_wallet", Access::kWrite,
                              "INSERT INTO wallets (user_id, balance_fen, updated_at) VALUES ($1, $2, $3)"};
constexpr Query kInsertOpenId{
    "gen.insert_openid", Access::kWrite,
    "INSERT INTO app_openids (app_id, openid, user_id, created_at) VALUES ($1, $2, $3, $4)"};
constexpr Query kInsertMpUser{"gen.insert_mp_user", Access::kWrite,
                              "INSERT INTO mp_users (id, host, openid, created_at) VALUES ($1, $2, $3, $4)"};
constexpr Query kInsertMpSession{"gen.insert_mp_session", Access::kWrite,
                                 "INSERT INTO mp_sessions (token_hash, user_id, expires_at, created_at) "
                                 "VALUES ($1, $2, $3, $4)"};
constexpr Query kInsertCampaign{
    "gen.insert_campaign", Access::kWrite,
    "INSERT INTO campaigns (id, slug, title, keywords, starts_at, ends_at, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
constexpr Query kInsertCampaignDeal{
    "gen.insert_campaign_deal", Access::kWrite,
    "INSERT INTO campaign_deals (campaign_id, deal_id, campaign_price_fen, stock_total, stock_left, "
    "per_user_limit) VALUES ($1, $2, $3, $4, $4, 1)"};

// ---------------------------------------------------------------------------------------
// Word lists. Business districts carry a centre, so stores cluster as they do in a city.
struct District {
  const char* name;
  const char* district;  // 区
  const char* road;
  double lat, lng;
};
struct City {
  const char* name;
  std::vector<District> districts;
};

const std::vector<City>& Cities() {
  static const std::vector<City> kCities = {
      {"北京",
       {{"三里屯", "朝阳区", "三里屯路", 39.9334, 116.4551},
        {"国贸", "朝阳区", "建国门外大街", 39.9087, 116.4605},
        {"望京", "朝阳区", "望京街", 39.9962, 116.4707},
        {"中关村", "海淀区", "中关村大街", 39.9836, 116.3164},
        {"五道口", "海淀区", "成府路", 39.9927, 116.3377},
        {"西单", "西城区", "西单北大街", 39.9120, 116.3736},
        {"王府井", "东城区", "王府井大街", 39.9139, 116.4103},
        {"南锣鼓巷", "东城区", "南锣鼓巷", 39.9370, 116.4033},
        {"双井", "朝阳区", "东三环中路", 39.8936, 116.4619},
        {"亚运村", "朝阳区", "北辰东路", 40.0026, 116.4095},
        {"798", "朝阳区", "酒仙桥路", 39.9841, 116.4952},
        {"前门", "东城区", "前门大街", 39.8963, 116.3976}}},
      {"上海",
       {{"陆家嘴", "浦东新区", "陆家嘴环路", 31.2397, 121.4998},
        {"徐家汇", "徐汇区", "漕溪北路", 31.1956, 121.4367},
        {"静安寺", "静安区", "南京西路", 31.2236, 121.4455},
        {"新天地", "黄浦区", "马当路", 31.2166, 121.4741},
        {"五角场", "杨浦区", "淞沪路", 31.3017, 121.5140},
        {"人民广场", "黄浦区", "南京东路", 31.2363, 121.4776},
        {"中山公园", "长宁区", "长宁路", 31.2197, 121.4168},
        {"七宝", "闵行区", "七莘路", 31.1587, 121.3498},
        {"世纪公园", "浦东新区", "锦绣路", 31.2158, 121.5513},
        {"虹桥", "长宁区", "虹桥路", 31.1967, 121.4016}}},
      {"成都",
       {{"春熙路", "锦江区", "春熙路", 30.6570, 104.0805},
        {"太古里", "锦江区", "中纱帽街", 30.6533, 104.0830},
        {"玉林", "武侯区", "玉林西路", 30.6333, 104.0545},
        {"宽窄巷子", "青羊区", "长顺上街", 30.6695, 104.0560},
        {"九眼桥", "锦江区", "滨江东路", 30.6437, 104.0918},
        {"建设路", "成华区", "建设路", 30.6748, 104.1050},
        {"金融城", "高新区", "交子大道", 30.5830, 104.0630},
        {"天府广场", "青羊区", "人民南路一段", 30.6598, 104.0633},
        {"双流", "双流区", "航空港大道", 30.5720, 103.9500}}},
  };
  return kCities;
}

struct BrandWords {
  const char* category;
  std::vector<const char*> names;
  std::vector<const char*> things;   // dishes, rooms, services
  std::vector<const char*> formats;  // how a set is sold
};

const std::vector<BrandWords>& Brands() {
  static const std::vector<BrandWords> kBrands = {
      {"catering",
       {"海底捞",       "西贝莜面村", "外婆家",     "太二酸菜鱼", "呷哺呷哺", "小龙坎", "大龙燚",
        "巴奴毛肚火锅", "费大厨",     "南京大牌档", "眉州东坡",   "全聚德",   "便宜坊", "胡大饭馆",
        "木屋烧烤",     "和府捞面",   "陈香贵",     "九毛九",     "点都德",   "陶陶居", "新白鹿",
        "绿茶餐厅",     "云海肴",     "望湘园",     "蜀大侠",     "谭鸭血",   "喜茶",   "奈雪的茶",
        "蜜雪冰城",     "瑞幸咖啡",   "茶颜悦色",   "霸王茶姬",   "很久以前", "乐凯撒", "鼎泰丰",
        "鹿港小镇",     "凑凑",       "紫光园",     "书亦烧仙草", "CoCo都可"},
       {"麻辣火锅", "鸳鸯锅",   "酸菜鱼",   "北京烤鸭", "毛肚",     "羊肉串",  "小龙虾", "牛肉面",
        "烤鱼",     "剁椒鱼头", "铜锅涮肉", "椰子鸡",   "潮汕牛肉", "串串香",  "冒菜",   "烧烤",
        "寿司",     "披萨",     "牛排",     "早茶点心", "生煎",     "小笼包",  "奶茶",   "烧仙草",
        "手冲咖啡", "芝士蛋糕", "水果茶",   "肥牛",     "蟹黄面",   "麻辣香锅"},
       {"双人套餐", "四人餐", "单人午市套餐", "三至四人餐", "100元代金券", "50元代金券", "下午茶套餐",
        "家庭分享餐", "工作日特惠套餐", "夜宵套餐"}},
      {"hotel",
       {"如家酒店", "汉庭酒店", "全季酒店", "亚朵酒店", "锦江之星", "桔子水晶", "维也纳酒店", "丽枫酒店"},
       {"豪华大床房", "高级双床房", "行政套房", "亲子家庭房", "景观大床房"},
       {"1晚含双早", "1晚", "2晚连住", "钟点房4小时"}},
      {"homestay",
       {"胡同小院", "川西林盘", "弄堂里民宿", "山居小筑", "竹林人家"},
       {"整院", "观景房", "榻榻米房", "loft复式"},
       {"1晚", "周末2晚", "含早餐1晚"}},
      {"scenic",
       {"欢乐谷", "青城山", "都江堰", "东方明珠", "故宫周边游", "熊猫基地", "朱家角古镇", "野生动物园"},
       {"成人票", "亲子票", "夜场票", "年卡"},
       {"1张", "2大1小", "含讲解"}},
      {"leisure",
       {"星聚会KTV", "大玩家", "万达影城", "星云保龄球", "蹦床公园", "密室逃脱馆", "台球俱乐部", "电竞馆"},
       {"欢唱", "观影", "保龄球", "蹦床", "密室", "台球", "电竞"},
       {"3小时套餐", "双人票", "畅玩卡", "周末通票"}},
      {"beauty",
       {"永琪美容美发", "丝发造型", "文峰美发", "克丽缇娜", "美甲工坊", "头疗馆"},
       {"洗剪吹", "染发", "烫发", "头皮护理", "美甲", "面部护理"},
       {"单次", "套餐", "5次卡", "新客体验"}},
      {"script_murder",
       {"迷雾剧本杀", "我是谜", "谜案馆", "推理社"},
       {"情感本", "恐怖本", "欢乐本", "机制本", "硬核推理本"},
       {"6人车", "单人票", "包场"}},
  };
  return kBrands;
}

const std::vector<const char*>& Items() {
  static const std::vector<const char*> kItems = {"招牌锅底", "精品肥牛", "手切羊肉", "时蔬拼盘", "酸梅汤",
                                                  "招牌烤鸭", "凉菜拼盘", "主食",     "甜品",     "饮品"};
  return kItems;
}

// Deterministic data from the seed: std::mt19937_64 is specified exactly by the standard.
class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int64_t Int(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  double Real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  std::mt19937_64 rng_;
};

struct GenBrand {
  std::string id;
  std::string name;
  const BrandWords* words;
};

struct GenStore {
  std::string id;
  size_t brand;
  std::string city;
  std::string district;
  double lat, lng;
  std::string name;
  std::string address;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Brands: every name of every category once, so a brand's stores spread over all cities.
Result<std::vector<GenBrand>> CreateBrands(storage::Db& db, int64_t now) {
  std::vector<GenBrand> out;
  RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
    for (const auto& words : Brands()) {
      for (const char* name : words.names) {
        ASSIGN_OR_RETURN(auto id,
                         provider::CreateBrand(tx, {name, "", std::string(name) + "（生成的数据）"}, now));
        out.push_back({id, name, &words});
      }
    }
    return Ok();
  }));
  return out;
}

Result<std::vector<GenStore>> CreateStores(storage::Db& db, Gen& gen, const std::vector<GenBrand>& brands,
                                           int64_t count, int64_t now) {
  std::vector<GenStore> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t begin = 0; begin < count; begin += kBatch) {
    const int64_t end = std::min(count, begin + kBatch);
    RETURN_IF_ERROR(db.Write([&](storage::Tx& tx) -> Status {
      for (int64_t i = begin; i < end; ++i) {
        // Catering dominates, as on any local-services platform.
        const size_t b =
            static_cast<size_t>(i % 10 < 7 ? gen.Int(0, static_cast<int64_t>(Brands()[0].names.size()) - 1)
                                           : gen.Int(0, static_cast<int64_t>(brands.size()) - 1));
        const City& city = gen.Pick(Cities());
        const District& d = gen.Pick(city.districts);
        // Within about 3 km of the district's centre, denser near it.
        const double r = 0.03 * std::sqrt(gen.Real(0, 1));
        const double a = gen.Real(0, 2 * M_PI);
        const double lat = d.lat + r * std::sin(a);
        const double lng = d.lng + r * std::cos(a) / std::cos(d.lat * M_PI / 180);
        const GenBrand& brand = brands[b];
        provider::StoreInput in;
        in.brand_id = brand.id;
        in.name = brand.name + "（" + d.name + std::to_string(i % 7 + 1) + "店）";
        in.category = brand.words->category;
        in.city = city.name;
        in.address =
            std::string(city.name) + "市" + d.district + d.road + std::to_string(gen.Int(1, 999)) + "号";
        in.lat = lat;
        in.lng = lng;
        in.hours = "10:00-22:00";
        in.phone = "400-" + std::to_string(gen.Int(100, 999)) + "-" + std::to_string(gen.Int(1000, 9999));
        ASSIGN_OR_RETURN(auto id, provider::CreateStore(tx, in, now));
        out.push_back({std::move(id), b, city.name, d.name, lat, lng, in.name, in.address});
      }
      return Ok();
    }));
  }
  return out;
}

provider::DealInput MakeDeal(Gen& gen, const GenBrand& brand, const GenStore& store, int64_t i, int64_t now) {
  const BrandWords& w = *brand.words;
  provider::DealInput d;
  d.brand_id = brand.id;
  d.category = w.category;
  const std::string thing = gen.Pick(w.things);
  const std::string format = gen.Pick(w.formats);
  d.title = brand.name + thing + format;
  if (i % 3 == 0) d.title += "（" + store.district + "）";
  d.description = store.city + store.district + "的" + brand.name + "，" + thing + "，" + format + "。";
  d.price_fen = gen.Int(9, 599) * 100 + 80;  // prices end in .80, as menus like
  d.original_price_fen = d.price_fen + gen.Int(1, 40) * 500;
  const bool voucher = format.find("代金券") != std::string::npos;
  if (voucher) {
    d.type = "voucher";
    d.face_value_fen = d.original_price_fen;
  } else if (format.find("次卡") != std::string::npos || format.find("年卡") != std::string::npos) {
    d.type = "multi_use";
    d.uses = format.find('5') != std::string::npos ? 5 : 10;
  } else {
    d.type = "set_meal";
    const int64_t n = gen.Int(1, 4);
    for (int64_t k = 0; k < n; ++k) d.items.push_back({gen.Pick(Items()), 1, gen.Int(5, 80) * 100});
  }
  d.stock = i < kOrderDeals ? kOrderDealStock : gen.Int(50, 5000);
  d.valid_from = now - kDay;
  d.valid_to = now + 90 * kDay;
  d.usage_rules = "营业时间内可用；不与店内其他优惠同享。";
  d.commission_bps = gen.Int(3, 12) * 100;
  d.per_user_limit = i < kOrderDeals ? 0 : gen.Int(0, 3);
  d.store_ids = {store.id};
  return d;
}

}  // namespace

Result<GenDataReport> RunGenData(const Config& config, const GenDataOptions& options) {
  if (options.deals < 1 || options.stores < 1 || options.deals > 10'000'000 || options.stores > 10'000'000 ||
      options.users < 0 || options.users > 1'000'000 || options.flash_units < 0) {
    return Invalid("gen-data: --gen-deals and --gen-stores must be 1..10000000, --gen-users 0..1000000");
  }
  if (options.users > 0 && options.tokens_out.empty())
    return Invalid("gen-data: --gen-users needs --gen-tokens-out");
  RETURN_IF_ERROR(RunSeedDemo(config));

  storage::DbOptions host_options;
  host_options.default_schema = "host";
  host_options.pool_size = 1;
  storage::DbOptions provider_options;
  provider_options.default_schema = "provider";
  provider_options.pool_size = 1;
  ASSIGN_OR_RETURN(auto provider_db, storage::OpenDb(config.provider_db, provider_options));
  ASSIGN_OR_RETURN(auto host_db, storage::OpenDb(config.host_db, host_options));
  ASSIGN_OR_RETURN(auto box, LoadMasterKey(config));
  ASSIGN_OR_RETURN(auto app_rows, host_db->Read([](storage::Tx& tx) { return tx.Exec(kLocalAppId); }));
  if (app_rows.empty()) return Internal("gen-data: the host has no local provider app after seeding");
  const std::string app_id = app_rows[0].Str(0);

  const int64_t now = SystemClock::Instance().NowMs();
  Gen gen(options.seed);
  GenDataReport report;

  // Provider: brands, stores, deals (each deal at one store of its brand).
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(auto brands, CreateBrands(*provider_db, now));
  ASSIGN_OR_RETURN(auto stores, CreateStores(*provider_db, gen, brands, options.stores, now));
  // Deals are generated and indexed batch by batch, so memory stays flat at any N.
  std::vector<protocol::DealIndexEntry> entries;
  double host_seconds = 0;
  for (int64_t begin = 0; begin < options.deals; begin += kBatch) {
    const int64_t end = std::min(options.deals, begin + kBatch);
    entries.clear();
    RETURN_IF_ERROR(provider_db->Write([&](storage::Tx& tx) -> Status {
      for (int64_t i = begin; i < end; ++i) {
        const GenStore& store = stores[static_cast<size_t>(i % static_cast<int64_t>(stores.size()))];
        const GenBrand& brand = brands[store.brand];
        provider::DealInput in = MakeDeal(gen, brand, store, i, now);
        ASSIGN_OR_RETURN(auto id, provider::CreateDeal(tx, in, now));
        if (i < kOrderDeals) report.order_deal_ids.push_back(id);
        protocol::DealIndexEntry e;
        e.deal_id = std::move(id);
        e.title = in.title;
        e.brand_name = brand.name;
        e.type = in.type;
        e.category = in.category;
        e.city = store.city;
        e.price_fen = in.price_fen;
        e.original_price_fen = in.original_price_fen;
        e.commission_bps = in.commission_bps;
        e.lat = store.lat;
        e.lng = store.lng;
        e.stores = std::vector<protocol::StoreIndexEntry>{
            {store.id, store.name, store.address, store.lat, store.lng}};
        e.sales = gen.Int(0, 20000);
        entries.push_back(std::move(e));
      }
      return Ok();
    }));
    // Host: the same deals as a sync would deliver them (app_deals and the search index).
    auto h0 = std::chrono::steady_clock::now();
    // The stores go into the geo index in bulk (no change-log entry per store: copies in
    // memory reload from the tables), the deals as a sync without stores then keeps them.
    std::vector<protocol::DealIndexEntry> without_stores = entries;
    for (auto& e : without_stores) e.stores.reset();
    RETURN_IF_ERROR(host_db->Write([&](storage::Tx& tx) -> Status {
      RETURN_IF_ERROR(host::search::IndexNewDealStoresInBulk(tx, app_id, entries));
      return host::UpsertAppDeals(tx, app_id, without_stores, now);
    }));
    host_seconds += Seconds(h0);
  }
  report.host_seconds = host_seconds;
  report.provider_seconds = Seconds(t0) - host_seconds;
  report.brands = static_cast<int64_t>(brands.size());
  report.stores = static_cast<int64_t>(stores.size());
  report.deals = options.deals;
  // The local host holds every deal as a sync delivers it: no full catalog sync at start.
  RETURN_IF_ERROR(provider_db->WithWrite(
      [&](storage::Tx& tx) { return provider::MarkHostCatalogSynced(tx, kLocalHostName, now); }));

  // A flash sale: one more deal of the first store's brand, in a campaign running now.
  if (options.flash_units > 0) {
    RETURN_IF_ERROR(provider_db->Write([&](storage::Tx& tx) -> Status {
      const GenStore& store = stores[0];
      provider::DealInput in = MakeDeal(gen, brands[store.brand], store, kOrderDeals, now);
      in.title = brands[store.brand].name + "新年秒杀套餐";
      in.stock = kOrderDealStock;
      in.per_user_limit = 0;
      ASSIGN_OR_RETURN(report.flash_deal_id, provider::CreateDeal(tx, in, now));
      report.flash_campaign_id = NewId("cmp");
      RETURN_IF_ERROR(tx.Exec(kInsertCampaign,
                              {report.flash_campaign_id, "bench-flash-" + RandomHex(4), std::string("秒杀"),
                               std::string("秒杀"), now - 3'600'000, now + kDay, now}));
      RETURN_IF_ERROR(
          tx.Exec(kInsertCampaignDeal, {report.flash_campaign_id, report.flash_deal_id,
                                        std::max<Fen>(100, in.price_fen / 10), options.flash_units}));
      return Ok();
    }));
  }

  // Bench users, with sessions made the way login and code2session make them.
  if (options.users > 0) {
    auto u0 = std::chrono::steady_clock::now();
    std::ofstream tokens(options.tokens_out, std::ios::trunc);
    if (!tokens) return Internal("gen-data: cannot write " + options.tokens_out);
    ASSIGN_OR_RETURN(std::string password_hash, HashPassword("bench-pass-1"));
    ASSIGN_OR_RETURN(auto existing, host_db->Read([](storage::Tx& tx) { return tx.Exec(kUserCount); }));
    const int64_t first_phone = 17'000'000'000LL + existing[0].Int(0);
    for (int64_t begin = 0; begin < options.users; begin += kBatch) {
      const int64_t end = std::min(options.users, begin + kBatch);
      struct Made {
        std::string openid;
        SessionToken host, mp;
      };
      std::vector<Made> made;
      RETURN_IF_ERROR(host_db->Write([&](storage::Tx& tx) -> Status {
        for (int64_t i = begin; i < end; ++i) {
          const std::string user_id = NewId("usr");
          Made m{host::OpenIdFor(box, app_id, user_id), NewSessionToken(host::kUserTokenPrefix),
                 NewSessionToken("mps_")};
          RETURN_IF_ERROR(
              tx.Exec(kInsertUser, {user_id, std::to_string(first_phone + i), password_hash,
                                    "压测用户" + std::to_string(i + 1), std::string("北京"), now}));
          RETURN_IF_ERROR(tx.Exec(kInsertUserSession, {m.host.hash, user_id, now + 30 * kDay, now}));
          RETURN_IF_ERROR(tx.Exec(kInsertWallet, {user_id, kWalletFen, now}));
          RETURN_IF_ERROR(host::PostEntry(
              tx,
              {"topup",
               "gen:" + user_id,
               std::nullopt,
               {{host::SandboxFundingAccount(), -kWalletFen}, {host::WalletAccount(user_id), kWalletFen}}},
              now));
          RETURN_IF_ERROR(tx.Exec(kInsertOpenId, {app_id, m.openid, user_id, now}));
          made.push_back(std::move(m));
        }
        return Ok();
      }));
      RETURN_IF_ERROR(provider_db->Write([&](storage::Tx& tx) -> Status {
        for (const auto& m : made) {
          const std::string mp_user = NewId("mpu");
          RETURN_IF_ERROR(tx.Exec(kInsertMpUser, {mp_user, std::string(kLocalHostName), m.openid, now}));
          RETURN_IF_ERROR(
              tx.Exec(kInsertMpSession, {m.mp.hash, mp_user, now + provider::kMpSessionTtlMs, now}));
        }
        return Ok();
      }));
      for (const auto& m : made) tokens << m.host.token << '\t' << m.mp.token << '\n';
    }
    tokens.close();
    if (!tokens) return Internal("gen-data: cannot write " + options.tokens_out);
    report.users = options.users;
    report.users_seconds = Seconds(u0);
  }
  LogInfo("data generated", {{"deals", report.deals},
                             {"stores", report.stores},
                             {"users", report.users},
                             {"provider_seconds", report.provider_seconds},
                             {"host_seconds", report.host_seconds}});
  return report;
}

std::string GenDataReportJson(const GenDataReport& r) {
  boost::json::object o;
  o["brands"] = r.brands;
  o["stores"] = r.stores;
  o["deals"] = r.deals;
  o["users"] = r.users;
  // Milliseconds as integers: boost::json writes doubles in exponent form, awkward for scripts.
  o["provider_ms"] = static_cast<int64_t>(r.provider_seconds * 1000);
  o["host_ms"] = static_cast<int64_t>(r.host_seconds * 1000);
  o["users_ms"] = static_cast<int64_t>(r.users_seconds * 1000);
  boost::json::array ids;
  for (const auto& id : r.order_deal_ids) ids.emplace_back(id);
  o["order_deal_ids"] = std::move(ids);
  o["flash_deal_id"] = r.flash_deal_id;
  o["flash_campaign_id"] = r.flash_campaign_id;
  return boost::json::serialize(o);
}

}  // namespace hutong::app
