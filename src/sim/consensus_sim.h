// The deterministic simulator for shard consensus: a committee of Replicas in one thread, driven
// by simulated time and a simulated network, with every fault derived from one seed.
//
// Faults (each switched by SimOptions): message latency with a heavy tail (hence reordering),
// loss, duplication, network partitions that heal, crashes with restart from the simulated disk
// (a crash may strike between a Ready's write and its fsync, losing those writes and its
// messages), clock offset and drift per replica, and up to `byzantine` Byzantine replicas that
// equivocate, fork, vote for conflicting blocks, withhold, replay, forge and send garbage.
// Faults other than Byzantine behaviour stop at `heal_ms`; from then on every honest replica is up
// and the network is reliable, so liveness is checked against a bound of simulated time.
//
// Invariant checkers: agreement (no two honest replicas commit different blocks at one height, and
// no honest replica reports a conflicting commit), validity (only submitted commands commit, each
// once), durability (no vote leaves before the voted view is on disk), liveness (every command
// submitted commits at every honest replica within `liveness_bound_ms` after max(submit, heal))
// and equal committed command logs at the end. A run's result names each violation and the
// command line that reproduces it.
//
// Not thread-safe; a run owns everything it uses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folio::sim {

// Partitions are bit masks over replicas.
constexpr uint32_t kSimReplicasMax = 32;

struct SimOptions {
  uint64_t seed = 1;
  uint32_t replicas = 4;
  uint32_t byzantine = 0;             // at most f for the checkers to expect safety and liveness
  uint32_t byzantine_behaviours = 0;  // sim::Behaviour flags; 0: a random mix per replica
  uint32_t commands = 100;            // submitted by clients during the fault phase
  uint32_t command_bytes = 32;
  int64_t heal_ms = 5'000;  // faults stop here
  int64_t liveness_bound_ms = 30'000;
  // Network.
  int64_t latency_min_ms = 1;
  int64_t latency_spread_ms = 20;
  uint32_t tail_ppm = 20'000;  // messages delayed up to 10x the spread more
  uint32_t loss_ppm = 0;
  uint32_t duplicate_ppm = 0;
  bool partitions = false;
  // When >= 0: from this time until healing, the committee is split in two halves, neither a
  // quorum, so nothing can commit until the network heals (a liveness scenario).
  int64_t split_from_ms = -1;
  bool crashes = false;
  bool clock_drift = false;
  // Consensus parameters.
  int64_t view_timeout_ms = 300;
  uint32_t batch_count_max = 16;
  // Negative control: honest replicas commit on a one-chain rule.
  bool break_commit_rule = false;

  std::string describe() const;      // "n=4 byz=1 loss=5% ..."
  std::string command_line() const;  // the `folio sim consensus` invocation that reproduces it
};

// The fault mix for seed `seed` in a sweep: a deterministic function of the seed and the base. The
// committee size is drawn per seed unless `keep_replicas`; the number of Byzantine replicas is the
// mix's own or the base's, and never more than f, so a sweep only asserts what the protocol
// promises.
SimOptions sweep_options(uint64_t seed, const SimOptions& base, bool keep_replicas = false);

struct SimResult {
  SimOptions options;
  std::vector<std::string> violations;
  uint64_t committed_blocks = 0;  // at the honest replica with the longest log
  uint64_t committed_commands = 0;
  uint64_t highest_view = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_dropped = 0;
  uint64_t rejections = 0;
  uint64_t crashes = 0;
  uint64_t signatures_verified = 0;
  int64_t end_ms = 0;                  // simulated time at which the run stopped
  int64_t last_commit_latency_ms = 0;  // the slowest command, from max(submit, heal)

  bool ok() const { return violations.empty(); }
  std::string summary_line() const;
};

SimResult run_consensus_sim(const SimOptions& options);

}  // namespace folio::sim
