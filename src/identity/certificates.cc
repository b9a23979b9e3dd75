#include "identity/certificates.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

namespace folio::identity {
namespace {

// OpenSSL would prompt on the terminal for the password of an encrypted PEM key; Folio's keys are
// never encrypted, so any such key is refused instead.
int no_password(char*, int, int, void*) { return 0; }

// The reason of the newest OpenSSL error, then the queue cleared so that errors do not leak into
// later, unrelated calls on this thread.
std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  std::string out;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    out = reason != nullptr ? reason : "error " + std::to_string(code);
  } else {
    out = "unknown OpenSSL error";
  }
  ERR_clear_error();
  return out;
}

Error openssl_error(ErrorCode code, const std::string& what) {
  return make_error(code, what + ": " + openssl_reason());
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(size));
}

std::shared_ptr<EVP_PKEY> own_key(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}
std::shared_ptr<X509> own_x509(X509* x) {
  return std::shared_ptr<X509>(x, [](X509* c) { X509_free(c); });
}

Result<KeyType> key_type_of(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) return KeyType::kEd25519;
  if (EVP_PKEY_get_id(key) == EVP_PKEY_EC) {
    std::array<char, 64> group{};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group.data(), group.size(), &length) == 1) {
      std::string_view name(group.data(), length);
      if (name == "prime256v1" || name == "P-256") return KeyType::kEcdsaP256;
    }
    ERR_clear_error();
  }
  return make_error(ErrorCode::kUnsupported, "key type is neither Ed25519 nor ECDSA P-256");
}

bool key_has_private(EVP_PKEY* key, KeyType type) {
  bool found = false;
  if (type == KeyType::kEd25519) {
    size_t length = 0;
    found = EVP_PKEY_get_raw_private_key(key, nullptr, &length) == 1 && length == 32;
  } else {
    BIGNUM* secret = nullptr;
    found = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &secret) == 1;
    BN_clear_free(secret);
  }
  ERR_clear_error();
  return found;
}

const EVP_MD* digest_for(EVP_PKEY* key) {
  // Ed25519 signs the message itself (PureEdDSA); OpenSSL requires a null digest for it.
  return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

struct NameField {
  int nid;
  std::string X500Name::*field;
};
// X.509 order: most significant first.
const std::array<NameField, 6> kNameFields{{
    {NID_countryName, &X500Name::country},
    {NID_stateOrProvinceName, &X500Name::state},
    {NID_localityName, &X500Name::locality},
    {NID_organizationName, &X500Name::organisation},
    {NID_organizationalUnitName, &X500Name::organisation_unit},
    {NID_commonName, &X500Name::common_name},
}};

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return openssl_error(ErrorCode::kInternal, std::string("extension ") + value);
  int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return openssl_error(ErrorCode::kInternal, "adding extension");
  return ok_status();
}

// A critical nameConstraints extension whose only permitted subtree is the directoryName `name`.
// On a node CA it makes every OpenSSL chain verification (verify_chain, and the TLS handshake's
// peer verification, which never calls verify_node_chain) refuse a certificate the node CA signs
// for another node's name (X509_V_ERR_PERMITTED_VIOLATION): RFC 5280 §4.2.1.10.
Status add_name_constraint(X509* cert, const X509_NAME* name) {
  std::unique_ptr<NAME_CONSTRAINTS, void (*)(NAME_CONSTRAINTS*)> constraints(NAME_CONSTRAINTS_new(),
                                                                             NAME_CONSTRAINTS_free);
  GENERAL_NAME* base = GENERAL_NAME_new();
  X509_NAME* copy = X509_NAME_dup(name);
  GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
  if (!constraints || base == nullptr || copy == nullptr || subtree == nullptr) {
    GENERAL_NAME_free(base);
    X509_NAME_free(copy);
    GENERAL_SUBTREE_free(subtree);
    return openssl_error(ErrorCode::kInternal, "name constraints");
  }
  GENERAL_NAME_set0_value(base, GEN_DIRNAME, copy);
  GENERAL_NAME_free(subtree->base);
  subtree->base = base;
  constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (constraints->permittedSubtrees == nullptr ||
      sk_GENERAL_SUBTREE_push(constraints->permittedSubtrees, subtree) <= 0) {
    GENERAL_SUBTREE_free(subtree);
    return openssl_error(ErrorCode::kInternal, "name constraints");
  }
  if (X509_add1_ext_i2d(cert, NID_name_constraints, constraints.get(), 1, X509V3_ADD_DEFAULT) != 1)
    return openssl_error(ErrorCode::kInternal, "adding name constraints");
  return ok_status();
}

}  // namespace

