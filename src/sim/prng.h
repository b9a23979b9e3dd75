// Prng: the simulator's only source of randomness, xoshiro256** seeded through splitmix64.
//
// Passed by reference to everything that decides a fault, a latency or a Byzantine act, so one
// seed reproduces an entire run. Integer-only (no floating point), so runs are identical on every
// platform. Value type; not thread-safe.
#pragma once

#include <cstdint>

namespace folio::sim {

class Prng {
 public:
  explicit Prng(uint64_t seed) {
    for (uint64_t& word : state_) word = splitmix64(seed);
  }

  uint64_t next() {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound), bound > 0 (Lemire's multiply-shift with rejection, so unbiased).
  uint64_t below(uint64_t bound) {
    for (;;) {
      unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
      uint64_t low = static_cast<uint64_t>(m);
      if (low >= bound || low >= (-bound) % bound) return static_cast<uint64_t>(m >> 64);
    }
  }
  // Uniform in [low, high].
  int64_t range(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(below(static_cast<uint64_t>(high - low) + 1));
  }
  // True with probability ppm / 1,000,000.
  bool chance_ppm(uint32_t ppm) { return below(1'000'000) < ppm; }
  // An independent stream for a sub-component, so adding draws in one does not shift another.
  Prng fork() { return Prng(next()); }

 private:
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace folio::sim
