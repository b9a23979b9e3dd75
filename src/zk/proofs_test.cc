#include "zk/proofs.h"

#include <gtest/gtest.h>

#include <functional>
#include <tuple>

namespace folio::zk {
namespace {

// Every variant of `proof` with one scalar field changed by one.
template <class P>
std::vector<P> with_each_field_changed(const P& proof) {
  std::vector<P> out;
  constexpr size_t n = std::tuple_size_v<decltype(proof.fields())>;
  for (size_t i = 0; i < n; ++i) {
    P copy = proof;
    size_t j = 0;
    std::apply([&](auto&... f) { ((j++ == i ? (void)(f = f + Scalar::one()) : (void)0), ...); },
               copy.fields());
    out.push_back(copy);
  }
  return out;
}

// Checks what the tests below expect of every proof: it verifies, each changed field is rejected,
// every single-bit flip of its encoding is refused by the decoder or by the verifier, and its
// encoding round-trips.
template <class P>
void expect_sound_against_tampering(const P& proof, const std::function<Status(const P&)>& verify) {
  ASSERT_TRUE(verify(proof).ok()) << verify(proof).error().message();
  for (const P& changed : with_each_field_changed(proof)) {
    Status s = verify(changed);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, ErrorCode::kVerification);
  }
  Bytes encoded = codec::encode_to_bytes(proof);
  auto round = codec::decode_from_bytes<P>(encoded);
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, proof);
  for (size_t byte = 0; byte < encoded.size(); ++byte) {
    for (int bit : {0, 7}) {
      Bytes flipped = encoded;
      flipped[byte] ^= static_cast<uint8_t>(1u << bit);
      auto decoded = codec::decode_from_bytes<P>(flipped);
      if (decoded.ok()) {
        EXPECT_FALSE(verify(*decoded).ok()) << "byte " << byte << " bit " << bit;
      }
    }
  }
  // Truncated and extended encodings are refused.
  Bytes shorter(encoded.begin(), encoded.end() - 1);
  EXPECT_FALSE(codec::decode_from_bytes<P>(shorter).ok());
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(codec::decode_from_bytes<P>(longer).ok());
}

Transcript context(std::string_view tag = "tx-A") {
  Transcript t("folio/zk/test/v1");
  t.append("context", as_bytes(tag));
  return t;
}

TEST(DlogProof, ValidProofVerifiesAndTamperingIsRejected) {
  SeededPrng prng("dlog");
  Scalar x = random_scalar(prng);
  Point p = Generators::h() * x;
  DlogProof proof = prove_dlog(context(), Generators::h(), p, x, prng);
  expect_sound_against_tampering<DlogProof>(
      proof, [&](const DlogProof& q) { return verify_dlog(context(), Generators::h(), p, q); });
}

TEST(DlogProof, ProofCopiedToAnotherContextIsRejected) {
  SeededPrng prng("dlog-context");
  Scalar x = random_scalar(prng);
  Point p = Point::base_times(x);
  DlogProof proof = prove_dlog(context("tx-A"), Generators::g(), p, x, prng);
  EXPECT_TRUE(verify_dlog(context("tx-A"), Generators::g(), p, proof).ok());
  EXPECT_FALSE(verify_dlog(context("tx-B"), Generators::g(), p, proof).ok());
  EXPECT_FALSE(verify_dlog(context("tx-A"), Generators::g(), p + Generators::g(), proof).ok());
}

TEST(DlogProof, WrongWitnessDoesNotVerify) {
  SeededPrng prng("dlog-wrong");
  Scalar x = random_scalar(prng);
  Point p = Point::base_times(x);
  DlogProof proof = prove_dlog(context(), Generators::g(), p, x + Scalar::one(), prng);
  EXPECT_FALSE(verify_dlog(context(), Generators::g(), p, proof).ok());
}

TEST(DlogProof, ZeroWitnessWorks) {
  SeededPrng prng("dlog-zero");
  DlogProof proof = prove_dlog(context(), Generators::h(), Point::identity(), Scalar::zero(), prng);
  EXPECT_TRUE(verify_dlog(context(), Generators::h(), Point::identity(), proof).ok());
}