// ---- KeyPair --------------------------------------------------------------------------------

Result<KeyPair> KeyPair::generate(KeyType type) {
  EVP_PKEY* key = type == KeyType::kEd25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                            : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return openssl_error(ErrorCode::kInternal, "key generation");
  KeyPair out;
  out.type_ = type;
  out.has_private_ = true;
  out.key_ = own_key(key);
  return out;
}

Result<KeyPair> KeyPair::from_evp(EVP_PKEY* key) {
  if (key == nullptr) return make_error(ErrorCode::kInvalidArgument, "no key");
  FOLIO_ASSIGN_OR_RETURN(KeyType type, key_type_of(key));
  if (EVP_PKEY_up_ref(key) != 1) return openssl_error(ErrorCode::kInternal, "key reference");
  KeyPair out;
  out.type_ = type;
  out.key_ = own_key(key);
  out.has_private_ = key_has_private(key, type);
  return out;
}

Result<KeyPair> KeyPair::from_private_pem(std::string_view pem) {
  if (pem.size() > kPemBytesMax) return make_error(ErrorCode::kLimitExceeded, "PEM key too long");
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  if (key == nullptr) return openssl_error(ErrorCode::kMalformed, "PEM private key");
  std::shared_ptr<EVP_PKEY> owned = own_key(key);
  FOLIO_ASSIGN_OR_RETURN(KeyType type, key_type_of(key));
  KeyPair out;
  out.type_ = type;
  out.key_ = std::move(owned);
  out.has_private_ = key_has_private(key, type);
  if (!out.has_private_) return make_error(ErrorCode::kMalformed, "PEM key has no private half");
  return out;
}

Result<KeyPair> KeyPair::from_public_pem(std::string_view pem) {
  if (pem.size() > kPemBytesMax) return make_error(ErrorCode::kLimitExceeded, "PEM key too long");
  BioPtr bio = memory_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr);
  if (key == nullptr) return openssl_error(ErrorCode::kMalformed, "PEM public key");
  std::shared_ptr<EVP_PKEY> owned = own_key(key);
  FOLIO_ASSIGN_OR_RETURN(KeyType type, key_type_of(key));
  KeyPair out;
  out.type_ = type;
  out.key_ = std::move(owned);
  return out;
}

std::string KeyPair::public_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_text(bio.get());
}

Result<crypto::PublicKey> KeyPair::public_key() const {
  if (type_ == KeyType::kEd25519) {
    std::array<uint8_t, 32> raw{};
    size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &length) != 1 || length != 32)
      return openssl_error(ErrorCode::kInternal, "Ed25519 public key");
    return crypto::PublicKey::leaf(crypto::SignatureScheme::kEd25519, ByteView(raw.data(), 32));
  }
  std::array<uint8_t, 65> point{};
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                      point.size(), &length) != 1)
    return openssl_error(ErrorCode::kInternal, "P-256 public key");
  if (length != 65 || point[0] != 0x04)
    return make_error(ErrorCode::kUnsupported, "P-256 public key is not an uncompressed point");
  // SEC1 compression: the parity of y selects the prefix 02 or 03, then x.
  std::array<uint8_t, crypto::kP256PublicKeyBytes> compressed{};
  compressed[0] = static_cast<uint8_t>(0x02 | (point[64] & 1));
  std::memcpy(compressed.data() + 1, point.data() + 1, 32);
  return crypto::PublicKey::leaf(crypto::SignatureScheme::kEcdsaP256,
                                 ByteView(compressed.data(), compressed.size()));
}

