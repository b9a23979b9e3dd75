// Coordinator: the transaction manager of one transaction over time (Byzcuit's manager with
// Chainspace's client role), a pure state machine around TransactionManager that adds what a real
// network needs: sending each concerned shard its commands, resending and querying on a timer in
// ticks, and retrying an aborted transaction under a higher session number.
//
// Any party runs one: the client by default, and a replica of a concerned shard that took the
// session over (ShardReady::takeovers) when the client went silent. Every step is idempotent at
// the shards (a repeated prepare or accept returns the recorded decision, a duplicate command is
// refused by the mempool), so several coordinators of one session are harmless: with at most f
// Byzantine replicas per shard every one of them reaches the same decision, because each shard's
// f+1 matching signatures include an honest replica's.
//
// An accept goes to a shard only once f+1 of its replicas reported preparing the session; until
// then that shard is sent the prepare again (a decision may come from other shards' votes while
// this shard missed the prepare, and an accept sequenced before its prepare is refused and then
// kept out of the log as a duplicate).
//
// Retry (clients only, `attempts_max` > 1): once every concerned shard has accepted an abort, the
// next session runs under s_T' = max(s_T + 1, v), v the highest sequence_max that f+1 replicas of
// some shard signed alike in their `prepared` statements (a Byzantine replica can sign only its own
// lie, and f of them can neither raise nor lower v).
//
// One VerifyCache serves every session of the coordinator: the statements a replica signed in one
// batch (one block) cost one verification. A driver running many coordinators on one thread can
// pass one cache to all of them (`shared_cache`), so that a block's signature is verified once
// for all the transactions it prepared or accepted, not once per transaction.
//
// Every send (the first, the decision's, each resend) carries a status query per shard: a
// restarted or replayed session may already be decided, and only a query brings its statements
// back. (Holding back the fast path's accept at the decision changed what sbac_sim_test's replay
// negative control observes, so the decision still sends it.)
//
// Output: take_ready() returns the messages to send, each to every replica of one shard. Not
// thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "sbac/shard_replica.h"
#include "sbac/transaction_manager.h"

namespace folio::sbac {

struct CoordinatorConfig {
  uint64_t resend_ticks = 20;
  uint32_t attempts_max = 1;  // sessions to try; 1: never retry (a takeover)
};

struct CoordinatorSend {
  ShardId shard;  // to every replica of this shard
  ManagerMessage message;
};

class Coordinator {
 public:
  enum class Outcome : uint8_t { kRunning, kCommitted, kAborted };

  // REQUIRES: command.check_canonical() and map.check_canonical() are OK. `shared_cache`, if
  // given, outlives the coordinator and is used by one thread at a time.
  Coordinator(PrepareCommand command, std::optional<PrepareBinding> binding, ShardMap map,
              CoordinatorConfig config, VerifyCache* shared_cache = nullptr);
  // The same under a map shared by many coordinators (a client's), not copied per transaction.
  // REQUIRES: map is not null and map->check_canonical() is OK.
  Coordinator(PrepareCommand command, std::optional<PrepareBinding> binding,
              std::shared_ptr<const ShardMap> map, CoordinatorConfig config,
              VerifyCache* shared_cache = nullptr);

  void tick();
  void on_replica(const ReplicaMessage& message);
  [[nodiscard]] std::vector<CoordinatorSend> take_ready();

  Outcome outcome() const { return outcome_; }
  const ledger::TxId& tx_id() const { return manager_->prepare_command().tx_id; }
  Sequence session() const { return manager_->prepare_command().session; }
  // The current session's prepare.
  const PrepareCommand& prepare_command() const { return manager_->prepare_command(); }
  uint32_t attempts() const { return attempts_; }
  const std::set<ShardId>& concerned() const { return manager_->concerned(); }
  const std::optional<NotarisationCertificate>& certificate() const {
    return manager_->certificate();
  }
  uint64_t refused() const { return refused_; }

 private:
  void start_session(PrepareCommand command);
  // What the session needs sent now: each concerned shard's prepare, or its accept once decided
  // and the shard is known to have sequenced the prepare; with `query`, a StatusQuery to each.
  void send_phase_commands(bool query);
  void send_queries();
  // The prepare in the form this session sends (ShardCommand's encoding), built without copying
  // the command or its binding.
  Bytes encode_prepare() const;
  Bytes encode_accept() const;
  bool abort_accepted_everywhere() const;
  // Whether f+1 replicas of `shard` reported preparing this session (so it is in their log).
  bool shard_prepared(ShardId shard) const;

  // The command lives in manager_ (one copy per session, moved in).
  std::optional<PrepareBinding> binding_;
  std::shared_ptr<const ShardMap> map_;  // read only, possibly shared with other coordinators
  CoordinatorConfig config_;
  // On the heap, so that the manager's pointer to it survives moving the coordinator.
  std::unique_ptr<VerifyCache> own_cache_;  // when no shared cache was given
  VerifyCache* verify_cache_;
  std::optional<TransactionManager> manager_;
  Outcome outcome_ = Outcome::kRunning;
  uint32_t attempts_ = 0;
  uint64_t waited_ = 0;
  bool accept_sent_ = false;
  // sequence_max reports of this session: shard -> replica -> value.
  std::map<ShardId, std::map<crypto::PublicKey, Sequence>> sequence_reports_;
  // Replicas that reported preparing this session, per shard (any verdict).
  std::map<ShardId, std::set<crypto::PublicKey>> prepared_signers_;
  // accepted(abort) signers counted by the manager, per shard.
  std::map<ShardId, std::set<crypto::PublicKey>> abort_accepted_;
  std::vector<CoordinatorSend> out_;
  uint64_t refused_ = 0;
};

}  // namespace folio::sbac
