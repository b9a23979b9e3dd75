// Key pairs, X.509 certificates and certificate signing requests of the network's certificate
// hierarchy (ARCHITECTURE.md §4, "Identity"), built with OpenSSL 3:
//
//   root CA (self-signed, CA, pathlen 2)
//     ├─ doorman CA (CA, pathlen 1)
//     │    └─ node CA (CA, pathlen 0; subject = the node's X.500 name; issued from the node's CSR)
//     │         ├─ identity certificate (not a CA; digitalSignature; Ed25519: the node's Party key)
//     │         └─ TLS certificate (not a CA; serverAuth + clientAuth; ECDSA P-256 or Ed25519)
//     └─ network map certificate (not a CA; digitalSignature; signs the map and the parameters)
//
// Every certificate's subject is an X.500 name (certificates of a node all carry the node's
// name), has a random positive 127-bit serial, an explicit validity period, basicConstraints and
// keyUsage (both critical) and, for CAs, subject and authority key identifiers. CA and identity
// keys are Ed25519; TLS keys are ECDSA P-256 by default (the curve every TLS 1.3 stack accepts).
//
// KeyPair and Certificate wrap OpenSSL objects. They are values (copies share the immutable
// OpenSSL object by reference count) and thread-safe for concurrent const use. Private keys are
// written only by write_private_key_pem(), to a file of mode 0600; no message ever contains one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "identity/x500.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;
typedef struct X509_name_st X509_NAME;

namespace folio::identity {

enum class KeyType { kEd25519, kEcdsaP256 };

// Largest PEM text any reader here accepts (a chain of a few certificates is a few kilobytes).
constexpr size_t kPemBytesMax = 64 * 1024;
// Most certificates in one chain.
constexpr size_t kChainLengthMax = 8;

class KeyPair {
 public:
  // A fresh key from OpenSSL's random generator.
  static Result<KeyPair> generate(KeyType type);
  // Parses a PEM private key (PKCS#8) of a supported type.
  static Result<KeyPair> from_private_pem(std::string_view pem);
  // Parses a PEM public key (SubjectPublicKeyInfo); the result has no private half.
  static Result<KeyPair> from_public_pem(std::string_view pem);
  // Takes a reference to `key` (EVP_PKEY_up_ref). Fails for unsupported key types.
  static Result<KeyPair> from_evp(EVP_PKEY* key);

  KeyType type() const { return type_; }
  bool has_private_key() const { return has_private_; }
  EVP_PKEY* evp() const { return key_.get(); }

  std::string public_pem() const;
  // The same key as Folio's crypto::PublicKey (Ed25519 or compressed P-256 leaf).
  Result<crypto::PublicKey> public_key() const;
  // An Ed25519 key as a crypto::PrivateKey (its 32-byte seed). REQUIRES: has_private_key()
  Result<crypto::PrivateKey> to_private_key() const;
  // Writes the private key as PKCS#8 PEM to `path`, created with mode 0600 (parents created).
  Status write_private_key_pem(const std::string& path) const;
  // The PEM text of the private key; for tests and in-memory TLS setup only. Never log it.
  Result<std::string> private_pem() const;

 private:
  KeyType type_ = KeyType::kEd25519;
  bool has_private_ = false;
  std::shared_ptr<EVP_PKEY> key_;
};

// Role of a certificate in the hierarchy above; decides its extensions.
enum class CertRole { kRootCa, kDoormanCa, kNodeCa, kIdentity, kTls, kNetworkMap };
std::string_view to_string(CertRole role);

// Validity period in seconds since the Unix epoch.
struct Validity {
  int64_t not_before_seconds = 0;
  int64_t not_after_seconds = 0;
  // From one hour ago (tolerates clock skew between machines) to `days` from now.
  static Validity days_from_now(int64_t days);
};

class Certificate {
 public:
  static Result<Certificate> from_pem(std::string_view pem);
  // All certificates of a PEM text, in order (leaf first for chains). Fails on zero or more than
  // kChainLengthMax certificates or any malformed one.
  static Result<std::vector<Certificate>> chain_from_pem(std::string_view pem);
  static Result<Certificate> from_der(ByteView der);
  // Takes a reference to `x509`.
  static Certificate from_x509(X509* x509);

  X509* x509() const { return cert_.get(); }
  std::string pem() const;
  Bytes der() const;
  // SHA-256 of the DER encoding.
  crypto::Hash256 fingerprint() const;
  Result<X500Name> subject() const;
  Result<X500Name> issuer() const;
  // Lower-case hex of the serial number.
  std::string serial_hex() const;
  bool is_ca() const;
  Result<KeyPair> public_key_pair() const;
  // The subject key as crypto::PublicKey: for an identity certificate, the node's Party key.
  Result<crypto::PublicKey> public_key() const;

