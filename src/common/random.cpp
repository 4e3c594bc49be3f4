#include "common/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "common/hex.h"

namespace hutong {

void FillRandom(uint8_t* out, size_t n) {
  if (n == 0) return;
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    std::fputs("fatal: OpenSSL RAND_bytes failed\n", stderr);
    std::abort();
  }
}

std::string RandomHex(size_t n) {
  std::vector<uint8_t> buf(n);
  FillRandom(buf.data(), n);
  return HexEncode(buf.data(), n);
}

uint64_t RandomBelow(uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling keeps the distribution uniform.
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t v;
  do {
    FillRandom(reinterpret_cast<uint8_t*>(&v), sizeof v);
  } while (v >= limit);
  return v % bound;
}

}  // namespace hutong
