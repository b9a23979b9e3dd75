// make_test_network: a whole certificate hierarchy on disk for tests and local demos, without a
// doorman: a root CA, a doorman CA and, for each name, a node CA with identity and TLS
// certificates, written as PEM files (private keys with mode 0600).
//
// Layout under `dir`:
//   root/root.pem, root/root-key.pem              the network's root CA
//   doorman/doorman-ca.pem, doorman/doorman-ca-key.pem
//   nodes/<slug>/...                               NodeCertificateFiles::in(nodes/<slug>):
//       root.pem, node-ca.pem (+key), identity.pem (+key), tls.pem (chain: TLS, node CA,
//       doorman CA), tls-key.pem
// where <slug> is the organisation in lower case with every character outside [a-z0-9] replaced
// by '-' (for "O=Bank A, L=London, C=GB": "bank-a").
//
// Not thread-safe with respect to other writers of `dir`.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "identity/certificates.h"

namespace folio::identity {

struct TestNetworkNode {
  std::string dir;  // nodes/<slug>
  NodeCertificateFiles files;
  NodeCertificates certificates;
};

struct TestNetwork {
  std::string dir;
  Certificate root;
  KeyPair root_key;
  Certificate doorman_ca;
  KeyPair doorman_key;
  std::string root_pem_path;           // root/root.pem
  std::vector<TestNetworkNode> nodes;  // in the order of the names given
};

// The slug of a node's directory (see above).
std::string node_slug(const X500Name& name);

// Fails on an invalid name, two names with the same slug, or an I/O error.
// `tls_key_type` chooses the TLS keys (ECDSA P-256 by default; Ed25519 also works for TLS 1.3).
Result<TestNetwork> make_test_network(const std::string& dir, const std::vector<X500Name>& names,
                                      KeyType tls_key_type = KeyType::kEcdsaP256);
// The same with names given as text ("O=Alice, L=London, C=GB").
Result<TestNetwork> make_test_network(const std::string& dir, const std::vector<std::string>& names,
                                      KeyType tls_key_type = KeyType::kEcdsaP256);
// make_test_network(dir, {"O=Alice, L=London, C=GB", "O=Bob, L=Paris, C=FR"}).
Result<TestNetwork> make_test_network(const std::string& dir,
                                      std::initializer_list<std::string> names,
                                      KeyType tls_key_type = KeyType::kEcdsaP256);

// A root CA and doorman CA in memory (no files): the first half of make_test_network.
struct TestAuthorities {
  Certificate root;
  KeyPair root_key;
  Certificate doorman_ca;
  KeyPair doorman_key;
};
Result<TestAuthorities> make_test_authorities();

// A node CA issued directly by the doorman CA (no CSR round trip) plus its identity and TLS
// certificates.
Result<NodeCertificates> make_test_node(const TestAuthorities& authorities, const X500Name& name,
                                        KeyType tls_key_type = KeyType::kEcdsaP256);

}  // namespace folio::identity