TEST(DleqProof, ValidProofVerifiesAndTamperingIsRejected) {
  SeededPrng prng("dleq");
  Scalar x = random_scalar(prng);
  Point b2 = Generators::h();
  DleqProof proof =
      prove_dleq(context(), Generators::g(), Point::base_times(x), b2, b2 * x, x, prng);
  expect_sound_against_tampering<DleqProof>(proof, [&](const DleqProof& q) {
    return verify_dleq(context(), Generators::g(), Point::base_times(x), b2, b2 * x, q);
  });
}

TEST(DleqProof, UnequalLogarithmsDoNotVerify) {
  SeededPrng prng("dleq-unequal");
  Scalar x = random_scalar(prng);
  Point b2 = Generators::h();
  Point p2 = b2 * (x + Scalar::one());
  DleqProof proof = prove_dleq(context(), Generators::g(), Point::base_times(x), b2, p2, x, prng);
  EXPECT_FALSE(verify_dleq(context(), Generators::g(), Point::base_times(x), b2, p2, proof).ok());
}

struct Ballot {
  ElGamalKeyPair keys;
  std::vector<Ciphertext> cts;
  std::vector<Scalar> randomness;
};

Ballot make_ballot(Prng& prng, const std::vector<uint32_t>& bits) {
  Ballot b{ElGamalKeyPair::generate(prng), {}, {}};
  for (uint32_t bit : bits) {
    b.randomness.push_back(random_scalar(prng));
    b.cts.push_back(elgamal_encrypt(b.keys.public_key, Scalar::from_u64(bit), b.randomness.back()));
  }
  return b;
}

TEST(BitProof, ZeroAndOneVerifyAndTamperingIsRejected) {
  SeededPrng prng("bit");
  for (uint32_t bit : {0u, 1u}) {
    Ballot b = make_ballot(prng, {bit});
    BitProof proof = prove_bit(context(), b.keys.public_key, b.cts[0], bit, b.randomness[0], prng);
    expect_sound_against_tampering<BitProof>(proof, [&](const BitProof& q) {
      return verify_bit(context(), b.keys.public_key, b.cts[0], q);
    });
  }
}

TEST(BitProof, FlippedChallengeIsRejected) {
  SeededPrng prng("bit-flip");
  Ballot b = make_ballot(prng, {1});
  BitProof proof = prove_bit(context(), b.keys.public_key, b.cts[0], 1, b.randomness[0], prng);
  std::swap(proof.challenge0, proof.challenge1);
  EXPECT_FALSE(verify_bit(context(), b.keys.public_key, b.cts[0], proof).ok());
}

TEST(BitProof, EncryptionOfTwoCannotBeProvedABit) {
  SeededPrng prng("bit-two");
  Ballot b = make_ballot(prng, {2});
  // An honest prover's algorithm run on a non-bit: whichever branch it claims, it fails.
  for (uint32_t claim : {0u, 1u}) {
    BitProof proof =
        prove_bit(context(), b.keys.public_key, b.cts[0], claim, b.randomness[0], prng);
    EXPECT_FALSE(verify_bit(context(), b.keys.public_key, b.cts[0], proof).ok());
  }
}

TEST(BitProof, ProofForOneCiphertextDoesNotVerifyAnother) {
  SeededPrng prng("bit-swap");
  Ballot b = make_ballot(prng, {1, 0});
  BitProof proof = prove_bit(context(), b.keys.public_key, b.cts[0], 1, b.randomness[0], prng);
  EXPECT_FALSE(verify_bit(context(), b.keys.public_key, b.cts[1], proof).ok());
  EXPECT_FALSE(verify_bit(context("tx-B"), b.keys.public_key, b.cts[0], proof).ok());
}

