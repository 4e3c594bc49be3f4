#include "host/demo_seed.h"

#include <map>

#include "common/ids.h"
#include "common/password.h"
#include "host/content/content.h"
#include "host/ledger/ledger.h"
#include "host/openplatform/apps.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kDemoMarker{"demo.marker", Access::kRead, "SELECT value FROM meta WHERE key = 'demo_app_id'"};
// The local provider's own app (registered by `hutong serve`) is not foreign data.
constexpr Query kAnyData{"demo.any_data", Access::kRead,
                         "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM videos) + "
                         "(SELECT COUNT(*) FROM apps WHERE id NOT IN "
                         "(SELECT value FROM meta WHERE key = 'local_provider_app_id'))"};
constexpr Query kSetMarker{"demo.set_marker", Access::kWrite,
                           "INSERT INTO meta (key, value) VALUES ('demo_app_id', $1)"};
constexpr Query kInsertUser{"demo.insert_user", Access::kWrite,
                            "INSERT INTO users (id, phone, password_hash, nickname, city, created_at) "
                            "VALUES ($1, $2, $3, $4, $5, $6)"};
constexpr Query kDemoWallet{"demo.wallet", Access::kWrite,
                            "INSERT INTO wallets (user_id, balance_fen, updated_at) VALUES ($1, $2, $3)"};

}  // namespace

Result<bool> HostHoldsForeignData(storage::Db& db) {
  return db.Read([](storage::Tx& tx) -> Result<bool> {
    ASSIGN_OR_RETURN(auto marker, tx.Exec(kDemoMarker));
    if (!marker.empty()) return false;
    ASSIGN_OR_RETURN(auto any, tx.Exec(kAnyData));
    return any[0].Int(0) != 0;
  });
}

