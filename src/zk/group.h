// The ristretto255 prime-order group (RFC 9496) over libsodium 1.0.18: scalars modulo
// ℓ = 2^252 + 27742317777372353535851937790883648493, points as their canonical 32-byte encodings,
// and independent generators derived by hash-to-group with domain separation.
//
// Scalar and Point are plain 32-byte values. Every constructor that takes untrusted bytes checks
// canonicity (a scalar below ℓ, a point that libsodium's strict decoder accepts), so a value of
// either type is always canonical and equal values have equal encodings. The identity point is
// representable (all-zero bytes) because sums of ciphertexts and commitments can reach it; callers
// that need a non-identity point (public keys, generators) check `is_identity()`.
//
// libsodium's scalar multiplication refuses to output the identity (it returns -1 for a zero
// scalar or a product of order one); `operator*` here maps that case to the identity point, which
// is the mathematically correct answer, instead of treating it as an error.
//
// Pure functions, no global state beyond libsodium's own (sodium_init is idempotent and called
// once by `ensure_sodium`). Thread-safe for concurrent const use.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "codec/codec.h"

namespace folio::zk {

constexpr size_t kScalarBytes = 32;
constexpr size_t kPointBytes = 32;

class Scalar {
 public:
  // Zero.
  Scalar() = default;

  static Scalar zero() { return Scalar(); }
  static Scalar one() { return from_u64(1); }
  static Scalar from_u64(uint64_t v);
  // Reduces 64 uniformly random or hashed bytes modulo ℓ (bias below 2^-250).
  static Scalar reduce_wide(const std::array<uint8_t, 64>& wide);
  // Fails unless `bytes` is 32 bytes encoding an integer below ℓ.
  static Result<Scalar> from_canonical(ByteView bytes);

  Scalar operator+(const Scalar& o) const;
  Scalar operator-(const Scalar& o) const;
  Scalar operator*(const Scalar& o) const;
  Scalar operator-() const;
  bool is_zero() const;

  const std::array<uint8_t, kScalarBytes>& bytes() const { return bytes_; }
  ByteView view() const { return ByteView(bytes_.data(), bytes_.size()); }
  std::string hex() const { return to_hex(view()); }

  friend bool operator==(const Scalar&, const Scalar&) = default;

 private:
  std::array<uint8_t, kScalarBytes> bytes_{};
};

class Point {
 public:
  // The identity.
  Point() = default;

  static Point identity() { return Point(); }
  // The conventional ristretto255 base point B (the generator `G` in this module's proofs).
  static const Point& base();
  // Fails unless `bytes` is a canonical ristretto255 encoding.
  static Result<Point> from_canonical(ByteView bytes);
  // Hash-to-group (RFC 9496 §4.3.4, one-way map of a 64-byte uniform string): SHA-512 of a
  // length-framed domain tag and message, mapped with libsodium's from_hash. Nobody knows the
  // discrete log of the result relative to any other generator.
  static Point hash_to_group(std::string_view domain, ByteView message);
  // s·B, faster than base() * s (libsodium's fixed-base table).
  static Point base_times(const Scalar& s);

  Point operator+(const Point& o) const;
  Point operator-(const Point& o) const;
  Point operator*(const Scalar& s) const;
  bool is_identity() const;

  const std::array<uint8_t, kPointBytes>& bytes() const { return bytes_; }
  ByteView view() const { return ByteView(bytes_.data(), bytes_.size()); }
  std::string hex() const { return to_hex(view()); }

  friend bool operator==(const Point&, const Point&) = default;
  friend auto operator<=>(const Point&, const Point&) = default;

 private:
  std::array<uint8_t, kPointBytes> bytes_{};
};

Point operator*(const Scalar& s, const Point& p);

// The generators that every Folio proof uses. G is the ristretto255 base point; H and G_i come
// from hash_to_group under the domain "folio/zk/generator/v1", so no one knows log_G H or any
// relation between them (what makes Pedersen commitments binding).
struct Generators {
  // REQUIRES: index < kVectorGeneratorsMax
  static const Point& g();
  static const Point& h();
  static const Point& g_i(size_t index);
};
constexpr size_t kVectorGeneratorsMax = 256;

// Calls sodium_init once; every function of this module does so itself, so callers need not.
void ensure_sodium();

// Canonical encodings: 32 raw bytes each. The decoders reject non-canonical scalars and points.
void encode(codec::Writer& w, const Scalar& s);
void decode(codec::Reader& r, Scalar& s);
void encode(codec::Writer& w, const Point& p);
void decode(codec::Reader& r, Point& p);

}  // namespace folio::zk
