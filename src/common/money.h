// Money is an integer number of fen (1/100 yuan). Never a float.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hutong {

using Fen = int64_t;

// amount × basis_points / 10000, rounded half up; nullopt on overflow or negative input.
std::optional<Fen> ApplyBasisPoints(Fen amount, int64_t basis_points);
// Checked arithmetic: nullopt on overflow.
std::optional<Fen> AddFen(Fen a, Fen b);
std::optional<Fen> MulFen(Fen a, int64_t n);
// "¥12.50" for display only (logs, pages); APIs send integers.
std::string FormatYuan(Fen amount);

}  // namespace hutong
