#include "common/money.h"

#include <cstdio>

namespace hutong {

std::optional<Fen> ApplyBasisPoints(Fen amount, int64_t basis_points) {
  if (amount < 0 || basis_points < 0) return std::nullopt;
  __extension__ typedef __int128 I128;
  I128 v = static_cast<I128>(amount) * basis_points + 5000;
  v /= 10000;
  if (v > INT64_MAX) return std::nullopt;
  return static_cast<Fen>(v);
}

std::optional<Fen> AddFen(Fen a, Fen b) {
  Fen r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<Fen> MulFen(Fen a, int64_t n) {
  Fen r;
  if (__builtin_mul_overflow(a, n, &r)) return std::nullopt;
  return r;
}

std::string FormatYuan(Fen amount) {
  char buf[48];
  const bool neg = amount < 0;
  const unsigned long long abs =
      neg ? 0ULL - static_cast<unsigned long long>(amount) : static_cast<unsigned long long>(amount);
  std::snprintf(buf, sizeof buf, "%s¥%llu.%02llu", neg ? "-" : "", abs / 100, abs % 100);
  return buf;
}

}  // namespace hutong