Result<DemoContentResult> SeedDemoContent(storage::Db& db, const Clock& clock, const SecretBox& box,
                                          const DemoApp& app,
                                          const std::vector<protocol::DealIndexEntry>& deals) {
  ASSIGN_OR_RETURN(std::string password_hash, HashPassword("demo-pass-1"));
  const int64_t now = clock.NowMs();
  ASSIGN_OR_RETURN(auto creds,
                   EnsureLocalProviderApp(db, box, {app.name, app.service_url, app.notify_url}, now));
  return db.Write([&](storage::Tx& tx) -> Result<DemoContentResult> {
    ASSIGN_OR_RETURN(auto marker, tx.Exec(kDemoMarker));
    if (!marker.empty()) return DemoContentResult{true, marker[0].Str(0)};
    ASSIGN_OR_RETURN(auto any, tx.Exec(kAnyData));
    if (any[0].Int(0) != 0) {
      return Error(ErrorCode::kDemoRefused,
                   "the host database already holds data that is not the demo's; refusing to seed");
    }

    const std::string& app_id = creds.app_id;
    RETURN_IF_ERROR(UpsertAppDeals(tx, app_id, deals, now));

    struct DemoUser {
      const char* phone;
      const char* nickname;
      const char* city;
    };
    std::vector<std::string> user_ids;
    for (const DemoUser& u :
         {DemoUser{"13800000000", "小美食家", "北京"}, DemoUser{"13800000001", "北京吃货小王", "北京"},
          DemoUser{"13800000002", "魔都探店Lily", "上海"}, DemoUser{"13800000003", "成都耍事儿", "成都"}}) {
      std::string id = NewId("usr");
      RETURN_IF_ERROR(tx.Exec(kInsertUser, {id, std::string(u.phone), password_hash, std::string(u.nickname),
                                            std::string(u.city), now}));
      user_ids.push_back(id);
    }
    // The demo viewer starts with 1,000 yuan of sandbox money for the cashier.
    RETURN_IF_ERROR(tx.Exec(kDemoWallet, {user_ids[0], int64_t{100'000}, now}));
    RETURN_IF_ERROR(PostEntry(tx,
                              {"topup",
                               "demo:" + user_ids[0],
                               std::nullopt,
                               {{SandboxFundingAccount(), -100'000}, {WalletAccount(user_ids[0]), 100'000}}},
                              now));
    std::vector<std::string> creators;
    const char* names[] = {"北京吃货小王", "魔都探店Lily", "成都耍事儿"};
    for (size_t i = 0; i < 3; ++i) {
      ASSIGN_OR_RETURN(
          auto id, CreateCreator(tx,
                                 {user_ids[i + 1], names[i],
                                  "/static/avatars/" + std::to_string(i + 1) + ".png", "吃喝玩乐，真实探店"},
                                 now));
      creators.push_back(id);
    }

    // Deals by title fragment, so the videos below read naturally.
    auto find = [&](std::string_view fragment) -> std::string {
      for (const auto& d : deals) {
        if (d.title.find(fragment) != std::string::npos) return d.deal_id;
      }
      return {};
    };
    struct DemoVideo {
      size_t creator;
      const char* title;
      const char* city;
      std::vector<const char*> tags;
      std::vector<const char*> deals;
    };
    const std::vector<DemoVideo> videos = {
        {0,
         "新年好食记｜湊湊火锅双人套餐，奶茶无限续？",
         "北京",
         {"新年好食记", "火锅", "湊湊"},
         {"湊湊火锅双人套餐", "湊湊100元代金券"}},
        {0,
         "紫光园烤鸭四人餐，老北京的年味儿",
         "北京",
         {"新年好食记", "烤鸭", "老字号"},
         {"紫光园烤鸭四人餐"}},
        {0, "早餐次卡到底划不划算？紫光园实测", "北京", {"早餐", "次卡"}, {"紫光园早餐次卡"}},
        {1,
         "上海下午茶｜85度C海盐咖啡双人套餐",
         "上海",
         {"新年好食记", "下午茶", "85度C"},
         {"85度C 海盐咖啡", "85度C 50元"}},
        {1,
         "CoCo都可奶茶次卡，一天一杯不心疼",
         "上海",
         {"奶茶", "CoCo都可"},
         {"CoCo都可奶茶10杯次卡", "CoCo都可15元"}},
        {1, "周末保龄球局，三局次卡真香", "上海", {"休闲", "保龄球"}, {"星云保龄球"}},
        {2,
         "书亦烧仙草：半杯都是料",
         "成都",
         {"新年好食记", "奶茶", "书亦烧仙草"},
         {"书亦烧仙草20元", "书亦烧仙草招牌"}},
        {2, "青城山一日游，门票这样买最省", "成都", {"景区", "青城山"}, {"青城山前山成人门票"}},
        {2, "迷雾剧本杀《雾都谜案》沉浸体验", "成都", {"剧本杀"}, {"迷雾剧本杀"}},
        {0, "住进后海四合院，过一个胡同里的新年", "北京", {"民宿", "胡同"}, {"后海小院民宿", "京城之眼酒店"}},
        {1,
         "新年换发型，总监洗剪吹68元",
         "上海",
         {"美发", "新年"},
         {"丝发造型 总监洗剪吹", "丝发造型 头皮护理"}},
    };
    int n = 0;
    for (const auto& v : videos) {
      VideoInput in;
      in.creator_id = creators[v.creator];
      in.title = v.title;
      in.description = std::string(v.title) + " —— 点击下方团购，直接下单。";
      in.cover_url = "https://cdn.hutong.example/covers/" + std::to_string(++n) + ".jpg";
      in.video_url = "https://cdn.hutong.example/videos/" + std::to_string(n) + ".mp4";
      in.city = v.city;
      for (const char* t : v.tags) in.tags.emplace_back(t);
      for (const char* fragment : v.deals) {
        std::string deal_id = find(fragment);
        if (deal_id.empty()) return Internal(std::string("demo deal not found: ") + fragment);
        in.mounts.push_back({app_id, deal_id});
      }
      RETURN_IF_ERROR(CreateVideo(tx, in, now));
    }
    RETURN_IF_ERROR(tx.Exec(kSetMarker, {app_id}));
    return DemoContentResult{false, app_id};
  });
}

}  // namespace hutong::host
