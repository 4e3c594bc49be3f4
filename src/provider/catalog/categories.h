// The fixed category list of DESIGN.md ("Catalog"), shared by stores and deals.
#pragma once

#include <array>
#include <string_view>

namespace hutong::provider {

struct Category {
  std::string_view code;  // stable API value
  std::string_view name_zh;
  std::string_view name_en;
};

inline constexpr std::array<Category, 7> kCategories = {{
    {"catering", "餐饮", "Catering"},
    {"hotel", "酒店", "Hotel"},
    {"homestay", "民宿", "Homestay"},
    {"scenic", "景区", "Scenic spot"},
    {"leisure", "休闲玩乐", "Leisure"},
    {"beauty", "美容美发", "Beauty and hair"},
    {"script_murder", "剧本杀", "Script murder"},
}};

inline const Category* FindCategory(std::string_view code) {
  for (const auto& c : kCategories) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

inline constexpr std::array<std::string_view, 4> kDealTypes = {"set_meal", "voucher", "multi_use",
                                                               "reservation"};
inline bool IsDealType(std::string_view t) {
  for (auto d : kDealTypes) {
    if (d == t) return true;
  }
  return false;
}

}  // namespace hutong::provider
