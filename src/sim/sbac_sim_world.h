// The sharded-notary simulator's insides, shared by sbac_sim.cc (the world: construction, network,
// replicas, managers, workload, the run), sbac_sim_adversary.cc (the replay adversary) and
// sbac_sim_checker.cc (quiescence and the invariants). Not a public API: only those files include
// it. Not thread-safe; a run owns everything it uses.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sbac/binding.h"
#include "sbac/coordinator.h"
#include "sbac/shard_replica.h"
#include "sim/byzantine.h"
#include "sim/prng.h"
#include "sim/sbac_sim.h"

namespace folio::sim::sbac_sim_detail {

using ledger::StateRef;
using ledger::TxId;
using sbac::Coordinator;
using sbac::SessionKey;
using sbac::ShardId;

constexpr int64_t kTickMs = 10;
constexpr uint32_t kCoinsPerAccount = 3;
constexpr uint64_t kCoinValue = 100;
constexpr uint32_t kAttemptsMax = 4;
constexpr uint64_t kTakeoverTicks = 30;  // 300 ms, then doubling
constexpr uint64_t kResendTicks = 20;    // 200 ms
constexpr uint32_t kDummySlots = 8;
constexpr uint32_t kReplaysMax = 600;
constexpr uint32_t kRandomReplaysMax = 60;
constexpr size_t kAcceptedAbortsPerTransactionMax = 32;
constexpr uint32_t kRestartsPerTransactionMax = 2;
constexpr uint32_t kPartitionsMax = 3;
constexpr int64_t kPartitionMaxMs = 800;
constexpr uint32_t kTailFactor = 10;
constexpr int64_t kQuiescenceCheckMs = 50;
constexpr size_t kBatchCountMax = 1u << 14;

inline std::string percent(uint32_t ppm) {
  return std::to_string(ppm / 10'000) + "." + std::to_string((ppm / 1'000) % 10) + "%";
}

