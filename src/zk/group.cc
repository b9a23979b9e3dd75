#include "zk/group.h"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "base/assert.h"

namespace folio::zk {
namespace {

// ℓ in little-endian bytes (RFC 9496 §4.1).
constexpr std::array<uint8_t, 32> kOrder = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

bool below_order(const uint8_t* bytes) {
  // Compare from the most significant byte down.
  for (int i = 31; i >= 0; --i) {
    if (bytes[i] < kOrder[static_cast<size_t>(i)]) return true;
    if (bytes[i] > kOrder[static_cast<size_t>(i)]) return false;
  }
  return false;  // equal to ℓ
}

}  // namespace

void ensure_sodium() {
  static const int initialised = sodium_init();
  FOLIO_ASSERT(initialised >= 0);
}

// ---- Scalar -----------------------------------------------------------------------------------

Scalar Scalar::from_u64(uint64_t v) {
  Scalar s;
  for (int i = 0; i < 8; ++i) s.bytes_[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  return s;  // below 2^64 < ℓ, so canonical
}

Scalar Scalar::reduce_wide(const std::array<uint8_t, 64>& wide) {
  ensure_sodium();
  Scalar s;
  crypto_core_ristretto255_scalar_reduce(s.bytes_.data(), wide.data());
  return s;
}

Result<Scalar> Scalar::from_canonical(ByteView bytes) {
  if (bytes.size() != kScalarBytes)
    return make_error(ErrorCode::kMalformed,
                      "scalar must be 32 bytes, got " + std::to_string(bytes.size()));
  if (!below_order(bytes.data()))
    return make_error(ErrorCode::kMalformed, "non-canonical scalar (not below the group order)");
  Scalar s;
  std::memcpy(s.bytes_.data(), bytes.data(), kScalarBytes);
  return s;
}

Scalar Scalar::operator+(const Scalar& o) const {
  ensure_sodium();
  Scalar out;
  crypto_core_ristretto255_scalar_add(out.bytes_.data(), bytes_.data(), o.bytes_.data());
  return out;
}

Scalar Scalar::operator-(const Scalar& o) const {
  ensure_sodium();
  Scalar out;
  crypto_core_ristretto255_scalar_sub(out.bytes_.data(), bytes_.data(), o.bytes_.data());
  return out;
}

Scalar Scalar::operator*(const Scalar& o) const {
  ensure_sodium();
  Scalar out;
  crypto_core_ristretto255_scalar_mul(out.bytes_.data(), bytes_.data(), o.bytes_.data());
  return out;
}

Scalar Scalar::operator-() const {
  ensure_sodium();
  Scalar out;
  crypto_core_ristretto255_scalar_negate(out.bytes_.data(), bytes_.data());
  return out;
}

bool Scalar::is_zero() const { return sodium_is_zero(bytes_.data(), bytes_.size()) == 1; }

// ---- Point ------------------------------------------------------------------------------------

const Point& Point::base() {
  static const Point b = base_times(Scalar::one());
  return b;
}

Result<Point> Point::from_canonical(ByteView bytes) {
  ensure_sodium();
  if (bytes.size() != kPointBytes)
    return make_error(ErrorCode::kMalformed,
                      "point must be 32 bytes, got " + std::to_string(bytes.size()));
  Point p;
  std::memcpy(p.bytes_.data(), bytes.data(), kPointBytes);
  if (crypto_core_ristretto255_is_valid_point(p.bytes_.data()) != 1)
    return make_error(ErrorCode::kMalformed, "not a canonical ristretto255 point encoding");
  return p;
}

Point Point::hash_to_group(std::string_view domain, ByteView message) {
  ensure_sodium();
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  // Length framing keeps (domain, message) pairs from colliding across boundaries.
  uint8_t len[8];
  uint64_t n = domain.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  crypto_hash_sha512_update(&state, len, 8);
  crypto_hash_sha512_update(&state, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  n = message.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  crypto_hash_sha512_update(&state, len, 8);
  crypto_hash_sha512_update(&state, message.data(), message.size());
  uint8_t wide[64];
  crypto_hash_sha512_final(&state, wide);
  Point p;
  crypto_core_ristretto255_from_hash(p.bytes_.data(), wide);
  return p;
}

Point Point::base_times(const Scalar& s) {
  ensure_sodium();
  Point p;
  // Returns -1 exactly when the product is the identity, which leaves zeros in the output:
  // the identity's encoding.
  if (crypto_scalarmult_ristretto255_base(p.bytes_.data(), s.bytes().data()) != 0) return Point();
  return p;
}

Point Point::operator+(const Point& o) const {
  ensure_sodium();
  Point out;
  int rc = crypto_core_ristretto255_add(out.bytes_.data(), bytes_.data(), o.bytes_.data());
  FOLIO_ASSERT(rc == 0);  // both operands were validated on construction
  return out;
}

Point Point::operator-(const Point& o) const {
  ensure_sodium();
  Point out;
  int rc = crypto_core_ristretto255_sub(out.bytes_.data(), bytes_.data(), o.bytes_.data());
  FOLIO_ASSERT(rc == 0);  // both operands were validated on construction
  return out;
}

Point Point::operator*(const Scalar& s) const {
  ensure_sodium();
  if (is_identity() || s.is_zero()) return Point();
  Point out;
  if (crypto_scalarmult_ristretto255(out.bytes_.data(), s.bytes().data(), bytes_.data()) != 0)
    return Point();
  return out;
}

bool Point::is_identity() const { return sodium_is_zero(bytes_.data(), bytes_.size()) == 1; }

Point operator*(const Scalar& s, const Point& p) { return p * s; }

// ---- Generators -------------------------------------------------------------------------------

namespace {
constexpr std::string_view kGeneratorDomain = "folio/zk/generator/v1";

std::vector<Point> make_vector_generators() {
  std::vector<Point> out;
  out.reserve(kVectorGeneratorsMax);
  for (size_t i = 0; i < kVectorGeneratorsMax; ++i) {
    std::string label = "G_" + std::to_string(i);
    out.push_back(Point::hash_to_group(kGeneratorDomain, as_bytes(label)));
  }
  return out;
}
}  // namespace

const Point& Generators::g() { return Point::base(); }

const Point& Generators::h() {
  static const Point h = Point::hash_to_group(kGeneratorDomain, as_bytes("H"));
  return h;
}

const Point& Generators::g_i(size_t index) {
  FOLIO_ASSERT(index < kVectorGeneratorsMax);
  static const std::vector<Point> table = make_vector_generators();
  return table[index];
}

// ---- Encoding ---------------------------------------------------------------------------------

void encode(codec::Writer& w, const Scalar& s) { w.fixed(s.view()); }

void decode(codec::Reader& r, Scalar& s) {
  std::array<uint8_t, kScalarBytes> raw{};
  r.fixed(raw.data(), raw.size());
  if (!r.ok()) return;
  auto parsed = Scalar::from_canonical(ByteView(raw.data(), raw.size()));
  if (!parsed.ok()) {
    r.fail(parsed.error().context);
    return;
  }
  s = *parsed;
}

void encode(codec::Writer& w, const Point& p) { w.fixed(p.view()); }

void decode(codec::Reader& r, Point& p) {
  std::array<uint8_t, kPointBytes> raw{};
  r.fixed(raw.data(), raw.size());
  if (!r.ok()) return;
  auto parsed = Point::from_canonical(ByteView(raw.data(), raw.size()));
  if (!parsed.ok()) {
    r.fail(parsed.error().context);
    return;
  }
  p = *parsed;
}

}  // namespace folio::zk
