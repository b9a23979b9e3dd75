// Property tests: for random values, every proof is complete (an honest proof verifies) and sound
// against a wrong statement, and every decoder either rejects random bytes or re-encodes them
// exactly (one encoding per value).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "zk/proofs.h"

namespace folio::zk {
namespace {

SeededPrng prng_from(uint64_t seed) {
  FixedBytes<32> bytes;
  for (int i = 0; i < 8; ++i)
    bytes.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(seed >> (8 * i));
  return SeededPrng(bytes);
}

Transcript context(uint64_t tag) {
  Transcript t("folio/zk/properties/v1");
  t.append_u64("tag", tag);
  return t;
}

RC_GTEST_PROP(ElGamalProperty, DecryptsWhatItEncrypts, (uint64_t seed, uint16_t message)) {
  SeededPrng prng = prng_from(seed);
  ElGamalKeyPair keys = ElGamalKeyPair::generate(prng);
  Ciphertext ct = elgamal_encrypt(keys.public_key, Scalar::from_u64(message), random_scalar(prng));
  auto m = elgamal_decrypt(keys.secret, ct, 65535);
  RC_ASSERT(m.ok());
  RC_ASSERT(*m == message);
}

RC_GTEST_PROP(BitProofProperty, HonestBitsVerifyAndOthersDoNot,
              (uint64_t seed, bool bit, uint8_t other)) {
  SeededPrng prng = prng_from(seed);
  ElGamalKeyPair keys = ElGamalKeyPair::generate(prng);
  Scalar r = random_scalar(prng);
  const uint32_t b = bit ? 1 : 0;
  Ciphertext ct = elgamal_encrypt(keys.public_key, Scalar::from_u64(b), r);
  BitProof proof = prove_bit(context(seed), keys.public_key, ct, b, r, prng);
  RC_ASSERT(verify_bit(context(seed), keys.public_key, ct, proof).ok());
  RC_ASSERT(!verify_bit(context(seed + 1), keys.public_key, ct, proof).ok());
  // A ciphertext of anything but 0 or 1 has no proof the honest algorithm can make.
  const uint64_t value = 2 + other;
  Ciphertext bad = elgamal_encrypt(keys.public_key, Scalar::from_u64(value), r);
  BitProof forged = prove_bit(context(seed), keys.public_key, bad, b, r, prng);
  RC_ASSERT(!verify_bit(context(seed), keys.public_key, bad, forged).ok());
}

RC_GTEST_PROP(LinearProofProperty, ProvesExactlyTheWeightedSum,
              (uint64_t seed, std::vector<uint32_t> readings, uint32_t tariff_seed)) {
  RC_PRE(!readings.empty() && readings.size() <= 8);
  SeededPrng prng = prng_from(seed);
  std::vector<Opening> openings;
  std::vector<Point> commitments;
  std::vector<Scalar> tariffs;
  uint64_t total = 0;
  for (size_t i = 0; i < readings.size(); ++i) {
    const uint64_t t = (tariff_seed >> (i % 16)) & 0xffff;
    total += t * readings[i];
    tariffs.push_back(Scalar::from_u64(t));
    openings.push_back({Scalar::from_u64(readings[i]), random_scalar(prng)});
    commitments.push_back(pedersen_commit(openings.back().value, openings.back().blinding));
  }
  LinearProof proof =
      prove_linear(context(seed), commitments, tariffs, Scalar::from_u64(total), openings, prng);
  RC_ASSERT(
      verify_linear(context(seed), commitments, tariffs, Scalar::from_u64(total), proof).ok());
  RC_ASSERT(
      !verify_linear(context(seed), commitments, tariffs, Scalar::from_u64(total + 1), proof).ok());
}

RC_GTEST_PROP(CodecProperty, RandomBytesDecodeCanonicallyOrFail, (const Bytes& input)) {
  auto point = codec::decode_from_bytes<Point>(input);
  if (point.ok()) RC_ASSERT(codec::encode_to_bytes(*point) == input);
  auto proof = codec::decode_from_bytes<BitProof>(input);
  if (proof.ok()) RC_ASSERT(codec::encode_to_bytes(*proof) == input);
  auto ct = codec::decode_from_bytes<Ciphertext>(input);
  if (ct.ok()) RC_ASSERT(codec::encode_to_bytes(*ct) == input);
}

RC_GTEST_PROP(CodecProperty, Random32ByteStringsAreScalarsExactlyBelowTheOrder, (uint64_t seed)) {
  SeededPrng prng = prng_from(seed);
  std::array<uint8_t, 32> raw{};
  prng.fill(raw);
  raw[31] &= 0x1f;  // near the order's magnitude (ℓ ≈ 2^252), so both outcomes occur
  auto s = Scalar::from_canonical(raw);
  std::array<uint8_t, 64> wide{};
  std::copy(raw.begin(), raw.end(), wide.begin());
  const bool reduces_to_itself = Scalar::reduce_wide(wide).bytes() == raw;
  RC_ASSERT(s.ok() == reduces_to_itself);
}

}  // namespace
}  // namespace folio::zk
