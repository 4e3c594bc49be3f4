#include "common/ids.h"

#include <array>
#include <cstring>
#include <mutex>

#include "common/random.h"

namespace hutong {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct Generator {
  std::mutex mu;
  int64_t last_ms = -1;                 // guarded by mu
  std::array<uint8_t, 10> last_rand{};  // guarded by mu
};

Generator& Gen() {
  static Generator g;
  return g;
}

// Adds one to a big-endian 80-bit number; returns false on wrap-around.
bool Increment(std::array<uint8_t, 10>& r) {
  for (int i = 9; i >= 0; --i) {
    if (++r[static_cast<size_t>(i)] != 0) return true;
  }
  return false;
}

}  // namespace

std::string NewId(std::string_view prefix, const Clock& clock) {
  std::array<uint8_t, 16> bytes{};
  {
    Generator& g = Gen();
    std::lock_guard lock(g.mu);
    int64_t ms = clock.NowMs();
    if (ms <= g.last_ms) {
      // Same (or earlier, if the clock stepped back) millisecond: stay monotonic.
      ms = g.last_ms;
      if (!Increment(g.last_rand)) {
        ++ms;
        FillRandom(g.last_rand.data(), g.last_rand.size());
      }
    } else {
      FillRandom(g.last_rand.data(), g.last_rand.size());
    }
    g.last_ms = ms;
    const auto t = static_cast<uint64_t>(ms);
    for (int i = 0; i < 6; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(t >> (40 - 8 * i));
    std::memcpy(bytes.data() + 6, g.last_rand.data(), 10);
  }
  // 128 bits → 26 base32 characters (the first carries only 3 bits).
  std::string out;
  out.reserve(prefix.size() + 27);
  out.append(prefix);
  out.push_back('_');
  __extension__ typedef unsigned __int128 U128;
  U128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  char body[26];
  for (int i = 25; i >= 0; --i) {
    body[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  out.append(body, 26);
  return out;
}

bool IsWellFormedId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 27 || id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') {
    return false;
  }
  for (char c : id.substr(prefix.size() + 1)) {
    if (std::strchr(kAlphabet, c) == nullptr || c == '\0') return false;
  }
  return id[prefix.size() + 1] <= '7';
}

}  // namespace hutong
