#include "zk/group.h"

#include <gtest/gtest.h>

#include "zk/commitments.h"
#include "zk/prng.h"
#include "zk/transcript.h"

namespace folio::zk {
namespace {

// ℓ itself, little-endian: the smallest non-canonical scalar.
Bytes group_order_bytes() {
  return *from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
}

TEST(Scalar, ArithmeticAgreesWithIntegers) {
  Scalar a = Scalar::from_u64(7), b = Scalar::from_u64(5);
  EXPECT_EQ(a + b, Scalar::from_u64(12));
  EXPECT_EQ(a - b, Scalar::from_u64(2));
  EXPECT_EQ(a * b, Scalar::from_u64(35));
  EXPECT_EQ(b - a + Scalar::from_u64(2), Scalar::zero());
  EXPECT_EQ(-a + a, Scalar::zero());
  EXPECT_TRUE(Scalar::zero().is_zero());
}

TEST(Scalar, GroupOrderAndAboveAreNotCanonical) {
  Bytes order = group_order_bytes();
  EXPECT_FALSE(Scalar::from_canonical(order).ok());
  Bytes all_ones(32, 0xff);
  EXPECT_FALSE(Scalar::from_canonical(all_ones).ok());
  Bytes below = order;
  below[0] -= 1;  // ℓ − 1 is the largest canonical scalar
  auto s = Scalar::from_canonical(below);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s + Scalar::one(), Scalar::zero());
  EXPECT_FALSE(Scalar::from_canonical(Bytes(31, 0)).ok());
}

TEST(Scalar, DecoderRejectsNonCanonicalBytes) {
  auto decoded = codec::decode_from_bytes<Scalar>(group_order_bytes());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
  auto ok = codec::decode_from_bytes<Scalar>(codec::encode_to_bytes(Scalar::from_u64(99)));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, Scalar::from_u64(99));
}

TEST(Point, ZeroScalarGivesIdentityInsteadOfFailing) {
  // libsodium returns -1 for these; the group law says the answer is the identity.
  EXPECT_TRUE(Point::base_times(Scalar::zero()).is_identity());
  EXPECT_TRUE((Generators::h() * Scalar::zero()).is_identity());
  EXPECT_TRUE((Point::identity() * Scalar::from_u64(5)).is_identity());
  EXPECT_EQ(Point::identity() + Generators::h(), Generators::h());
  EXPECT_TRUE((Generators::h() - Generators::h()).is_identity());
  EXPECT_EQ(Point::identity() - (Point::identity() - Generators::h()), Generators::h());
}

TEST(Point, ScalarMultiplicationDistributes) {
  SeededPrng prng("point-distributes");
  Scalar a = random_scalar(prng), b = random_scalar(prng);
  EXPECT_EQ(Point::base_times(a) + Point::base_times(b), Point::base_times(a + b));
  EXPECT_EQ(Generators::h() * a * b, Generators::h() * (a * b));
  EXPECT_EQ(Point::base() * a, Point::base_times(a));
  EXPECT_EQ(Point::base_times(Scalar::from_u64(3)), Point::base() + Point::base() + Point::base());
}

TEST(Point, DecoderAcceptsIdentityAndRejectsInvalidEncodings) {
  EXPECT_TRUE(codec::decode_from_bytes<Point>(Bytes(32, 0)).ok());
  // A non-canonical field element (p itself) and a "negative" s are both invalid encodings.
  Bytes p_bytes = *from_hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  EXPECT_FALSE(codec::decode_from_bytes<Point>(p_bytes).ok());
  Bytes negative(32, 0);
  negative[0] = 1;
  EXPECT_FALSE(codec::decode_from_bytes<Point>(negative).ok());
  EXPECT_FALSE(codec::decode_from_bytes<Point>(Bytes(31, 0)).ok());
  Bytes base(Point::base().view().begin(), Point::base().view().end());
  base.push_back(0);  // trailing byte
  EXPECT_FALSE(codec::decode_from_bytes<Point>(base).ok());
}

TEST(Generators, AreDistinctAndDeterministic) {
  EXPECT_NE(Generators::g(), Generators::h());
  EXPECT_NE(Generators::g_i(0), Generators::g_i(1));
  EXPECT_NE(Generators::g_i(0), Generators::h());
  EXPECT_EQ(Generators::h(), Point::hash_to_group("folio/zk/generator/v1", as_bytes("H")));
  EXPECT_FALSE(Generators::h().is_identity());
  // Domain separation: the same message under another domain maps elsewhere.
  EXPECT_NE(Point::hash_to_group("a", as_bytes("bc")), Point::hash_to_group("ab", as_bytes("c")));
}