inline FixedBytes<32> random_seed(Prng& prng) {
  FixedBytes<32> seed;
  for (size_t k = 0; k < 32; k += 8) {
    uint64_t word = prng.next();
    for (size_t j = 0; j < 8; ++j) seed.bytes[k + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return seed;
}

enum class EventKind : uint8_t { kConsensus, kToReplica, kToManager, kTick, kStart, kCrash, kHeal };

struct Event {
  int64_t at_ms = 0;
  uint64_t sequence = 0;
  EventKind kind = EventKind::kTick;
  uint32_t to = 0;    // endpoint (replica node or client), or client index for kStart/kCrash
  uint32_t from = 0;  // endpoint
  Bytes bytes;        // kConsensus
  std::optional<sbac::ManagerMessage> manager;  // kToReplica
  std::optional<sbac::ReplicaMessage> replica;  // kToManager
  bool operator>(const Event& other) const {
    return at_ms != other.at_ms ? at_ms > other.at_ms : sequence > other.sequence;
  }
};

struct Partition {
  int64_t start_ms;
  int64_t end_ms;
  std::vector<bool> side;  // per endpoint
};

// What an honest replica decided, for the checker.
struct Decisions {
  std::map<SessionKey, sbac::Verdict> prepared;
  std::map<SessionKey, sbac::Verdict> accepted;
  std::set<SessionKey> open;                // prepared, not yet accepted
  std::map<StateRef, SessionKey> consumed;  // by which session
  std::vector<std::string> double_consumption;
};

struct ReplicaNode {
  ShardId shard;
  uint32_t index = 0;  // within its shard (its consensus ReplicaId)
  std::unique_ptr<sbac::ShardReplica> replica;
  std::unique_ptr<consensus::Validator> validator;
  std::unique_ptr<Byzantine> consensus_liar;
  uint32_t lies = 0;  // SbacByzantine flags; 0: honest
  std::map<SessionKey, Coordinator> takeovers;
  Decisions decisions;
};

struct Payment {
  ledger::SignedTransaction stx;
  TxId id;
  std::set<ShardId> concerned;
  uint32_t client = 0;
};

struct Client {
  std::optional<Coordinator> coordinator;
  std::optional<size_t> payment;  // index into payments_
  bool started = false;
  bool crashed = false;
  std::vector<StateRef> reserved;
};

struct Coin {
  uint32_t account = 0;
  uint64_t quantity = 0;
};

class SbacSimulation {
 public:
  explicit SbacSimulation(const SbacSimOptions& options)
      : options_(options),
        prng_(options.seed),
        net_(prng_.fork()),
        faults_(prng_.fork()),
        workload_(prng_.fork()),
        adversary_(prng_.fork()) {
    build();
  }

  SbacSimResult run();

 private:
  // Endpoints: replicas 0 .. K*N-1 (shard-major), then clients.
  uint32_t replica_endpoint(ShardId shard, uint32_t index) const {
    return shard.value() * options_.replicas + index;
  }
  uint32_t replica_count() const { return options_.shards * options_.replicas; }
  bool is_replica(uint32_t endpoint) const { return endpoint < replica_count(); }
  uint32_t client_endpoint(uint32_t client) const { return replica_count() + client; }

  void build();
  void build_genesis();
  void schedule(Event e) {
    e.sequence = next_sequence_++;
    queue_.push(std::move(e));
  }
  bool faulty_period(int64_t t) const { return t < options_.heal_ms; }
  bool cut(uint32_t a, uint32_t b, int64_t t) const;
  int64_t latency();
  // Every message between endpoints goes through here: faults, then the adversary's tap.
  bool lost(uint32_t from, uint32_t to, int64_t t);
  void send_consensus(uint32_t from, uint32_t to, Bytes bytes, int64_t t);
  void send_to_replica(uint32_t from, uint32_t to, const sbac::ManagerMessage& m, int64_t t,
                       bool tapped = true);
  void send_to_manager(uint32_t from, uint32_t to, const sbac::ReplicaMessage& m, int64_t t);
  void send_coordinator(uint32_t from, std::vector<sbac::CoordinatorSend> sends, int64_t t);
  // A Byzantine replica's version of one of its statements for recipient `to`; empty: none.
  sbac::ReplicaSignature sign_lie_in_batch(const crypto::PrivateKey& key,
                                           const crypto::Hash256& honest_leaf,
                                           const crypto::Hash256& lie_leaf);
  std::optional<sbac::ReplicaMessage> lie(const ReplicaNode& node, uint32_t to,
                                          const sbac::ReplicaMessage& honest);
  void route_statement(uint32_t from, const sbac::ReplicaMessage& m, int64_t t);

  void flush(uint32_t r, int64_t t);
  void deliver_consensus(uint32_t to, uint32_t from, const Bytes& bytes, int64_t t);
  void deliver_to_replica(uint32_t to, uint32_t from, const sbac::ManagerMessage& m, int64_t t);
  void deliver_to_manager(uint32_t to, const sbac::ReplicaMessage& m, int64_t t);
  void on_tick(int64_t t);
  void start_client(uint32_t c, int64_t t);
  void coordinator_finished(const Coordinator& c, std::optional<uint32_t> client);
  void record_outcome(ReplicaNode& node, const sbac::Outcome& outcome);

  // The replay adversary.
  void tap_submit(const Bytes& command);
  void restart(const SessionKey& aborted, int64_t t);
  void tap_statement(const sbac::ReplicaMessage& m, int64_t t);
  void inject(const SessionKey& fresh, const std::set<ShardId>& concerned, int64_t t);
  void inject_command(const Bytes& command, ShardId shard, int64_t at);
  // A copy of `command` whose evidence has one batch signature per vote made malformed (index,
  // leaf_count or branch changed); empty if no evidence signature is batched.
  std::optional<sbac::AcceptCommand> tampered(const sbac::AcceptCommand& command);
  // Earlier sessions' accepted(abort) statements, relabelled as `fresh`'s, to its managers.
  void inject_accepted(const SessionKey& fresh, int64_t t);

  bool quiescent() const;
  // An open session needs a decision unless the replica pruned it: pruning takes only sessions of
  // transactions committed there, whose other sessions are abort votes holding no lock.
  static bool needs_decision(const ReplicaNode& node, const SessionKey& key) {
    return node.replica->table().session_command(key) != nullptr;
  }
  void check(SbacSimResult& result);

  SbacSimOptions options_;
  Prng prng_;
  Prng net_;
  Prng faults_;
  Prng workload_;
  Prng adversary_;
  sbac::ShardMap map_;
  std::vector<std::vector<crypto::PrivateKey>> keys_;  // per shard, sorted by public key
  std::vector<std::unique_ptr<consensus::Committee>> committees_;
  std::vector<std::unique_ptr<consensus::VerifyCache>> verify_caches_;
  std::unique_ptr<sbac::PrepareCheck> check_;
  ledger::ContractRegistry contracts_;
  ledger::MapAttachmentLoader attachments_;
  std::vector<ReplicaNode> nodes_;
  std::vector<Client> clients_;
  std::vector<Partition> partitions_;

  // The ledger as the workload knows it.
  std::vector<crypto::PrivateKey> accounts_;
  std::optional<crypto::PrivateKey> bank_;
  ledger::Party notary_;
  std::map<TxId, ledger::WireTransaction> transactions_;  // genesis and every payment built
  std::map<StateRef, Coin> coins_;                        // every state ever created or planned
  std::map<StateRef, Coin> unspent_;                      // as the clients believe
  std::set<StateRef> reserved_;                           // inputs of payments in flight
  uint64_t issued_ = 0;
  std::vector<Payment> payments_;
  std::map<TxId, size_t> payment_of_;

  // Certificates assembled by managers, and every signed statement seen on the network.
  std::vector<std::pair<TxId, sbac::NotarisationCertificate>> certificates_;
  // accepted(commit) signatures: transaction -> shard -> signed session -> signer -> signature.
  std::map<TxId,
           std::map<ShardId, std::map<sbac::Sequence,
                                      std::map<crypto::PublicKey, sbac::ReplicaSignature>>>>
      accepted_commit_seen_;
  sbac::VerifyCache checker_cache_{4096};  // the checker's: batches seen on the network

  // The replay adversary's records.
  std::map<TxId, std::set<sbac::Sequence>> sessions_seen_;
  std::map<TxId, std::vector<sbac::AcceptCommand>> accepts_seen_;
  std::map<TxId, std::vector<sbac::SignedAccepted>> accepted_aborts_seen_;  // bounded per T
  std::map<TxId, sbac::BoundPrepareCommand> prepares_seen_;
  std::map<TxId, uint32_t> restarts_;
  // prepared statements by session, and shard, verdict and (signed) sequence_max: signer ->
  // signature.
  std::map<SessionKey, std::map<std::tuple<ShardId, sbac::Verdict, sbac::Sequence>,
                                std::map<crypto::PublicKey, sbac::ReplicaSignature>>>
      prepared_seen_;
  std::vector<Bytes> submits_seen_;
  std::set<crypto::Hash256> injected_;
  uint32_t random_replays_ = 0;

  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t next_sequence_ = 0;
  SbacSimResult result_;
};

}  // namespace folio::sim::sbac_sim_detail
