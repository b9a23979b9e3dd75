#include "identity/certificates.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "identity/test_network.h"

namespace folio::identity {
namespace {

X500Name name_of(const std::string& text) {
  auto name = X500Name::parse(text);
  FOLIO_ASSERT(name.ok());
  return *name;
}

std::string temp_dir(const std::string& label) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("folio-" + label + "-XXXXXX")).string();
  char* made = mkdtemp(pattern.data());
  FOLIO_ASSERT(made != nullptr);
  return pattern;
}

class Hierarchy : public ::testing::Test {
 protected:
  void SetUp() override {
    auto authorities = make_test_authorities();
    ASSERT_TRUE(authorities.ok()) << authorities.error().message();
    authorities_ = *authorities;
    auto alice = make_test_node(authorities_, name_of("O=Alice, L=London, C=GB"));
    ASSERT_TRUE(alice.ok()) << alice.error().message();
    alice_ = *alice;
  }
  TestAuthorities authorities_;
  NodeCertificates alice_{};
};

// Signs a certificate with any certificate and key, bypassing issue_certificate's checks, the way
// a misbehaving party could: used to show that verification, not issuance, is what protects.
Certificate sign_unchecked(const Certificate& issuer, const KeyPair& issuer_key, bool ca,
                           const KeyPair& subject_key, const X500Name& subject) {
  X509* x = X509_new();
  FOLIO_ASSERT(X509_set_version(x, X509_VERSION_3) == 1);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME* name = to_x509_name(subject);
  X509_set_subject_name(x, name);
  X509_NAME_free(name);
  X509_set_issuer_name(x, X509_get_subject_name(issuer.x509()));
  X509_set_pubkey(x, subject_key.evp());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer.x509(), x, nullptr, nullptr, 0);
  const char* values[][2] = {
      {"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {"keyUsage", ca ? "critical,keyCertSign" : "critical,digitalSignature"},
      {"subjectKeyIdentifier", "hash"},
      {"authorityKeyIdentifier", "keyid:always"},
  };
  for (auto& v : values) {
    X509_EXTENSION* ext = X509V3_EXT_conf(nullptr, &ctx, v[0], v[1]);
    FOLIO_ASSERT(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  FOLIO_ASSERT(X509_sign(x, issuer_key.evp(), nullptr) > 0);
  Certificate out = Certificate::from_x509(x);
  X509_free(x);
  return out;
}

TEST_F(Hierarchy, NodeChainsVerifyAgainstTheRoot) {
  EXPECT_TRUE(verify_chain(alice_.identity_chain, authorities_.root).ok());
  auto name = verify_node_chain(alice_.identity_chain, authorities_.root, CertRole::kIdentity);
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->str(), "O=Alice, L=London, C=GB");
  EXPECT_TRUE(verify_node_chain(alice_.tls_chain, authorities_.root, CertRole::kTls).ok());
  EXPECT_TRUE(verify_node_chain(alice_.node_ca_chain, authorities_.root, CertRole::kNodeCa).ok());
}

TEST_F(Hierarchy, CertificatesCarryTheHierarchysExtensions) {
  EXPECT_TRUE(authorities_.root.is_ca());
  EXPECT_TRUE(authorities_.doorman_ca.is_ca());
  EXPECT_TRUE(alice_.node_ca_chain[0].is_ca());
  EXPECT_FALSE(alice_.identity_chain[0].is_ca());
  EXPECT_FALSE(alice_.tls_chain[0].is_ca());
  EXPECT_EQ(X509_get_pathlen(authorities_.root.x509()), 2);
  EXPECT_EQ(X509_get_pathlen(authorities_.doorman_ca.x509()), 1);
  EXPECT_EQ(X509_get_pathlen(alice_.node_ca_chain[0].x509()), 0);
  uint32_t eku = X509_get_extended_key_usage(alice_.tls_chain[0].x509());
  EXPECT_NE(eku & XKU_SSL_SERVER, 0u);
  EXPECT_NE(eku & XKU_SSL_CLIENT, 0u);
  EXPECT_NE(alice_.identity_chain[0].serial_hex(), alice_.tls_chain[0].serial_hex());
  EXPECT_EQ(alice_.tls_chain[0].subject()->str(), "O=Alice, L=London, C=GB");
  EXPECT_EQ(alice_.tls_chain[0].issuer()->str(), "O=Alice, L=London, C=GB");
}

TEST_F(Hierarchy, AnotherRootIsRefused) {
  auto other = make_test_authorities();
  ASSERT_TRUE(other.ok());
  Status s = verify_chain(alice_.identity_chain, other->root);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kVerification);
  // A non-root (the doorman CA) is not accepted as a trust anchor either.
  EXPECT_FALSE(
      verify_chain({alice_.identity_chain[0], alice_.identity_chain[1]}, authorities_.doorman_ca)
          .ok());
}

