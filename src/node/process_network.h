// ProcessNetwork: a whole Folio network of real processes on 127.0.0.1, for `folio demo` and the
// real-process tests. It bootstraps a directory (`folio network bootstrap`'s files), then spawns
// the network map service (`folio networkmap run`), every notary replica (`folio replica run`,
// through notary::LocalNetwork) and every party node (`folio node run`), and waits until each
// replica has written its status file and each node's `GET /api/v1/health` says ready. It can
// kill -9 and restart a node, and it stops everything it started (SIGTERM, then SIGKILL after a
// grace period) when stopped or destroyed.
//
// Nothing is left behind: every child gets SIGTERM if this process dies (PR_SET_PDEATHSIG, set by
// notary::ChildProcess), and install_stop_signal_handlers() makes SIGINT/SIGTERM of this process
// forward SIGTERM to every child at once (a second signal sends SIGKILL and exits).
//
// The demo and the tests talk to the nodes only through their RPC (node::RpcClient) and through
// processes; nothing here links the node itself.
//
// REQUIRES: one thread owns a ProcessNetwork and calls all its methods, and that thread outlives
// the children (their death signal follows the forking thread). Not thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "node/rpc_client.h"
#include "notary/replica_launcher.h"

namespace folio::node {

constexpr size_t kProcessNetworkNodesMax = 16;

struct ProcessNetworkOptions {
  std::string dir;  // bootstrapped here; created if missing
  std::vector<std::string> nodes = {"O=Alice, L=London, C=GB", "O=Bob, L=Paris, C=FR",
                                    "O=Charlie, L=New York, C=US"};
  uint32_t shards = 2;
  uint32_t replicas = 4;  // per shard
  // Genesis cash of the bootstrapper (the demo's nodes issue their own cash; a few states keep
  // the replicas' genesis short).
  uint64_t genesis_states = 10;
  // The `folio` binary; empty: this process's own executable (/proc/self/exe).
  std::string folio_binary;
  std::vector<std::string> node_args;     // extra flags for `folio node run`
  std::vector<std::string> replica_args;  // extra flags for `folio replica run`
  // How long start() and restart_node() wait for readiness before failing with the process's
  // name and the tail of its log.
  std::chrono::milliseconds ready_timeout{120'000};
};

class ProcessNetwork {
 public:
  static Result<std::unique_ptr<ProcessNetwork>> start(const ProcessNetworkOptions& options);
  ~ProcessNetwork();
  ProcessNetwork(const ProcessNetwork&) = delete;
  ProcessNetwork& operator=(const ProcessNetwork&) = delete;

  const std::string& dir() const { return options_.dir; }
  size_t node_count() const { return nodes_.size(); }
  // The node's canonical X.500 name (as its RPC reports it).
  const std::string& node_name(size_t i) const { return nodes_.at(i).name; }
  const RpcEndpoint& rpc_endpoint(size_t i) const { return nodes_.at(i).rpc; }
  RpcClient rpc(size_t i) const { return RpcClient(nodes_.at(i).rpc); }
  const std::string& node_config(size_t i) const { return nodes_.at(i).config; }
  const std::string& node_password_file(size_t i) const { return nodes_.at(i).password_file; }
  std::string node_log(size_t i) const { return nodes_.at(i).log; }
  bool node_running(size_t i) const { return nodes_.at(i).process.running(); }
  int node_pid(size_t i) const { return nodes_.at(i).process.pid(); }
  const std::string& network_map_address() const { return network_map_address_; }
  notary::LocalNetwork& replicas() { return *replicas_; }
  // Every process still running: a line each, "what pid log".
  std::vector<std::string> describe_processes() const;

  // Sends `signo` (SIGKILL by default) to node i and reaps it.
  void kill_node(size_t i, int signo = 9);
  // Starts node i again (same configuration, same database) and waits until it is ready.
  Status restart_node(size_t i);
  Status wait_node_ready(size_t i, std::chrono::milliseconds timeout);

  // Stops every process: nodes first (they drain), then the network map and the replicas.
  void stop();

 private:
  struct NodeProcess {
    std::string name;
    std::string config;
    std::string password_file;
    std::string log;
    RpcEndpoint rpc;
    notary::ChildProcess process;
  };
  ProcessNetwork() = default;
  Status spawn_node(size_t i);
  Status start_network_map();
  Status wait_replicas_ready(std::chrono::milliseconds timeout);
  void forget_pids();
  void remember_pids();

  ProcessNetworkOptions options_;
  std::unique_ptr<notary::LocalNetwork> replicas_;
  notary::ChildProcess network_map_;
  std::string network_map_log_;
  std::string network_map_address_;
  std::vector<NodeProcess> nodes_;
};

// The last `bytes` of a log file (for error messages), or a note that it cannot be read.
std::string log_tail(const std::string& path, size_t bytes = 2'000);

// SIGINT and SIGTERM handlers for a process that owns ProcessNetworks: the first signal sends
// SIGTERM to every child any ProcessNetwork started and sets stop_requested(); a second one sends
// SIGKILL to them and exits with status 130.
void install_stop_signal_handlers();
bool stop_requested();

// This process's executable (/proc/self/exe resolved), or an error.
Result<std::string> self_executable();

}  // namespace folio::node
