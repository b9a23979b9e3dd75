// The S-BAC transaction manager (ARCHITECTURE.md §3 steps 1, 3 and 4; Byzcuit's manager): the party
// that drives one session (T, s_T) through both phases. Any party can run it: the client by
// default, a replica of a concerned shard when the client disappears (the takeover timer is not
// here yet).
//
// It is a pure state machine over values. Inputs are replicas' signed statements as they arrive
// (from any sender, in any order, repeated or forged); each is checked against the shard map and
// the session and then counted, or refused with a typed reason. Outputs are values the driver
// sends: the PrepareCommand for every concerned shard, then one AcceptCommand, and finally the
// notarisation certificate or the abort. f+1 matching signatures from distinct members make a
// shard's vote (Chainspace §V-A): a commit needs one from every concerned shard (ALLPREPARED), a
// single abort vote decides abort (SOMEPREPARED). Matching means the same statement, so for
// `prepared` also the same signed sequence_max: a Byzantine replica that signs another value is
// counted (once per shard, as any replica) but cannot join the honest replicas' vote.
// Signatures are checked through a VerifyCache (the caller's, or the manager's own), so the
// statements of one batch signature cost one verification.
//
// Not thread-safe: one owner drives a manager.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "sbac/object_table.h"

namespace folio::sbac {

enum class ManagerRefusal : uint8_t {
  kWrongSession = 0,  // another transaction, session, epoch, or a shard not concerned
  kInvalidSignature,  // not a member of the statement's shard, or a bad signature
  kDuplicate,         // this replica's statement was already counted
  kTooLate,           // a prepared statement after the decision
};
std::string_view to_string(ManagerRefusal refusal);

class TransactionManager {
 public:
  enum class Phase : uint8_t { kPreparing, kAccepting, kCommitted, kAborted };

  // REQUIRES: command.check_canonical() and map.check_canonical() are OK. `cache`, if given, must
  // outlive the manager; without one the manager keeps its own.
  TransactionManager(PrepareCommand command, ShardMap map, VerifyCache* cache = nullptr);
  // The same with a map shared by many managers (a client's or a replica's coordinators all run
  // under one map, which is then not copied per transaction). REQUIRES: map is not null and
  // map->check_canonical() is OK (not checked here: once per map, not once per transaction).
  TransactionManager(PrepareCommand command, std::shared_ptr<const ShardMap> map,
                     VerifyCache* cache = nullptr);
  // Movable (the own cache is on the heap, so cache_ stays valid), not copyable.
  TransactionManager(TransactionManager&&) = default;
  TransactionManager& operator=(TransactionManager&&) = default;

  Phase phase() const { return phase_; }
  const std::set<ShardId>& concerned() const { return concerned_; }
  // What every concerned shard must sequence in phase 1 (to resend until the decision).
  const PrepareCommand& prepare_command() const { return command_; }

  // Counts one replica's signed `prepared` statement; empty if counted.
  std::optional<ManagerRefusal> on_prepared(const Prepared& statement,
                                            const ReplicaSignature& signature);
  // Counts one replica's signed `accepted` statement; empty if counted. For a single-shard
  // transaction an accepted(commit) counts even before any prepared (the fast path).
  std::optional<ManagerRefusal> on_accepted(const Accepted& statement,
                                            const ReplicaSignature& signature);

  // Phase 2's command with its evidence, once decided (every shard's commit vote, or one abort).
  const std::optional<AcceptCommand>& accept_command() const { return accept_; }
  // The certificate, once every concerned shard's f+1 `accepted(commit)` arrived.
  const std::optional<NotarisationCertificate>& certificate() const { return certificate_; }

 private:
  // Per shard, per signer (sorted, so evidence is canonical): the statement it signed, and how.
  template <class Statement>
  using Tally =
      std::map<ShardId, std::map<crypto::PublicKey, std::pair<Statement, ReplicaSignature>>>;

  template <class Statement>
  std::optional<ManagerRefusal> count(Tally<Statement>& tally, const Statement& statement,
                                      const ReplicaSignature& signature);
  // The first statement of `shard` with `verdict` that f+1 signers signed alike, with f+1 of
  // their signatures (in signer order); empty if none.
  template <class Statement>
  std::optional<ShardVote<Statement>> quorum_of(const Tally<Statement>& tally, ShardId shard,
                                                Verdict verdict) const;
  void decide();
  void finish();

  PrepareCommand command_;
  std::shared_ptr<const ShardMap> map_;  // read only, possibly shared with other managers
  std::unique_ptr<VerifyCache> own_cache_;  // when the caller gave none
  VerifyCache* cache_;
  std::set<ShardId> concerned_;
  Phase phase_ = Phase::kPreparing;
  Tally<Prepared> prepared_;
  Tally<Accepted> accepted_;
  std::optional<AcceptCommand> accept_;
  std::optional<NotarisationCertificate> certificate_;
};

}  // namespace folio::sbac
