// The one tokenizer behind search, for both SQLite FTS5 and PostgreSQL full-text search:
// CJK runs become overlapping bigrams (plus unigrams), Latin letters and digits become
// lowercased words. Both databases get the tokens space-joined, so they never need to
// understand Chinese themselves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hutong::host::search {

// Tokens of a text, in order, with repeats. A CJK run (Han incl. extension A, kana,
// hangul) yields its overlapping bigrams, or its single character when the run has one;
// Latin letters and digits form words, ASCII-lowercased, full-width forms folded
// (Ｃｏｃｏ → coco); a change of script ends a token ("85度C" → 85, 度, c); anything else
// (spaces, punctuation, emoji, invalid UTF-8 bytes) only separates tokens. A few
// traditional characters fold to simplified (湊 → 凑) so either spelling matches.
std::vector<std::string> Tokenize(std::string_view utf8);

// What is stored for a document: Tokenize() plus every CJK character on its own, so a
// one-character query (茶) finds it.
std::vector<std::string> IndexTokens(std::string_view utf8);

// What a query looks for (all of them): Tokenize(); a one-character CJK query is its
// unigram. Repeats removed, order kept.
std::vector<std::string> QueryTokens(std::string_view utf8);

}  // namespace hutong::host::search
