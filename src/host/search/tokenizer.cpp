#include "host/search/tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

namespace hutong::host::search {
namespace {

enum class Kind { kSeparator, kWord, kCjk };

// Decodes one UTF-8 code point at `i`; on a malformed sequence returns false and sets
// `len` to 1 so that only the bad byte is skipped.
bool Decode(std::string_view s, size_t i, char32_t& cp, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  len = 1;
  if (b0 < 0x80) {
    cp = b0;
    return true;
  }
  size_t n;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (i + n > s.size()) return false;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  len = n;
  return true;
}

void Append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Full-width ASCII letters and digits fold to ASCII; ASCII upper case to lower case.
char32_t Fold(char32_t cp) {
  if (cp >= 0xFF10 && cp <= 0xFF19)
    cp = cp - 0xFF10 + U'0';
  else if (cp >= 0xFF21 && cp <= 0xFF3A)
    cp = cp - 0xFF21 + U'A';
  else if (cp >= 0xFF41 && cp <= 0xFF5A)
    cp = cp - 0xFF41 + U'a';
  if (cp >= U'A' && cp <= U'Z') cp = cp - U'A' + U'a';
  return cp;
}

// A small table of traditional characters common in shop and dish names, folded to their
// simplified forms (a bonus of the search issue, not a full conversion).
char32_t Simplify(char32_t cp) {
  static const std::unordered_map<char32_t, char32_t> kTable = [] {
    const std::u32string_view trad =
        U"湊鍋東園書燒門過龍雞鴨麵飯館樂體點髮魚車買賣費價號場華萬國灣臺區葉蝦貝醬湯粵廣紅飲劇殺寶戲裝錢員師"
        U"鮮雙單張應開關會時來這個們說學電氣愛長頭後條鳳壽歡與億蘇滬韓陽優惠專廳茶";
    const std::u32string_view simp =
        U"凑锅东园书烧门过龙鸡鸭面饭馆乐体点发鱼车买卖费价号场华万国湾台区叶虾贝酱汤粤广红饮剧杀宝戏装钱员师"
        U"鲜双单张应开关会时来这个们说学电气爱长头后条凤寿欢与亿苏沪韩阳优惠专厅茶";
    std::unordered_map<char32_t, char32_t> m;
    for (size_t i = 0; i < trad.size() && i < simp.size(); ++i) {
      if (trad[i] != simp[i]) m.emplace(trad[i], simp[i]);
    }
    return m;
  }();
  auto it = kTable.find(cp);
  return it == kTable.end() ? cp : it->second;
}

Kind Classify(char32_t cp) {
  if ((cp >= U'0' && cp <= U'9') || (cp >= U'a' && cp <= U'z')) return Kind::kWord;
  // Other letters of Latin, Greek and Cyrillic scripts (not the × and ÷ signs).
  if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x370 && cp <= 0x4FF))
    return Kind::kWord;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) ||                                    // CJK unified ideographs
      (cp >= 0x3400 && cp <= 0x4DBF) ||                                    // extension A
      (cp >= 0x20000 && cp <= 0x3134F) ||                                  // extensions B..G
      (cp >= 0xF900 && cp <= 0xFAFF) ||                                    // compatibility ideographs
      cp == 0x3005 ||                                                      // 々
      (cp >= 0x3040 && cp <= 0x309F) ||                                    // hiragana
      (cp >= 0x30A0 && cp <= 0x30FF && cp != 0x30FB) ||                    // katakana, not the middle dot
      (cp >= 0x31F0 && cp <= 0x31FF) ||                                    // katakana phonetic extensions
      (cp >= 0xAC00 && cp <= 0xD7AF) ||                                    // hangul syllables
      (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F)) {  // hangul jamo
    return Kind::kCjk;
  }
  return Kind::kSeparator;
}

void EmitCjkRun(const std::vector<char32_t>& run, bool all_unigrams, std::vector<std::string>& out) {
  if (run.size() == 1) {
    out.emplace_back();
    Append(out.back(), run[0]);
    return;
  }
  for (size_t i = 0; i + 1 < run.size(); ++i) {
    std::string bigram;
    Append(bigram, run[i]);
    Append(bigram, run[i + 1]);
    out.push_back(std::move(bigram));
  }
  if (all_unigrams) {
    for (char32_t cp : run) {
      out.emplace_back();
      Append(out.back(), cp);
    }
  }
}

std::vector<std::string> Run(std::string_view s, bool all_unigrams) {
  std::vector<std::string> out;
  std::string word;
  std::vector<char32_t> cjk;
  auto flush = [&] {
    if (!word.empty()) out.push_back(std::move(word));
    word.clear();
    if (!cjk.empty()) EmitCjkRun(cjk, all_unigrams, out);
    cjk.clear();
  };
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    size_t len = 1;
    const bool valid = Decode(s, i, cp, len);
    i += len;
    const Kind kind = valid ? Classify(cp = Simplify(Fold(cp))) : Kind::kSeparator;
    if (kind != Kind::kWord && !word.empty()) flush();
    if (kind != Kind::kCjk && !cjk.empty()) flush();
    if (kind == Kind::kWord)
      Append(word, cp);
    else if (kind == Kind::kCjk)
      cjk.push_back(cp);
  }
  flush();
  return out;
}

}  // namespace

std::vector<std::string> Tokenize(std::string_view utf8) {
  return Run(utf8, false);
}

std::vector<std::string> IndexTokens(std::string_view utf8) {
  return Run(utf8, true);
}

std::vector<std::string> QueryTokens(std::string_view utf8) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (auto& t : Run(utf8, false)) {
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace hutong::host::search
