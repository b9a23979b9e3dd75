// Pedersen commitments and exponential ElGamal over ristretto255.
//
// Pedersen (single): C = m·G + r·H. Vector: C = r·H + Σ mᵢ·Gᵢ with the independent generators of
// group.h. Perfectly hiding; binding as long as no one knows a relation between G, H and the Gᵢ
// (they come from hash-to-group). Additively homomorphic: C(m, r) + C(m', r') = C(m+m', r+r').
//
// Exponential ElGamal under a public key Y = x·G: Enc(m; r) = (a, b) = (r·G, m·G + r·Y). Adding
// ciphertexts adds plaintexts, which is what lets SVote tally without decrypting single votes.
// Decryption recovers m·G = b − x·a and then m by baby-step giant-step, so only small plaintexts
// (at most kDecryptValueMax) are decryptable; that covers vote counts.
//
// Value types and pure functions. Randomness comes from a caller-supplied Prng. Thread-safe for
// concurrent const use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "codec/codec.h"
#include "zk/group.h"
#include "zk/prng.h"

namespace folio::zk {

// ---- Pedersen ---------------------------------------------------------------------------------

Point pedersen_commit(const Scalar& value, const Scalar& blinding);
// REQUIRES: values.size() <= kVectorGeneratorsMax
Point pedersen_commit_vector(std::span<const Scalar> values, const Scalar& blinding);

// A commitment with its opening, as the party that made it keeps it.
struct Opening {
  Scalar value;
  Scalar blinding;
  FOLIO_FIELDS(value, blinding)
  friend bool operator==(const Opening&, const Opening&) = default;
};

// ---- ElGamal ----------------------------------------------------------------------------------

// Largest plaintext decrypt() searches for; bounds its work at about 2·sqrt(max) group additions.
constexpr uint64_t kDecryptValueMax = uint64_t{1} << 32;

struct ElGamalKeyPair {
  Scalar secret;
  Point public_key;
  static ElGamalKeyPair generate(Prng& prng);
  static ElGamalKeyPair from_secret(const Scalar& secret);
};

struct Ciphertext {
  Point a;  // r·G
  Point b;  // m·G + r·Y
  FOLIO_FIELDS(a, b)
  friend bool operator==(const Ciphertext&, const Ciphertext&) = default;

  Ciphertext operator+(const Ciphertext& o) const { return {a + o.a, b + o.b}; }
  // The encryption of zero with zero randomness: the neutral element of ciphertext addition.
  static Ciphertext zero() { return {}; }
};

Ciphertext elgamal_encrypt(const Point& public_key, const Scalar& message,
                           const Scalar& randomness);

// m·G = b − x·a.
Point elgamal_decrypt_to_point(const Scalar& secret, const Ciphertext& ct);

// Finds m ≤ value_max with m·G = target by baby-step giant-step, or nullopt.
// REQUIRES: value_max <= kDecryptValueMax
std::optional<uint64_t> discrete_log_small(const Point& target, uint64_t value_max);

// Decrypts a ciphertext of a small plaintext; kNotFound if the plaintext exceeds value_max.
// REQUIRES: value_max <= kDecryptValueMax
Result<uint64_t> elgamal_decrypt(const Scalar& secret, const Ciphertext& ct, uint64_t value_max);

}  // namespace folio::zk
