// Public keys, signatures and private keys.
//
// PublicKey is either a leaf (one cryptographic key tagged with its scheme: Ed25519, the default,
// or ECDSA P-256) or a compound key (the Corda seed's "Compound keys"): a tree whose nodes hold a
// threshold and weighted children. A set of leaf keys with valid signatures fulfils a compound key
// iff, walking bottom-up, the weights of fulfilled children reach every node's threshold. Every
// place that takes a key (command signers, owners, notaries, contract constraints) takes either.
//
// Compound keys are canonical: children strictly sorted by encoding (so no duplicates), at least
// two children, weights and threshold at least 1, threshold at most the sum of weights, and bounded
// depth, width and leaf count. `PublicKey::compound` sorts and checks; the decoder rejects any
// other form, so equal keys always have equal encodings.
//
// PrivateKey is derived deterministically from a 32-byte seed (randomness comes from the caller),
// zeroes its secrets on destruction and never prints them. Ed25519 signatures are deterministic;
// ECDSA P-256 signatures use OpenSSL 3.0's randomised nonce (3.0 lacks RFC 6979) and are normalised
// to low-s, fixed 64-byte r||s, so they are not malleable. All types are values; thread-safe for
// concurrent const use.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace folio::crypto {

enum class SignatureScheme : uint8_t { kEd25519 = 0, kEcdsaP256 = 1 };
constexpr uint32_t enum_count(SignatureScheme) { return 2; }
constexpr std::string_view enum_name(SignatureScheme) { return "SignatureScheme"; }
std::string_view to_string(SignatureScheme scheme);

constexpr size_t kEd25519PublicKeyBytes = 32;
constexpr size_t kP256PublicKeyBytes = 33;  // SEC1 compressed point
constexpr size_t kSignatureBytes = 64;      // Ed25519 signature, or P-256 r||s

// Bounds on compound keys.
constexpr size_t kCompoundKeyDepthMax = 8;
constexpr size_t kCompoundKeyWidthMax = 64;
constexpr size_t kCompoundKeyLeavesMax = 256;

class PublicKey {
 public:
  enum class Kind : uint8_t { kEd25519 = 0, kEcdsaP256 = 1, kCompound = 2 };
  struct Member;

  // A placeholder all-zero Ed25519 key; it verifies nothing.
  PublicKey();

  static Result<PublicKey> leaf(SignatureScheme scheme, ByteView bytes);
  static PublicKey ed25519(const FixedBytes<32>& bytes);
  // Sorts the members; fails unless the result is canonical (see the header comment).
  static Result<PublicKey> compound(uint32_t threshold, std::vector<Member> members);

  Kind kind() const { return kind_; }
  bool is_compound() const { return kind_ == Kind::kCompound; }
  // REQUIRES: !is_compound()
  SignatureScheme scheme() const;
  // REQUIRES: !is_compound()
  ByteView leaf_bytes() const;
  // REQUIRES: is_compound()
  uint32_t threshold() const;
  const std::vector<Member>& members() const;

  // Whether signatures by exactly the leaf keys in `signed_leaves` satisfy this key.
  bool is_fulfilled_by(const std::set<PublicKey>& signed_leaves) const;
  // Every leaf key of the tree (the key itself for a leaf), in encoding order.
  std::vector<PublicKey> leaf_keys() const;
  // 1 for a leaf.
  size_t depth() const;

  // "ed25519:3d4017c3" or "compound(2 of 3 leaves, threshold 2)": for messages, never secret.
  std::string describe() const;
  std::string hex() const;  // hex of the canonical encoding

  friend bool operator==(const PublicKey& a, const PublicKey& b);
  friend std::strong_ordering operator<=>(const PublicKey& a, const PublicKey& b);

  Status check_canonical() const;

 private:
  friend void decode(codec::Reader& r, PublicKey& key);
  friend void encode(codec::Writer& w, const PublicKey& key);
  void collect_leaves(std::vector<PublicKey>& out) const;

  Kind kind_;
  std::array<uint8_t, kP256PublicKeyBytes> leaf_{};
  uint32_t threshold_ = 0;
  std::vector<Member> members_;
};

struct PublicKey::Member {
  PublicKey key;
  uint32_t weight = 1;
  friend bool operator==(const Member&, const Member&) = default;
};

void encode(codec::Writer& w, const PublicKey& key);
void decode(codec::Reader& r, PublicKey& key);

struct Signature {
  SignatureScheme scheme = SignatureScheme::kEd25519;
  FixedBytes<kSignatureBytes> bytes;
  FOLIO_FIELDS(scheme, bytes)
  friend bool operator==(const Signature&, const Signature&) = default;
};

// Whether `signature` is `key`'s signature of `message`. False for compound keys (their
// signatures are sets of leaf signatures), mismatched schemes and malformed keys.
bool verify(const PublicKey& key, ByteView message, const Signature& signature);

class PrivateKey {
 public:
  // Derives a key pair from a secret seed. Fails only if OpenSSL cannot build a P-256 key.
  static Result<PrivateKey> from_seed(SignatureScheme scheme, const FixedBytes<32>& seed);
  // Ed25519 from a seed; cannot fail.
  static PrivateKey ed25519(const FixedBytes<32>& seed);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  SignatureScheme scheme() const { return scheme_; }
  const PublicKey& public_key() const { return public_key_; }
  Signature sign(ByteView message) const;
  // The secret seed, for the key store. Never log it.
  const FixedBytes<32>& seed() const { return seed_; }

 private:
  PrivateKey() = default;
  void wipe();

  SignatureScheme scheme_ = SignatureScheme::kEd25519;
  FixedBytes<32> seed_;
  FixedBytes<64> ed25519_secret_;
  // The OpenSSL key object of a P-256 key; immutable once built, so copies share it.
  std::shared_ptr<void> p256_;
  PublicKey public_key_;
};

}  // namespace folio::crypto

template <>
struct std::hash<folio::crypto::PublicKey> {
  size_t operator()(const folio::crypto::PublicKey& k) const noexcept;
};
