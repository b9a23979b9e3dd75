#include "zk/commitments.h"

#include <cstring>
#include <unordered_map>

#include "base/assert.h"

namespace folio::zk {

Point pedersen_commit(const Scalar& value, const Scalar& blinding) {
  return Point::base_times(value) + Generators::h() * blinding;
}

Point pedersen_commit_vector(std::span<const Scalar> values, const Scalar& blinding) {
  FOLIO_ASSERT(values.size() <= kVectorGeneratorsMax);
  Point c = Generators::h() * blinding;
  for (size_t i = 0; i < values.size(); ++i) c = c + Generators::g_i(i) * values[i];
  return c;
}

ElGamalKeyPair ElGamalKeyPair::generate(Prng& prng) {
  Scalar x;
  // A zero secret would make the public key the identity and every ciphertext readable.
  do {
    x = random_scalar(prng);
  } while (x.is_zero());
  return from_secret(x);
}

ElGamalKeyPair ElGamalKeyPair::from_secret(const Scalar& secret) {
  return ElGamalKeyPair{secret, Point::base_times(secret)};
}

Ciphertext elgamal_encrypt(const Point& public_key, const Scalar& message,
                           const Scalar& randomness) {
  return Ciphertext{Point::base_times(randomness),
                    Point::base_times(message) + public_key * randomness};
}

Point elgamal_decrypt_to_point(const Scalar& secret, const Ciphertext& ct) {
  return ct.b - ct.a * secret;
}

namespace {
struct PointHash {
  size_t operator()(const std::array<uint8_t, kPointBytes>& b) const noexcept {
    size_t h = 0;
    std::memcpy(&h, b.data(), sizeof h);
    return h;
  }
};

uint64_t ceil_sqrt(uint64_t n) {
  uint64_t s = 1;
  while (s * s < n) ++s;
  return s;
}
}  // namespace

std::optional<uint64_t> discrete_log_small(const Point& target, uint64_t value_max) {
  FOLIO_ASSERT(value_max <= kDecryptValueMax);
  // m = i·step + j with 0 ≤ j < step: baby steps j·G in a table, giant steps subtract step·G.
  const uint64_t step = ceil_sqrt(value_max + 1);
  std::unordered_map<std::array<uint8_t, kPointBytes>, uint64_t, PointHash> baby;
  baby.reserve(static_cast<size_t>(step));
  Point p = Point::identity();
  for (uint64_t j = 0; j < step; ++j) {
    baby.emplace(p.bytes(), j);
    p = p + Generators::g();
  }
  const Point giant = p;  // step·G
  Point y = target;
  for (uint64_t i = 0; i * step <= value_max; ++i) {
    auto hit = baby.find(y.bytes());
    if (hit != baby.end()) {
      uint64_t m = i * step + hit->second;
      if (m <= value_max) return m;
      return std::nullopt;
    }
    y = y - giant;
  }
  return std::nullopt;
}

Result<uint64_t> elgamal_decrypt(const Scalar& secret, const Ciphertext& ct, uint64_t value_max) {
  auto m = discrete_log_small(elgamal_decrypt_to_point(secret, ct), value_max);
  if (!m) {
    return make_error(ErrorCode::kNotFound,
                      "plaintext is not in [0, " + std::to_string(value_max) + "]");
  }
  return *m;
}

}  // namespace folio::zk
