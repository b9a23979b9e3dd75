// The deterministic simulator of the sharded notary (issue 4): K shards, each a committee of N
// real consensus::Replicas driving S-BAC ShardReplicas, clients paying folio.Cash to each other
// with real signed transactions, and every fault derived from one seed.
//
// Faults: message latency with a heavy tail, loss and partitions of any nodes until `heal_ms`;
// clients that crash mid-protocol (their sessions are finished by a replica's takeover); up to
// `byzantine` Byzantine replicas per shard, which lie in consensus (sim::Byzantine) and in S-BAC
// (sign the opposite verdict, equivocate, stay silent, report false sequence numbers, submit
// garbage commands); and a replay adversary that records every command and statement on the
// network and injects them into later instances of the same transaction (Byzcuit's phase-1 and
// phase-2 replay attacks), and anywhere else at random.
//
// Invariants checked at the end (SbacSimResult::violations, each naming what broke):
//  - agreement: the honest replicas of a shard decide every session alike;
//  - no state consumed twice, and no input consumed by a transaction that is not committed at
//    every shard it concerns (all-or-nothing across shards);
//  - total cash conserved (the active states of all shards sum to what genesis issued);
//  - every session prepared anywhere is accepted at every concerned shard after healing, and every
//    client that did not crash reached an outcome;
//  - a certificate verifies iff its transaction committed: every certificate a manager assembled
//    verifies and names a committed transaction, every committed transaction got one, and for every
//    transaction that did not commit, the accepted(commit) signatures seen anywhere on the network
//    cannot be assembled into a certificate that verifies.
//
// Not thread-safe; a run owns everything it uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folio::sim {

enum SbacByzantine : uint32_t {
  kSbacSilent = 1u << 0,       // signs nothing, answers no query
  kSbacFlip = 1u << 1,         // signs the opposite verdict of every decision
  kSbacEquivocate = 1u << 2,   // honest statements to some managers, flipped ones to others
  kSbacLieSequence = 1u << 3,  // reports a false sequence_max
  kSbacGarbage = 1u << 4,      // submits undecodable commands to its shard
  kSbacConsensus = 1u << 5,    // also lies in consensus (sim::Byzantine, random behaviours)
  kSbacBehaviourAll = (1u << 6) - 1,
};

struct SbacSimOptions {
  uint64_t seed = 1;
  uint32_t shards = 2;
  uint32_t replicas = 4;              // per shard, 3f+1
  uint32_t byzantine = 0;             // per shard; more than f only as a negative control
  uint32_t byzantine_behaviours = 0;  // SbacByzantine flags; 0: a random mix per replica
  uint32_t accounts = 8;
  uint32_t transactions = 12;
  bool high_contention = false;   // most payments from two hot accounts, coins reused in flight
  bool validating = false;        // shards run the contracts (else non-validating with tear-offs)
  uint32_t client_crash_ppm = 0;  // chance a client crashes mid-protocol
  bool replay = false;            // the replay adversary
  int64_t heal_ms = 3'000;
  int64_t liveness_bound_ms = 20'000;
  int64_t latency_min_ms = 1;
  int64_t latency_spread_ms = 10;
  uint32_t tail_ppm = 20'000;
  uint32_t loss_ppm = 0;
  bool partitions = false;
  // The replicas' session-cache bound (ObjectTable::prune_sessions); 0: the library's default.
  uint32_t sessions_max = 0;
  // NEGATIVE CONTROL: the shards' Byzcuit replay defences off (ObjectTable's test-only switch).
  bool break_replay_defences = false;

  std::string describe() const;
  std::string command_line() const;  // the `folio sim sbac` invocation that reproduces the run
};

// The fault mix for seed `seed` in a sweep: a deterministic function of the seed and the base,
// never more than f Byzantine replicas per shard. The number of shards (1-4) and the committee size
// (4 or 7) are drawn per seed unless `keep_shape`.
SbacSimOptions sbac_sweep_options(uint64_t seed, const SbacSimOptions& base,
                                  bool keep_shape = false);

struct SbacSimResult {
  SbacSimOptions options;
  std::vector<std::string> violations;
  uint64_t committed = 0;  // transactions committed at every concerned shard
  uint64_t aborted = 0;    // transactions with no committed session
  uint64_t cross_shard = 0;
  uint64_t sessions = 0;  // sessions prepared anywhere
  uint64_t takeovers = 0;
  uint64_t client_crashes = 0;
  uint64_t replays = 0;  // messages the replay adversary injected
  // Of those: commands whose evidence had batch signatures tampered with, and earlier sessions'
  // accepted(abort) statements relabelled for a later session's managers.
  uint64_t replays_tampered = 0;
  uint64_t replays_relabelled = 0;
  uint64_t undecodable = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  int64_t end_ms = 0;

  bool ok() const { return violations.empty(); }
  std::string summary_line() const;
};

SbacSimResult run_sbac_sim(const SbacSimOptions& options);

}  // namespace folio::sim