Result<crypto::PrivateKey> KeyPair::to_private_key() const {
  if (!has_private_) return make_error(ErrorCode::kInvalidArgument, "key has no private half");
  if (type_ != KeyType::kEd25519)
    return make_error(ErrorCode::kUnsupported, "only Ed25519 keys map to crypto::PrivateKey");
  FixedBytes<32> seed;
  size_t length = seed.size();
  if (EVP_PKEY_get_raw_private_key(key_.get(), seed.data(), &length) != 1 || length != 32)
    return openssl_error(ErrorCode::kInternal, "Ed25519 private key");
  crypto::PrivateKey out = crypto::PrivateKey::ed25519(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return out;
}

Result<std::string> KeyPair::private_pem() const {
  if (!has_private_) return make_error(ErrorCode::kInvalidArgument, "key has no private half");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_error(ErrorCode::kInternal, "writing private key");
  return bio_text(bio.get());
}

Status KeyPair::write_private_key_pem(const std::string& path) const {
  FOLIO_ASSIGN_OR_RETURN(std::string pem, private_pem());
  Status written = write_text_file(path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  return written;
}

// ---- Names ----------------------------------------------------------------------------------

X509_NAME* to_x509_name(const X500Name& name) {
  X509_NAME* out = X509_NAME_new();
  FOLIO_ASSERT(out != nullptr);
  for (const NameField& f : kNameFields) {
    const std::string& value = name.*f.field;
    if (value.empty()) continue;
    int added = X509_NAME_add_entry_by_NID(out, f.nid, MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value.data()),
                                           static_cast<int>(value.size()), -1, 0);
    // Only a name that breaks OpenSSL's own bounds fails here; callers validate names first.
    if (added != 1) ERR_clear_error();
  }
  return out;
}

Result<X500Name> from_x509_name(const X509_NAME* name) {
  if (name == nullptr) return make_error(ErrorCode::kMalformed, "no X.500 name");
  X500Name out;
  std::array<bool, kNameFields.size()> seen{};
  int count = X509_NAME_entry_count(name);
  if (count > 16) return make_error(ErrorCode::kLimitExceeded, "X.500 name has too many entries");
  for (int i = 0; i < count; ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    // One attribute per relative distinguished name: multi-valued RDNs have no Corda meaning.
    if (X509_NAME_ENTRY_set(entry) != i)
      return make_error(ErrorCode::kMalformed, "X.500 name has a multi-valued RDN");
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
    size_t index = kNameFields.size();
    for (size_t f = 0; f < kNameFields.size(); ++f)
      if (kNameFields[f].nid == nid) index = f;
    if (index == kNameFields.size())
      return make_error(ErrorCode::kMalformed, "X.500 name has an unsupported attribute");
    if (seen[index]) return make_error(ErrorCode::kMalformed, "X.500 name repeats an attribute");
    seen[index] = true;
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
    if (length < 0) return openssl_error(ErrorCode::kMalformed, "X.500 attribute text");
    out.*kNameFields[index].field = std::string(reinterpret_cast<char*>(utf8), length);
    OPENSSL_free(utf8);
  }
  FOLIO_TRY(out.validate());
  return out;
}

// ---- Certificate ----------------------------------------------------------------------------

std::string_view to_string(CertRole role) {
  switch (role) {
    case CertRole::kRootCa:
      return "root CA";
    case CertRole::kDoormanCa:
      return "doorman CA";
    case CertRole::kNodeCa:
      return "node CA";
    case CertRole::kIdentity:
      return "identity";
    case CertRole::kTls:
      return "TLS";
    case CertRole::kNetworkMap:
      return "network map";
  }
  return "unknown";
}

Validity Validity::days_from_now(int64_t days) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  return Validity{now - 3600, now + days * 86400};
}

Certificate Certificate::from_x509(X509* x509) {
  FOLIO_ASSERT(x509 != nullptr);
  FOLIO_ASSERT(X509_up_ref(x509) == 1);
  Certificate out;
  out.cert_ = own_x509(x509);
  return out;
}

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  FOLIO_ASSIGN_OR_RETURN(std::vector<Certificate> chain, chain_from_pem(pem));
  if (chain.size() != 1)
    return make_error(ErrorCode::kMalformed,
                      "expected one PEM certificate, got " + std::to_string(chain.size()));
  return chain.front();
}

