// The consensus throughput benchmark: a committee of Replicas in one process, over an in-memory
// transport, with real Ed25519 signatures on votes and timeouts and every message encoded, decoded
// strictly and validated exactly as it would be off the network.
//
// A closed-loop client keeps `outstanding` commands of `command_bytes` in flight, submitting each
// to every replica (as a client would broadcast to a shard); a command's latency runs from its
// submission to its commit at replica 0. The run is single-threaded: the replicas share one core,
// so the figure is a bound on what one core can order, not a distributed measurement. Nothing is
// written to disk (a node would fsync the safety state before each vote). Ed25519 verification
// throughput is measured in the same process just before the run, as the physical bound.
// Uses the wall clock; not part of the pure modules. Not thread-safe.
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
};

struct ConsensusBenchResult {
  ConsensusBenchOptions options;
  double elapsed_s = 0;
  uint64_t committed_commands = 0;
  uint64_t committed_blocks = 0;
  double commands_per_s = 0;
  double blocks_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double ed25519_verify_per_s = 0;
  uint64_t signatures_verified = 0;  // by all validators during the run
  uint64_t signatures_made = 0;
  uint64_t messages = 0;
  uint64_t message_bytes = 0;
  uint64_t highest_view = 0;
  uint64_t rejections = 0;

  std::string json() const;
};

ConsensusBenchResult run_consensus_bench(const ConsensusBenchOptions& options);

}  // namespace folio::sim
