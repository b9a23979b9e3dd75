// The node benchmark behind `folio bench node` (docs/node.md, "Benchmark"): MockNetworks of real
// nodes (SQLite files on the default temporary directory's disk, the in-memory transport). The
// payments phase serves each node on a free-running thread of its own (or, with free_running off,
// on `threads` threads in delivery rounds; either way each node on one thread at a time, so the
// Node's single-threaded contract holds); the other phases run on one.
//
//   payments_per_s          notarised two-party cash payments per second: `payments` CashPayment
//                           flows from Alice to Bob through the single notary (batched), as a
//                           closed loop keeping `payments_window` outstanding (a completion, i.e.
//                           recorded on both sides, lets the next one start); counted between the
//                           end of the warm-up and the last start;
//   backchain_10k_s         time for a third node to receive a payment whose coin has a back-chain
//                           of `backchain_depth` transactions: resolve (breadth-first, ancestors
//                           prefetched within a byte budget), verify every transaction and its
//                           notarisation certificate, record;
//   suspended_flows         flows started on one node (frame eviction on) that suspend in a
//                           24-hour sleep, and the process's resident memory (VmRSS) with them;
//   resume_s                time to restart that node from its database with all of them resumed.
// Also the Ed25519 verifications per second of this machine, measured in the same run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/result.h"

namespace folio::node {

struct NodeBenchOptions {
  size_t payments = 5'000;
  // Payments kept outstanding (closed loop: a completion lets the next one start).
  size_t payments_window = 500;
  // Payments completed before the measured interval starts.
  size_t payments_warmup = 500;
  size_t backchain_depth = 10'000;
  size_t suspended_flows = 1'000'000;
  // Nodes served in parallel during the payments (MockNetworkOptions::delivery_threads); used
  // only without free_running.
  size_t threads = 2;
  // The payments on free-running threads, one per node, without rounds (MockNetwork::
  // start_free_running) instead of the pumped delivery rounds.
  bool free_running = true;
  // SQLite `synchronous = FULL` on every node (an fsync per commit) instead of NORMAL.
  bool sync_full = false;
  std::filesystem::path temporary_parent;  // empty: the system's temporary directory
  std::function<void(const std::string&)> progress;  // a line per phase
};

struct NodeBenchResult {
  size_t payments = 0;
  size_t payments_measured = 0;  // completed within the measured interval
  size_t payments_window = 0;
  double payments_per_s = 0;
  double payments_cpu_s = 0;  // process CPU time of the measured interval (the machine is shared)
  size_t payments_threads = 1;
  bool payments_free_running = false;
  bool payments_sync_full = false;  // SQLite synchronous = FULL during the payments
  uint64_t payments_group_commits = 0;  // transactions that committed flow steps, all nodes
  uint64_t notary_batches = 0;
  size_t backchain_depth = 0;
  double backchain_s = 0;
  size_t backchain_round_trips = 0;
  uint64_t suspended_flows = 0;
  double suspended_start_s = 0;
  double suspended_flows_rss_mb = 0;
  double resume_s = 0;
  uint64_t resumed_flows = 0;
  double ed25519_verify_per_s = 0;
  std::string to_json() const;
};

Result<NodeBenchResult> run_node_bench(const NodeBenchOptions& options);

// VmRSS of this process in MiB, from /proc/self/status (0 if unreadable).
double resident_mb();

}  // namespace folio::node