Result<std::vector<Certificate>> Certificate::chain_from_pem(std::string_view pem) {
  if (pem.size() > kPemBytesMax)
    return make_error(ErrorCode::kLimitExceeded, "PEM certificates too long");
  BioPtr bio = memory_bio(pem);
  std::vector<Certificate> out;
  while (true) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr);
    if (x == nullptr) {
      unsigned long code = ERR_peek_last_error();
      bool at_end = ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
      if (at_end && !out.empty()) {
        ERR_clear_error();
        break;
      }
      return openssl_error(ErrorCode::kMalformed, "PEM certificate " + std::to_string(out.size()));
    }
    Certificate c;
    c.cert_ = own_x509(x);
    out.push_back(std::move(c));
    if (out.size() > kChainLengthMax)
      return make_error(ErrorCode::kLimitExceeded,
                        "more than " + std::to_string(kChainLengthMax) + " certificates");
  }
  return out;
}

Result<Certificate> Certificate::from_der(ByteView der) {
  if (der.size() > kPemBytesMax) return make_error(ErrorCode::kLimitExceeded, "DER too long");
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) return openssl_error(ErrorCode::kMalformed, "DER certificate");
  Certificate c;
  c.cert_ = own_x509(x);
  if (p != der.data() + der.size())
    return make_error(ErrorCode::kMalformed, "trailing bytes after DER certificate");
  return c;
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    ERR_clear_error();
    return {};
  }
  return bio_text(bio.get());
}

Bytes Certificate::der() const {
  int length = i2d_X509(cert_.get(), nullptr);
  if (length <= 0) return {};
  Bytes out(static_cast<size_t>(length));
  unsigned char* p = out.data();
  i2d_X509(cert_.get(), &p);
  return out;
}

crypto::Hash256 Certificate::fingerprint() const { return crypto::sha256(der()); }

Result<X500Name> Certificate::subject() const {
  return from_x509_name(X509_get_subject_name(cert_.get()));
}
Result<X500Name> Certificate::issuer() const {
  return from_x509_name(X509_get_issuer_name(cert_.get()));
}

std::string Certificate::serial_hex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert_.get());
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) {
    ERR_clear_error();
    return {};
  }
  Bytes raw(static_cast<size_t>(BN_num_bytes(bn)));
  BN_bn2bin(bn, raw.data());
  BN_free(bn);
  return to_hex(raw);
}

bool Certificate::is_ca() const { return X509_check_ca(cert_.get()) == 1; }

Result<KeyPair> Certificate::public_key_pair() const {
  return KeyPair::from_evp(X509_get0_pubkey(cert_.get()));
}

Result<crypto::PublicKey> Certificate::public_key() const {
  FOLIO_ASSIGN_OR_RETURN(KeyPair key, public_key_pair());
  return key.public_key();
}

bool operator==(const Certificate& a, const Certificate& b) {
  return X509_cmp(a.x509(), b.x509()) == 0;
}

std::string chain_to_pem(const std::vector<Certificate>& chain) {
  std::string out;
  for (const Certificate& c : chain) out += c.pem();
  return out;
}

// ---- Issuing --------------------------------------------------------------------------------

