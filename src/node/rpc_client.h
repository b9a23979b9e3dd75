// RpcClient: the client side of a node's RPC (docs/rpc.md), for `folio demo`, the real-process
// tests and scripts. One method per endpoint; HTTP/1.1 with Basic credentials, bounded connect,
// read and write times, and every response parsed strictly (a body that is not the documented JSON
// is kMalformed, never an assertion).
//
// Errors: a connection failure or a 5xx other than 503 is kIo; 503 (not ready, draining) is
// kTimeout ("try again later"); 400 kInvalidArgument; 401 and 403 kVerification; 404 kNotFound;
// 409 (insufficient funds) kConflict. The context names the endpoint, the HTTP status and the
// server's `error` text.
//
// Each call opens its own connection (no keep-alive): a kept-alive connection would hold one of the
// server's worker threads between calls, and long polls already hold some. So an RpcClient holds
// only its endpoint and is safe to use from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "base/result.h"

namespace folio::node {

struct RpcEndpoint {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string user;
  std::string password;

  std::string address() const { return host + ":" + std::to_string(port); }
};

struct RpcClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  // Read time for a request without a long poll; a long poll adds its wait_ms to it.
  std::chrono::milliseconds read_timeout{15'000};
  std::chrono::milliseconds write_timeout{5'000};
};

// Bounds on what a response may hold (strict decoding).
constexpr size_t kRpcResponseBytesMax = 1u << 20;
constexpr size_t kRpcTextBytesMax = 64u << 10;
constexpr size_t kRpcCurrenciesMax = 1024;
constexpr std::chrono::milliseconds kRpcWaitMax{30'000};  // the server's wait_ms bound

struct RpcNodeInfo {
  std::string name;          // X.500
  std::string identity_key;  // hex
  std::string notary;        // X.500
  uint64_t peers = 0;
};

enum class FlowState { kRunning, kCompleted, kHospitalised, kKilled };
std::string_view to_string(FlowState state);

struct FlowStatus {
  std::string flow_id;
  std::string name;
  FlowState state = FlowState::kRunning;
  std::optional<std::string> tx_id;
  std::optional<std::string> error;
  std::optional<std::string> error_kind;  // "conflict" or "other"
  std::optional<std::string> conflicting_tx;
  std::optional<std::string> committed_tx;  // double-spend
  std::optional<std::string> refused_tx;    // double-spend

  bool finished() const { return state != FlowState::kRunning; }
  bool conflict() const { return error_kind.has_value() && *error_kind == "conflict"; }
};

struct CashBalances {
  std::map<std::string, uint64_t> balances;  // currency -> amount
  uint64_t unconsumed_states = 0;

  uint64_t of(const std::string& currency) const {
    auto it = balances.find(currency);
    return it == balances.end() ? 0 : it->second;
  }
};

class RpcClient {
 public:
  explicit RpcClient(RpcEndpoint endpoint, RpcClientOptions options = {});

  const RpcEndpoint& endpoint() const { return endpoint_; }

  // GET /api/v1/health: true when ready, false when the node answers 503 (not ready yet); an
  // error when nothing answers.
  Result<bool> health() const;
  Result<RpcNodeInfo> node_info() const;
  // The three flows answer the new flow's id (hex).
  Result<std::string> cash_issue(uint64_t amount, const std::string& currency) const;
  Result<std::string> cash_pay(const std::string& to, uint64_t amount,
                               const std::string& currency) const;
  Result<std::string> double_spend(const std::string& to_a, const std::string& to_b,
                                   uint64_t amount, const std::string& currency) const;
  // GET /api/v1/flows/<id>?wait_ms=N. REQUIRES: wait <= kRpcWaitMax.
  Result<FlowStatus> flow_status(
      const std::string& flow_id,
      std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;
  // Long-polls until the flow is no longer running or `timeout` passes (kTimeout). Transient
  // failures (connection refused, 503) are retried until the deadline: the node may be
  // restarting. `cancelled`, if given, is asked between polls and ends the wait with kTimeout.
  Result<FlowStatus> wait_flow(const std::string& flow_id, std::chrono::milliseconds timeout,
                               const std::function<bool()>& cancelled = nullptr) const;
  Result<CashBalances> vault_cash() const;

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  Result<Response> get(const std::string& path, std::chrono::milliseconds extra_read) const;
  Result<Response> post(const std::string& path, const std::string& body) const;
  Result<std::string> start_flow(const std::string& path, const std::string& body) const;

  RpcEndpoint endpoint_;
  RpcClientOptions options_;
};

// Reads an RPC password file (docs/rpc.md: `<slug>.rpc-password` beside the node's
// configuration): its first line, without the line break.
Result<std::string> read_rpc_password(const std::string& path);

}  // namespace folio::node
