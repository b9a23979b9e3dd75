// The S-BAC scaling simulation behind `folio bench sbac-sim` (issue 4): K shards of n = 3f+1
// replicas, every replica its own simulated machine with one CPU and one network interface, on a
// virtual clock in integer nanoseconds. Work items cost virtual time from a CostModel measured on
// this machine (Ed25519 sign and verify, SHA-256 per byte, one object-table command); messages cost
// the sender's interface bytes / bandwidth and then a fixed one-way latency.
//
// Each shard's ordering follows the steady state of the Jolteon engine in src/consensus (one block
// per view, the next leader forms the QC from 2f+1 verified votes and proposes the next block; a
// block commits when its grandchild is proposed), charged per block and per command as
// docs/sbac_scaling.md derives. The S-BAC logic runs for real: every shard has a real
// sbac::ObjectTable that executes each committed command (so locks, double spends and aborts are
// the real ones), and every cross-shard transaction is driven by a real sbac::TransactionManager
// fed with replicas' really signed `prepared` and `accepted` statements (the f+1 first to arrive
// per shard); tables verify the evidence for real. Statements are signed as src/sbac's
// ShardReplica signs them: one sbac::BatchTree per block over its statements (the fast path's
// prepared and accepted both), one real signature per replica over its root, each statement with
// its branch. Each replica has a real sbac::VerifyCache through which it really verifies the
// evidence it executes, and is charged a verification only when its cache misses. Real crypto
// spent this way costs wall time, never virtual time: virtual time comes from the cost model only.
//
// Clients are open-loop (Poisson arrivals at a configured rate); a replica refuses a new prepare
// when its shard's mempool holds mempool_max unproposed commands (accepts are never refused).
// Clients and their managers are not CPU-bound (their verification adds latency only).
//
// Deterministic: a run is a pure function of its ScalingOptions (the cost model is an input; the
// benchmark measures it once and passes it in). Not thread-safe; call from one thread. Uses the
// wall clock only in CostModel::measure().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folio::sim {

// Virtual time of CPU work, in nanoseconds (hashing in picoseconds per byte).
struct CostModel {
  int64_t sign_ns = 23'000;          // one Ed25519 signature
  int64_t verify_ns = 54'000;        // one Ed25519 verification
  int64_t hash_call_ns = 300;        // one SHA-256 call of a short message
  int64_t hash_byte_ps = 2'500;      // SHA-256 per byte of a long message
  int64_t table_command_ns = 5'000;  // one ObjectTable command of one input and one output
  // A cross-shard prepare and accept of a 2-input, 1-output transaction with one input on this
  // shard (so 3 objects), the accept's evidence checking excluded (charged per signature).
  int64_t table_prepare_ns = 4'200;
  int64_t table_accept_ns = 3'300;

  int64_t hash_ns(uint64_t bytes) const {
    return hash_call_ns + static_cast<int64_t>(bytes) * hash_byte_ps / 1000;
  }
  // Measures every field on this machine (about 0.3 s of one core).
  static CostModel measure();
  std::string describe() const;
};

struct NetworkModel {
  int64_t latency_ns = 250'000;                  // one way, between any two machines
  uint64_t bandwidth_bytes_per_s = 125'000'000;  // each machine's interface (1 Gbit/s)
};

// A bound on each run's size, so a mistaken option cannot exhaust memory.
constexpr uint32_t kScalingShardsMax = 128;
constexpr uint32_t kScalingReplicasMax = 16;
constexpr uint32_t kScalingInputsMax = 16;

struct ScalingOptions {
  uint32_t shards = 1;
  uint32_t replicas = 4;  // n = 3f+1 per shard
  uint32_t inputs = 1;    // per transaction, each on a shard drawn at random
  // Inputs on distinct shards (so a 2-input transaction always concerns 2 shards).
  bool distinct_shards = false;
  // The consensus engine alone: 128-byte opaque commands, no signature check, no S-BAC.
  bool ordering_only = false;
  // For comparison, the code before batched statements: each replica signs each statement
  // directly (the fast path's two), and every evidence signature costs a verification. The S-BAC
  // logic is the same; only signatures and their costs change.
  bool unbatched_statements = false;
  uint64_t offered_tps = 1000;   // open-loop client rate, all shards together
  uint32_t batch = 400;          // commands per block at most
  uint32_t mempool_max = 8'000;  // unproposed commands per shard before prepares are refused
  // Parts per million of transactions that also try to spend an input another transaction holds
  // (a double spend: a real abort in the object table).
  uint32_t conflict_ppm = 10'000;
  int64_t warmup_ns = 200'000'000;
  int64_t measure_ns = 400'000'000;
  int64_t drain_ns = 200'000'000;  // after the window, without new arrivals
  uint64_t seed = 1;
  CostModel costs;
  NetworkModel network;
};

