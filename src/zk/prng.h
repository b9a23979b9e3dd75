// Prng: the source of randomness that provers take as an argument (STYLE.md: pure modules read no
// global random). Provers draw blinding factors and nonces from it; verifiers never need one.
//
// SeededPrng is a deterministic generator for tests and reproducible benchmarks: SHA-512 in
// counter mode over a 32-byte seed. A caller that needs real randomness (the CLI, a client node)
// implements Prng over the operating system's generator outside this module, or seeds a
// SeededPrng from it. Not thread-safe: one Prng per thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/bytes.h"
#include "zk/group.h"

namespace folio::zk {

class Prng {
 public:
  virtual ~Prng() = default;
  virtual void fill(std::span<uint8_t> out) = 0;
};

class SeededPrng : public Prng {
 public:
  explicit SeededPrng(const FixedBytes<32>& seed) : seed_(seed) {}
  // Convenience for tests: the seed is the label's SHA-512 prefix.
  explicit SeededPrng(std::string_view label);
  void fill(std::span<uint8_t> out) override;

 private:
  FixedBytes<32> seed_;
  uint64_t counter_ = 0;
  std::array<uint8_t, 64> block_{};
  size_t used_ = 64;  // bytes of block_ already handed out
};

// A uniformly random scalar (64 bytes reduced modulo ℓ).
Scalar random_scalar(Prng& prng);

}  // namespace folio::zk
