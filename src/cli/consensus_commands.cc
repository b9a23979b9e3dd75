// `folio sim consensus` and `folio bench consensus`: the shard-consensus simulator and benchmark.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/seed_range.h"
#include "sim/byzantine.h"
#include "sim/consensus_bench.h"
#include "sim/consensus_sim.h"

namespace folio::cli {
namespace {

struct SimFlags {
  sim::SimOptions options;
  bool replicas_given = false;  // a sweep keeps the committee size only if the user chose it
  uint64_t seed = 1;
  std::string seeds;  // "A..B"
};

void run_sim(const SimFlags& flags) {
  const sim::SimOptions& o = flags.options;
  if (o.replicas < 4 || o.replicas > sim::kSimReplicasMax) {
    std::cerr << "error: --replicas must be between 4 and " << sim::kSimReplicasMax << "\n";
    throw CLI::RuntimeError(1);
  }
  if (o.byzantine > (o.replicas - 1) / 3) {
    std::cerr << "warning: " << o.byzantine
              << " Byzantine replicas exceed f = " << (o.replicas - 1) / 3
              << "; safety and liveness are not expected to hold\n";
  }
  if (o.heal_ms < 2'000) {
    std::cerr << "error: --heal-ms must be at least 2000\n";
    throw CLI::RuntimeError(1);
  }
  if (flags.seeds.empty()) {
    sim::SimOptions one = o;
    one.seed = flags.seed;
    sim::SimResult r = sim::run_consensus_sim(one);
    std::cout << r.summary_line() << "\n";
    if (!r.ok()) throw CLI::RuntimeError(1);
    return;
  }
  uint64_t first = 0;
  uint64_t last = 0;
  if (!parse_seed_range(flags.seeds, first, last)) {
    std::cerr << "error: --seeds takes A..B with A <= B, got '" << flags.seeds << "'\n";
    throw CLI::RuntimeError(1);
  }
  // A sweep: each seed picks its own fault mix and committee size; a failure prints the exact
  // flags that reproduce it.
  uint64_t failures = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    sim::SimResult r = sim::run_consensus_sim(sim::sweep_options(seed, o, flags.replicas_given));
    std::cout << r.summary_line() << "\n";
    failures += !r.ok();
  }
  std::cout << "seeds " << first << ".." << last << ": " << (last - first + 1 - failures)
            << " passed, " << failures << " failed\n";
  if (failures > 0) throw CLI::RuntimeError(1);
}

void write_file(const std::string& path, const std::string& text) {
  std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    std::cerr << "error: cannot write " << path << "\n";
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void add_consensus_commands(CLI::App& app, Groups& groups) {
  (void)app;
  auto flags = std::make_shared<SimFlags>();
  CLI::App* s = groups.sim->add_subcommand(
      "consensus", "Simulate one shard under faults and check agreement, validity and liveness");
  s->add_option("--seed", flags->seed, "The seed of one run");
  s->add_option("--seeds", flags->seeds, "A..B: a sweep, each seed with its own fault mix");
  CLI::Option* replicas =
      s->add_option("--replicas", flags->options.replicas, "Committee size n (3f+1)");
  s->add_option("--byzantine", flags->options.byzantine, "Byzantine replicas (at most f)");
  s->add_option("--behaviours", flags->options.byzantine_behaviours,
                "Byzantine behaviour flags (0: random per replica)");
  s->add_option("--commands", flags->options.commands, "Commands submitted by clients");
  s->add_option("--loss-ppm", flags->options.loss_ppm, "Message loss, parts per million");
  s->add_option("--duplicate-ppm", flags->options.duplicate_ppm, "Message duplication, ppm");
  s->add_option("--tail-ppm", flags->options.tail_ppm, "Messages with a 10x latency tail, ppm");
  s->add_option("--heal-ms", flags->options.heal_ms, "Simulated time at which faults stop");
  s->add_option("--liveness-bound-ms", flags->options.liveness_bound_ms,
                "Every command must commit this soon after healing");
  s->add_flag("--partitions", flags->options.partitions, "Partition the network, then heal");
  s->add_option("--split-from-ms", flags->options.split_from_ms,
                "Split the committee in two halves from this time until healing");
  s->add_flag("--crashes", flags->options.crashes, "Crash and restart replicas");
  s->add_flag("--drift", flags->options.clock_drift, "Clock offsets and drift");
  s->add_flag("--break-commit-rule", flags->options.break_commit_rule,
              "Negative control: commit on one certificate (must be caught)");
  s->callback([flags, replicas] {
    flags->replicas_given = replicas->count() > 0;
    run_sim(*flags);
  });

  auto bench = std::make_shared<sim::ConsensusBenchOptions>();
  auto out = std::make_shared<std::string>("bench/results/consensus.json");
  CLI::App* b = groups.bench->add_subcommand(
      "consensus", "Replicas in one process with real Ed25519 votes: commands/s and latency");
  b->add_option("--replicas", bench->replicas, "Committee size")->check(CLI::Range(4, 64));
  b->add_option("--seconds", bench->seconds, "Duration")->check(CLI::Range(0.5, 3600.0));
  b->add_option("--batch", bench->batch, "Commands per block")->check(CLI::Range(1, 65536));
  b->add_option("--outstanding", bench->outstanding, "Commands the client keeps in flight")
      ->check(CLI::Range(1, 1'000'000));
  b->add_option("--command-bytes", bench->command_bytes, "Bytes per command")
      ->check(CLI::Range(8, 65536));
  b->add_option("--threads", bench->threads,
                "1: replicas and client share one thread; 0 (default): a thread per replica");
  b->add_option("--out", *out, "Where to write the JSON results");
  b->callback([bench, out] {
    sim::ConsensusBenchResult r = sim::run_consensus_bench(*bench);
    std::string json = r.json();
    std::cout << json;
    write_file(*out, json);
    std::fprintf(
        stderr,
        "consensus: %.0f commands/s, %.1f blocks/s, p50 %.1f ms, p99 %.1f ms on %u "
        "thread(s) using %.2f CPU-seconds in %.2f s (%.0f commands per CPU-second); "
        "Ed25519 verify %.0f per CPU-second; %.1f verifies per block\n",
        r.commands_per_s, r.blocks_per_s, r.p50_ms, r.p99_ms, r.threads, r.cpu_s, r.elapsed_s,
        r.commands_per_cpu_s, r.ed25519_verify_per_s,
        r.committed_blocks ? static_cast<double>(r.signatures_verified) / r.committed_blocks : 0.0);
    if (r.committed_commands == 0) throw CLI::RuntimeError(1);
  });
}

}  // namespace folio::cli
