#include "zk/proofs.h"

#include "base/assert.h"

namespace folio::zk {
namespace {

// s·B, through libsodium's fixed-base table when B is the base point (three times faster).
Point times(const Point& base, const Scalar& s) {
  if (base == Generators::g()) return Point::base_times(s);
  return base * s;
}

Point message_point(uint64_t m) { return Point::base_times(Scalar::from_u64(m)); }

Status mismatch(std::string_view what) {
  return make_error(ErrorCode::kVerification, std::string(what) + ": challenge does not match");
}

}  // namespace

// ---- Schnorr ----------------------------------------------------------------------------------

DlogProof prove_dlog(Transcript t, const Point& base, const Point& p, const Scalar& x, Prng& prng) {
  const Scalar w = random_scalar(prng);
  t.append("proof", as_bytes("dlog"));
  t.append_point("B", base);
  t.append_point("P", p);
  t.append_point("R", times(base, w));
  DlogProof proof;
  proof.challenge = t.challenge("c");
  proof.response = w + proof.challenge * x;
  return proof;
}

Status verify_dlog(Transcript t, const Point& base, const Point& p, const DlogProof& proof) {
  // R = s·B − c·P equals the prover's w·B exactly when s = w + c·x.
  const Point r = times(base, proof.response) - p * proof.challenge;
  t.append("proof", as_bytes("dlog"));
  t.append_point("B", base);
  t.append_point("P", p);
  t.append_point("R", r);
  if (t.challenge("c") != proof.challenge) return mismatch("knowledge-of-discrete-log proof");
  return ok_status();
}

// ---- Chaum–Pedersen ---------------------------------------------------------------------------

namespace {
void absorb_dleq_statement(Transcript& t, const Point& b1, const Point& p1, const Point& b2,
                           const Point& p2) {
  t.append("proof", as_bytes("dleq"));
  t.append_point("B1", b1);
  t.append_point("P1", p1);
  t.append_point("B2", b2);
  t.append_point("P2", p2);
}
}  // namespace

DleqProof prove_dleq(Transcript t, const Point& b1, const Point& p1, const Point& b2,
                     const Point& p2, const Scalar& x, Prng& prng) {
  const Scalar w = random_scalar(prng);
  absorb_dleq_statement(t, b1, p1, b2, p2);
  t.append_point("R1", times(b1, w));
  t.append_point("R2", times(b2, w));
  DleqProof proof;
  proof.challenge = t.challenge("c");
  proof.response = w + proof.challenge * x;
  return proof;
}

Status verify_dleq(Transcript t, const Point& b1, const Point& p1, const Point& b2, const Point& p2,
                   const DleqProof& proof) {
  absorb_dleq_statement(t, b1, p1, b2, p2);
  t.append_point("R1", times(b1, proof.response) - p1 * proof.challenge);
  t.append_point("R2", times(b2, proof.response) - p2 * proof.challenge);
  if (t.challenge("c") != proof.challenge) return mismatch("equality-of-discrete-logs proof");
  return ok_status();
}

// ---- Bit (OR) proof ---------------------------------------------------------------------------

namespace {
void absorb_bit_statement(Transcript& t, const Point& y, const Ciphertext& ct) {
  t.append("proof", as_bytes("bit"));
  t.append_point("Y", y);
  t.append_point("a", ct.a);
  t.append_point("b", ct.b);
}
}  // namespace

BitProof prove_bit(Transcript t, const Point& y, const Ciphertext& ct, uint32_t bit,
                   const Scalar& randomness, Prng& prng) {
  FOLIO_ASSERT(bit == 0 || bit == 1);
  // Branch k claims (a, b − k·G) = r·(G, Y). The true branch is proved honestly; the other is
  // simulated by choosing its challenge and response first (Cramer–Damgård–Schoenmakers).
  const uint32_t other = 1 - bit;
  const Point b_minus[2] = {ct.b, ct.b - Generators::g()};
  const Scalar w = random_scalar(prng);
  Scalar c[2], s[2];
  Point r1[2], r2[2];
  c[other] = random_scalar(prng);
  s[other] = random_scalar(prng);
  r1[other] = Point::base_times(s[other]) - ct.a * c[other];
  r2[other] = y * s[other] - b_minus[other] * c[other];
  r1[bit] = Point::base_times(w);
  r2[bit] = y * w;

  absorb_bit_statement(t, y, ct);
  for (int k = 0; k < 2; ++k) {
    t.append_point("R1", r1[k]);
    t.append_point("R2", r2[k]);
  }
  const Scalar total = t.challenge("c");
  c[bit] = total - c[other];
  s[bit] = w + c[bit] * randomness;
  return BitProof{c[0], c[1], s[0], s[1]};
}

Status verify_bit(Transcript t, const Point& y, const Ciphertext& ct, const BitProof& proof) {
  const Point b_minus[2] = {ct.b, ct.b - Generators::g()};
  const Scalar c[2] = {proof.challenge0, proof.challenge1};
  const Scalar s[2] = {proof.response0, proof.response1};
  absorb_bit_statement(t, y, ct);
  for (int k = 0; k < 2; ++k) {
    t.append_point("R1", Point::base_times(s[k]) - ct.a * c[k]);
    t.append_point("R2", y * s[k] - b_minus[k] * c[k]);
  }
  // The two branch challenges must split the Fiat–Shamir challenge: the prover could choose at
  // most one of them freely, so at least one branch is proved honestly.
  if (t.challenge("c") != proof.challenge0 + proof.challenge1) return mismatch("zero-or-one proof");
  return ok_status();
}

// ---- Plaintext and decryption proofs ----------------------------------------------------------

EncryptsProof prove_encrypts(Transcript t, const Point& y, const Ciphertext& ct, uint64_t message,
                             const Scalar& randomness, Prng& prng) {
  t.append("proof", as_bytes("encrypts"));
  t.append_u64("m", message);
  return prove_dleq(std::move(t), Generators::g(), ct.a, y, ct.b - message_point(message),
                    randomness, prng);
}

Status verify_encrypts(Transcript t, const Point& y, const Ciphertext& ct, uint64_t message,
                       const EncryptsProof& proof) {
  t.append("proof", as_bytes("encrypts"));
  t.append_u64("m", message);
  Status s =
      verify_dleq(std::move(t), Generators::g(), ct.a, y, ct.b - message_point(message), proof);
  if (!s.ok())
    return make_error(ErrorCode::kVerification, "proof that a ciphertext encrypts " +
                                                    std::to_string(message) + " does not hold");
  return ok_status();
}

namespace {
Ciphertext sum_of(std::span<const Ciphertext> cts) {
  Ciphertext sum = Ciphertext::zero();
  for (const Ciphertext& ct : cts) sum = sum + ct;
  return sum;
}
}  // namespace

EncryptsProof prove_sum(Transcript t, const Point& y, std::span<const Ciphertext> cts,
                        uint64_t message, const Scalar& randomness_sum, Prng& prng) {
  t.append("proof", as_bytes("sum"));
  t.append_u64("n", cts.size());
  return prove_encrypts(std::move(t), y, sum_of(cts), message, randomness_sum, prng);
}

Status verify_sum(Transcript t, const Point& y, std::span<const Ciphertext> cts, uint64_t message,
                  const EncryptsProof& proof) {
  t.append("proof", as_bytes("sum"));
  t.append_u64("n", cts.size());
  Status s = verify_encrypts(std::move(t), y, sum_of(cts), message, proof);
  if (!s.ok())
    return make_error(ErrorCode::kVerification, "proof that the ciphertexts sum to " +
                                                    std::to_string(message) + " does not hold");
  return ok_status();
}

DecryptionProof prove_decryption(Transcript t, const ElGamalKeyPair& keys, const Ciphertext& ct,
                                 uint64_t message, Prng& prng) {
  t.append("proof", as_bytes("decryption"));
  t.append_u64("m", message);
  return prove_dleq(std::move(t), Generators::g(), keys.public_key, ct.a,
                    ct.b - message_point(message), keys.secret, prng);
}

Status verify_decryption(Transcript t, const Point& y, const Ciphertext& ct, uint64_t message,
                         const DecryptionProof& proof) {
  t.append("proof", as_bytes("decryption"));
  t.append_u64("m", message);
  Status s =
      verify_dleq(std::move(t), Generators::g(), y, ct.a, ct.b - message_point(message), proof);
  if (!s.ok())
    return make_error(ErrorCode::kVerification, "proof that a ciphertext decrypts to " +
                                                    std::to_string(message) + " does not hold");
  return ok_status();
}

// ---- Linear relation --------------------------------------------------------------------------

namespace {
void absorb_linear_statement(Transcript& t, std::span<const Point> commitments,
                             std::span<const Scalar> coefficients, const Scalar& value) {
  t.append("proof", as_bytes("linear"));
  t.append_u64("n", commitments.size());
  for (size_t i = 0; i < commitments.size(); ++i) {
    t.append_point("C", commitments[i]);
    t.append_scalar("t", coefficients[i]);
  }
  t.append_scalar("v", value);
}

}  // namespace

// The statement is that D = Σ tᵢ·Cᵢ − v·G equals x·H for a known x = Σ tᵢ·rᵢ, which holds exactly
// when Σ tᵢ·mᵢ = v. D is a function of the absorbed statement, so the transcript need not hold it,
// and the verifier never computes it: it recomputes the prover's R = w·H as
//   s·H − c·D = s·H + (c·v)·G − Σ (c·tᵢ)·Cᵢ,
// one variable-base multiplication per commitment plus one, instead of two plus one per term.
LinearProof prove_linear(Transcript t, std::span<const Point> commitments,
                         std::span<const Scalar> coefficients, const Scalar& value,
                         std::span<const Opening> openings, Prng& prng) {
  FOLIO_ASSERT(commitments.size() == coefficients.size());
  FOLIO_ASSERT(commitments.size() == openings.size());
  FOLIO_ASSERT(commitments.size() <= kLinearTermsMax);
  Scalar blinding_sum;
  for (size_t i = 0; i < openings.size(); ++i)
    blinding_sum = blinding_sum + coefficients[i] * openings[i].blinding;
  const Scalar w = random_scalar(prng);
  absorb_linear_statement(t, commitments, coefficients, value);
  t.append_point("R", Generators::h() * w);
  LinearProof proof;
  proof.challenge = t.challenge("c");
  proof.response = w + proof.challenge * blinding_sum;
  return proof;
}

Status verify_linear(Transcript t, std::span<const Point> commitments,
                     std::span<const Scalar> coefficients, const Scalar& value,
                     const LinearProof& proof) {
  if (commitments.size() != coefficients.size())
    return make_error(ErrorCode::kVerification,
                      "linear proof: " + std::to_string(commitments.size()) + " commitments but " +
                          std::to_string(coefficients.size()) + " coefficients");
  if (commitments.size() > kLinearTermsMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "linear proof: more than " + std::to_string(kLinearTermsMax) + " terms");
  const Scalar& c = proof.challenge;
  Point r = Generators::h() * proof.response + Point::base_times(c * value);
  for (size_t i = 0; i < commitments.size(); ++i) r = r - commitments[i] * (c * coefficients[i]);
  absorb_linear_statement(t, commitments, coefficients, value);
  t.append_point("R", r);
  if (t.challenge("c") != c)
    return make_error(ErrorCode::kVerification,
                      "linear proof: the committed values do not give the claimed total");
  return ok_status();
}

}  // namespace folio::zk