TEST(Pedersen, CommitmentsAreHomomorphicAndHiding) {
  SeededPrng prng("pedersen");
  Scalar r1 = random_scalar(prng), r2 = random_scalar(prng);
  Point c1 = pedersen_commit(Scalar::from_u64(10), r1);
  Point c2 = pedersen_commit(Scalar::from_u64(32), r2);
  EXPECT_EQ(c1 + c2, pedersen_commit(Scalar::from_u64(42), r1 + r2));
  EXPECT_NE(c1, pedersen_commit(Scalar::from_u64(10), r2));
  // A zero value and a zero blinding still commit (to the identity, in the degenerate case).
  EXPECT_EQ(pedersen_commit(Scalar::zero(), r1), Generators::h() * r1);
  EXPECT_TRUE(pedersen_commit(Scalar::zero(), Scalar::zero()).is_identity());
}

TEST(Pedersen, VectorCommitmentUsesOneGeneratorPerSlot) {
  Scalar r = Scalar::from_u64(9);
  std::vector<Scalar> v = {Scalar::from_u64(1), Scalar::from_u64(2)};
  Point c = pedersen_commit_vector(v, r);
  EXPECT_EQ(c, Generators::h() * r + Generators::g_i(0) + Generators::g_i(1) * Scalar::from_u64(2));
  std::vector<Scalar> swapped = {Scalar::from_u64(2), Scalar::from_u64(1)};
  EXPECT_NE(c, pedersen_commit_vector(swapped, r));
}

TEST(ElGamal, DecryptsSmallValuesIncludingZero) {
  SeededPrng prng("elgamal");
  ElGamalKeyPair keys = ElGamalKeyPair::generate(prng);
  for (uint64_t m : {0ull, 1ull, 2ull, 49ull, 50ull, 1000ull}) {
    Ciphertext ct = elgamal_encrypt(keys.public_key, Scalar::from_u64(m), random_scalar(prng));
    auto d = elgamal_decrypt(keys.secret, ct, 1000);
    ASSERT_TRUE(d.ok()) << m;
    EXPECT_EQ(*d, m);
  }
}

TEST(ElGamal, AdditionAddsPlaintexts) {
  SeededPrng prng("elgamal-add");
  ElGamalKeyPair keys = ElGamalKeyPair::generate(prng);
  Ciphertext sum = Ciphertext::zero();
  for (uint64_t m = 0; m < 10; ++m)
    sum = sum + elgamal_encrypt(keys.public_key, Scalar::from_u64(m), random_scalar(prng));
  EXPECT_EQ(*elgamal_decrypt(keys.secret, sum, 100), 45u);
}

TEST(ElGamal, PlaintextAboveTheBoundIsNotFound) {
  SeededPrng prng("elgamal-bound");
  ElGamalKeyPair keys = ElGamalKeyPair::generate(prng);
  Ciphertext ct = elgamal_encrypt(keys.public_key, Scalar::from_u64(101), random_scalar(prng));
  auto d = elgamal_decrypt(keys.secret, ct, 100);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(*elgamal_decrypt(keys.secret, ct, 101), 101u);
  // The wrong key finds nothing in range (with overwhelming probability).
  ElGamalKeyPair other = ElGamalKeyPair::generate(prng);
  EXPECT_FALSE(elgamal_decrypt(other.secret, ct, 1000).ok());
}

TEST(ElGamal, DiscreteLogFindsEveryValueUpToTheBound) {
  for (uint64_t m = 0; m <= 40; ++m) {
    auto found = discrete_log_small(Point::base_times(Scalar::from_u64(m)), 40);
    ASSERT_TRUE(found.has_value()) << m;
    EXPECT_EQ(*found, m);
  }
  EXPECT_FALSE(discrete_log_small(Point::base_times(Scalar::from_u64(41)), 40).has_value());
}

TEST(Transcript, ChallengesDependOnDomainLabelsAndFraming) {
  auto challenge = [](std::string_view domain, std::string_view label, std::string_view data) {
    Transcript t(domain);
    t.append(label, as_bytes(data));
    return t.challenge("c");
  };
  Scalar base = challenge("d", "x", "yz");
  EXPECT_EQ(base, challenge("d", "x", "yz"));
  EXPECT_NE(base, challenge("e", "x", "yz"));
  EXPECT_NE(base, challenge("d", "xy", "z"));  // framing: label/data boundary matters
  EXPECT_NE(base, challenge("d", "x", "yZ"));
  Transcript t("d");
  Scalar first = t.challenge("c");
  EXPECT_NE(first, t.challenge("c"));  // each challenge is absorbed before the next
}

TEST(SeededPrng, IsDeterministicPerSeed) {
  SeededPrng a("seed"), b("seed"), c("other");
  std::array<uint8_t, 100> x{}, y{}, z{};
  a.fill(x);
  b.fill(y);
  c.fill(z);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
}

}  // namespace
}  // namespace folio::zk