TEST_F(Hierarchy, WrongPathIsRefused) {
  // Identity certificate without its node CA.
  EXPECT_FALSE(
      verify_chain({alice_.identity_chain[0], authorities_.doorman_ca}, authorities_.root).ok());
  // A TLS chain is not an identity chain and the other way round.
  EXPECT_FALSE(verify_node_chain(alice_.tls_chain, authorities_.root, CertRole::kIdentity).ok());
  EXPECT_FALSE(verify_node_chain(alice_.identity_chain, authorities_.root, CertRole::kTls).ok());
  // Another node's identity under Alice's node CA.
  auto bob = make_test_node(authorities_, name_of("O=Bob, L=Paris, C=FR"));
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(
      verify_node_chain({bob->identity_chain[0], alice_.node_ca_chain[0], authorities_.doorman_ca},
                        authorities_.root, CertRole::kIdentity)
          .ok());
  EXPECT_FALSE(verify_node_chain({}, authorities_.root, CertRole::kIdentity).ok());
}

TEST_F(Hierarchy, ExpiredAndNotYetValidAreRefused) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_TRUE(verify_chain(alice_.identity_chain, authorities_.root, now).ok());
  EXPECT_FALSE(verify_chain(alice_.identity_chain, authorities_.root, now + 4000LL * 86400).ok());
  EXPECT_FALSE(verify_chain(alice_.identity_chain, authorities_.root, now - 2 * 86400).ok());

  auto key = KeyPair::generate(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  auto expired = issue_certificate(CertRole::kIdentity, name_of("O=Alice, L=London, C=GB"), *key,
                                   alice_.node_ca_chain[0], alice_.node_ca_key,
                                   Validity{now - 10 * 86400, now - 86400});
  ASSERT_TRUE(expired.ok()) << expired.error().message();
  Status s =
      verify_chain({*expired, alice_.node_ca_chain[0], authorities_.doorman_ca}, authorities_.root);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().context.find("expired"), std::string::npos) << s.error().context;
}