Result<Certificate> issue_certificate(CertRole role, const X500Name& subject,
                                      const KeyPair& subject_key,
                                      const std::optional<Certificate>& issuer,
                                      const KeyPair& issuer_key, const Validity& validity) {
  FOLIO_TRY(subject.validate());
  if (!issuer_key.has_private_key())
    return make_error(ErrorCode::kInvalidArgument, "issuer key has no private half");
  if (validity.not_after_seconds <= validity.not_before_seconds)
    return make_error(ErrorCode::kInvalidArgument, "validity period is empty");
  bool self_signed = !issuer.has_value();
  if (self_signed != (role == CertRole::kRootCa))
    return make_error(ErrorCode::kInvalidArgument, "only a root CA certificate is self-signed");
  if (self_signed) {
    if (EVP_PKEY_eq(subject_key.evp(), issuer_key.evp()) != 1)
      return make_error(ErrorCode::kInvalidArgument, "a self-signed root signs with its own key");
  } else {
    if (!issuer->is_ca())
      return make_error(ErrorCode::kInvalidArgument, "issuer certificate is not a CA");
    if (EVP_PKEY_eq(X509_get0_pubkey(issuer->x509()), issuer_key.evp()) != 1)
      return make_error(ErrorCode::kInvalidArgument, "issuer key does not match its certificate");
  }
  bool is_ca =
      role == CertRole::kRootCa || role == CertRole::kDoormanCa || role == CertRole::kNodeCa;
  if (is_ca && subject_key.type() != KeyType::kEd25519)
    return make_error(ErrorCode::kInvalidArgument, "CA keys are Ed25519");
  if ((role == CertRole::kIdentity || role == CertRole::kNetworkMap) &&
      subject_key.type() != KeyType::kEd25519)
    return make_error(ErrorCode::kInvalidArgument, "identity and network map keys are Ed25519");

  std::shared_ptr<X509> cert = own_x509(X509_new());
  X509* x = cert.get();
  if (x == nullptr || X509_set_version(x, X509_VERSION_3) != 1)
    return openssl_error(ErrorCode::kInternal, "new certificate");

  // A random positive serial of 127 bits: unique without coordination between issuers.
  std::array<uint8_t, 16> serial{};
  if (RAND_bytes(serial.data(), serial.size()) != 1)
    return openssl_error(ErrorCode::kInternal, "random serial");
  serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x01);
  BIGNUM* bn = BN_bin2bn(serial.data(), serial.size(), nullptr);
  bool serial_set = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr;
  BN_free(bn);
  if (!serial_set) return openssl_error(ErrorCode::kInternal, "serial");

  if (ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(validity.not_before_seconds)) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(validity.not_after_seconds)) ==
          nullptr)
    return openssl_error(ErrorCode::kInternal, "validity");

  X509_NAME* name = to_x509_name(subject);
  int name_set = X509_set_subject_name(x, name);
  X509_NAME_free(name);
  if (name_set != 1) return openssl_error(ErrorCode::kInternal, "subject");
  if (X509_set_issuer_name(
          x, self_signed ? X509_get_subject_name(x) : X509_get_subject_name(issuer->x509())) != 1)
    return openssl_error(ErrorCode::kInternal, "issuer");
  if (X509_set_pubkey(x, subject_key.evp()) != 1)
    return openssl_error(ErrorCode::kInternal, "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, self_signed ? x : issuer->x509(), x, nullptr, nullptr, 0);
  const char* constraints = "critical,CA:FALSE";
  const char* usage = "critical,digitalSignature";
  switch (role) {
    case CertRole::kRootCa:
      constraints = "critical,CA:TRUE,pathlen:2";
      break;
    case CertRole::kDoormanCa:
      constraints = "critical,CA:TRUE,pathlen:1";
      break;
    case CertRole::kNodeCa:
      constraints = "critical,CA:TRUE,pathlen:0";
      break;
    case CertRole::kIdentity:
    case CertRole::kTls:
    case CertRole::kNetworkMap:
      break;
  }
  if (is_ca) usage = "critical,keyCertSign,cRLSign";
  FOLIO_TRY(add_extension(x, &ctx, NID_basic_constraints, constraints));
  FOLIO_TRY(add_extension(x, &ctx, NID_key_usage, usage));
  if (role == CertRole::kTls)
    FOLIO_TRY(add_extension(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  FOLIO_TRY(add_extension(x, &ctx, NID_subject_key_identifier, "hash"));
  if (!self_signed) FOLIO_TRY(add_extension(x, &ctx, NID_authority_key_identifier, "keyid:always"));
  // A node CA may certify only its own name (its identity and TLS certificates carry it), so
  // that one admitted node cannot sign a certificate that names another.
  if (role == CertRole::kNodeCa) FOLIO_TRY(add_name_constraint(x, X509_get_subject_name(x)));

  if (X509_sign(x, issuer_key.evp(), digest_for(issuer_key.evp())) <= 0)
    return openssl_error(ErrorCode::kInternal, "signing certificate");
  Certificate out = Certificate::from_x509(x);
  return out;
}

// ---- Verification ---------------------------------------------------------------------------

Status verify_chain(const std::vector<Certificate>& chain, const Certificate& root,
                    std::optional<int64_t> at_seconds) {
  if (chain.empty()) return make_error(ErrorCode::kVerification, "empty certificate chain");
  if (chain.size() > kChainLengthMax)
    return make_error(ErrorCode::kLimitExceeded, "certificate chain too long");
  if (X509_self_signed(root.x509(), 1) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kVerification, "trust root is not a self-signed certificate");
  }
  if (!root.is_ca()) return make_error(ErrorCode::kVerification, "trust root is not a CA");

  std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(),
                                                                 X509_STORE_CTX_free);
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
  if (!store || !ctx || !untrusted) return openssl_error(ErrorCode::kInternal, "X509 store");
  if (X509_STORE_add_cert(store.get(), root.x509()) != 1)
    return openssl_error(ErrorCode::kInternal, "adding the trust root");
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].x509());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].x509(), untrusted.get()) != 1)
    return openssl_error(ErrorCode::kInternal, "X509 store context");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (at_seconds.has_value()) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(*at_seconds));
  if (X509_verify_cert(ctx.get()) != 1) {
    int code = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return make_error(ErrorCode::kVerification,
                      std::string("certificate chain: ") + X509_verify_cert_error_string(code));
  }
  return ok_status();
}

