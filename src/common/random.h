// Cryptographically secure randomness (OpenSSL's CSPRNG) for ids, tokens and codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hutong {

// Aborts the process if the CSPRNG fails: continuing with weak randomness is worse.
void FillRandom(uint8_t* out, size_t n);
// n random bytes as lowercase hex (2n characters).
std::string RandomHex(size_t n);
// A uniformly random integer in [0, bound).
uint64_t RandomBelow(uint64_t bound);

}  // namespace hutong
