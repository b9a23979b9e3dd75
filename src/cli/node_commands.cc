// `folio bench node`: the node benchmark (src/node/bench_node.h, docs/node.md).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "node/bench_node.h"

namespace folio::cli {

void add_node_commands(CLI::App& app, Groups& groups) {
  (void)app;
  struct Flags {
    node::NodeBenchOptions options;
    bool quick = false;
    std::string out = "bench/results/node.json";
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* bench = groups.bench->add_subcommand(
      "node", "Notarised payments/s, 10k back-chain resolution, suspended flows and their resume");
  bench->add_flag("--quick", flags->quick,
                  "Scale down: 1,000 payments (window and warm-up 200), a 2,000-deep back-chain, 20,000 "
                  "suspended flows");
  bench->add_option("--payments", flags->options.payments, "Payments in all (default 5,000)");
  bench->add_option("--window,--in-flight", flags->options.payments_window,
                    "Payments kept outstanding: closed loop, a completion starts the next "
                    "(default 500)");
  bench->add_option("--warmup", flags->options.payments_warmup,
                    "Payments completed before the measured interval (default 500)");
  bench->add_option("--threads", flags->options.threads,
                    "Without free running: nodes served in parallel in each delivery round, one "
                    "thread each (default 2)");
  bench->add_option("--free-running", flags->options.free_running,
                    "Payments with a free-running thread per node, no delivery rounds (default 1; "
                    "0: pumped rounds on --threads threads)");
  bench->add_flag("--sync-full", flags->options.sync_full,
                  "Payments with SQLite synchronous = FULL (an fsync per commit; NORMAL otherwise)");
  bench->add_option("--backchain", flags->options.backchain_depth,
                    "Back-chain depth (0: skip that part)");
  bench->add_option("--suspended", flags->options.suspended_flows,
                    "Suspended flows held by one node (default 1,000,000; 0: skip that part)");
  bench->add_option("--out", flags->out, "Where to write the JSON");
  bench->callback([flags] {
    node::NodeBenchOptions o = flags->options;
    if (flags->quick) {
      o.payments = std::min<size_t>(o.payments, 1'000);
      o.payments_window = std::min<size_t>(o.payments_window, 200);
      o.payments_warmup = std::min<size_t>(o.payments_warmup, 200);
      o.backchain_depth = std::min<size_t>(o.backchain_depth, 2'000);
      o.suspended_flows = std::min<size_t>(o.suspended_flows, 20'000);
    }
    o.progress = [](const std::string& line) { std::cerr << "bench node: " << line << "\n"; };
    auto result = node::run_node_bench(o);
    if (!result.ok()) {
      std::cerr << "error: " << result.error().message() << "\n";
      throw CLI::RuntimeError(1);
    }
    std::string json = result->to_json();
    std::cout << json;
    std::cerr << "Ed25519 verifications/s on this machine (one core): "
              << static_cast<uint64_t>(result->ed25519_verify_per_s) << "\n";
    std::filesystem::path out(flags->out);
    std::error_code ec;
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path(), ec);
    std::ofstream file(out);
    file << json;
    if (!file) {
      std::cerr << "error: cannot write " << out << "\n";
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace folio::cli
