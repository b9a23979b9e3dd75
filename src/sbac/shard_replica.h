// ShardReplica: one replica of an S-BAC shard as a pure state machine (STYLE.md "Protocols are
// state machines"): a consensus::Replica ordering the shard's commands, and the ObjectTable those
// commands drive once committed.
//
// For every committed block, in log order, each command is decoded (undecodable bytes from a
// Byzantine peer or client are counted and ignored) and executed at the block's timestamp, the
// shard's agreed time (ARCHITECTURE.md §3). The replica signs the statement of each decision:
// `prepared(T, s_T, verdict, shard, epoch, sequence_max)` (the session's sequence_max signed
// inside, so a manager's f+1 matching reports are f+1 signed ones), and `accepted(T, verdict,
// shard, epoch, s_T)` (the session signed inside, so it cannot be relabelled). It signs all the statements of one block with one signature: the Merkle root of
// their leaves (statements.h, BatchTree), each statement carrying its branch. Statements go out in
// ShardReady for the session's manager; a manager that lost them asks again with a StatusQuery,
// which any replica answers from its store (the stored batch signature stays valid).
//
// Takeover (Byzcuit's "any party may act as transaction manager"): a session this replica saw
// prepared but not accepted for `takeover_ticks` ticks is handed to the driver in
// ShardReady::takeovers, with the command (and binding) from the log, so it can run a Coordinator
// for it. The timer is re-armed, doubling, until the accept is sequenced here.
//
// Persistence: the object table and the statement store are the applied state of the committed
// log; a driver that restarts a replica must restore them with the commit pointer (the simulator
// does not crash S-BAC replicas; src/sim/consensus_sim covers consensus recovery).
//
// Not thread-safe; owns everything except the PrepareCheck (which must outlive it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include "consensus/replica.h"
#include "sbac/object_table.h"

namespace folio::sbac {

// ---- Messages between managers and replicas (outside consensus) ---------------------------------

// A replica's signed prepared statement (its sequence_max is the session's highest object
// sequence number here, signed).
struct SignedPrepared {
  Prepared statement;
  ReplicaSignature signature;
  FOLIO_FIELDS(statement, signature)
  friend bool operator==(const SignedPrepared&, const SignedPrepared&) = default;
};

struct SignedAccepted {
  Accepted statement;
  ReplicaSignature signature;
  // A copy of (statement.tx_id, statement.session) for routing. Unsigned: a manager matches on the
  // statement's signed session, never on this.
  SessionKey session;
  FOLIO_FIELDS(statement, signature, session)
  friend bool operator==(const SignedAccepted&, const SignedAccepted&) = default;
};

// "Send me what you signed for this session."
struct StatusQuery {
  SessionKey session;
  FOLIO_FIELDS(session)
  friend bool operator==(const StatusQuery&, const StatusQuery&) = default;
};

// A command for the shard's consensus log, relayed by a replica into its mempool.
struct SubmitCommand {
  Bytes command;
  FOLIO_FIELDS(command)
  friend bool operator==(const SubmitCommand&, const SubmitCommand&) = default;
};

using ManagerMessage = std::variant<SubmitCommand, StatusQuery>;
using ReplicaMessage = std::variant<SignedPrepared, SignedAccepted>;

// ---- The replica
// ---------------------------------------------------------------------------------

struct ShardReplicaConfig {
  ShardReplicaConfig(ShardId shard, ShardMap map, const PrepareCheck* check, crypto::PrivateKey key)
      : shard(shard), map(std::move(map)), check(check), key(std::move(key)) {}

  ShardId shard;
  ShardMap map;
  uint32_t dummy_slots = 16;
  const PrepareCheck* check = nullptr;  // not owned; REQUIRES: non-null, outlives the replica
  crypto::PrivateKey key;               // this replica's key in map.shard(shard)
  uint64_t takeover_ticks = 50;         // 0: never take over
  uint64_t takeover_backoff_shift_max = 4;
  size_t sessions_max = 1u << 16;  // the session cache's bound (ObjectTable::prune_sessions)
  bool test_only_replay_defences = true;
};

// A session this replica will now manage itself.
struct Takeover {
  PrepareCommand command;
  std::optional<PrepareBinding> binding;
};

struct ShardReady {
  consensus::Ready consensus;            // persist, send, commit as consensus::Replica says
  std::vector<SignedPrepared> prepared;  // newly signed: to the session's manager
  std::vector<SignedAccepted> accepted;
  std::vector<Outcome> outcomes;  // every executed command's outcome, in log order
  std::vector<Takeover> takeovers;
  uint64_t undecodable = 0;  // committed commands that did not decode
};

class ShardReplica {
 public:
  // REQUIRES: config.check != nullptr; config.map.check_canonical() is OK; config.key's public key
  // is a member of map.shard(config.shard) and is consensus.key's.
  ShardReplica(ShardReplicaConfig config, consensus::ReplicaConfig consensus,
               const consensus::RestoredState& restored, int64_t now_ms);

