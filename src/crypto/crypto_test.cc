#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sodium.h>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"

namespace folio::crypto {
namespace {

FixedBytes<32> seed_of(uint8_t n) {
  FixedBytes<32> s;
  s.bytes.fill(n);
  return s;
}

Bytes hex(std::string_view h) { return *from_hex(h); }

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(sha256(ByteView()).hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256(as_bytes("abc")).hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256().update(as_bytes("a")).update(as_bytes("bc")).finish(),
            sha256(as_bytes("abc")));
}

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  std::string message_hex;
  const char* signature;
};

// RFC 8032 §7.1, TEST 1, 2, 3 and SHA(abc).
std::vector<Rfc8032Vector> rfc8032_vectors() {
  Bytes abc_sha512(crypto_hash_sha512_BYTES);
  crypto_hash_sha512(abc_sha512.data(), reinterpret_cast<const unsigned char*>("abc"), 3);
  return {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
       "9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f"
       "11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984"
       "dc6594a7c15e9716ed28dc027beceea1ec40a"},
      {"833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
       "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", to_hex(abc_sha512),
       "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c6643"
       "1e0303dca179c138ac17ad9bef1177331a704"},
  };
}

TEST(Ed25519, Rfc8032Section7_1Vectors) {
  for (const auto& v : rfc8032_vectors()) {
    PrivateKey key = PrivateKey::ed25519(*FixedBytes<32>::from_hex(v.secret));
    EXPECT_EQ(to_hex(key.public_key().leaf_bytes()), v.public_key);
    Bytes message = hex(v.message_hex);
    Signature sig = key.sign(message);
    EXPECT_EQ(sig.bytes.hex(), v.signature);
    EXPECT_TRUE(verify(key.public_key(), message, sig));
    Bytes other = message;
    other.push_back(0);
    EXPECT_FALSE(verify(key.public_key(), other, sig));
    Signature flipped = sig;
    flipped.bytes.bytes[10] ^= 1;
    EXPECT_FALSE(verify(key.public_key(), message, flipped));
  }
}

TEST(EcdsaP256, SignsVerifiesAndRejectsTampering) {
  auto key = PrivateKey::from_seed(SignatureScheme::kEcdsaP256, seed_of(7));
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(key->public_key().leaf_bytes().size(), 33u);
  // Deterministic key derivation.
  auto again = PrivateKey::from_seed(SignatureScheme::kEcdsaP256, seed_of(7));
  EXPECT_EQ(again->public_key(), key->public_key());
  Bytes message = to_bytes("pay 10 GBP to bob");
  for (int i = 0; i < 20; ++i) {
    Signature sig = key->sign(message);
    EXPECT_EQ(sig.scheme, SignatureScheme::kEcdsaP256);
    EXPECT_TRUE(verify(key->public_key(), message, sig));
    Signature bad = sig;
    bad.bytes.bytes[40] ^= 0x10;
    EXPECT_FALSE(verify(key->public_key(), message, bad));
    // The scheme tag must match the key.
    Signature mislabelled = sig;
    mislabelled.scheme = SignatureScheme::kEd25519;
    EXPECT_FALSE(verify(key->public_key(), message, mislabelled));
  }
  auto other = PrivateKey::from_seed(SignatureScheme::kEcdsaP256, seed_of(8));
  EXPECT_FALSE(verify(other->public_key(), message, key->sign(message)));
}

TEST(EcdsaP256, HighSIsRejected) {
  // n - s verifies under plain ECDSA but is the malleated twin; only low-s is canonical.
  auto key = PrivateKey::from_seed(SignatureScheme::kEcdsaP256, seed_of(9));
  Bytes message = to_bytes("m");
  Signature sig = key->sign(message);
  const char* order_hex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
  Bytes n = hex(order_hex);
  // s' = n - s, big-endian subtraction.
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = n[i] - sig.bytes.bytes[32 + i] - borrow;
    borrow = d < 0;
    sig.bytes.bytes[32 + i] = static_cast<uint8_t>(d + (borrow ? 256 : 0));
  }
  EXPECT_FALSE(verify(key->public_key(), message, sig));
}