Result<X500Name> verify_node_chain(const std::vector<Certificate>& chain, const Certificate& root,
                                   CertRole role, std::optional<int64_t> at_seconds) {
  size_t expected = role == CertRole::kNodeCa ? 2 : 3;
  if (role != CertRole::kNodeCa && role != CertRole::kIdentity && role != CertRole::kTls)
    return make_error(ErrorCode::kInvalidArgument, "not a node certificate role");
  if (chain.size() != expected)
    return make_error(ErrorCode::kVerification, std::string(to_string(role)) + " chain must hold " +
                                                    std::to_string(expected) +
                                                    " certificates, not " +
                                                    std::to_string(chain.size()));
  FOLIO_TRY(verify_chain(chain, root, at_seconds));
  const Certificate& leaf = chain[0];
  X509* x = leaf.x509();
  uint32_t flags = X509_get_extension_flags(x);
  bool has_eku = (flags & EXFLAG_XKUSAGE) != 0;
  uint32_t eku = X509_get_extended_key_usage(x);
  FOLIO_ASSIGN_OR_RETURN(KeyPair leaf_key, leaf.public_key_pair());
  switch (role) {
    case CertRole::kNodeCa:
      if (!leaf.is_ca()) return make_error(ErrorCode::kVerification, "node CA is not a CA");
      break;
    case CertRole::kIdentity:
      if (leaf.is_ca() || has_eku || leaf_key.type() != KeyType::kEd25519 ||
          (X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) == 0)
        return make_error(ErrorCode::kVerification, "not an identity certificate");
      break;
    case CertRole::kTls:
      if (leaf.is_ca() || !has_eku || (eku & XKU_SSL_SERVER) == 0 || (eku & XKU_SSL_CLIENT) == 0)
        return make_error(ErrorCode::kVerification, "not a TLS certificate");
      break;
    default:
      break;
  }
  FOLIO_ASSIGN_OR_RETURN(X500Name name, leaf.subject());
  const Certificate& node_ca = role == CertRole::kNodeCa ? chain[0] : chain[1];
  FOLIO_ASSIGN_OR_RETURN(X500Name ca_name, node_ca.subject());
  if (!node_ca.is_ca()) return make_error(ErrorCode::kVerification, "node CA is not a CA");
  if (ca_name != name)
    return make_error(ErrorCode::kVerification,
                      "certificate for " + name.str() + " under the node CA of " + ca_name.str());
  return name;
}

// ---- CSR ------------------------------------------------------------------------------------

Result<std::string> create_csr(const X500Name& subject, const KeyPair& key) {
  FOLIO_TRY(subject.validate());
  if (!key.has_private_key())
    return make_error(ErrorCode::kInvalidArgument, "key has no private half");
  std::unique_ptr<X509_REQ, void (*)(X509_REQ*)> req(X509_REQ_new(), X509_REQ_free);
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1)
    return openssl_error(ErrorCode::kInternal, "new CSR");
  X509_NAME* name = to_x509_name(subject);
  int set = X509_REQ_set_subject_name(req.get(), name);
  X509_NAME_free(name);
  if (set != 1 || X509_REQ_set_pubkey(req.get(), key.evp()) != 1)
    return openssl_error(ErrorCode::kInternal, "CSR fields");
  if (X509_REQ_sign(req.get(), key.evp(), digest_for(key.evp())) <= 0)
    return openssl_error(ErrorCode::kInternal, "signing CSR");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1)
    return openssl_error(ErrorCode::kInternal, "writing CSR");
  return bio_text(bio.get());
}

