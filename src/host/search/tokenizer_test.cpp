// The search tokenizer: CJK bigrams and unigrams, Latin words, script boundaries.
#include "host/search/tokenizer.h"

#include <gtest/gtest.h>

namespace hutong::host::search {
namespace {

using V = std::vector<std::string>;

TEST(Tokenizer, ChineseRunsBecomeOverlappingBigrams) {
  EXPECT_EQ(Tokenize("火锅"), V({"火锅"}));
  EXPECT_EQ(Tokenize("新年好食记"), V({"新年", "年好", "好食", "食记"}));
  EXPECT_EQ(Tokenize("书亦烧仙草"), V({"书亦", "亦烧", "烧仙", "仙草"}));
  EXPECT_EQ(Tokenize("茶"), V({"茶"}));
}

TEST(Tokenizer, TraditionalFoldsToSimplified) {
  EXPECT_EQ(Tokenize("湊湊"), V({"凑凑"}));
  EXPECT_EQ(Tokenize("凑凑"), V({"凑凑"}));
  EXPECT_EQ(Tokenize("火鍋"), Tokenize("火锅"));
  EXPECT_EQ(Tokenize("紫光園烤鴨"), Tokenize("紫光园烤鸭"));
}

TEST(Tokenizer, LatinWordsAreLowercasedAndScriptsSplit) {
  EXPECT_EQ(Tokenize("CoCo都可"), V({"coco", "都可"}));
  EXPECT_EQ(Tokenize("85度C"), V({"85", "度", "c"}));
  EXPECT_EQ(Tokenize("85度C 海盐咖啡"), V({"85", "度", "c", "海盐", "盐咖", "咖啡"}));
  EXPECT_EQ(Tokenize("Ｃｏｃｏ都可"), V({"coco", "都可"}));  // full-width ASCII
  EXPECT_EQ(Tokenize("ＣＯＣＯ１２３"), V({"coco123"}));
  EXPECT_EQ(Tokenize("iPhone15 Pro"), V({"iphone15", "pro"}));
  EXPECT_EQ(Tokenize("Café Straße"), V({"café", "straße"}));
  EXPECT_EQ(Tokenize("ラーメン一番"), V({"ラー", "ーメ", "メン", "ン一", "一番"}));
  EXPECT_EQ(Tokenize("비빔밥"), V({"비빔", "빔밥"}));
}

TEST(Tokenizer, PunctuationEmojiAndSpacesSeparate) {
  EXPECT_EQ(Tokenize("新年好食记｜湊湊火锅，奶茶？"),
            V({"新年", "年好", "好食", "食记", "凑凑", "凑火", "火锅", "奶茶"}));
  EXPECT_EQ(Tokenize("火锅🔥奶茶"), V({"火锅", "奶茶"}));
  EXPECT_EQ(Tokenize("  hello,world!  "), V({"hello", "world"}));
  EXPECT_EQ(Tokenize("《雾都谜案》"), V({"雾都", "都谜", "谜案"}));
  EXPECT_EQ(Tokenize("3.5折"), V({"3", "5", "折"}));
  EXPECT_TRUE(Tokenize("").empty());
  EXPECT_TRUE(Tokenize("🔥🎉 ，。!").empty());
}

TEST(Tokenizer, InvalidUtf8IsSkippedNotFatal) {
  EXPECT_EQ(Tokenize("ab\xff"
                     "cd"),
            V({"ab", "cd"}));
  EXPECT_EQ(Tokenize("\xe7\x81"), V({}));  // truncated 火
  EXPECT_EQ(Tokenize("\xe7\x81火锅"), V({"火锅"}));
  EXPECT_EQ(Tokenize("\xc0\xaf"
                     "x"),
            V({"x"}));  // overlong '/'
  EXPECT_EQ(Tokenize("\xed\xa0\x80"
                     "y"),
            V({"y"}));  // a surrogate
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_NO_THROW(Tokenize(all));
}

TEST(Tokenizer, IndexTokensAddEveryCjkUnigram) {
  EXPECT_EQ(IndexTokens("烤鸭"), V({"烤鸭", "烤", "鸭"}));
  EXPECT_EQ(IndexTokens("CoCo奶茶"), V({"coco", "奶茶", "奶", "茶"}));
  EXPECT_EQ(IndexTokens("85度C"), V({"85", "度", "c"}));
}

TEST(Tokenizer, QueryTokensForOneCharacterAndRepeats) {
  EXPECT_EQ(QueryTokens("茶"), V({"茶"}));
  EXPECT_EQ(QueryTokens("鸭"), V({"鸭"}));
  EXPECT_EQ(QueryTokens("火锅"), V({"火锅"}));
  EXPECT_EQ(QueryTokens("哈哈哈"), V({"哈哈"}));
  EXPECT_EQ(QueryTokens("CoCo coco都可"), V({"coco", "都可"}));
  EXPECT_TRUE(QueryTokens("！？").empty());
}

}  // namespace
}  // namespace hutong::host::search
