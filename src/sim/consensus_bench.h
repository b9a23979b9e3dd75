// The consensus throughput benchmark: a committee of Replicas in one process, over an in-memory
// transport, with real Ed25519 signatures on votes and timeouts and every message encoded, decoded
// strictly and validated exactly as it would be off the network.
//
// A closed-loop client keeps `outstanding` commands of `command_bytes` in flight, submitting each
// to every replica (as a client would broadcast to a shard); a command's latency runs from its
// submission to its commit at replica 0. By default each replica runs on its own thread (its
// Replica and Validator are touched by that thread only; mailboxes are the only shared state), plus
// one client thread, so on a machine of two cores the replicas share two cores. Nothing is written
// to disk (a node would fsync the safety state before each vote). Ed25519 verification throughput
// is measured in the same process just before the run, per second of CPU time, as the physical
// bound; the threads' CPU time is reported too because the machine may be shared. Uses the wall
// clock and threads; not part of the pure modules. Call from one thread.
#pragma once

#include <cstdint>
#include <string>

namespace folio::sim {

struct ConsensusBenchOptions {
  uint32_t replicas = 4;
  double seconds = 10;
  uint32_t batch = 400;
  uint32_t outstanding = 3000;
  uint32_t command_bytes = 128;
  // 1: every replica and the client on one thread, in turn; otherwise a thread per replica.
  uint32_t threads = 0;
};

struct ConsensusBenchResult {
  ConsensusBenchOptions options;
  double elapsed_s = 0;
  double cpu_s = 0;  // CPU time of the benchmark thread: the machine may be shared
  uint64_t committed_commands = 0;
  uint64_t committed_blocks = 0;
  double commands_per_s = 0;
  double blocks_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double ed25519_verify_per_s = 0;
  double commands_per_cpu_s = 0;     // committed commands per second of this thread's CPU time
  uint64_t signatures_verified = 0;  // by all validators during the run
  uint64_t signatures_made = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  uint64_t highest_view = 0;
  uint64_t rejections = 0;
  std::string rejection_reasons;  // "stale view: 12, ..." (late or duplicate messages are normal)
  uint32_t threads = 0;

  std::string json() const;
};

ConsensusBenchResult run_consensus_bench(const ConsensusBenchOptions& options);

}  // namespace folio::sim
