// ReplicaProcess: one replica of a notary shard as an operating-system process (`folio replica
// run`): a sbac::ShardReplica (consensus::Replica + ObjectTable) driven over an AmqpTransport, its
// consensus state in a ReplicaStore.
//
// Threading: the transport's thread only enqueues what arrives into a bounded queue (the handler
// never touches the replica); one event-loop thread, the caller of `run`, owns the ShardReplica,
// the validator, the store and the routing tables. Each loop iteration drains the queue, steps the
// replica, ticks it every `tick_ms`, then executes the Ready in its stated order: persist (one
// durable SQLite transaction) before sending anything, then send, then apply. What a peer sends is
// untrusted: undecodable payloads, unknown senders and topics are counted and rejected; nothing a
// peer sends can stop the loop.
//
// Statements (prepared/accepted) go to the managers that submitted or queried their session; a
// manager that missed them asks again (StatusQuery). A session prepared here but not accepted for
// `takeover_ms` (staggered by index) is taken over (Byzcuit: any party may act as transaction
// manager): the loop runs a sbac::Coordinator for it, sending to the concerned shards' replicas on
// "sbac.manager" and taking their statements on "sbac.replica"; its own shard's answers it takes
// directly from the ShardReplica.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "consensus/validate.h"
#include "net/amqp_transport.h"
#include "notary/bootstrap.h"
#include "notary/replica_store.h"
#include "notary/replica_wire.h"
#include "sbac/binding.h"
#include "sbac/coordinator.h"
#include "sbac/shard_replica.h"
#include "storage/database.h"

namespace folio::notary {

struct ReplicaProcessOptions {
  int64_t tick_ms = 5;
  int64_t view_timeout_ms = 1000;
  uint32_t backoff_shift_max = 3;
  // Commands per block: 400 for the raw ordering benchmark; S-BAC commands need a larger bound
  // because the validator bounds a command's byte string by it (consensus/validate.cc).
  size_t batch_count_max = 1u << 14;
  size_t batch_bytes_max = 1u << 20;
  size_t inbox_max = 100'000;    // queued envelopes; beyond it arrivals are rejected
  size_t routes_max = 1u << 18;  // sessions whose managers are remembered
  size_t raw_waiters_max = 1u << 20;
  int64_t status_interval_ms = 200;
  // Takeover of a session whose manager went silent: after takeover_ms * (1 + index) without an
  // accept; 0: never. Coordinators run at once at most takeovers_max.
  int64_t takeover_ms = 2000;
  size_t takeovers_max = 4096;
  uint64_t takeover_resend_ticks = 60;
  // false: the store survives kill -9 but not a machine crash (ReplicaStore::open).
  bool fsync = true;
  // Protocol messages as the transport's ephemeral topics (replica_wire.h); false: reliable.
  bool ephemeral_messages = true;
};

struct ReplicaCounters {
  uint64_t consensus_rejected = 0;  // refused by the validator
  uint64_t malformed = 0;           // payloads that did not decode, unknown topics or senders
  uint64_t inbox_overflow = 0;
  uint64_t protocol_rejections = 0;  // Ready::rejections
  uint64_t undecodable_commands = 0;
  uint64_t takeovers = 0;            // sessions handed over by the ShardReplica
  uint64_t takeovers_committed = 0;  // of those, finished by this replica's coordinator
  uint64_t takeovers_aborted = 0;
  uint64_t committed_commands = 0;
  uint64_t send_failures = 0;  // sends the transport refused (e.g. a full ephemeral queue)
  // Where the event loop's time goes (microseconds, steady clock), for profiling under load:
  // waiting for input, handling envelopes (and ticks), flushing Readies (which executes the
  // committed blocks), and within flushing the durable writes (the fsync), `persists` of them.
  uint64_t loop_iterations = 0;
  uint64_t envelopes_handled = 0;
  uint64_t wait_us = 0;
  uint64_t handle_us = 0;
  uint64_t flush_us = 0;
  uint64_t persist_us = 0;
  uint64_t persists = 0;
};

class ReplicaProcess {
 public:
  static Result<std::unique_ptr<ReplicaProcess>> open(const ProcessConfig& config,
                                                      const ReplicaProcessOptions& options);
  ~ReplicaProcess();

  // Starts the transport (binds the listener). REQUIRES: called once, before run.
  Status start();
  uint16_t listen_port() const { return transport_->listen_port(); }
  // The event loop, until `stop` becomes true or persisting fails (returned as an error).
  Status run(const std::atomic<bool>& stop);

 private:
  struct PeerRole {
    std::optional<uint32_t> shard;
    uint32_t index = 0;
  };
  ReplicaProcess() = default;
  void enqueue(const net::Envelope& envelope, net::Disposition& disposition);
  void handle(const net::Envelope& envelope, int64_t now_ms);
  Status flush();
  void remember_manager(const sbac::SessionKey& key, const std::string& manager);
  void write_status(int64_t now_ms);
  void send(const std::string& to, std::string_view topic, Bytes payload);
  void drive_takeover(sbac::Coordinator& coordinator);
  void feed_takeover(const sbac::ReplicaMessage& message);

  ProcessConfig config_;
  ReplicaProcessOptions options_;
  sbac::ShardMap map_;
  std::vector<std::string> shard_names_;   // this shard's replicas by index
  std::map<std::string, PeerRole> roles_;  // every known peer, by canonical name
  sbac::NonValidatingCheck check_;
  std::unique_ptr<consensus::Validator> validator_;
  std::unique_ptr<sbac::ShardReplica> replica_;
  std::unique_ptr<ReplicaStore> store_;
  std::unique_ptr<storage::Database> transport_db_;
  net::StaticPeerDirectory directory_;
  std::unique_ptr<net::AmqpTransport> transport_;
  MessageIds ids_;
  consensus::Height restored_height_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<net::Envelope> inbox_;  // GUARDED_BY(mutex_)

  // Session -> the managers (indexes into manager_names_) that submitted or queried it. Hashed:
  // one lookup per submitted command and per statement.
  struct SessionKeyHash {
    size_t operator()(const sbac::SessionKey& k) const noexcept {
      return std::hash<ledger::TxId>()(k.tx_id) ^
             (static_cast<size_t>(k.session.value()) * 0x9e3779b97f4a7c15ull);
    }
  };
  std::unordered_map<sbac::SessionKey, std::vector<uint32_t>, SessionKeyHash> managers_;
  std::deque<sbac::SessionKey> manager_order_;
  std::vector<std::string> manager_names_;  // authenticated peers only: bounded by the config
  std::map<std::string, uint32_t> manager_index_;
  // Raw commands to report when committed: command id -> index into raw_clients_.
  std::unordered_map<consensus::CommandId, uint32_t> raw_waiters_;
  std::vector<std::string> raw_clients_;
  std::map<std::string, std::vector<sbac::ReplicaMessage>> out_statements_;
  std::map<uint32_t, std::vector<consensus::CommandId>> out_raw_;  // by raw_clients_ index
  std::vector<std::vector<std::string>> all_names_;  // every shard's replicas by index
  std::map<sbac::SessionKey, std::unique_ptr<sbac::Coordinator>> takeovers_;
  std::map<std::string, std::vector<sbac::ManagerMessage>> out_manager_;
  ReplicaCounters counters_;
  std::atomic<uint64_t> overflow_{0};
  int64_t start_ms_ = 0;
};

}  // namespace folio::notary
