// Local networks of real processes, for the whole-process tests and `folio bench network`:
// bootstrap a directory, spawn one `folio replica run` process per replica, read their status
// files, kill and restart them, and open a client endpoint (an AmqpTransport under a node's
// identity with a ShardedNotaryClient on it).
//
// ChildProcess wraps fork/exec/kill/waitpid for processes this one started; it never signals
// anything else. A child gets SIGTERM if this process dies first (PR_SET_PDEATHSIG), so a crashed
// test leaves no replicas behind. REQUIRES: spawn is called from a thread that outlives the child
// (the death signal follows the forking thread). LocalNetwork owns its children and kills the ones still running when destroyed
// (SIGTERM, then SIGKILL after a grace period). Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/amqp_transport.h"
#include "notary/bootstrap.h"
#include "notary/sharded_client.h"
#include "storage/database.h"

namespace folio::notary {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] a path) with stdout and stderr appended to `log_path`.
  static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                    const std::string& log_path);
  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  bool running() const { return pid_ > 0; }
  int pid() const { return pid_; }
  void signal(int signo) const;
  // Waits up to `timeout` for the process to exit; its wait status, or nullopt if still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, a grace period, then SIGKILL; reaps the process.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  int pid_ = -1;
};

struct ReplicaStatus {
  uint64_t view = 0;
  uint64_t highest_voted_view = 0;
  uint64_t committed_height = 0;
  uint64_t committed_commands = 0;
  uint64_t malformed = 0;
  uint64_t consensus_rejected = 0;
  uint64_t uptime_ms = 0;
  uint64_t restored_height = 0;  // the commit height its database held at start
  uint64_t takeovers_committed = 0;
};
Result<ReplicaStatus> read_replica_status(const std::string& path);

// A client endpoint: a node's transport and a sharded notary client over it.
class NetworkClient {
 public:
  // `raw_handler` (optional) receives envelopes of topic kTopicRawCommitted. With
  // `ephemeral_messages`, the replica topics go as the transport's ephemeral topics
  // (replica_wire.h); without, through its outbox, inbox and receipts.
  static Result<std::unique_ptr<NetworkClient>> open(
      const std::string& config_path, ShardedClientOptions options = {},
      std::function<void(const net::Envelope&)> raw_handler = nullptr,
      bool ephemeral_messages = true);
  ~NetworkClient();
  ShardedNotaryClient& notary() { return *client_; }
  net::AmqpTransport& transport() { return *transport_; }
  const ProcessConfig& config() const { return config_; }
  const NotaryEntry& entry() const { return client_->entry(); }
  const std::vector<std::vector<std::string>>& replica_names() const { return replica_names_; }

 private:
  NetworkClient() = default;
  ProcessConfig config_;
  std::vector<std::vector<std::string>> replica_names_;
  std::unique_ptr<storage::Database> db_;
  net::StaticPeerDirectory directory_;
  std::unique_ptr<net::AmqpTransport> transport_;
  std::unique_ptr<ShardedNotaryClient> client_;
  std::function<void(const net::Envelope&)> raw_handler_;
};

struct LocalNetworkOptions {
  BootstrapOptions bootstrap;
  std::string folio_binary;
  std::vector<std::string> replica_args;  // extra flags for `folio replica run`
};

class LocalNetwork {
 public:
  // Bootstraps options.bootstrap.dir and starts every replica.
  static Result<std::unique_ptr<LocalNetwork>> start(const LocalNetworkOptions& options);
  ~LocalNetwork();

  const BootstrapResult& files() const { return files_; }
  uint32_t shards() const { return static_cast<uint32_t>(files_.replica_configs.size()); }
  uint32_t replicas() const { return static_cast<uint32_t>(files_.replica_configs[0].size()); }

  Status start_replica(uint32_t shard, uint32_t index);
  void kill_replica(uint32_t shard, uint32_t index, int signo);
  ChildProcess& process(uint32_t shard, uint32_t index) { return children_[shard][index]; }
  Result<ReplicaStatus> status(uint32_t shard, uint32_t index) const;
  // Polls every replica's status until `predicate` holds for all running ones (true), `timeout`
  // passes, or a running replica exits by itself (false, at once).
  bool wait_all(const std::function<bool(const ReplicaStatus&)>& predicate,
                std::chrono::milliseconds timeout);
  std::string log_path(uint32_t shard, uint32_t index) const;

 private:
  LocalNetwork() = default;
  LocalNetworkOptions options_;
  BootstrapResult files_;
  std::vector<std::vector<ChildProcess>> children_;
  std::vector<std::vector<std::string>> status_files_;
};

// A signed 1-input-1-output cash payment of genesis state `index` of `genesis_tx` to `payee`,
// with the proved input (tests and the benchmark).
struct Payment {
  ledger::SignedTransaction stx;
  std::vector<ledger::ProvedState> proved;
};
Payment pay_genesis_state(const GenesisSpec& spec, const ledger::WireTransaction& genesis_tx,
                          const ledger::TxId& genesis_id, uint32_t index,
                          const crypto::PrivateKey& owner, const crypto::PublicKey& payee,
                          uint64_t nonce);

}  // namespace folio::notary