TEST(SumProof, BallotForExactlyOneOptionVerifies) {
  SeededPrng prng("sum");
  Ballot b = make_ballot(prng, {0, 1, 0});
  Scalar r = b.randomness[0] + b.randomness[1] + b.randomness[2];
  EncryptsProof proof = prove_sum(context(), b.keys.public_key, b.cts, 1, r, prng);
  expect_sound_against_tampering<EncryptsProof>(proof, [&](const EncryptsProof& q) {
    return verify_sum(context(), b.keys.public_key, b.cts, 1, q);
  });
}

TEST(SumProof, BallotForTwoOptionsIsRejected) {
  SeededPrng prng("sum-two");
  Ballot b = make_ballot(prng, {1, 1});
  Scalar r = b.randomness[0] + b.randomness[1];
  EncryptsProof proof = prove_sum(context(), b.keys.public_key, b.cts, 1, r, prng);
  Status s = verify_sum(context(), b.keys.public_key, b.cts, 1, proof);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().context.find("sum to 1"), std::string::npos);
  // A ballot for no option is refused too.
  Ballot empty = make_ballot(prng, {0, 0});
  EncryptsProof none = prove_sum(context(), empty.keys.public_key, empty.cts, 1,
                                 empty.randomness[0] + empty.randomness[1], prng);
  EXPECT_FALSE(verify_sum(context(), empty.keys.public_key, empty.cts, 1, none).ok());
}

TEST(EncryptsProof, InitialZeroCountVerifies) {
  SeededPrng prng("zero");
  Ballot b = make_ballot(prng, {0});
  EncryptsProof proof =
      prove_encrypts(context(), b.keys.public_key, b.cts[0], 0, b.randomness[0], prng);
  expect_sound_against_tampering<EncryptsProof>(proof, [&](const EncryptsProof& q) {
    return verify_encrypts(context(), b.keys.public_key, b.cts[0], 0, q);
  });
  EXPECT_FALSE(verify_encrypts(context(), b.keys.public_key, b.cts[0], 1, proof).ok());
}

TEST(EncryptsProof, NonZeroCountCannotBeProvedZero) {
  SeededPrng prng("zero-not");
  Ballot b = make_ballot(prng, {3});
  EncryptsProof proof =
      prove_encrypts(context(), b.keys.public_key, b.cts[0], 0, b.randomness[0], prng);
  EXPECT_FALSE(verify_encrypts(context(), b.keys.public_key, b.cts[0], 0, proof).ok());
}

TEST(DecryptionProof, CorrectDecryptionVerifiesAndTamperingIsRejected) {
  SeededPrng prng("decrypt");
  Ballot b = make_ballot(prng, {1, 1, 0, 1});
  Ciphertext sum = b.cts[0] + b.cts[1] + b.cts[2] + b.cts[3];
  uint64_t m = *elgamal_decrypt(b.keys.secret, sum, 10);
  ASSERT_EQ(m, 3u);
  DecryptionProof proof = prove_decryption(context(), b.keys, sum, m, prng);
  expect_sound_against_tampering<DecryptionProof>(proof, [&](const DecryptionProof& q) {
    return verify_decryption(context(), b.keys.public_key, sum, m, q);
  });
}

TEST(DecryptionProof, WrongResultIsRejected) {
  SeededPrng prng("decrypt-wrong");
  Ballot b = make_ballot(prng, {1});
  DecryptionProof proof = prove_decryption(context(), b.keys, b.cts[0], 2, prng);
  Status s = verify_decryption(context(), b.keys.public_key, b.cts[0], 2, proof);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kVerification);
  DecryptionProof right = prove_decryption(context(), b.keys, b.cts[0], 1, prng);
  EXPECT_FALSE(verify_decryption(context(), b.keys.public_key, b.cts[0], 2, right).ok());
  // Another key's holder cannot prove the decryption.
  ElGamalKeyPair other = ElGamalKeyPair::generate(prng);
  DecryptionProof forged = prove_decryption(context(), other, b.cts[0], 1, prng);
  EXPECT_FALSE(verify_decryption(context(), b.keys.public_key, b.cts[0], 1, forged).ok());
}

