// Fiat–Shamir sigma proofs over ristretto255 (Schnorr 1991; Chaum–Pedersen 1992; the OR
// composition of Cramer–Damgård–Schoenmakers 1994), in the compact (challenge, response) form:
// a verifier recomputes the prover's commitments from the responses and checks that hashing them
// gives back the challenge. Each proof absorbs its kind, its statement and its commitments into a
// Transcript that the caller has already bound to a context (transcript.h).
//
// Statements (G is the base point, H the Pedersen generator, Y an ElGamal public key):
//   DlogProof       knowledge of x with P = x·B                              (Schnorr)
//   DleqProof       knowledge of x with P₁ = x·B₁ and P₂ = x·B₂              (Chaum–Pedersen)
//   BitProof        a ciphertext (a, b) under Y encrypts 0 or 1              (OR of two DLEQs)
//   EncryptsProof   a ciphertext encrypts a public m: (a, b − m·G) = r·(G, Y) (DLEQ; m = 0 proves
//                   an initial count is zero, m = 1 over the sum of a ballot proves one choice)
//   DecryptionProof a ciphertext decrypts to m under the key Y = x·G        (DLEQ of (G, Y) and
//                   (a, b − m·G))
//   LinearProof     Pedersen commitments Cᵢ = mᵢ·G + rᵢ·H satisfy Σ tᵢ·mᵢ = v for public tᵢ and v:
//                   a Schnorr proof over H of D = Σ tᵢ·Cᵢ − v·G = (Σ tᵢ·rᵢ)·H. Binding of the
//                   commitments makes v the only value with such a proof.
//
// Verification never asserts on its input: every proof is a value decoded from untrusted bytes
// (whose decoder already refused non-canonical scalars and points), and a proof that does not hold
// yields kVerification with a reason. Provers take their randomness from a Prng. Pure functions;
// thread-safe.
#pragma once

#include <span>

#include "codec/codec.h"
#include "zk/commitments.h"
#include "zk/group.h"
#include "zk/prng.h"
#include "zk/transcript.h"

namespace folio::zk {

// Largest number of commitments a LinearProof may combine.
constexpr size_t kLinearTermsMax = 4096;

struct DlogProof {
  Scalar challenge;
  Scalar response;
  FOLIO_FIELDS(challenge, response)
  friend bool operator==(const DlogProof&, const DlogProof&) = default;
};

struct DleqProof {
  Scalar challenge;
  Scalar response;
  FOLIO_FIELDS(challenge, response)
  friend bool operator==(const DleqProof&, const DleqProof&) = default;
};

struct BitProof {
  Scalar challenge0;
  Scalar challenge1;
  Scalar response0;
  Scalar response1;
  FOLIO_FIELDS(challenge0, challenge1, response0, response1)
  friend bool operator==(const BitProof&, const BitProof&) = default;
};

using EncryptsProof = DleqProof;
using DecryptionProof = DleqProof;
using LinearProof = DlogProof;

// ---- Schnorr and Chaum–Pedersen ---------------------------------------------------------------

DlogProof prove_dlog(Transcript transcript, const Point& base, const Point& p, const Scalar& x,
                     Prng& prng);
Status verify_dlog(Transcript transcript, const Point& base, const Point& p,
                   const DlogProof& proof);

DleqProof prove_dleq(Transcript transcript, const Point& base1, const Point& p1, const Point& base2,
                     const Point& p2, const Scalar& x, Prng& prng);
Status verify_dleq(Transcript transcript, const Point& base1, const Point& p1, const Point& base2,
                   const Point& p2, const DleqProof& proof);

// ---- ElGamal statements -----------------------------------------------------------------------

// REQUIRES: bit is 0 or 1 and ct == elgamal_encrypt(public_key, bit, randomness)
BitProof prove_bit(Transcript transcript, const Point& public_key, const Ciphertext& ct,
                   uint32_t bit, const Scalar& randomness, Prng& prng);
Status verify_bit(Transcript transcript, const Point& public_key, const Ciphertext& ct,
                  const BitProof& proof);

// REQUIRES: ct == elgamal_encrypt(public_key, message, randomness)
EncryptsProof prove_encrypts(Transcript transcript, const Point& public_key, const Ciphertext& ct,
                             uint64_t message, const Scalar& randomness, Prng& prng);
Status verify_encrypts(Transcript transcript, const Point& public_key, const Ciphertext& ct,
                       uint64_t message, const EncryptsProof& proof);

// The sum of `cts` encrypts `message`; the prover supplies the sum of their randomness.
EncryptsProof prove_sum(Transcript transcript, const Point& public_key,
                        std::span<const Ciphertext> cts, uint64_t message,
                        const Scalar& randomness_sum, Prng& prng);
Status verify_sum(Transcript transcript, const Point& public_key, std::span<const Ciphertext> cts,
                  uint64_t message, const EncryptsProof& proof);

// REQUIRES: keys.public_key == secret·G and ct decrypts to message under it.
DecryptionProof prove_decryption(Transcript transcript, const ElGamalKeyPair& keys,
                                 const Ciphertext& ct, uint64_t message, Prng& prng);
Status verify_decryption(Transcript transcript, const Point& public_key, const Ciphertext& ct,
                         uint64_t message, const DecryptionProof& proof);

// ---- Linear relation over Pedersen commitments ------------------------------------------------

// REQUIRES: openings, commitments and coefficients have equal sizes ≤ kLinearTermsMax, each
// commitment opens to its opening, and Σ coefficientᵢ·valueᵢ = value.
LinearProof prove_linear(Transcript transcript, std::span<const Point> commitments,
                         std::span<const Scalar> coefficients, const Scalar& value,
                         std::span<const Opening> openings, Prng& prng);
// Fails (never asserts) on mismatched sizes or too many terms.
Status verify_linear(Transcript transcript, std::span<const Point> commitments,
                     std::span<const Scalar> coefficients, const Scalar& value,
                     const LinearProof& proof);

}  // namespace folio::zk
