#include "crypto/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include <algorithm>

namespace folio::crypto {
namespace {

void ensure_sodium() {
  static const int ready = sodium_init();
  FOLIO_ASSERT(ready >= 0);
}

// ---- P-256 through OpenSSL ----

struct P256 {
  EC_GROUP* group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  BIGNUM* half_order = nullptr;
  P256() {
    FOLIO_ASSERT(group != nullptr);
    half_order = BN_dup(EC_GROUP_get0_order(group));
    FOLIO_ASSERT(half_order != nullptr);
    FOLIO_ASSERT(BN_rshift1(half_order, half_order) == 1);
  }
  const BIGNUM* order() const { return EC_GROUP_get0_order(group); }
};

const P256& p256() {
  static const P256 curve;
  return curve;
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Deleter<BN_CTX, BN_CTX_free>>;
using PointPtr = std::unique_ptr<EC_POINT, Deleter<EC_POINT, EC_POINT_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;

bool p256_point_valid(ByteView compressed) {
  if (compressed.size() != kP256PublicKeyBytes) return false;
  if (compressed[0] != 0x02 && compressed[0] != 0x03) return false;
  PointPtr point(EC_POINT_new(p256().group));
  BnCtxPtr ctx(BN_CTX_new());
  return point && ctx &&
         EC_POINT_oct2point(p256().group, point.get(), compressed.data(), compressed.size(),
                            ctx.get()) == 1;
}

// An EVP_PKEY from a compressed public point and, when given, the private scalar.
PkeyPtr p256_pkey(ByteView compressed, const BIGNUM* secret) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return nullptr;
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1)
    return nullptr;
  if (OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, compressed.data(),
                                       compressed.size()) != 1)
    return nullptr;
  if (secret != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, secret) != 1)
    return nullptr;
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  int selection = secret != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  if (EVP_PKEY_fromdata(pctx.get(), &raw, selection, params.get()) != 1) return nullptr;
  return PkeyPtr(raw);
}

bool p256_verify(ByteView compressed, ByteView message, const FixedBytes<64>& rs) {
  if (!p256_point_valid(compressed)) return false;
  BnPtr r(BN_bin2bn(rs.data(), 32, nullptr));
  BnPtr s(BN_bin2bn(rs.data() + 32, 32, nullptr));
  if (!r || !s) return false;
  // Canonical signatures only: 1 <= r < n and 1 <= s <= n/2 (low-s).
  if (BN_is_zero(r.get()) || BN_cmp(r.get(), p256().order()) >= 0) return false;
  if (BN_is_zero(s.get()) || BN_cmp(s.get(), p256().half_order) > 0) return false;
  SigPtr sig(ECDSA_SIG_new());
  if (!sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return false;
  (void)r.release();
  (void)s.release();
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return false;
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(
      der, [](unsigned char* p) { OPENSSL_free(p); });
  PkeyPtr pkey = p256_pkey(compressed, nullptr);
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!pkey || !md) return false;
  if (EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1) return false;
  return EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len), message.data(),
                          message.size()) == 1;
}

}  // namespace

std::string_view to_string(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kEd25519:
      return "ed25519";
    case SignatureScheme::kEcdsaP256:
      return "ecdsa-p256";
  }
  return "unknown";
}

// ---- PublicKey ----

PublicKey::PublicKey() : kind_(Kind::kEd25519) {}

Result<PublicKey> PublicKey::leaf(SignatureScheme scheme, ByteView bytes) {
  PublicKey key;
  if (scheme == SignatureScheme::kEd25519) {
    if (bytes.size() != kEd25519PublicKeyBytes)
      return make_error(ErrorCode::kInvalidArgument,
                        "an Ed25519 public key has 32 bytes, not " + std::to_string(bytes.size()));
    key.kind_ = Kind::kEd25519;
  } else {
    if (!p256_point_valid(bytes))
      return make_error(ErrorCode::kInvalidArgument, "not a compressed P-256 point");
    key.kind_ = Kind::kEcdsaP256;
  }
  std::copy(bytes.begin(), bytes.end(), key.leaf_.begin());
  return key;
}

PublicKey PublicKey::ed25519(const FixedBytes<32>& bytes) {
  PublicKey key;
  std::copy(bytes.bytes.begin(), bytes.bytes.end(), key.leaf_.begin());
  return key;
}