Result<VerifiedCsr> verify_csr(std::string_view pem) {
  if (pem.size() > kPemBytesMax) return make_error(ErrorCode::kLimitExceeded, "CSR too long");
  BioPtr bio = memory_bio(pem);
  std::unique_ptr<X509_REQ, void (*)(X509_REQ*)> req(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, no_password, nullptr), X509_REQ_free);
  if (!req) return openssl_error(ErrorCode::kMalformed, "PEM certificate signing request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) return openssl_error(ErrorCode::kMalformed, "CSR public key");
  FOLIO_ASSIGN_OR_RETURN(KeyPair public_key, KeyPair::from_evp(key));
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::kVerification, "CSR signature does not verify");
  }
  FOLIO_ASSIGN_OR_RETURN(X500Name subject, from_x509_name(X509_REQ_get_subject_name(req.get())));
  int length = i2d_X509_REQ(req.get(), nullptr);
  if (length <= 0) return openssl_error(ErrorCode::kMalformed, "CSR encoding");
  Bytes der(static_cast<size_t>(length));
  unsigned char* p = der.data();
  i2d_X509_REQ(req.get(), &p);
  return VerifiedCsr{std::move(subject), std::move(public_key), std::move(der)};
}

// ---- Node certificates ----------------------------------------------------------------------

Result<NodeCertificates> issue_node_certificates(const KeyPair& node_ca_key,
                                                 const std::vector<Certificate>& node_ca_chain,
                                                 const Certificate& root, const Validity& validity,
                                                 KeyType tls_key_type) {
  FOLIO_ASSIGN_OR_RETURN(X500Name name, verify_node_chain(node_ca_chain, root, CertRole::kNodeCa));
  FOLIO_ASSIGN_OR_RETURN(KeyPair identity_key, KeyPair::generate(KeyType::kEd25519));
  FOLIO_ASSIGN_OR_RETURN(KeyPair tls_key, KeyPair::generate(tls_key_type));
  FOLIO_ASSIGN_OR_RETURN(Certificate identity,
                         issue_certificate(CertRole::kIdentity, name, identity_key,
                                           node_ca_chain[0], node_ca_key, validity));
  FOLIO_ASSIGN_OR_RETURN(
      Certificate tls,
      issue_certificate(CertRole::kTls, name, tls_key, node_ca_chain[0], node_ca_key, validity));
  NodeCertificates out{name,       node_ca_key, node_ca_chain, identity_key,
                       {identity}, tls_key,     {tls},         root};
  out.identity_chain.insert(out.identity_chain.end(), node_ca_chain.begin(), node_ca_chain.end());
  out.tls_chain.insert(out.tls_chain.end(), node_ca_chain.begin(), node_ca_chain.end());
  return out;
}

NodeCertificateFiles NodeCertificateFiles::in(const std::string& dir) {
  std::filesystem::path d(dir);
  return NodeCertificateFiles{(d / "root.pem").string(),         (d / "node-ca.pem").string(),
                              (d / "node-ca-key.pem").string(),  (d / "identity.pem").string(),
                              (d / "identity-key.pem").string(), (d / "tls.pem").string(),
                              (d / "tls-key.pem").string()};
}

Status write_node_certificates(const std::string& dir, const NodeCertificates& certs) {
  NodeCertificateFiles files = NodeCertificateFiles::in(dir);
  FOLIO_TRY(write_text_file(files.root, certs.root.pem()));
  FOLIO_TRY(write_text_file(files.node_ca_chain, chain_to_pem(certs.node_ca_chain)));
  FOLIO_TRY(certs.node_ca_key.write_private_key_pem(files.node_ca_key));
  FOLIO_TRY(write_text_file(files.identity_chain, chain_to_pem(certs.identity_chain)));
  FOLIO_TRY(certs.identity_key.write_private_key_pem(files.identity_key));
  FOLIO_TRY(write_text_file(files.tls_chain, chain_to_pem(certs.tls_chain)));
  FOLIO_TRY(certs.tls_key.write_private_key_pem(files.tls_key));
  return ok_status();
}