TEST(PublicKey, RejectsInvalidLeaves) {
  EXPECT_FALSE(PublicKey::leaf(SignatureScheme::kEd25519, Bytes(31)).ok());
  Bytes not_a_point(33, 0xff);
  not_a_point[0] = 0x02;
  EXPECT_FALSE(PublicKey::leaf(SignatureScheme::kEcdsaP256, not_a_point).ok());
  Bytes encoded = {1};  // kind P-256
  encoded.insert(encoded.end(), not_a_point.begin(), not_a_point.end());
  EXPECT_FALSE(codec::decode_from_bytes<PublicKey>(encoded).ok());
}

PublicKey leaf(uint8_t n) { return PrivateKey::ed25519(seed_of(n)).public_key(); }

TEST(CompoundKey, TwoOfThreeWithNestedOneOfTwo) {
  PublicKey a = leaf(1), b = leaf(2), c1 = leaf(3), c2 = leaf(4);
  auto c = PublicKey::compound(1, {{c1, 1}, {c2, 1}});
  ASSERT_TRUE(c.ok());
  auto key = PublicKey::compound(2, {{a, 1}, {b, 1}, {*c, 1}});
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->is_fulfilled_by({a, b}));
  EXPECT_TRUE(key->is_fulfilled_by({a, c1}));
  EXPECT_TRUE(key->is_fulfilled_by({b, c2}));
  EXPECT_TRUE(key->is_fulfilled_by({c1, c2, a}));
  EXPECT_FALSE(key->is_fulfilled_by({a}));
  EXPECT_FALSE(key->is_fulfilled_by({c1, c2}));  // the nested node counts once
  EXPECT_FALSE(key->is_fulfilled_by({}));
  EXPECT_EQ(key->leaf_keys().size(), 4u);
  EXPECT_EQ(key->depth(), 3u);
}

TEST(CompoundKey, WeightsExpressAndOr) {
  PublicKey cfo = leaf(1), clerk1 = leaf(2), clerk2 = leaf(3);
  // The CFO alone (weight 2), or both clerks together.
  auto key = PublicKey::compound(2, {{cfo, 2}, {clerk1, 1}, {clerk2, 1}});
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->is_fulfilled_by({cfo}));
  EXPECT_TRUE(key->is_fulfilled_by({clerk1, clerk2}));
  EXPECT_FALSE(key->is_fulfilled_by({clerk1}));
}

TEST(CompoundKey, CanonicalFormIsEnforced) {
  PublicKey a = leaf(1), b = leaf(2);
  EXPECT_FALSE(PublicKey::compound(1, {{a, 1}}).ok());          // one member
  EXPECT_FALSE(PublicKey::compound(1, {{a, 1}, {a, 1}}).ok());  // duplicate
  EXPECT_FALSE(PublicKey::compound(0, {{a, 1}, {b, 1}}).ok());  // threshold 0
  EXPECT_FALSE(PublicKey::compound(3, {{a, 1}, {b, 1}}).ok());  // unreachable threshold
  EXPECT_FALSE(PublicKey::compound(1, {{a, 0}, {b, 1}}).ok());  // zero weight
  // Member order does not matter to the builder: both orders give one key and one encoding.
  auto ab = PublicKey::compound(1, {{a, 1}, {b, 1}});
  auto ba = PublicKey::compound(1, {{b, 1}, {a, 1}});
  ASSERT_TRUE(ab.ok());
  EXPECT_EQ(*ab, *ba);
  EXPECT_EQ(codec::encode_to_bytes(*ab), codec::encode_to_bytes(*ba));
  // An encoding with unsorted members is rejected by the decoder.
  Bytes good = codec::encode_to_bytes(*ab);
  auto round = codec::decode_from_bytes<PublicKey>(good);
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, *ab);
  codec::Writer w;
  w.variant(2);
  w.u32(1);
  w.length(2);
  const PublicKey& first = ab->members()[0].key;
  const PublicKey& second = ab->members()[1].key;
  encode(w, second);
  w.u32(1);
  encode(w, first);
  w.u32(1);
  auto swapped = codec::decode_from_bytes<PublicKey>(w.data());
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.error().context.find("not strictly sorted"), std::string::npos);
}