Result<PublicKey> PublicKey::compound(uint32_t threshold, std::vector<Member> members) {
  PublicKey key;
  key.kind_ = Kind::kCompound;
  key.threshold_ = threshold;
  std::sort(members.begin(), members.end(),
            [](const Member& a, const Member& b) { return a.key < b.key; });
  key.members_ = std::move(members);
  Status s = key.check_canonical();
  if (!s.ok()) return make_error(ErrorCode::kInvalidArgument, s.error().context);
  return key;
}

SignatureScheme PublicKey::scheme() const {
  FOLIO_ASSERT(!is_compound());
  return kind_ == Kind::kEd25519 ? SignatureScheme::kEd25519 : SignatureScheme::kEcdsaP256;
}

ByteView PublicKey::leaf_bytes() const {
  FOLIO_ASSERT(!is_compound());
  return ByteView(leaf_.data(),
                  kind_ == Kind::kEd25519 ? kEd25519PublicKeyBytes : kP256PublicKeyBytes);
}

uint32_t PublicKey::threshold() const {
  FOLIO_ASSERT(is_compound());
  return threshold_;
}

const std::vector<PublicKey::Member>& PublicKey::members() const { return members_; }

bool PublicKey::is_fulfilled_by(const std::set<PublicKey>& signed_leaves) const {
  if (!is_compound()) return signed_leaves.count(*this) > 0;
  uint64_t weight = 0;
  for (const Member& m : members_) {
    if (m.key.is_fulfilled_by(signed_leaves)) weight += m.weight;
    if (weight >= threshold_) return true;
  }
  return false;
}

void PublicKey::collect_leaves(std::vector<PublicKey>& out) const {
  if (!is_compound()) {
    out.push_back(*this);
    return;
  }
  for (const Member& m : members_) m.key.collect_leaves(out);
}

std::vector<PublicKey> PublicKey::leaf_keys() const {
  std::vector<PublicKey> out;
  collect_leaves(out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

size_t PublicKey::depth() const {
  size_t child_depth = 0;
  for (const Member& m : members_) child_depth = std::max(child_depth, m.key.depth());
  return 1 + child_depth;
}

std::string PublicKey::describe() const {
  if (!is_compound())
    return std::string(to_string(scheme())) + ":" + to_hex(leaf_bytes()).substr(0, 8);
  std::vector<PublicKey> leaves;
  collect_leaves(leaves);
  return "compound(threshold " + std::to_string(threshold_) + " over " +
         std::to_string(members_.size()) + " members, " + std::to_string(leaves.size()) +
         " leaves)";
}

std::string PublicKey::hex() const { return to_hex(codec::encode_to_bytes(*this)); }

Status PublicKey::check_canonical() const {
  if (!is_compound()) return ok_status();
  if (members_.size() < 2)
    return make_error(ErrorCode::kMalformed, "a compound key needs at least two members");
  if (members_.size() > kCompoundKeyWidthMax)
    return make_error(ErrorCode::kMalformed, "a compound key node has more than " +
                                                 std::to_string(kCompoundKeyWidthMax) + " members");
  uint64_t total = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].weight == 0)
      return make_error(ErrorCode::kMalformed, "a compound key member has weight 0");
    total += members_[i].weight;
    if (i > 0 && !(members_[i - 1].key < members_[i].key))
      return make_error(ErrorCode::kMalformed,
                        "compound key members are not strictly sorted (or repeat)");
  }
  if (threshold_ == 0) return make_error(ErrorCode::kMalformed, "a compound key has threshold 0");
  if (threshold_ > total)
    return make_error(ErrorCode::kMalformed,
                      "compound key threshold " + std::to_string(threshold_) +
                          " exceeds the total weight " + std::to_string(total));
  if (depth() > kCompoundKeyDepthMax)
    return make_error(ErrorCode::kMalformed, "compound key deeper than " +
                                                 std::to_string(kCompoundKeyDepthMax) + " levels");
  std::vector<PublicKey> leaves;
  collect_leaves(leaves);
  if (leaves.size() > kCompoundKeyLeavesMax)
    return make_error(ErrorCode::kMalformed, "compound key has more than " +
                                                 std::to_string(kCompoundKeyLeavesMax) + " leaves");
  return ok_status();
}

bool operator==(const PublicKey& a, const PublicKey& b) {
  if (a.kind_ != b.kind_) return false;
  if (!a.is_compound()) return a.leaf_ == b.leaf_;
  return a.threshold_ == b.threshold_ && a.members_ == b.members_;
}