namespace {
Result<std::vector<Certificate>> read_chain(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string pem, read_text_file(path, kPemBytesMax));
  auto chain = Certificate::chain_from_pem(pem);
  if (!chain.ok()) return make_error(chain.error().code, path + ": " + chain.error().context);
  return chain;
}
Result<KeyPair> read_key(const std::string& path, const Certificate& cert) {
  FOLIO_ASSIGN_OR_RETURN(std::string pem, read_text_file(path, kPemBytesMax));
  auto key = KeyPair::from_private_pem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key.ok()) return make_error(key.error().code, path + ": " + key.error().context);
  if (EVP_PKEY_eq(key->evp(), X509_get0_pubkey(cert.x509())) != 1)
    return make_error(ErrorCode::kVerification, path + ": key does not match its certificate");
  return key;
}
}  // namespace

Result<NodeCertificates> read_node_certificates(const std::string& dir) {
  NodeCertificateFiles files = NodeCertificateFiles::in(dir);
  FOLIO_ASSIGN_OR_RETURN(std::vector<Certificate> root, read_chain(files.root));
  if (root.size() != 1)
    return make_error(ErrorCode::kMalformed, files.root + ": not one certificate");
  NodeCertificates out{{}, {}, {}, {}, {}, {}, {}, root[0]};
  FOLIO_ASSIGN_OR_RETURN(out.node_ca_chain, read_chain(files.node_ca_chain));
  FOLIO_ASSIGN_OR_RETURN(out.name,
                         verify_node_chain(out.node_ca_chain, out.root, CertRole::kNodeCa));
  FOLIO_ASSIGN_OR_RETURN(out.identity_chain, read_chain(files.identity_chain));
  FOLIO_TRY(verify_node_chain(out.identity_chain, out.root, CertRole::kIdentity));
  FOLIO_ASSIGN_OR_RETURN(out.tls_chain, read_chain(files.tls_chain));
  FOLIO_TRY(verify_node_chain(out.tls_chain, out.root, CertRole::kTls));
  if (!(out.identity_chain[1] == out.node_ca_chain[0]) ||
      !(out.tls_chain[1] == out.node_ca_chain[0]))
    return make_error(ErrorCode::kVerification, dir + ": certificates under another node CA");
  FOLIO_ASSIGN_OR_RETURN(out.node_ca_key, read_key(files.node_ca_key, out.node_ca_chain[0]));
  FOLIO_ASSIGN_OR_RETURN(out.identity_key, read_key(files.identity_key, out.identity_chain[0]));
  FOLIO_ASSIGN_OR_RETURN(out.tls_key, read_key(files.tls_key, out.tls_chain[0]));
  return out;
}

// ---- Files ----------------------------------------------------------------------------------

Result<std::string> read_text_file(const std::string& path, size_t bytes_max) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return make_error(ErrorCode::kNotFound, path + ": not a regular file");
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  if (size > bytes_max)
    return make_error(ErrorCode::kLimitExceeded,
                      path + ": larger than " + std::to_string(bytes_max) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open");
  std::string out(static_cast<size_t>(size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size)
    return make_error(ErrorCode::kIo, path + ": short read");
  return out;
}

Status write_text_file(const std::string& path, std::string_view text, unsigned mode) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, path + ": " + ec.message());
  std::array<uint8_t, 8> nonce{};
  if (RAND_bytes(nonce.data(), nonce.size()) != 1) ERR_clear_error();
  std::string temporary = path + ".tmp-" + to_hex(ByteView(nonce.data(), nonce.size()));
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return make_error(ErrorCode::kIo, temporary + ": " + std::strerror(errno));
  // The umask may have narrowed the mode; a key file must be exactly 0600, others as asked.
  bool ok = ::fchmod(fd, mode) == 0;
  size_t written = 0;
  while (ok && written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      written += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (ok && std::rename(temporary.c_str(), path.c_str()) == 0) return ok_status();
  if (saved == 0) saved = errno;
  ::unlink(temporary.c_str());
  return make_error(ErrorCode::kIo, path + ": " + std::strerror(saved));
}

}  // namespace folio::identity