struct ScalingResult {
  uint64_t offered = 0;    // transactions the clients generated
  uint64_t refused = 0;    // refused at admission (mempool full)
  uint64_t committed = 0;  // by the end of the run
  uint64_t aborted = 0;
  uint64_t unfinished = 0;   // neither, when the run ended
  uint64_t cross_shard = 0;  // offered transactions that concern more than one shard
  uint64_t committed_in_window = 0;
  uint64_t window_latencies = 0;  // committed transactions submitted in the window
  uint64_t blocks = 0;
  uint64_t commands = 0;          // ordered by all shards
  uint64_t table_rejections = 0;  // commands an object table rejected (a model bug if > 0)
  uint64_t manager_refusals = 0;  // statements a manager refused (a model bug if > 0)
  uint64_t real_signatures = 0;   // statements really signed for managers (batched or not)
  uint64_t batch_signatures = 0;  // real root signatures (one per replica and block needed)
  uint64_t statements = 0;        // signed by each replica, all shards (leaves of its batches)
  uint64_t evidence_verifies = 0;  // evidence verifications charged (cache misses), all replicas
  uint64_t evidence_cached = 0;    // evidence signatures answered by a replica's cache
  uint64_t events = 0;
  int64_t replica_busy_ns = 0;  // CPU time charged on all replicas
  int64_t simulated_ns = 0;
  double tps = 0;     // committed in the window / window
  double p50_ms = 0;  // of committed transactions submitted in the window
  double p99_ms = 0;
  std::string summary() const;
};

ScalingResult run_sbac_scaling(const ScalingOptions& options);

// The per-replica CPU cost of one single-shard, one-input transaction (admission plus execution,
// its two statements' share of a full block's batch signature, or two signatures unbatched),
// which bounds one shard's throughput at 1e9 / this, whatever the ordering does.
int64_t single_shard_command_ns(const CostModel& costs, uint32_t batch, bool unbatched = false);

// The whole benchmark: the three sweeps of Chainspace's evaluation.
struct SbacBenchOptions {
  bool quick = false;  // small sweeps and short windows, for tests
  uint64_t seed = 1;
  uint32_t replicas = 4;
  uint32_t batch = 400;
  NetworkModel network;
  bool measure_costs = true;  // false: the CostModel defaults (deterministic)
};

struct SbacBenchPoint {
  // "ordering", "shards", "inputs", "pair", "pair_unbatched", "latency", "latency_cross"
  std::string series;
  uint64_t x = 0;  // shards, inputs, shards concerned, or offered tx/s
  ScalingResult result;
  uint64_t offered_tps = 0;
};

struct SbacBenchReport {
  SbacBenchOptions options;
  CostModel costs;
  std::vector<SbacBenchPoint> points;
  double single_shard_tps = 0;  // 1 shard, 1-input transactions
  double efficiency_64 = 0;     // tps(K max) / (K max × tps(1)); K max = 64 unless quick
  uint32_t efficiency_shards = 0;
  double two_shard_ratio = 0;  // 2-shard / single-shard transactions' tps, both on 2 shards
  double two_shard_ratio_unbatched = 0;  // the same with per-statement signatures (the old code)
  double ordering_only_tps = 0;        // one shard ordering empty 128-byte commands
  double cpu_bound_tps = 0;            // 1e9 / single_shard_command_ns
  double load_average = -1;            // filled by the caller (the machine is shared)
  double wall_s = 0;

  std::string json() const;
  std::string csv() const;  // series,x,offered_tps,tps,p50_ms,p99_ms,committed,aborted,refused
};

SbacBenchReport run_sbac_bench(const SbacBenchOptions& options);

}  // namespace folio::sim
