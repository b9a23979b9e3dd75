#include "identity/test_network.h"

#include <filesystem>
#include <set>

namespace folio::identity {

std::string node_slug(const X500Name& name) {
  std::string out;
  for (char c : name.organisation) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    out += keep ? lower : '-';
  }
  return out;
}

Result<TestAuthorities> make_test_authorities() {
  Validity validity = Validity::days_from_now(3650);
  FOLIO_ASSIGN_OR_RETURN(X500Name root_name,
                         X500Name::parse("CN=Folio Root CA, O=Folio Test Network, L=London, C=GB"));
  FOLIO_ASSIGN_OR_RETURN(
      X500Name doorman_name,
      X500Name::parse("CN=Folio Doorman CA, O=Folio Test Network, L=London, C=GB"));
  FOLIO_ASSIGN_OR_RETURN(KeyPair root_key, KeyPair::generate(KeyType::kEd25519));
  FOLIO_ASSIGN_OR_RETURN(Certificate root, issue_certificate(CertRole::kRootCa, root_name, root_key,
                                                             std::nullopt, root_key, validity));
  FOLIO_ASSIGN_OR_RETURN(KeyPair doorman_key, KeyPair::generate(KeyType::kEd25519));
  FOLIO_ASSIGN_OR_RETURN(
      Certificate doorman,
      issue_certificate(CertRole::kDoormanCa, doorman_name, doorman_key, root, root_key, validity));
  return TestAuthorities{root, root_key, doorman, doorman_key};
}

Result<NodeCertificates> make_test_node(const TestAuthorities& authorities, const X500Name& name,
                                        KeyType tls_key_type) {
  Validity validity = Validity::days_from_now(3650);
  FOLIO_ASSIGN_OR_RETURN(KeyPair node_ca_key, KeyPair::generate(KeyType::kEd25519));
  FOLIO_ASSIGN_OR_RETURN(Certificate node_ca, issue_certificate(CertRole::kNodeCa, name,
                                                                node_ca_key, authorities.doorman_ca,
                                                                authorities.doorman_key, validity));
  return issue_node_certificates(node_ca_key, {node_ca, authorities.doorman_ca}, authorities.root,
                                 validity, tls_key_type);
}

Result<TestNetwork> make_test_network(const std::string& dir, const std::vector<X500Name>& names,
                                      KeyType tls_key_type) {
  std::set<std::string> slugs;
  for (const X500Name& name : names) {
    FOLIO_TRY(name.validate());
    if (!slugs.insert(node_slug(name)).second)
      return make_error(ErrorCode::kInvalidArgument,
                        "two test nodes share the directory name " + node_slug(name));
  }
  FOLIO_ASSIGN_OR_RETURN(TestAuthorities authorities, make_test_authorities());
  std::filesystem::path base(dir);
  TestNetwork out{dir,
                  authorities.root,
                  authorities.root_key,
                  authorities.doorman_ca,
                  authorities.doorman_key,
                  (base / "root" / "root.pem").string(),
                  {}};
  FOLIO_TRY(write_text_file(out.root_pem_path, out.root.pem()));
  FOLIO_TRY(out.root_key.write_private_key_pem((base / "root" / "root-key.pem").string()));
  FOLIO_TRY(write_text_file((base / "doorman" / "doorman-ca.pem").string(), out.doorman_ca.pem()));
  FOLIO_TRY(
      out.doorman_key.write_private_key_pem((base / "doorman" / "doorman-ca-key.pem").string()));
  for (const X500Name& name : names) {
    FOLIO_ASSIGN_OR_RETURN(NodeCertificates certs, make_test_node(authorities, name, tls_key_type));
    std::string node_dir = (base / "nodes" / node_slug(name)).string();
    FOLIO_TRY(write_node_certificates(node_dir, certs));
    out.nodes.push_back(TestNetworkNode{node_dir, NodeCertificateFiles::in(node_dir), certs});
  }
  return out;
}

Result<TestNetwork> make_test_network(const std::string& dir, const std::vector<std::string>& names,
                                      KeyType tls_key_type) {
  std::vector<X500Name> parsed;
  for (const std::string& text : names) {
    FOLIO_ASSIGN_OR_RETURN(X500Name name, X500Name::parse(text));
    parsed.push_back(std::move(name));
  }
  return make_test_network(dir, parsed, tls_key_type);
}

Result<TestNetwork> make_test_network(const std::string& dir,
                                      std::initializer_list<std::string> names,
                                      KeyType tls_key_type) {
  return make_test_network(dir, std::vector<std::string>(names), tls_key_type);
}

}  // namespace folio::identity
