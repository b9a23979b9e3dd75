#include "zk/prng.h"

#include <sodium.h>

#include <cstring>

namespace folio::zk {

SeededPrng::SeededPrng(std::string_view label) {
  ensure_sodium();
  uint8_t digest[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(digest, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  std::memcpy(seed_.data(), digest, 32);
}

void SeededPrng::fill(std::span<uint8_t> out) {
  ensure_sodium();
  for (uint8_t& byte : out) {
    if (used_ == block_.size()) {
      // block_i = SHA-512("folio/zk/prng/v1" || seed || u64le i)
      crypto_hash_sha512_state state;
      crypto_hash_sha512_init(&state);
      static constexpr std::string_view kDomain = "folio/zk/prng/v1";
      crypto_hash_sha512_update(&state, reinterpret_cast<const uint8_t*>(kDomain.data()),
                                kDomain.size());
      crypto_hash_sha512_update(&state, seed_.data(), seed_.size());
      uint8_t counter[8];
      for (int i = 0; i < 8; ++i) counter[i] = static_cast<uint8_t>(counter_ >> (8 * i));
      crypto_hash_sha512_update(&state, counter, sizeof counter);
      crypto_hash_sha512_final(&state, block_.data());
      ++counter_;
      used_ = 0;
    }
    byte = block_[used_++];
  }
}

Scalar random_scalar(Prng& prng) {
  std::array<uint8_t, 64> wide{};
  prng.fill(wide);
  Scalar s = Scalar::reduce_wide(wide);
  sodium_memzero(wide.data(), wide.size());
  return s;
}

}  // namespace folio::zk