  friend bool operator==(const Certificate& a, const Certificate& b);

 private:
  std::shared_ptr<X509> cert_;
};

std::string chain_to_pem(const std::vector<Certificate>& chain);

// Issues a certificate of `role` for `subject` and `subject_key` (only its public half is used),
// signed by `issuer_key`. `issuer` is the issuer's certificate, or nullopt for a self-signed root
// (then issuer_key must be subject_key). Fails if the issuer is not a CA or its key does not match
// issuer_key.
Result<Certificate> issue_certificate(CertRole role, const X500Name& subject,
                                      const KeyPair& subject_key,
                                      const std::optional<Certificate>& issuer,
                                      const KeyPair& issuer_key, const Validity& validity);

// Verifies `chain` (leaf first, then intermediates, excluding the root) up to `root` with
// OpenSSL's X509_STORE: signatures, CA flags, path lengths, key usages, validity at
// `at_seconds` (now when nullopt). `root` must be self-signed and is the only trust anchor.
Status verify_chain(const std::vector<Certificate>& chain, const Certificate& root,
                    std::optional<int64_t> at_seconds = std::nullopt);

// Verifies a node's chain: exactly [leaf, node CA, doorman CA] under `root`, the leaf of `role`
// (kIdentity, kTls or kNodeCa, in which case the chain is [node CA, doorman CA]), and the leaf
// and node CA naming the same X.500 name. Returns that name.
Result<X500Name> verify_node_chain(const std::vector<Certificate>& chain, const Certificate& root,
                                   CertRole role, std::optional<int64_t> at_seconds = std::nullopt);

// X509_NAME conversion. to_x509_name returns a new X509_NAME the caller frees with X509_NAME_free.
X509_NAME* to_x509_name(const X500Name& name);
Result<X500Name> from_x509_name(const X509_NAME* name);

// ---- Certificate signing requests ---------------------------------------------------------------

// A PEM PKCS#10 request for `subject`, signed by `key` (proof of possession).
Result<std::string> create_csr(const X500Name& subject, const KeyPair& key);

struct VerifiedCsr {
  X500Name subject;
  KeyPair public_key;  // no private half
  Bytes der;           // the request as received, DER
};
// Parses a PEM CSR, checks its self-signature and its subject name. Hostile input gives errors.
Result<VerifiedCsr> verify_csr(std::string_view pem);

// ---- A node's certificates ------------------------------------------------------------------

// What a node holds once the doorman has issued its node CA certificate.
struct NodeCertificates {
  X500Name name;
  KeyPair node_ca_key;
  std::vector<Certificate> node_ca_chain;  // node CA, doorman CA
  KeyPair identity_key;
  std::vector<Certificate> identity_chain;  // identity, node CA, doorman CA
  KeyPair tls_key;
  std::vector<Certificate> tls_chain;  // TLS, node CA, doorman CA
  Certificate root;
};

// Issues the identity certificate and TLS certificate under a node CA (fresh keys).
Result<NodeCertificates> issue_node_certificates(const KeyPair& node_ca_key,
                                                 const std::vector<Certificate>& node_ca_chain,
                                                 const Certificate& root, const Validity& validity,
                                                 KeyType tls_key_type = KeyType::kEcdsaP256);

// File names inside a node's certificates directory.
struct NodeCertificateFiles {
  std::string root;            // root.pem: the network's trust root
  std::string node_ca_chain;   // node-ca.pem
  std::string node_ca_key;     // node-ca-key.pem (0600)
  std::string identity_chain;  // identity.pem
  std::string identity_key;    // identity-key.pem (0600)
  std::string tls_chain;       // tls.pem: TLS certificate, node CA, doorman CA
  std::string tls_key;         // tls-key.pem (0600)
  static NodeCertificateFiles in(const std::string& dir);
};

Status write_node_certificates(const std::string& dir, const NodeCertificates& certs);
// Reads and checks (verify_node_chain for every chain, keys matching their certificates).
Result<NodeCertificates> read_node_certificates(const std::string& dir);

// ---- File helpers ---------------------------------------------------------------------------

// Reads a whole regular file of at most `bytes_max` bytes.
Result<std::string> read_text_file(const std::string& path, size_t bytes_max);
// Writes atomically (temporary file, then rename) with `mode`; creates parent directories.
Status write_text_file(const std::string& path, std::string_view text, unsigned mode = 0644);

}  // namespace folio::identity
