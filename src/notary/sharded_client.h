// ShardedNotaryClient: the client side of a bft or sharded notary over a net::Transport. It runs
// the S-BAC transaction manager (sbac::Coordinator, which wraps TransactionManager with resends,
// status queries and retries) for every transaction it is asked to notarise, against the shards
// and replica names of the notary's entry in the network parameters, and answers with the
// notarisation certificate (notary.h's sharded form), which the caller can check with
// verify_notarisation.
//
// Wire: it sends ManagerBatch on "sbac.manager" to replicas and takes ReplicaBatch on
// "sbac.replica" (replica_wire.h). The transport's handler belongs to the owner, who passes the
// envelopes of that topic to `on_envelope`.
//
// Threading: `threads` internal workers, each owning the Coordinators of the transactions whose id
// maps to it (the statements a manager verifies are its main cost, so several workers use several
// cores). `notarise_async`, `notarise` and `on_envelope` are thread-safe and only enqueue (the
// latter decodes the batch and routes each statement to its transaction's worker). Callbacks run
// on a worker thread and must not block. The transport must outlive the client.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ledger/transaction.h"
#include "net/transport.h"
#include "notary/notary.h"
#include "notary/replica_wire.h"
#include "sbac/coordinator.h"
#include "sbac/verify_cache.h"

namespace folio::notary {

// A ManagerBatch written message by message: each message is encoded once, as it is added, and
// finish() gives exactly codec::encode_to_bytes(ManagerBatch{the messages}) without building the
// vector of messages (whose submits each hold a copy of a ~2 KB command). The client sends every
// replica of a shard the same batch, so it writes one per shard. Not thread-safe.
class ManagerBatchWriter {
 public:
  void add(const sbac::ManagerMessage& message);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  // The batch's encoding; the writer is empty again afterwards.
  Bytes finish();

 private:
  codec::Writer body_;  // the messages' encodings, one after the other
  size_t count_ = 0;
};

struct ShardedClientOptions {
  int64_t tick_ms = 10;
  uint64_t resend_ticks = 100;  // a coordinator resends and queries after this many ticks
  uint32_t attempts_max = 3;
  uint32_t dummy_slots = kDummySlots;  // the replicas' ShardReplicaConfig::dummy_slots
  size_t pending_max = 1u << 17;  // queued statements per worker
  uint32_t threads = 1;
};

struct ShardedClientStats {
  uint64_t committed = 0;
  uint64_t aborted = 0;
  uint64_t malformed = 0;  // replies that did not decode or came from a non-replica
  uint64_t messages_sent = 0;
};

class ShardedNotaryClient {
 public:
  using Callback = std::function<void(const ledger::TxId&, Result<NotarisationCertificate>)>;

  // REQUIRES: entry.kind is bft or sharded with a shard map; replica_names[s][i] names the replica
  // holding entry.shard_map->shards[s].replicas[i].
  ShardedNotaryClient(net::Transport& transport, NotaryEntry entry,
                      std::vector<std::vector<std::string>> replica_names,
                      ShardedClientOptions options = {});
  ~ShardedNotaryClient();
  ShardedNotaryClient(const ShardedNotaryClient&) = delete;
  ShardedNotaryClient& operator=(const ShardedNotaryClient&) = delete;

  // Starts notarising `stx`, whose inputs and references are given as proved states (ascending
  // ref, inputs then references, as sbac::bind_non_validating wants). `done` is called once.
  void notarise_async(ledger::SignedTransaction stx, std::vector<ledger::ProvedState> proved,
                      Callback done);

  // The same in two steps: `prepare` builds the S-BAC request (transaction id, prepare command,
  // non-validating binding: the hashing a client does once per transaction) and may run on any
  // thread ahead of time; `submit` starts it.
  struct Request {
    sbac::PrepareCommand command;
    sbac::PrepareBinding binding;
  };
  Request prepare(const ledger::SignedTransaction& stx,
                  const std::vector<ledger::ProvedState>& proved) const;
  void submit(Request request, Callback done);
  // Blocks until the outcome or `timeout` (kTimeout). An abort is kConflict.
  Result<NotarisationCertificate> notarise(ledger::SignedTransaction stx,
                                           std::vector<ledger::ProvedState> proved,
                                           std::chrono::milliseconds timeout);

  // For the owner's transport handler: envelopes of topic kTopicReplica.
  net::Disposition on_envelope(const net::Envelope& envelope);

  ShardedClientStats stats() const;
  const NotaryEntry& entry() const { return entry_; }

 private:
  struct Job {
    sbac::PrepareCommand command;
    sbac::PrepareBinding binding;
    Callback done;
  };
  struct Running {
    sbac::Coordinator coordinator;  // in a node of `running`, so it never moves
    Callback done;
    uint64_t ticked_to = 0;  // the worker's tick count the coordinator has been ticked up to
  };
  // Coordinators are ticked in turns: each tick visits one of `tick_turns_` groups and gives each
  // of its coordinators every tick it missed since its last visit. A resend may come up to
  // tick_turns_ - 1 ticks late (at most an eighth of resend_ticks), and a tick costs an eighth
  // of the coordinators in flight, not all of them.
  static constexpr uint32_t kTickTurnsMax = 8;
  using RunningMap = std::unordered_map<ledger::TxId, Running>;
  // One thread and the coordinators it owns.
  struct Worker {
    std::mutex mutex;
    std::condition_variable wake;
    // Swapped with the thread's own (cleared) vectors each iteration, so capacity is reused.
    std::vector<Job> jobs;                      // GUARDED_BY(mutex)
    std::vector<sbac::ReplicaMessage> replies;  // GUARDED_BY(mutex)
    ShardedClientStats stats;                  // GUARDED_BY(mutex)
    bool stopping = false;                     // GUARDED_BY(mutex)
    // Owned by the worker's thread.
    // Shared by the worker's coordinators (declared first: it outlives them), so that a replica's
    // block signature is verified once per worker, not once per transaction of the block.
    sbac::VerifyCache verify_cache{1u << 14};
    // By transaction id (a hash: its first bytes are already uniform). The order in which the
    // coordinators tick or finish reaches no other party's state.
    // Split by tick turn (running_of).
    std::array<RunningMap, kTickTurnsMax> running;
    uint64_t ticks = 0;
    // What each shard's replicas are sent this iteration, indexed by shard: every replica of a
    // shard gets the same batch.
    std::vector<ManagerBatchWriter> out;
    MessageIds ids;
    std::thread thread;
  };
  size_t worker_index(const ledger::TxId& id) const;
  Worker& worker_of(const ledger::TxId& id);
  RunningMap& running_of(Worker& w, const ledger::TxId& id) const;
  void loop(Worker& w);
  void drive(Worker& w, Running& running);

  net::Transport& transport_;
  NotaryEntry entry_;
  // entry_'s shard map, shared read-only by every coordinator (not copied per transaction).
  std::shared_ptr<const sbac::ShardMap> map_;
  std::vector<std::vector<std::string>> replica_names_;
  std::map<std::string, uint32_t> replica_shard_;  // canonical name -> shard
  ShardedClientOptions options_;
  uint32_t tick_turns_ = 1;  // 1..kTickTurnsMax
  std::atomic<uint64_t> malformed_{0};
  mutable std::atomic<uint32_t> next_slot_{0};  // dummy slots handed out round robin from a random start
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace folio::notary
