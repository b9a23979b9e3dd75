// RpcServer: a node process's RPC interface (docs/rpc.md): HTTP/1.1 with JSON bodies over
// cpp-httplib (identity::HttpService), HTTP Basic authentication against the configured users'
// libsodium crypto_pwhash_str hashes, a permission per endpoint, and `wait_ms` long-polls on flow
// status.
//
// The server knows nothing of the Node: it calls an RpcBackend, which the node process implements
// by running each call on its event loop. Request bodies are bounded (kRpcBodyBytesMax) and
// parsed strictly (unknown or mistyped fields are 400). A verified password is remembered (as a
// SHA-256 in memory) so that only the first request of a user pays for the password hash.
//
// Threading: handlers run on httplib's worker threads; the backend must be thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/hash.h"
#include "notary/bootstrap.h"

namespace folio::node {

constexpr size_t kRpcBodyBytesMax = 64u << 10;
constexpr int64_t kRpcWaitMsMax = 30'000;

// Permissions (docs/rpc.md).
inline constexpr std::string_view kPermissionAll = "ALL";
inline constexpr std::string_view kPermissionNodeInfo = "InvokeRpc.nodeInfo";
inline constexpr std::string_view kPermissionFlowStatus = "InvokeRpc.flowStatus";
inline constexpr std::string_view kPermissionVaultQuery = "InvokeRpc.vaultQuery";
inline constexpr std::string_view kPermissionCashIssue = "StartFlow.CashIssue";
inline constexpr std::string_view kPermissionCashPayment = "StartFlow.CashPayment";
inline constexpr std::string_view kPermissionDoubleSpend = "StartFlow.DoubleSpend";

// An answer: HTTP status and JSON body text.
struct RpcReply {
  int status = 200;
  std::string body;
};
RpcReply rpc_error(int status, const std::string& message);

// A flow's status as the RPC reports it.
struct RpcFlowStatus {
  bool found = false;
  bool running = false;
  std::string json;  // the status object (docs/rpc.md)
};

class RpcBackend {
 public:
  virtual ~RpcBackend() = default;
  // Started, flows resumed, a network map known; not draining.
  virtual bool ready() = 0;
  virtual RpcReply node_info() = 0;
  virtual RpcReply cash_issue(uint64_t amount, const std::string& currency) = 0;
  virtual RpcReply cash_pay(const std::string& to, uint64_t amount,
                            const std::string& currency) = 0;
  virtual RpcReply double_spend(const std::string& to_a, const std::string& to_b, uint64_t amount,
                                const std::string& currency) = 0;
  virtual RpcFlowStatus flow_status(const crypto::Hash256& id) = 0;
  virtual RpcReply vault_cash() = 0;
};

class RpcServer {
 public:
  RpcServer(std::vector<notary::RpcUser> users, RpcBackend& backend);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Binds host:port (0: any free port) and serves; the bound port.
  Result<int> start(const std::string& host, int port);
  void stop();

  // Whether `authorization` (an HTTP Authorization header value) names a user with `permission`:
  // 200, 401 (no or wrong credentials) or 403 (no permission). Exposed for tests.
  int authorise(const std::string& authorization, std::string_view permission);

  struct Impl;

 private:
  std::vector<notary::RpcUser> users_;
  RpcBackend& backend_;
  std::mutex verify_mutex_;  // serialises password hash verifications
  std::mutex mutex_;
  std::map<std::string, crypto::Hash256> verified_;  // GUARDED_BY(mutex_): user -> sha256(password)
  std::unique_ptr<Impl> impl_;
};

// Strict base64 (RFC 4648, with padding) decoding of at most `bytes_max` output bytes.
std::optional<std::string> decode_base64(std::string_view text, size_t bytes_max);

}  // namespace folio::node
