// The doorman (Corda's permissioning service): it turns a node's certificate signing request for an
// X.500 name into a node CA certificate signed by the doorman CA.
//
// DoormanStore keeps everything in one directory, so a restart (or a `folio doorman approve` run
// by another process) sees the same requests:
//   root.pem, root-key.pem (0600)          the network's root CA (root-key.pem may be kept offline)
//   doorman-ca.pem, doorman-ca-key.pem (0600)
//   requests/<id>/csr.pem                  the request as submitted
//   requests/<id>/state                    "pending", "approved" or "rejected <reason>"
//   requests/<id>/chain.pem                node CA certificate then doorman CA certificate
//   names/<sha256 of the canonical name>   public key PEM of the holder of a name, created once
// A request id is the first 16 bytes (hex) of SHA-256 of the CSR's DER, so resubmitting a request
// is idempotent. A name is issued to one key only: a request for a name already issued to another
// key is refused at submission and again at approval.
//
// DoormanServer serves a store over HTTP (cpp-httplib); see docs/identity.md for the endpoints.
// DoormanClient is the node's side. Thread-safety: DoormanStore serialises its own operations
// with a mutex; the server's handlers share one store. Both clients are for one thread at a time.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "identity/certificates.h"

namespace folio::identity {

enum class RequestState { kPending, kApproved, kRejected };
std::string_view to_string(RequestState state);

struct RequestStatus {
  RequestState state = RequestState::kPending;
  std::string chain_pem;  // when approved: node CA, doorman CA
  std::string reason;     // when rejected
};

// Lifetime of the certificates the doorman creates.
constexpr int64_t kRootValidityDays = 3650;
constexpr int64_t kDoormanValidityDays = 3650;
constexpr int64_t kNodeCaValidityDays = 365;

class DoormanStore {
 public:
  // Opens `dir`, creating the root CA and doorman CA on first use. When `root_dir` is given the
  // root is taken from root_dir/root.pem and root_dir/root-key.pem instead of being created.
  static Result<std::unique_ptr<DoormanStore>> open(
      const std::string& dir, const std::optional<std::string>& root_dir = {});

  const Certificate& root() const { return root_; }
  const Certificate& doorman_ca() const { return doorman_ca_; }
  const std::string& dir() const { return dir_; }

  // Validates the CSR (PEM, signature, X.500 name, Ed25519 key) and records it as pending (or
  // returns the id of the same request submitted before). Fails with kConflict if the name is
  // already issued to another key.
  Result<std::string> submit(std::string_view csr_pem);
  Result<RequestStatus> status(const std::string& id) const;
  // Issues the node CA certificate. Idempotent for an approved request.
  Status approve(const std::string& id);
  Status reject(const std::string& id, const std::string& reason);
  // Ids of pending requests, sorted.
  std::vector<std::string> pending() const;

 private:
  DoormanStore() = default;
  Result<RequestStatus> status_locked(const std::string& id) const;
  Status check_name_free(const X500Name& name, const KeyPair& key) const;

  std::string dir_;
  Certificate root_;
  Certificate doorman_ca_;
  KeyPair doorman_key_;
  mutable std::mutex mutex_;
};

// Whether `id` has the form of a request id (32 lower-case hex digits).
bool is_request_id(std::string_view id);

struct DoormanOptions {
  bool dev_mode = false;        // approve every valid request at once
  bool admin_endpoints = true;  // POST /admin/approve|reject from the loopback address
};

class DoormanServer {
 public:
  DoormanServer(DoormanStore& store, DoormanOptions options);
  ~DoormanServer();
  DoormanServer(const DoormanServer&) = delete;
  DoormanServer& operator=(const DoormanServer&) = delete;

  // Listens on host:port (port 0: a free port). Returns the port.
  Result<int> start(const std::string& host, int port);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DoormanClient {
 public:
  DoormanClient(std::string host, int port);

  Result<std::string> submit(const std::string& csr_pem);
  Result<RequestStatus> status(const std::string& id);
  // Polls status() up to `attempts` times, `interval_ms` apart, until the request is decided.
  // Returns the chain of an approved request; an error for rejected or still pending.
  Result<std::vector<Certificate>> wait_for_approval(const std::string& id, int attempts,
                                                     int interval_ms);

 private:
  std::string host_;
  int port_;
};

// The node's whole registration: creates a node CA key, submits a CSR for `name`, waits for the
// node CA certificate, checks it against `root` and the key, issues the identity and TLS
// certificates and writes everything to `certificates_dir` (NodeCertificateFiles layout).
Result<NodeCertificates> obtain_node_certificates(DoormanClient& client, const X500Name& name,
                                                  const Certificate& root,
                                                  const std::string& certificates_dir, int attempts,
                                                  int interval_ms);

}  // namespace folio::identity