  // Adds a genesis state this shard manages (bootstrap).
  Status add_genesis(const ledger::StateRef& ref) { return table_.add_genesis(ref); }

  // Logical time passes: consensus's clock, and one S-BAC tick for the takeover timers.
  void tick(int64_t now_ms);
  // Consensus's clock only (before a step).
  void set_time(int64_t now_ms) { replica_.tick(now_ms); }
  void step(const consensus::Verified<consensus::Message>& message) { replica_.step(message); }
  // The same, handing the message over (a proposal's commands move instead of being copied).
  void step(consensus::Verified<consensus::Message>&& message) { replica_.step(std::move(message)); }
  // A manager's request. A submit goes to the mempool (a duplicate is refused there, harmlessly);
  // a query answers with the statements this replica signed for the session.
  std::vector<ReplicaMessage> on_manager(const ManagerMessage& message);

  [[nodiscard]] ShardReady take_ready();
  // take_ready in two halves, for a driver that lets the votes leave before it executes:
  // take_consensus_ready() holds only what consensus says to persist, send and commit;
  // apply_ready() then executes the committed blocks (statements, takeovers, pruning), as
  // take_ready() does. consensus::Ready's order is persist, send, then apply: executing a block
  // of a few hundred transactions (tens of milliseconds) before the vote would put it on the
  // critical path of every view. REQUIRES: apply_ready once per take_consensus_ready, before
  // advance.
  [[nodiscard]] ShardReady take_consensus_ready();
  void apply_ready(ShardReady& ready);
  void advance(const ShardReady& ready) { replica_.advance(ready.consensus); }

  const ObjectTable& table() const { return table_; }
  const consensus::Replica& consensus() const { return replica_; }
  ShardId shard() const { return config_.shard; }
  uint64_t undecodable_total() const { return undecodable_total_; }
  // Batch signatures made (one per block with statements).
  uint64_t batches_signed() const { return batches_signed_; }

 private:
  // One block's batch signature, shared by every statement it signed: a stored statement keeps
  // its leaf's index and this, not its own copy of the branch (a few hundred bytes each), and
  // its ReplicaSignature is rebuilt when a manager asks again.
  struct SignedBatch {
    BatchTree tree;
    crypto::Signature root_signature;
  };
  struct Leaf {
    std::shared_ptr<const SignedBatch> batch;  // shared by the block's statements
    uint32_t index = 0;
  };
  struct Signed {
    std::optional<Prepared> prepared;
    Leaf prepared_leaf;
    std::optional<Accepted> accepted;
    Leaf accepted_leaf;
  };
  struct Pending {
    uint64_t waited = 0;
    uint64_t deadline = 0;
    uint32_t shift = 0;
  };
  // A statement of the block being applied, signed when the block is done (one batch).
  struct Unsigned {
    SessionKey key;
    Signed* in = nullptr;  // in signed_ (node-based: stays put while the block is applied)
    bool accepted = false;  // which of its two statements
  };
  void apply(const consensus::CommittedBlock& block, ShardReady& ready);
  void record(const Outcome& outcome, std::vector<Unsigned>& batch);
  void sign_block(const std::vector<Unsigned>& batch, ShardReady& ready);
  ReplicaSignature signature_of(const Leaf& leaf) const;

  ShardReplicaConfig config_;
  consensus::Replica replica_;
  ObjectTable table_;
  // By session, in no particular order: nothing iterates it into a statement.
  std::unordered_map<SessionKey, Signed, TableHash> signed_;
  std::map<SessionKey, Pending> pending_;  // prepared here, not yet accepted here; ordered: the
                                           // order of ShardReady::takeovers
  std::unordered_map<ledger::TxId, SignedAccepted, TableHash>
      pruned_commits_;  // of transactions pruned here
  std::vector<SessionKey> pruned_keys_;  // scratch for prune_sessions
  uint64_t undecodable_total_ = 0;
  uint64_t batches_signed_ = 0;
};

}  // namespace folio::sbac