TEST_F(Hierarchy, LeafWithoutCaFlagCannotSign) {
  auto key = KeyPair::generate(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  // issue_certificate refuses outright...
  EXPECT_FALSE(issue_certificate(CertRole::kIdentity, alice_.name, *key, alice_.identity_chain[0],
                                 alice_.identity_key, Validity::days_from_now(1))
                   .ok());
  // ...and a certificate signed by the identity key anyway is rejected by verification, while the
  // same construction under the node CA verifies (so the rejection is about the CA flag).
  Certificate forged =
      sign_unchecked(alice_.identity_chain[0], alice_.identity_key, false, *key, alice_.name);
  Status s = verify_chain(
      {forged, alice_.identity_chain[0], alice_.node_ca_chain[0], authorities_.doorman_ca},
      authorities_.root);
  EXPECT_FALSE(s.ok());
  Certificate proper =
      sign_unchecked(alice_.node_ca_chain[0], alice_.node_ca_key, false, *key, alice_.name);
  Status good =
      verify_chain({proper, alice_.node_ca_chain[0], authorities_.doorman_ca}, authorities_.root);
  EXPECT_TRUE(good.ok()) << good.error().message();
}

TEST_F(Hierarchy, NodeCaPathLengthForbidsSubordinateCas) {
  auto sub_key = KeyPair::generate(KeyType::kEd25519);
  auto leaf_key = KeyPair::generate(KeyType::kEd25519);
  ASSERT_TRUE(sub_key.ok() && leaf_key.ok());
  // RFC 5280 does not count self-issued CAs (subject = issuer) against the path length, so a
  // node CA could mint a sub-CA under its own name: verify_node_chain's fixed chain shape is
  // what refuses that one.
  Certificate same_name =
      sign_unchecked(alice_.node_ca_chain[0], alice_.node_ca_key, true, *sub_key, alice_.name);
  Certificate leaf = sign_unchecked(same_name, *sub_key, false, *leaf_key, alice_.name);
  EXPECT_FALSE(verify_node_chain({leaf, same_name, alice_.node_ca_chain[0]}, authorities_.root,
                                 CertRole::kIdentity)
                   .ok());
  // A sub-CA under any other name is refused by the node CA's pathlen 0.
  X500Name other = name_of("O=Bob, L=Paris, C=FR");
  Certificate sub =
      sign_unchecked(alice_.node_ca_chain[0], alice_.node_ca_key, true, *sub_key, other);
  Certificate bob_leaf = sign_unchecked(sub, *sub_key, false, *leaf_key, other);
  Status s = verify_chain({bob_leaf, sub, alice_.node_ca_chain[0], authorities_.doorman_ca},
                          authorities_.root);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().context.find("path length"), std::string::npos) << s.error().context;
}

// Regression: any admitted node could impersonate any other, because its node CA (CA:TRUE,
// pathlen:0) could sign a certificate with any subject and the chain still verified to the root.
// The node CA's nameConstraints now permit only its own name.
TEST_F(Hierarchy, NodeCaCannotCertifyAnotherNodesName) {
  auto mallory = make_test_node(authorities_, name_of("O=Mallory, L=London, C=GB"));
  ASSERT_TRUE(mallory.ok()) << mallory.error().message();
  int critical = 0;
  auto* constraints = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(mallory->node_ca_chain[0].x509(), NID_name_constraints, &critical, nullptr));
  ASSERT_NE(constraints, nullptr);
  EXPECT_EQ(critical, 1);
  EXPECT_EQ(sk_GENERAL_SUBTREE_num(constraints->permittedSubtrees), 1);
  NAME_CONSTRAINTS_free(constraints);

  auto key = KeyPair::generate(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  Certificate forged = sign_unchecked(mallory->node_ca_chain[0], mallory->node_ca_key, false, *key,
                                      name_of("O=Alice, L=London, C=GB"));
  std::vector<Certificate> chain{forged, mallory->node_ca_chain[0], mallory->node_ca_chain[1]};
  Status verified = verify_chain(chain, authorities_.root);
  ASSERT_FALSE(verified.ok());
  EXPECT_NE(verified.error().context.find("permitted subtree violation"), std::string::npos)
      << verified.error().context;
  EXPECT_FALSE(verify_node_chain(chain, authorities_.root, CertRole::kIdentity).ok());

  // The same node CA still certifies its own name.
  Certificate own = sign_unchecked(mallory->node_ca_chain[0], mallory->node_ca_key, false, *key,
                                   name_of("O=Mallory, L=London, C=GB"));
  EXPECT_TRUE(
      verify_chain({own, mallory->node_ca_chain[0], mallory->node_ca_chain[1]}, authorities_.root)
          .ok());
}

