#include "net/testing_certs.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <vector>

namespace folio::net::testing {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

Error ssl_error(std::string what) { return make_error(ErrorCode::kInternal, std::move(what)); }

Result<Pkey> new_key() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return ssl_error("P-256 key generation failed");
  return Pkey(key);
}

// "O=Bank A, L=London, C=GB" -> X509_NAME entries in the order given.
Status set_name(X509_NAME* name, const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    size_t equals = part.find('=');
    if (equals == std::string::npos)
      return make_error(ErrorCode::kInvalidArgument, "bad X.500 name '" + text + "'");
    std::string key = part.substr(0, equals);
    std::string value = part.substr(equals + 1);
    if (X509_NAME_add_entry_by_txt(name, key.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1)
      return make_error(ErrorCode::kInvalidArgument, "bad X.500 attribute '" + key + "'");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ok_status();
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) return ssl_error(std::string("extension ") + value);
  int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return ssl_error(std::string("adding extension ") + value);
  return ok_status();
}

// A critical nameConstraints extension permitting only the directoryName `permitted`, as the
// doorman puts on a node CA (identity/certificates.cc): a node CA cannot certify another node.
Status add_name_constraint(X509* cert, const std::string& permitted) {
  std::unique_ptr<NAME_CONSTRAINTS, void (*)(NAME_CONSTRAINTS*)> constraints(NAME_CONSTRAINTS_new(),
                                                                             NAME_CONSTRAINTS_free);
  GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
  X509_NAME* name = X509_NAME_new();
  if (!constraints || subtree == nullptr || name == nullptr) {
    GENERAL_SUBTREE_free(subtree);
    X509_NAME_free(name);
    return ssl_error("name constraints");
  }
  Status named = set_name(name, permitted);
  if (!named.ok()) {
    GENERAL_SUBTREE_free(subtree);
    X509_NAME_free(name);
    return named;
  }
  GENERAL_NAME_set0_value(subtree->base, GEN_DIRNAME, name);
  constraints->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  if (constraints->permittedSubtrees == nullptr ||
      sk_GENERAL_SUBTREE_push(constraints->permittedSubtrees, subtree) <= 0) {
    GENERAL_SUBTREE_free(subtree);
    return ssl_error("name constraints");
  }
  if (X509_add1_ext_i2d(cert, NID_name_constraints, constraints.get(), 1, X509V3_ADD_DEFAULT) != 1)
    return ssl_error("adding name constraints");
  return ok_status();
}

// A certificate for `subject_key` named `subject`, signed by `issuer_key` (self-signed when
// `issuer` is null). A CA with a non-empty `permitted_name` may certify only that name.
Result<Cert> make_certificate(const std::string& subject, EVP_PKEY* subject_key, X509* issuer,
                              EVP_PKEY* issuer_key, bool is_ca,
                              const std::string& permitted_name = "") {
  Cert cert(X509_new());
  if (!cert) return ssl_error("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return ssl_error("RAND_bytes");
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  FOLIO_TRY(set_name(X509_get_subject_name(cert.get()), subject));
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer)
                                          : X509_get_subject_name(cert.get()));
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return ssl_error("X509_set_pubkey");
  X509* issuer_cert = issuer ? issuer : cert.get();
  if (is_ca) {
    FOLIO_TRY(add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE"));
    FOLIO_TRY(
        add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign"));
    if (!permitted_name.empty()) FOLIO_TRY(add_name_constraint(cert.get(), permitted_name));
  } else {
    FOLIO_TRY(add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE"));
    FOLIO_TRY(add_extension(cert.get(), issuer_cert, NID_key_usage,
                            "critical,digitalSignature,keyAgreement"));
    FOLIO_TRY(add_extension(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  FOLIO_TRY(add_extension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return ssl_error("X509_sign");
  return cert;
}

Status write_file(const std::string& path, const std::vector<X509*>& certs, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return make_error(ErrorCode::kIo, "cannot write " + path);
  bool ok = true;
  for (X509* cert : certs) ok = ok && PEM_write_X509(file, cert) == 1;
  if (key) ok = ok && PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) return make_error(ErrorCode::kIo, "cannot write " + path);
  return ok_status();
}

Result<std::string> key_to_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ssl_error("PEM_write_bio_PrivateKey");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

Result<Pkey> key_from_pem(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (key == nullptr) return ssl_error("PEM_read_bio_PrivateKey");
  return Pkey(key);
}

Result<Cert> cert_from_file(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return make_error(ErrorCode::kIo, "cannot read " + path);
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (cert == nullptr) return ssl_error("PEM_read_X509 " + path);
  return Cert(cert);
}

}  // namespace

Result<TestCertificateAuthority> TestCertificateAuthority::create(const std::string& directory,
                                                                  const std::string& file_stem,
                                                                  const std::string& root_name) {
  FOLIO_ASSIGN_OR_RETURN(Pkey key, new_key());
  FOLIO_ASSIGN_OR_RETURN(Cert root,
                         make_certificate(root_name, key.get(), nullptr, key.get(), true));
  TestCertificateAuthority ca;
  ca.directory_ = directory;
  ca.root_path_ = directory + "/" + file_stem + "-root.pem";
  FOLIO_TRY(write_file(ca.root_path_, {root.get()}, nullptr));
  FOLIO_ASSIGN_OR_RETURN(ca.root_key_pem_, key_to_pem(key.get()));
  return ca;
}

Result<NodeTlsFiles> TestCertificateAuthority::issue_node(const std::string& x500_name,
                                                          const std::string& file_stem) const {
  FOLIO_ASSIGN_OR_RETURN(Pkey root_key, key_from_pem(root_key_pem_));
  FOLIO_ASSIGN_OR_RETURN(Cert root, cert_from_file(root_path_));
  FOLIO_ASSIGN_OR_RETURN(Pkey node_ca_key, new_key());
  FOLIO_ASSIGN_OR_RETURN(Cert node_ca,
                         make_certificate("CN=Node CA, " + x500_name, node_ca_key.get(), root.get(),
                                          root_key.get(), true, x500_name));
  FOLIO_ASSIGN_OR_RETURN(Pkey tls_key, new_key());
  FOLIO_ASSIGN_OR_RETURN(Cert tls, make_certificate(x500_name, tls_key.get(), node_ca.get(),
                                                    node_ca_key.get(), false));
  NodeTlsFiles files{directory_ + "/" + file_stem + ".crt", directory_ + "/" + file_stem + ".key"};
  FOLIO_TRY(write_file(files.certificate_path, {tls.get(), node_ca.get()}, nullptr));
  FOLIO_TRY(write_file(files.private_key_path, {}, tls_key.get()));
  return files;
}

}  // namespace folio::net::testing
