// `folio bench network`: the notary's throughput over real processes on loopback (docs/network.md).
//
//  (a) raw ordering: four `folio replica run` processes of one shard order opaque commands
//      (batch 400, 3,000 outstanding, 128-byte commands, as `folio bench consensus`), submitted by
//      this process to every replica; a command counts when replica 0 reports it committed;
//  (b) notarised signed 1-input-1-output cash payments per second, and their latency, on one
//      shard of four replica processes, the client (a ShardedNotaryClient) in this process;
//  (c) the same on two shards of four (eight processes), where about half the payments cross
//      shards (input and output are placed by φ independently).
// Ed25519 verifications per second on one core are measured in the same run, as the bound's unit.
// CPU time (user + system, from /proc/<pid>/stat) of the replica processes and of this process over
// each measured interval is reported per committed command or transaction: on a machine shared
// with other work, that cost is steadier than the rates.
//
// Every network is bootstrapped into a fresh temporary directory and every process the bench
// started is stopped (SIGTERM, then SIGKILL) before it returns. Not thread-safe.
#pragma once

#include <string>

#include "base/result.h"

namespace folio::notary {

struct NetworkBenchOptions {
  std::string folio_binary;  // the `folio` executable to spawn replicas with
  double seconds = 10;       // measured time of each part (after a warm-up)
  uint32_t batch = 400;
  uint32_t outstanding = 3000;
  uint32_t command_bytes = 128;
  uint32_t tx_outstanding = 1500;  // payments in flight in (b) and (c)
  double tx_rate_max = 6000;       // payments prepared: this rate over warm-up and measurement
  bool raw = true;
  bool one_shard = true;
  bool two_shards = true;
  std::string work_dir;   // empty: under the system's temporary directory
  bool no_fsync = false;  // replicas run with --no-fsync
  bool reliable_messages = false;  // replicas run with --reliable-messages, and the client alike
  uint32_t client_threads = 2;
};

struct NetworkBenchResult {
  double raw_commands_per_s = 0;
  double raw_p50_ms = 0;
  double raw_p99_ms = 0;
  double raw_replica_cpu_us_per_command = 0;  // all four replicas together
  double raw_client_cpu_us_per_command = 0;
  double raw_cpu_cores_used = 0;  // (replicas + client) CPU seconds per measured second
  double notarised_tx_per_s_1shard = 0;
  double p50_ms_1shard = 0;
  double p99_ms_1shard = 0;
  uint64_t aborted_1shard = 0;
  double replica_cpu_us_per_tx_1shard = 0;
  double client_cpu_us_per_tx_1shard = 0;
  double cpu_cores_used_1shard = 0;
  double notarised_tx_per_s_2shards = 0;
  double p50_ms_2shards = 0;
  double p99_ms_2shards = 0;
  double cross_shard_fraction_2shards = 0;
  uint64_t aborted_2shards = 0;
  double replica_cpu_us_per_tx_2shards = 0;
  double client_cpu_us_per_tx_2shards = 0;
  double cpu_cores_used_2shards = 0;
  double ed25519_verify_per_s = 0;  // mean of samples taken before each part and at the end
  double ed25519_verify_per_s_min = 0;
  double load_average_start = 0;
  double load_average_end = 0;
  double seconds = 0;
  bool replica_fsync = true;
  bool reliable_messages = false;
  uint32_t client_threads = 0;
  std::string json() const;
};

Result<NetworkBenchResult> run_network_bench(const NetworkBenchOptions& options);

}  // namespace folio::notary