TEST(DecryptionProof, ZeroCountDecrypts) {
  SeededPrng prng("decrypt-zero");
  Ballot b = make_ballot(prng, {0});
  DecryptionProof proof = prove_decryption(context(), b.keys, b.cts[0], 0, prng);
  EXPECT_TRUE(verify_decryption(context(), b.keys.public_key, b.cts[0], 0, proof).ok());
}

struct Readings {
  std::vector<Opening> openings;
  std::vector<Point> commitments;
};

Readings commit_readings(Prng& prng, const std::vector<uint64_t>& values) {
  Readings r;
  for (uint64_t v : values) {
    r.openings.push_back({Scalar::from_u64(v), random_scalar(prng)});
    r.commitments.push_back(pedersen_commit(r.openings.back().value, r.openings.back().blinding));
  }
  return r;
}

std::vector<Scalar> scalars(const std::vector<uint64_t>& values) {
  std::vector<Scalar> out;
  for (uint64_t v : values) out.push_back(Scalar::from_u64(v));
  return out;
}

TEST(LinearProof, BillEqualsTariffTimesReadings) {
  SeededPrng prng("linear");
  Readings r = commit_readings(prng, {10, 20, 30});
  std::vector<Scalar> tariffs = scalars({5, 3, 5});
  Scalar bill = Scalar::from_u64(10 * 5 + 20 * 3 + 30 * 5);
  LinearProof proof = prove_linear(context(), r.commitments, tariffs, bill, r.openings, prng);
  expect_sound_against_tampering<LinearProof>(proof, [&](const LinearProof& q) {
    return verify_linear(context(), r.commitments, tariffs, bill, q);
  });
}

TEST(LinearProof, WrongTotalIsRejected) {
  SeededPrng prng("linear-wrong");
  Readings r = commit_readings(prng, {10, 20, 30});
  std::vector<Scalar> tariffs = scalars({5, 3, 5});
  Scalar wrong = Scalar::from_u64(259);
  LinearProof proof = prove_linear(context(), r.commitments, tariffs, wrong, r.openings, prng);
  EXPECT_FALSE(verify_linear(context(), r.commitments, tariffs, wrong, proof).ok());
  Scalar right = Scalar::from_u64(260);
  LinearProof good = prove_linear(context(), r.commitments, tariffs, right, r.openings, prng);
  EXPECT_FALSE(verify_linear(context(), r.commitments, tariffs, wrong, good).ok());
  EXPECT_FALSE(verify_linear(context(), r.commitments, scalars({5, 3, 4}), right, good).ok());
}

TEST(LinearProof, OtherCommitmentsAreRejected) {
  SeededPrng prng("linear-other");
  Readings mine = commit_readings(prng, {10, 20, 30});
  Readings theirs = commit_readings(prng, {10, 20, 30});
  std::vector<Scalar> tariffs = scalars({5, 3, 5});
  Scalar bill = Scalar::from_u64(260);
  LinearProof proof =
      prove_linear(context(), theirs.commitments, tariffs, bill, theirs.openings, prng);
  EXPECT_TRUE(verify_linear(context(), theirs.commitments, tariffs, bill, proof).ok());
  EXPECT_FALSE(verify_linear(context(), mine.commitments, tariffs, bill, proof).ok());
}

TEST(LinearProof, ZeroReadingsAndMismatchedSizes) {
  SeededPrng prng("linear-zero");
  Readings r = commit_readings(prng, {0, 0});
  std::vector<Scalar> tariffs = scalars({7, 0});
  LinearProof proof =
      prove_linear(context(), r.commitments, tariffs, Scalar::zero(), r.openings, prng);
  EXPECT_TRUE(verify_linear(context(), r.commitments, tariffs, Scalar::zero(), proof).ok());
  std::vector<Scalar> one_tariff = scalars({7});
  Status s = verify_linear(context(), r.commitments, one_tariff, Scalar::zero(), proof);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kVerification);
}

}  // namespace
}  // namespace folio::zk