TEST_F(Hierarchy, IdentityKeyIsThePartyKey) {
  auto certified = alice_.identity_chain[0].public_key();
  ASSERT_TRUE(certified.ok());
  EXPECT_EQ(certified->kind(), crypto::PublicKey::Kind::kEd25519);
  auto signer = alice_.identity_key.to_private_key();
  ASSERT_TRUE(signer.ok());
  EXPECT_EQ(signer->public_key(), *certified);
  Bytes message = to_bytes("pay Bob 10 GBP");
  EXPECT_TRUE(crypto::verify(*certified, message, signer->sign(message)));
  // A P-256 TLS key maps to a compressed P-256 leaf that verifies OpenSSL-made keys too.
  auto tls = alice_.tls_chain[0].public_key();
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->kind(), crypto::PublicKey::Kind::kEcdsaP256);
}

TEST_F(Hierarchy, PemRoundTrips) {
  std::string pem = chain_to_pem(alice_.identity_chain);
  auto chain = Certificate::chain_from_pem(pem);
  ASSERT_TRUE(chain.ok());
  ASSERT_EQ(chain->size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE((*chain)[i] == alice_.identity_chain[i]);
  auto key_pem = alice_.identity_key.private_pem();
  ASSERT_TRUE(key_pem.ok());
  auto key = KeyPair::from_private_pem(*key_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key->public_key(), *alice_.identity_key.public_key());
  auto pub = KeyPair::from_public_pem(alice_.tls_key.public_pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_FALSE(pub->has_private_key());
  EXPECT_EQ(*pub->public_key(), *alice_.tls_key.public_key());
  auto der = Certificate::from_der(alice_.tls_chain[0].der());
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(der->fingerprint(), alice_.tls_chain[0].fingerprint());
}

TEST(CertificateParsing, HostileInputIsAnErrorNotACrash) {
  const std::vector<std::string> bad = {
      "",
      "hello",
      "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
      "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END "
      "CERTIFICATE-----\n",
      std::string(kPemBytesMax + 1, 'A'),
  };
  for (const std::string& pem : bad) {
    EXPECT_FALSE(Certificate::chain_from_pem(pem).ok());
    EXPECT_FALSE(verify_csr(pem).ok());
    EXPECT_FALSE(KeyPair::from_private_pem(pem).ok());
  }
  Bytes junk = {0x30, 0x82, 0xff, 0xff, 0x01};
  EXPECT_FALSE(Certificate::from_der(junk).ok());
}

TEST(Csr, RoundTripCarriesNameAndProvesPossession) {
  auto key = KeyPair::generate(KeyType::kEd25519);
  ASSERT_TRUE(key.ok());
  X500Name name = name_of("O=Carol Ltd, L=New York, ST=NY, C=US");
  auto pem = create_csr(name, *key);
  ASSERT_TRUE(pem.ok()) << pem.error().message();
  auto verified = verify_csr(*pem);
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  EXPECT_EQ(verified->subject, name);
  EXPECT_EQ(*verified->public_key.public_key(), *key->public_key());
  EXPECT_FALSE(verified->public_key.has_private_key());

  // Flip one byte of the signature (the end of the DER): proof of possession fails.
  Bytes der = verified->der;
  der[der.size() - 3] ^= 0x01;
  BIO* bio = BIO_new(BIO_s_mem());
  const unsigned char* p = der.data();
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  PEM_write_bio_X509_REQ(bio, req);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string tampered(data, static_cast<size_t>(size));
  X509_REQ_free(req);
  BIO_free(bio);
  auto rejected = verify_csr(tampered);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().code, ErrorCode::kVerification);
}

// ---- Mutual TLS 1.3 -------------------------------------------------------------------------

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

SslCtxPtr tls_context(bool server, const NodeCertificates& node, const Certificate& trust_root) {
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  FOLIO_ASSERT(ctx != nullptr);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  FOLIO_ASSERT(SSL_CTX_use_certificate(ctx.get(), node.tls_chain[0].x509()) == 1);
  for (size_t i = 1; i < node.tls_chain.size(); ++i)
    FOLIO_ASSERT(SSL_CTX_add1_chain_cert(ctx.get(), node.tls_chain[i].x509()) == 1);
  FOLIO_ASSERT(SSL_CTX_use_PrivateKey(ctx.get(), node.tls_key.evp()) == 1);
  FOLIO_ASSERT(SSL_CTX_check_private_key(ctx.get()) == 1);
  FOLIO_ASSERT(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), trust_root.x509()) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

struct HandshakeResult {
  bool ok = false;
  std::string server_saw;  // the client's X.500 name as seen by the server
  std::string client_saw;
};

// Runs a TLS 1.3 handshake between two in-memory endpoints joined by a BIO pair, then sends one
// message each way (in TLS 1.3 the server checks the client's certificate after the client has
// finished, so application data is what proves both sides accepted).
HandshakeResult handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  SSL* client = SSL_new(client_ctx);
  SSL* server = SSL_new(server_ctx);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  FOLIO_ASSERT(BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) == 1);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  HandshakeResult result;
  bool client_done = false;
  bool server_done = false;
  bool failed = false;
  for (int round = 0; round < 50 && !failed && !(client_done && server_done); ++round) {
    for (auto [ssl, done] : {std::pair{client, &client_done}, std::pair{server, &server_done}}) {
      if (*done) continue;
      int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
      } else {
        int error = SSL_get_error(ssl, rc);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  if (!failed && client_done && server_done) {
    char buffer[16] = {};
    bool exchanged = SSL_write(client, "ping", 4) == 4 && SSL_read(server, buffer, 16) == 4 &&
                     SSL_write(server, "pong", 4) == 4 && SSL_read(client, buffer, 16) == 4;
    result.ok = exchanged && SSL_version(client) == TLS1_3_VERSION &&
                SSL_get_verify_result(client) == X509_V_OK &&
                SSL_get_verify_result(server) == X509_V_OK;
    if (result.ok) {
      X509* peer = SSL_get1_peer_certificate(server);
      result.server_saw = Certificate::from_x509(peer).subject()->str();
      X509_free(peer);
      peer = SSL_get1_peer_certificate(client);
      result.client_saw = Certificate::from_x509(peer).subject()->str();
      X509_free(peer);
    }
  }
  ERR_clear_error();
  SSL_free(client);
  SSL_free(server);
  return result;
}

class MutualTls : public ::testing::TestWithParam<KeyType> {};

TEST_P(MutualTls, HandshakeSucceedsWithinTheHierarchyAndFailsWithAForeignRoot) {
  auto network = make_test_authorities();
  ASSERT_TRUE(network.ok());
  auto alice = make_test_node(*network, name_of("O=Alice, L=London, C=GB"), GetParam());
  auto bob = make_test_node(*network, name_of("O=Bob, L=Paris, C=FR"), GetParam());
  ASSERT_TRUE(alice.ok() && bob.ok());

  SslCtxPtr client = tls_context(false, *alice, network->root);
  SslCtxPtr server = tls_context(true, *bob, network->root);
  HandshakeResult good = handshake(client.get(), server.get());
  EXPECT_TRUE(good.ok);
  EXPECT_EQ(good.server_saw, "O=Alice, L=London, C=GB");
  EXPECT_EQ(good.client_saw, "O=Bob, L=Paris, C=FR");

  // Mallory has a node in another network (another root): neither side accepts the other.
  auto foreign = make_test_authorities();
  ASSERT_TRUE(foreign.ok());
  auto mallory = make_test_node(*foreign, name_of("O=Mallory, L=London, C=GB"), GetParam());
  ASSERT_TRUE(mallory.ok());
  SslCtxPtr mallory_client = tls_context(false, *mallory, foreign->root);
  EXPECT_FALSE(handshake(mallory_client.get(), server.get()).ok);
  SslCtxPtr mallory_server = tls_context(true, *mallory, foreign->root);
  EXPECT_FALSE(handshake(client.get(), mallory_server.get()).ok);
  // Mallory trusting our root does not help her: the server still refuses her certificate.
  SslCtxPtr mallory_trusting = tls_context(false, *mallory, network->root);
  EXPECT_FALSE(handshake(mallory_trusting.get(), server.get()).ok);
}

// Regression: Mallory, admitted to the same network, signs a TLS certificate for Alice's name with
// her own node CA. The handshake's own chain verification (no call to verify_node_chain) refuses
// it, in either direction.
TEST_P(MutualTls, HandshakeFailsWithACertificateForAnotherNodesName) {
  auto network = make_test_authorities();
  ASSERT_TRUE(network.ok());
  auto bob = make_test_node(*network, name_of("O=Bob, L=Paris, C=FR"), GetParam());
  auto mallory = make_test_node(*network, name_of("O=Mallory, L=London, C=GB"), GetParam());
  ASSERT_TRUE(bob.ok() && mallory.ok());
  SslCtxPtr bob_server = tls_context(true, *bob, network->root);
  SslCtxPtr bob_client = tls_context(false, *bob, network->root);

  // Mallory's genuine certificate works: the failure below is the name, not the setup.
  SslCtxPtr honest = tls_context(false, *mallory, network->root);
  EXPECT_TRUE(handshake(honest.get(), bob_server.get()).ok);

  NodeCertificates impostor = *mallory;
  auto forged = issue_certificate(CertRole::kTls, name_of("O=Alice, L=London, C=GB"),
                                  mallory->tls_key, mallory->node_ca_chain[0], mallory->node_ca_key,
                                  Validity::days_from_now(1));
  ASSERT_TRUE(forged.ok()) << forged.error().message();
  impostor.tls_chain[0] = *forged;
  SslCtxPtr impostor_client = tls_context(false, impostor, network->root);
  EXPECT_FALSE(handshake(impostor_client.get(), bob_server.get()).ok);
  SslCtxPtr impostor_server = tls_context(true, impostor, network->root);
  EXPECT_FALSE(handshake(bob_client.get(), impostor_server.get()).ok);
}

INSTANTIATE_TEST_SUITE_P(TlsKeys, MutualTls,
                         ::testing::Values(KeyType::kEcdsaP256, KeyType::kEd25519));

// ---- Files ----------------------------------------------------------------------------------

TEST(TestNetwork, WritesReadableCertificatesWithPrivateKeyFiles0600) {
  std::string dir = temp_dir("testnet");
  auto network = make_test_network(dir, {"O=Bank A, L=London, C=GB", "O=Bank B, L=New York, C=US"});
  ASSERT_TRUE(network.ok()) << network.error().message();
  ASSERT_EQ(network->nodes.size(), 2u);
  EXPECT_EQ(network->nodes[0].dir, dir + "/nodes/bank-a");
  for (const TestNetworkNode& node : network->nodes) {
    for (const std::string& key :
         {node.files.node_ca_key, node.files.identity_key, node.files.tls_key}) {
      struct stat st {};
      ASSERT_EQ(stat(key.c_str(), &st), 0) << key;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
    }
    auto read = read_node_certificates(node.dir);
    ASSERT_TRUE(read.ok()) << read.error().message();
    EXPECT_EQ(read->name, node.certificates.name);
    EXPECT_EQ(*read->identity_key.public_key(), *node.certificates.identity_key.public_key());
  }
  struct stat st {};
  ASSERT_EQ(stat((dir + "/root/root-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Two names with one directory slug are refused.
  EXPECT_FALSE(make_test_network(
                   temp_dir("testnet-dup"),
                   std::vector<std::string>{"O=Bank A, L=London, C=GB", "O=Bank-A, L=Paris, C=FR"})
                   .ok());
  // A key swapped for another node's key is refused on read.
  std::filesystem::copy_file(network->nodes[1].files.identity_key,
                             network->nodes[0].files.identity_key,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_FALSE(read_node_certificates(network->nodes[0].dir).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace folio::identity
