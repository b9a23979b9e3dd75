// NodeProcess: one Folio node as an operating-system process (`folio node run --config F`;
// docs/network.md, "Node processes"; the RPC contract is docs/rpc.md).
//
// From its ProcessConfig (written by `folio network bootstrap`) it loads the node's certificates
// and the signed network parameters (checked against the network root), and builds:
//   - an AmqpTransport (mutual TLS 1.3 to the network root) whose PeerDirectory is a
//     NetworkMapDirectory: the node publishes its signed NodeInfo, follows the signed map, caches it
//     on disk and keeps working from the cache while the service is down; a peer not in the map
//     (nor a replica of the notary) is refused;
//   - the Node (its SQLite database in the node directory; identity key = the identity
//     certificate's key), with the network's notary and the map's parties, and the CashDoubleSpend
//     flow; a single notary's own process hosts the notary (NodeConfig::notary);
//   - for a bft or sharded notary, a ShardedNotaryClient on the same transport (topic
//     "sbac.replica" goes to it directly), the starter of the flows' external operation
//     kShardedNotarisation (flow/external.h, node/flows/sharded_notary.h);
//   - the RpcServer.
//
// Threading: ONE event-loop thread (the caller of `run`) owns the Node. Everything else posts
// tasks to it: the transport's handler (which waits for the task's Disposition, so a message is
// accepted only once the flow engine has durably processed it), outcome notifications and RPC
// calls (which wait for their answer); the S-BAC client's completions are stored in the
// ExternalOperations and only wake the loop, which then wakes the flows awaiting them
// (FlowEngine::wake: their poll sleep ends at once, flow/external.h).
// Each loop iteration runs the queued tasks, wakes flows whose external outcome arrived, ticks
// the node (sleeping flows), flushes a hosted notary's batch and registers parties that appeared
// in the map.
//
// Stopping: `run` returns when `stop` becomes true: the node drains (no new flows or sessions)
// for at most drain_timeout, then the transport is stopped while the loop still serves the
// handler, and everything is closed. A kill -9 at any moment loses nothing: flows resume from
// their journals and the transport's outbox is durable.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "flow/external.h"
#include "node/flows/sharded_notary.h"
#include "node/network_map_directory.h"
#include "node/node.h"
#include "node/rpc_server.h"
#include "notary/bootstrap.h"
#include "notary/sharded_client.h"
#include "storage/database.h"

namespace folio::node {

struct NodeProcessOptions {
  int64_t tick_ms = 5;
  std::chrono::milliseconds map_refresh{2000};
  std::chrono::milliseconds drain_timeout{10'000};
  bool serve_rpc = true;
};

class NodeProcess final : public RpcBackend {
 public:
  static Result<std::unique_ptr<NodeProcess>> open(const notary::ProcessConfig& config,
                                                   const NodeProcessOptions& options);
  ~NodeProcess() override;

  // Starts the network map directory, the transport (binds the listener) and the RPC server.
  // REQUIRES: called once, before run.
  Status start();
  uint16_t listen_port() const;
  int rpc_port() const { return rpc_port_; }
  // Starts the Node (migrations, flow resumption) and runs the loop until `stop` is true. An
  // error means the Node did not start: messages that arrived wait on a loop that will never run,
  // so the caller must end the process without destroying this object (std::_Exit).
  Status run(const std::atomic<bool>& stop);

  // RpcBackend (any thread).
  bool ready() override;
  RpcReply node_info() override;
  RpcReply cash_issue(uint64_t amount, const std::string& currency) override;
  RpcReply cash_pay(const std::string& to, uint64_t amount, const std::string& currency) override;
  RpcReply double_spend(const std::string& to_a, const std::string& to_b, uint64_t amount,
                        const std::string& currency) override;
  RpcFlowStatus flow_status(const crypto::Hash256& id) override;
  RpcReply vault_cash() override;

  class LoopTransport;

 private:
  NodeProcess() = default;
  // Runs `task` on the loop; false if the loop has ended.
  bool post(std::function<void()> task);
  // Runs `task` on the loop and waits for it (REQUIRES: not on the loop thread).
  template <class R>
  std::optional<R> call(std::function<R()> task);
  void run_tasks();
  // Loop thread: wakes the flows whose awaited external outcome has arrived.
  void wake_flows();
  void register_parties();
  // Writes the transport's latest refusal to stderr when its refusal counters moved.
  void log_refusals();
  RpcReply start_flow_reply(Result<flow::FlowHandle> handle);
  net::Disposition on_transport_message(const net::Envelope& envelope);

  notary::ProcessConfig config_;
  NodeProcessOptions options_;
  identity::NetworkParameters parameters_;
  notary::NotaryEntry notary_entry_;
  NodeConfig node_config_;
  flow::SystemClock clock_;
  notary::SystemClock notary_clock_;
  crypto::PublicKey identity_key_;

  std::unique_ptr<NetworkMapDirectory> directory_;
  std::unique_ptr<storage::Database> transport_db_;
  std::unique_ptr<net::AmqpTransport> amqp_;
  std::unique_ptr<LoopTransport> loop_transport_;
  std::unique_ptr<notary::ShardedNotaryClient> sharded_client_;
  flow::ExternalOperations operations_;  // the flows' external operations (S-BAC runs)
  flow::Services engine_services_;
  std::unique_ptr<Node> node_;  // owned by the loop thread
  std::unique_ptr<RpcServer> rpc_;
  int rpc_port_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mutex_)
  bool loop_ended_ = false;                  // GUARDED_BY(mutex_)
  bool outcomes_arrived_ = false;            // GUARDED_BY(mutex_): an external outcome was stored
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  uint64_t parties_version_ = 0;  // loop thread
  uint64_t refusals_logged_ = 0;  // loop thread
};

}  // namespace folio::node