TEST(CompoundKey, DepthAndWidthAreBounded) {
  // Build a chain deeper than the limit: each level pairs the previous key with a fresh leaf.
  PublicKey key = leaf(1);
  uint8_t n = 2;
  for (size_t depth = 1; depth < kCompoundKeyDepthMax; ++depth) {
    auto next = PublicKey::compound(1, {{key, 1}, {leaf(n++), 1}});
    ASSERT_TRUE(next.ok());
    key = *next;
  }
  EXPECT_EQ(key.depth(), kCompoundKeyDepthMax);
  EXPECT_FALSE(PublicKey::compound(1, {{key, 1}, {leaf(n++), 1}}).ok());
  std::vector<PublicKey::Member> wide;
  for (size_t i = 0; i <= kCompoundKeyWidthMax; ++i)
    wide.push_back({leaf(static_cast<uint8_t>(100 + i)), 1});
  EXPECT_FALSE(PublicKey::compound(1, wide).ok());
  wide.pop_back();
  EXPECT_TRUE(PublicKey::compound(1, wide).ok());
}

TEST(CompoundKey, DeeplyNestedHostileEncodingFailsWithoutCrashing) {
  // 10,000 nested compound headers: the decoder must stop at its depth bound.
  codec::Writer w;
  for (int i = 0; i < 10000; ++i) {
    w.variant(2);
    w.u32(1);
    w.length(2);
  }
  auto r = codec::decode_from_bytes<PublicKey>(w.data());
  EXPECT_FALSE(r.ok());
}

TEST(Merkle, ProofsVerifyForEveryIndexOfEverySize) {
  for (uint32_t n = 1; n <= 33; ++n) {
    std::vector<Hash256> leaves;
    for (uint32_t i = 0; i < n; ++i) leaves.push_back(sha256(as_bytes(std::to_string(i))));
    Hash256 root = merkle_root(leaves);
    for (uint32_t i = 0; i < n; ++i) {
      MerkleProof proof = merkle_prove(leaves, i);
      EXPECT_TRUE(merkle_verify(root, leaves[i], proof)) << n << " " << i;
      // Another leaf, another index, or a tampered sibling fails.
      EXPECT_FALSE(merkle_verify(root, sha256(as_bytes("x")), proof));
      if (n > 1) {
        MerkleProof moved = proof;
        moved.index = (i + 1) % n;
        EXPECT_FALSE(merkle_verify(root, leaves[i], moved)) << n << " " << i;
        MerkleProof tampered = proof;
        tampered.siblings[0].bytes[0] ^= 1;
        EXPECT_FALSE(merkle_verify(root, leaves[i], tampered));
        MerkleProof truncated = proof;
        truncated.siblings.pop_back();
        EXPECT_FALSE(merkle_verify(root, leaves[i], truncated));
      }
    }
  }
}

TEST(Merkle, RootShape) {
  Hash256 a = sha256(as_bytes("a")), b = sha256(as_bytes("b")), c = sha256(as_bytes("c"));
  std::vector<Hash256> three = {a, b, c};
  EXPECT_EQ(merkle_root(three), merkle_node(merkle_node(a, b), c));
  EXPECT_EQ(merkle_root(std::span<const Hash256>(three.data(), 1)), a);
  EXPECT_TRUE(merkle_root(std::span<const Hash256>()).is_zero());
}

RC_GTEST_PROP(PublicKeyCodec, LeafRoundTrips, (uint8_t n)) {
  PublicKey k = leaf(n);
  auto back = codec::decode_from_bytes<PublicKey>(codec::encode_to_bytes(k));
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == k);
}

RC_GTEST_PROP(PublicKeyCodec, RandomBytesDecodeCanonicallyOrFail, (const Bytes& input)) {
  auto r = codec::decode_from_bytes<PublicKey>(input);
  if (r.ok()) RC_ASSERT(codec::encode_to_bytes(*r) == input);
}

}  // namespace
}  // namespace folio::crypto
