// MockNetwork: N nodes and notaries in one process over the in-memory transport, for tests and
// benchmarks (docs/node.md). Each node keeps its databases in a directory of its own under the
// network's directory (SQLite), or in a PostgreSQL database of a given server; restart(name)
// destroys the node's memory (engine, frames, in-memory notary queue, and what its endpoint still
// had queued) and starts it again from its database.
//
// Each node's endpoint delivers in batches (net::MemoryTransport's batch handler): every message
// due to a node at once is stored, with the flow steps it allows, in one group commit of its
// engine (docs/flows.md), and acknowledgements leave the senders' outboxes a batch at a time.
//
// run() pumps until nothing moves: it delivers messages, lets notary nodes notarise what they
// queued as one batch each, advances the shared flow clock by a millisecond and wakes sleeping
// flows, again and again (MockNetworkOptions::interleave_rounds: one delivery pass per round). The network can inject latency and loss and records every delivery.
//
// start_free_running() instead (throughput benchmarks only): every node is served by a thread of
// its own (net::MemoryNetwork's free-running mode) that hands it whatever has arrived as one batch,
// then lets a notary notarise what it queued, ticks the node and
// calls its after_batch hook. Each node's flow clock then advances a millisecond per drain on its
// own (the notary's responders sleep a millisecond for the batch), the shared clock() not at all.
// No rounds, latency or reproducibility: tests use run().
//
// Owns its nodes and the MemoryNetwork. Not thread-safe (while free-running, each node is used
// only by its own thread until stop_free_running() returns).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flow/clock.h"
#include "net/memory_transport.h"
#include "node/node.h"
#include "notary/clock.h"

namespace folio::node {

struct MockNetworkOptions {
  net::MemoryNetworkOptions network;
  // A database per node on this PostgreSQL server (a function returning a fresh conninfo), or
  // SQLite files when unset.
  std::function<Result<std::string>()> new_postgres_database;
  flow::FlowEngineOptions engine;  // every node's engine options (fault hooks: see `faults`)
  std::filesystem::path directory;  // empty: a fresh temporary directory, removed at the end
  // Where that temporary directory is made (empty: the system's). Tests pass /dev/shm when it
  // exists: their databases then never wait for a disk's fsync.
  std::filesystem::path temporary_parent;
  size_t notary_batch_max = 4096;
  std::function<Status(flow::FlowRegistry&, flows::FlowServices*)> register_flows;
  // run() delivers each round's batches to up to this many nodes in parallel, one thread per node
  // (net::MemoryNetwork::deliver_round); 1: one batch at a time on the caller's thread. Above 1,
  // per-node hooks (engine log, progress and completion observers, vault tracking callbacks)
  // run on those threads and must be thread-safe.
  size_t delivery_threads = 1;
  // Every node's NodeConfig::sqlite_synchronous_full.
  bool sqlite_synchronous_full = false;
  // run() interleaves instead of delivering until nothing moves: each clock round makes ONE
  // delivery pass (a deliver_round on the delivery threads, or with one thread up to one
  // deliver_one per node), then flushes the notaries and ticks. Work at different stages (a
  // notary batch, the payer's answers, the payee's recording) then moves in the same pass instead
  // of one stage draining before the next starts: what a closed-loop benchmark needs to keep
  // several nodes busy at once. A notary then also notarises each batch's requests right after
  // storing them, on the thread that delivered the batch. Off: the notaries see everything a round can deliver first, so
  // their batches are as large as possible.
  bool interleave_rounds = false;
};

class MockNetwork {
 public:
  explicit MockNetwork(MockNetworkOptions options = {});
  ~MockNetwork();
  MockNetwork(const MockNetwork&) = delete;
  MockNetwork& operator=(const MockNetwork&) = delete;

  // Declare every node and notary first (they share one network map), then start_all(). Names are
  // X.500, e.g. "O=Alice,L=London,C=GB".
  void add_node(const std::string& name);
  void add_notary(const std::string& name, bool validating = false);
  Status start_all();

  Node& node(const std::string& name) { return *nodes_.at(name).node; }
  bool alive(const std::string& name) const { return nodes_.at(name).node != nullptr; }
  const ledger::Party& party(const std::string& name) const { return nodes_.at(name).party; }
  // The node's identity key (derived from its name: test networks only).
  crypto::PrivateKey identity_key(const std::string& name) const {
    return crypto::PrivateKey::ed25519(*nodes_.at(name).config.identity_seed);
  }
  // Changes a declared node's engine options (before it starts).
  NodeConfig& config(const std::string& name) { return nodes_.at(name).config; }

  // The node's trade policy, kept across restarts.
  void set_trade_policy(const std::string& name,
                        std::function<bool(const std::string&, uint64_t, const std::string&)> p);

  // Crash: drop the node's memory and what its endpoint had queued. Start: from its database.
  void crash(const std::string& name);
  Status start(const std::string& name);
  Status restart(const std::string& name);

  // Per-node fault hooks, installed at (re)start: see flow::FlowEngineOptions::fault.
  std::map<std::string, std::function<bool(flow::FaultPoint)>> faults;
  // Called after each delivery while run() pumps (crash tests restart nodes from here).
  std::function<void()> after_delivery;
  // Per node: called right after the node has processed a delivered batch, on the thread that
  // delivered it (with delivery_threads > 1 the nodes' hooks run in parallel: they must share
  // nothing unsynchronised). The node may be used from there (start flows, hold and release its
  // engine), the network not. Not to be changed while run() pumps.
  std::map<std::string, std::function<void()>> after_batch;

  // Free-running threads, one per live node (see above). While they run, neither run() nor the
  // nodes may be used from other threads; after_batch must not change.
  void start_free_running();
  void stop_free_running();

  // Pumps until nothing moves (or `rounds_max` clock rounds); the number of deliveries.
  size_t run(size_t rounds_max = 100'000);

  template <class R>
  Result<R> run_flow(const std::string& node_name, const flow::FlowHandle& handle) {
    run();
    if (!alive(node_name)) return make_error(ErrorCode::kInternal, node_name + " is down");
    auto r = node(node_name).template result<R>(handle.id);
    if (!r) return make_error(ErrorCode::kTimeout, "the flow has not finished");
    return std::move(*r);
  }

  net::MemoryNetwork& network() { return network_; }
  flow::ManualClock& clock() { return clock_; }
  notary::ManualClock& notary_clock() { return notary_clock_; }
  std::vector<std::string> names() const;

 private:
  // A node's view of the shared flow clock: the shared time plus what this node alone advanced
  // while free-running (then read and written only on the node's thread, and the shared clock
  // not written; zero in the pumped modes, so all nodes read the same time there).
  class NodeClock final : public flow::Clock {
   public:
    explicit NodeClock(const flow::ManualClock& shared) : shared_(shared) {}
    int64_t now_ms() const override { return shared_.now_ms() + own_ms_; }
    void advance_own(int64_t ms) { own_ms_ += ms; }

   private:
    const flow::ManualClock& shared_;
    int64_t own_ms_ = 0;
  };

  struct Member {
    NodeConfig config;
    ledger::Party party;
    std::unique_ptr<NodeClock> clock;  // outlives the node
    std::unique_ptr<Node> node;
  };

  MockNetworkOptions options_;
  net::MemoryNetwork network_;
  flow::ManualClock clock_{1'700'000'000'000};
  notary::ManualClock notary_clock_{ledger::Timestamp(1'700'000'000'000'000)};
  std::filesystem::path directory_;
  bool owns_directory_ = false;
  std::map<std::string, Member> nodes_;
};

}  // namespace folio::node
