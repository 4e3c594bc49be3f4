#include "common/ids.h"

#include <array>
#include <cstring>
#include <mutex>
#include <random>

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

// 48 bits of milliseconds and 80 bits of `rand` → `out` = prefix '_' 26 Crockford base32.
void Encode(std::string& out, std::string_view prefix, int64_t ms, const std::array<uint8_t, 10>& rand) {
  std::array<uint8_t, 16> bytes{};
  const auto t = static_cast<uint64_t>(ms);
  for (int i = 0; i < 6; ++i) bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(t >> (40 - 8 * i));
  std::memcpy(bytes.data() + 6, rand.data(), 10);
  // 128 bits → 26 base32 characters (the first carries only 3 bits).
  __extension__ typedef unsigned __int128 U128;
  U128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  char body[26];
  for (int i = 25; i >= 0; --i) {
    body[i] = kAlphabet[static_cast<unsigned>(v & 31)];
    v >>= 5;
  }
  out.clear();
  out.reserve(prefix.size() + 27);
  out.append(prefix);
  out.push_back('_');
  out.append(body, 26);
}

// The standard 64-bit Mersenne Twister seeded from the CSPRNG: the random part of
// thread-local ids. Ids are not secrets (they are sent to clients and logged); they need
// only not collide across threads and nodes, which 80 independent bits per millisecond give.
struct ThreadGenerator {
  ThreadGenerator() {
    std::array<uint32_t, 8> seed{};
    FillRandom(reinterpret_cast<uint8_t*>(seed.data()), sizeof(seed));
    std::seed_seq seq(seed.begin(), seed.end());
    engine.seed(seq);
  }
  void Fill(std::array<uint8_t, 10>& r) {
    const uint64_t a = engine();
    const uint64_t b = engine();
    std::memcpy(r.data(), &a, 8);
    std::memcpy(r.data() + 8, &b, 2);
  }

  std::mt19937_64 engine;
  int64_t last_ms = -1;
  std::array<uint8_t, 10> last_rand{};
};

}  // namespace

void AssignThreadLocalId(std::string& out, std::string_view prefix, const Clock& clock) {
  thread_local ThreadGenerator g;
  int64_t ms = clock.NowMs();
  if (ms <= g.last_ms) {
    ms = g.last_ms;
    if (!Increment(g.last_rand)) {
      ++ms;
      g.Fill(g.last_rand);
    }
  } else {
    g.Fill(g.last_rand);
  }
  g.last_ms = ms;
  Encode(out, prefix, ms, g.last_rand);
}

std::string NewId(std::string_view prefix, const Clock& clock) {
  int64_t ms = 0;
  std::array<uint8_t, 10> rand{};
  {
    Generator& g = Gen();
    std::lock_guard lock(g.mu);
    ms = clock.NowMs();
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
    rand = g.last_rand;
  }
  std::string out;
  Encode(out, prefix, ms, rand);
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
