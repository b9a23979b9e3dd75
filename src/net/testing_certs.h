// Test-only PKI for the AMQP transport's tests: a root CA, a node CA per node and a TLS
// certificate per node (P-256, SHA-256), written as PEM files the way a node expects them: the TLS
// certificate followed by its node CA certificate, the key alone, the root alone. The chain has an
// intermediate so that tests exercise chain building, not just a directly trusted certificate.
//
// Not for production: keys are fresh and random per call, validity is one day, and the network's
// real hierarchy (root -> doorman -> node CA -> TLS) is built by src/identity. Kept here so the
// transport's tests do not depend on the identity module's build. Value type; thread-compatible.
#pragma once

#include <string>

#include "base/result.h"

namespace folio::net::testing {

struct NodeTlsFiles {
  std::string certificate_path;  // TLS certificate, then the node CA certificate
  std::string private_key_path;
};

class TestCertificateAuthority {
 public:
  // A self-signed root named `root_name` ("O=Root, L=London, C=GB"), written to
  // `directory`/`file_stem`-root.pem. `directory` must exist.
  static Result<TestCertificateAuthority> create(const std::string& directory,
                                                 const std::string& file_stem,
                                                 const std::string& root_name);

  // A node CA and a TLS certificate whose subject is `x500_name`, written under the directory as
  // `file_stem`.crt and `file_stem`.key. Like the doorman's, the node CA carries nameConstraints
  // that permit only `x500_name`.
  Result<NodeTlsFiles> issue_node(const std::string& x500_name, const std::string& file_stem) const;

  const std::string& root_path() const { return root_path_; }

 private:
  std::string directory_;
  std::string root_path_;
  std::string root_key_pem_;  // the root's private key, PEM, kept in memory
};

}  // namespace folio::net::testing
