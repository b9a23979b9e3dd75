// `folio bench sbac-sim`: the S-BAC scaling simulation (src/sim/sbac_scaling.h). Writes
// <out-dir>/sbac_sim.csv, <out-dir>/sbac_sim.json (the JSON it prints) and, with gnuplot,
// <out-dir>/sbac_sim.png. With --shards it runs one configuration instead of the sweeps.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "sim/sbac_scaling.h"

namespace folio::cli {
namespace {

struct SbacBenchFlags {
  sim::SbacBenchOptions bench;
  std::string out_dir = "bench/results";
  std::string plot_script = "bench/sbac_sim.gp";
  double latency_ms = 0.25;
  double bandwidth_mbit = 1000;
  bool fixed_costs = false;
  // One configuration instead of the sweeps.
  uint32_t shards = 0;
  uint32_t inputs = 1;
  bool distinct = false;
  bool unbatched = false;
  uint64_t rate = 0;
  double seconds = 1;
};

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) {
    std::cerr << "error: cannot write " << path.string() << "\n";
    throw CLI::RuntimeError(1);
  }
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  if (!(in >> one)) return -1;
  return one;
}

// Shell-quotes a path for gnuplot's -e and the shell (single quotes, none inside).
bool plain_path(const std::string& path) { return path.find('\'') == std::string::npos; }

void plot(const SbacBenchFlags& flags, const std::filesystem::path& csv,
          const std::filesystem::path& png) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "sbac-sim: gnuplot is not installed (scripts/setup.sh installs gnuplot-nox); "
                 "wrote the CSV and JSON only\n";
    return;
  }
  if (!std::filesystem::exists(flags.plot_script)) {
    std::cerr << "sbac-sim: no plot script at " << flags.plot_script
              << " (run from the repository root or pass --plot-script); no PNG written\n";
    return;
  }
  if (!plain_path(csv.string()) || !plain_path(png.string()) || !plain_path(flags.plot_script)) {
    std::cerr << "sbac-sim: a path contains a quote; no PNG written\n";
    return;
  }
  std::string command = "gnuplot -e \"csv='" + csv.string() + "'; png='" + png.string() + "'\" '" +
                        flags.plot_script + "'";
  if (std::system(command.c_str()) != 0) {
    std::cerr << "sbac-sim: gnuplot failed: " << command << "\n";
    throw CLI::RuntimeError(1);
  }
  std::cerr << "sbac-sim: wrote " << png.string() << "\n";
}

void run_one(const SbacBenchFlags& flags) {
  sim::ScalingOptions o;
  o.shards = flags.shards;
  o.inputs = flags.inputs;
  o.distinct_shards = flags.distinct;
  o.unbatched_statements = flags.unbatched;
  o.replicas = flags.bench.replicas;
  o.batch = flags.bench.batch;
  o.mempool_max = 2 * flags.bench.batch;
  o.seed = flags.bench.seed;
  o.network = flags.bench.network;
  o.costs = flags.fixed_costs ? sim::CostModel{} : sim::CostModel::measure();
  if (o.distinct_shards && o.inputs > o.shards) {
    std::cerr << "error: --distinct needs --inputs <= --shards\n";
    throw CLI::RuntimeError(1);
  }
  o.offered_tps =
      flags.rate > 0
          ? flags.rate
          : static_cast<uint64_t>(1.3e9 * o.shards / sim::single_shard_command_ns(
                                                     o.costs, o.batch, o.unbatched_statements));
  o.warmup_ns = 300'000'000;
  o.measure_ns = static_cast<int64_t>(flags.seconds * 1e9);
  o.drain_ns = 1'000'000'000;
  std::cerr << "costs: " << o.costs.describe() << "; load average " << load_average() << "\n";
  sim::ScalingResult r = sim::run_sbac_scaling(o);
  std::cout << r.summary() << "\n";
  if (r.table_rejections > 0 || r.manager_refusals > 0) {
    std::cerr << "error: " << r.table_rejections << " table rejections, " << r.manager_refusals
              << " manager refusals (a model bug)\n";
    throw CLI::RuntimeError(1);
  }
}

void run_sweeps(const SbacBenchFlags& flags) {
  sim::SbacBenchOptions options = flags.bench;
  options.measure_costs = !flags.fixed_costs;
  double load_before = load_average();
  sim::SbacBenchReport report = sim::run_sbac_bench(options);
  double load_after = load_average();
  report.load_average = load_before > load_after ? load_before : load_after;
  std::fprintf(stderr, "costs: %s; load average %.2f before, %.2f after; %.0f s\n",
               report.costs.describe().c_str(), load_before, load_after, report.wall_s);
  std::string json = report.json();
  std::cout << json;
  std::filesystem::path dir(flags.out_dir);
  write_text(dir / "sbac_sim.csv", report.csv());
  write_text(dir / "sbac_sim.json", json);
  plot(flags, dir / "sbac_sim.csv", dir / "sbac_sim.png");
  if (report.single_shard_tps <= 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_sbac_bench_commands(CLI::App& app, Groups& groups) {
  (void)app;
  auto flags = std::make_shared<SbacBenchFlags>();
  CLI::App* b = groups.bench->add_subcommand(
      "sbac-sim",
      "S-BAC scaling in simulation: throughput vs shards and inputs, latency vs load, with CPU "
      "costs measured on this machine");
  b->add_flag("--quick", flags->bench.quick, "Small sweeps and short windows (tests)");
  b->add_option("--seed", flags->bench.seed, "Seed of the simulation");
  b->add_option("--replicas", flags->bench.replicas, "Replicas per shard (3f+1)")
      ->check(CLI::Range(4u, sim::kScalingReplicasMax));
  b->add_option("--batch", flags->bench.batch, "Commands per block at most")
      ->check(CLI::Range(1, 65536));
  b->add_option("--latency-ms", flags->latency_ms, "One-way network latency")
      ->check(CLI::Range(0.0, 1000.0));
  b->add_option("--bandwidth-mbit", flags->bandwidth_mbit, "Each machine's interface")
      ->check(CLI::Range(1.0, 1e6));
  b->add_flag("--fixed-costs", flags->fixed_costs,
              "Use the built-in cost model instead of measuring this machine");
  b->add_option("--out-dir", flags->out_dir, "Where to write sbac_sim.{csv,json,png}");
  b->add_option("--plot-script", flags->plot_script, "The gnuplot script");
  b->add_option("--shards", flags->shards, "Run one configuration of this many shards")
      ->check(CLI::Range(1u, sim::kScalingShardsMax));
  b->add_option("--inputs", flags->inputs, "With --shards: inputs per transaction")
      ->check(CLI::Range(1u, sim::kScalingInputsMax));
  b->add_flag("--distinct", flags->distinct, "With --shards: inputs on distinct shards");
  b->add_flag("--unbatched", flags->unbatched,
              "With --shards: replicas sign each statement (the code before batched statements)");
  b->add_option("--rate", flags->rate, "With --shards: offered tx/s (default: an overload)");
  b->add_option("--seconds", flags->seconds, "With --shards: simulated measurement window")
      ->check(CLI::Range(0.01, 60.0));
  b->callback([flags] {
    flags->bench.network.latency_ns = static_cast<int64_t>(flags->latency_ms * 1e6);
    flags->bench.network.bandwidth_bytes_per_s =
        static_cast<uint64_t>(flags->bandwidth_mbit * 1e6 / 8);
    if (flags->shards > 0) {
      run_one(*flags);
    } else {
      run_sweeps(*flags);
    }
  });
}

}  // namespace folio::cli