std::strong_ordering operator<=>(const PublicKey& a, const PublicKey& b) {
  if (a.kind_ != b.kind_) return a.kind_ <=> b.kind_;
  if (!a.is_compound()) return a.leaf_ <=> b.leaf_;
  // Compound keys order by canonical encoding, as the members of a compound key are sorted.
  return codec::encode_to_bytes(a) <=> codec::encode_to_bytes(b);
}

void encode(codec::Writer& w, const PublicKey& key) {
  w.variant(static_cast<uint32_t>(key.kind_));
  switch (key.kind_) {
    case PublicKey::Kind::kEd25519:
    case PublicKey::Kind::kEcdsaP256:
      w.fixed(key.leaf_bytes());
      break;
    case PublicKey::Kind::kCompound:
      w.u32(key.threshold_);
      w.length(key.members_.size());
      for (const PublicKey::Member& m : key.members_) {
        encode(w, m.key);
        w.u32(m.weight);
      }
      break;
  }
}

void decode(codec::Reader& r, PublicKey& key) {
  key = PublicKey();
  key.kind_ = static_cast<PublicKey::Kind>(r.variant(3, "PublicKey"));
  switch (key.kind_) {
    case PublicKey::Kind::kEd25519:
      r.fixed(key.leaf_.data(), kEd25519PublicKeyBytes);
      return;
    case PublicKey::Kind::kEcdsaP256:
      r.fixed(key.leaf_.data(), kP256PublicKeyBytes);
      if (r.ok() && !p256_point_valid(key.leaf_bytes())) r.fail("not a compressed P-256 point");
      return;
    case PublicKey::Kind::kCompound:
      break;
  }
  if (!r.enter()) return;
  key.threshold_ = r.u32();
  // A member is at least a 33-byte Ed25519 key and a 4-byte weight.
  size_t n = r.length(1 + kEd25519PublicKeyBytes + 4);
  if (n > kCompoundKeyWidthMax)
    r.fail("compound key node wider than " + std::to_string(kCompoundKeyWidthMax));
  for (size_t i = 0; i < n && r.ok(); ++i) {
    PublicKey::Member& m = key.members_.emplace_back();
    decode(r, m.key);
    m.weight = r.u32();
  }
  r.leave();
  if (!r.ok()) return;
  Status s = key.check_canonical();
  if (!s.ok()) r.fail(s.error().context);
}

// ---- Signatures ----

bool verify(const PublicKey& key, ByteView message, const Signature& signature) {
  switch (key.kind()) {
    case PublicKey::Kind::kEd25519:
      if (signature.scheme != SignatureScheme::kEd25519) return false;
      ensure_sodium();
      return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                         key.leaf_bytes().data()) == 0;
    case PublicKey::Kind::kEcdsaP256:
      if (signature.scheme != SignatureScheme::kEcdsaP256) return false;
      return p256_verify(key.leaf_bytes(), message, signature.bytes);
    case PublicKey::Kind::kCompound:
      return false;
  }
  return false;
}

// ---- PrivateKey ----

PrivateKey PrivateKey::ed25519(const FixedBytes<32>& seed) {
  ensure_sodium();
  PrivateKey key;
  key.scheme_ = SignatureScheme::kEd25519;
  key.seed_ = seed;
  FixedBytes<32> pk;
  FOLIO_ASSERT(crypto_sign_seed_keypair(pk.data(), key.ed25519_secret_.data(), seed.data()) == 0);
  key.public_key_ = PublicKey::ed25519(pk);
  return key;
}

Result<PrivateKey> PrivateKey::from_seed(SignatureScheme scheme, const FixedBytes<32>& seed) {
  if (scheme == SignatureScheme::kEd25519) return ed25519(seed);
  // P-256: the secret scalar is SHA-256("folio/p256-secret" || seed || counter), the first value
  // in [1, n-1]; the counter almost never passes 0.
  BnPtr secret(BN_secure_new());
  if (!secret) return make_error(ErrorCode::kInternal, "BN_secure_new failed");
  for (uint8_t counter = 0;; ++counter) {
    Hash256 h =
        Sha256().update(as_bytes("folio/p256-secret")).update(seed.view()).update(counter).finish();
    if (BN_bin2bn(h.data(), 32, secret.get()) == nullptr)
      return make_error(ErrorCode::kInternal, "BN_bin2bn failed");
    sodium_memzero(h.data(), h.size());
    if (!BN_is_zero(secret.get()) && BN_cmp(secret.get(), p256().order()) < 0) break;
    if (counter == 255) return make_error(ErrorCode::kInternal, "no P-256 scalar from seed");
  }
  PointPtr point(EC_POINT_new(p256().group));
  BnCtxPtr ctx(BN_CTX_new());
  if (!point || !ctx ||
      EC_POINT_mul(p256().group, point.get(), secret.get(), nullptr, nullptr, ctx.get()) != 1)
    return make_error(ErrorCode::kInternal, "P-256 public key derivation failed");
  uint8_t compressed[kP256PublicKeyBytes];
  if (EC_POINT_point2oct(p256().group, point.get(), POINT_CONVERSION_COMPRESSED, compressed,
                         sizeof(compressed), ctx.get()) != sizeof(compressed))
    return make_error(ErrorCode::kInternal, "P-256 point encoding failed");
  PkeyPtr pkey = p256_pkey(ByteView(compressed, sizeof(compressed)), secret.get());
  if (!pkey) return make_error(ErrorCode::kInternal, "OpenSSL refused the P-256 key");
  PrivateKey key;
  key.scheme_ = SignatureScheme::kEcdsaP256;
  key.seed_ = seed;
  key.p256_ = std::shared_ptr<void>(pkey.release(),
                                    [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  FOLIO_ASSIGN_OR_RETURN(
      key.public_key_,
      PublicKey::leaf(SignatureScheme::kEcdsaP256, ByteView(compressed, sizeof(compressed))));
  return key;
}

PrivateKey::PrivateKey(const PrivateKey& other) = default;
PrivateKey& PrivateKey::operator=(const PrivateKey& other) = default;
PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : scheme_(other.scheme_),
      seed_(other.seed_),
      ed25519_secret_(other.ed25519_secret_),
      p256_(std::move(other.p256_)),
      public_key_(std::move(other.public_key_)) {
  other.wipe();
}
PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    wipe();
    scheme_ = other.scheme_;
    seed_ = other.seed_;
    ed25519_secret_ = other.ed25519_secret_;
    p256_ = std::move(other.p256_);
    public_key_ = std::move(other.public_key_);
    other.wipe();
  }
  return *this;
}
PrivateKey::~PrivateKey() { wipe(); }

void PrivateKey::wipe() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(ed25519_secret_.data(), ed25519_secret_.size());
}

Signature PrivateKey::sign(ByteView message) const {
  Signature sig;
  sig.scheme = scheme_;
  if (scheme_ == SignatureScheme::kEd25519) {
    FOLIO_ASSERT(crypto_sign_detached(sig.bytes.data(), nullptr, message.data(), message.size(),
                                      ed25519_secret_.data()) == 0);
    return sig;
  }
  auto* pkey = static_cast<EVP_PKEY*>(p256_.get());
  MdCtxPtr md(EVP_MD_CTX_new());
  FOLIO_ASSERT(md != nullptr);
  FOLIO_ASSERT(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1);
  unsigned char der[80];
  size_t der_len = sizeof(der);
  FOLIO_ASSERT(EVP_DigestSign(md.get(), der, &der_len, message.data(), message.size()) == 1);
  const unsigned char* p = der;
  SigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  FOLIO_ASSERT(parsed != nullptr);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  BnPtr low_s(BN_dup(s));
  FOLIO_ASSERT(low_s != nullptr);
  if (BN_cmp(low_s.get(), p256().half_order) > 0) {
    FOLIO_ASSERT(BN_sub(low_s.get(), p256().order(), low_s.get()) == 1);
  }
  FOLIO_ASSERT(BN_bn2binpad(r, sig.bytes.data(), 32) == 32);
  FOLIO_ASSERT(BN_bn2binpad(low_s.get(), sig.bytes.data() + 32, 32) == 32);
  return sig;
}

}  // namespace folio::crypto

size_t std::hash<folio::crypto::PublicKey>::operator()(
    const folio::crypto::PublicKey& k) const noexcept {
  if (!k.is_compound()) {
    size_t h = 0;
    std::memcpy(&h, k.leaf_bytes().data(), sizeof(h));
    return h ^ static_cast<size_t>(k.kind());
  }
  folio::Bytes b = folio::codec::encode_to_bytes(k);
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}
