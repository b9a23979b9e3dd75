// `folio network bootstrap`, `folio replica run` and `folio bench network` (docs/network.md).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "notary/bootstrap.h"
#include "notary/replica_bench.h"
#include "notary/replica_process.h"

namespace folio::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "error: " << what << "\n";
  throw CLI::RuntimeError(1);
}

struct BootstrapFlags {
  notary::BootstrapOptions options;
  std::string kind = "sharded";
};

void run_bootstrap(BootstrapFlags& flags) {
  auto kind = identity::parse_notary_kind(flags.kind);
  if (!kind.ok()) fail("--notary: " + kind.error().message());
  flags.options.notary = *kind;
  auto r = notary::bootstrap_network(flags.options);
  if (!r.ok()) fail("bootstrap: " + r.error().message());
  std::cout << "network parameters: " << r->parameters_path << "\n";
  for (const std::string& c : r->node_configs) std::cout << "node config: " << c << "\n";
  for (size_t s = 0; s < r->replica_configs.size(); ++s)
    for (const std::string& c : r->replica_configs[s])
      std::cout << "replica config (shard " << s << "): " << c << "\n";
  std::cout << "genesis owner key: " << r->genesis_owner_key_path << "\n";
}

void run_replica(const std::string& config_path, const notary::ReplicaProcessOptions& options) {
  auto config = notary::load_process_config(config_path);
  if (!config.ok()) fail(config.error().message());
  auto process = notary::ReplicaProcess::open(*config, options);
  if (!process.ok()) fail(process.error().message());
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  Status started = (*process)->start();
  if (!started.ok()) fail("start: " + started.error().message());
  std::cout << "replica " << config->name << " (shard " << *config->shard << ", index "
            << config->index << ") listening on " << config->listen_host << ":"
            << (*process)->listen_port() << std::endl;
  Status s = (*process)->run(g_stop);
  // Everything the replica decided is durable by now (each Ready was persisted before it was
  // sent), so a transport that does not finish closing its connections must not keep the process
  // alive: a watchdog ends it after a grace period (seen once in about ten SIGTERM tests).
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::cerr << "replica: the transport did not stop within 10 s; exiting" << std::endl;
    std::_Exit(0);
  }).detach();
  if (!s.ok()) fail("replica stopped: " + s.error().message());
  std::cout << "replica " << config->name << " stopped" << std::endl;
  process->reset();
}

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find the folio executable: " + ec.message());
  return p.string();
}

void run_bench(notary::NetworkBenchOptions options, bool quick, const std::string& out) {
  options.folio_binary = self_executable();
  if (quick) {
    options.seconds = 3;
    options.tx_outstanding = std::min<uint32_t>(options.tx_outstanding, 800);
  }
  auto r = notary::run_network_bench(options);
  if (!r.ok()) fail("bench network: " + r.error().message());
  std::string json = r->json();
  std::cout << json;
  std::filesystem::path p(out);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << json;
  if (!file) fail("cannot write " + out);
  std::fprintf(stderr,
               "network: raw %.0f commands/s (p50 %.1f ms; CPU %.1f us/command in replicas, %.1f "
               "in the client); 1 shard %.0f tx/s (p50 %.1f ms, p99 %.1f ms; CPU %.0f us/tx in "
               "replicas, %.0f in the client); 2 shards %.0f tx/s (%.0f%% cross-shard; CPU %.0f "
               "us/tx in replicas, %.0f in the client); Ed25519 verify %.0f/s; load average %.2f "
               "-> %.2f\n",
               r->raw_commands_per_s, r->raw_p50_ms, r->raw_replica_cpu_us_per_command,
               r->raw_client_cpu_us_per_command, r->notarised_tx_per_s_1shard, r->p50_ms_1shard,
               r->p99_ms_1shard, r->replica_cpu_us_per_tx_1shard, r->client_cpu_us_per_tx_1shard,
               r->notarised_tx_per_s_2shards, 100 * r->cross_shard_fraction_2shards,
               r->replica_cpu_us_per_tx_2shards, r->client_cpu_us_per_tx_2shards,
               r->ed25519_verify_per_s, r->load_average_start, r->load_average_end);
}

}  // namespace

void add_network_commands(CLI::App& app, Groups& groups) {
  CLI::App* network = app.add_subcommand("network", "Local networks of real processes");
  network->require_subcommand(1);
  auto flags = std::make_shared<BootstrapFlags>();
  CLI::App* b = network->add_subcommand(
      "bootstrap", "Write keys, certificates, configurations and signed network parameters");
  b->add_option("--dir", flags->options.dir, "Output directory")->required();
  b->add_option("--nodes", flags->options.nodes, "X.500 names of the nodes");
  b->add_option("--notary", flags->kind, "single, bft or sharded");
  b->add_option("--notary-name", flags->options.notary_name, "The notary's X.500 name");
  b->add_option("--shards", flags->options.shards, "Shards (sharded notary)");
  b->add_option("--replicas", flags->options.replicas, "Replicas per shard (3f+1)");
  b->add_option("--base-port", flags->options.base_port, "First port (0: free ports)");
  b->add_option("--genesis-states", flags->options.genesis_states,
                "Cash states issued at genesis to the genesis owner key");
  b->callback([flags] { run_bootstrap(*flags); });

  CLI::App* replica = app.add_subcommand("replica", "Notary shard replicas");
  replica->require_subcommand(1);
  auto config = std::make_shared<std::string>();
  auto options = std::make_shared<notary::ReplicaProcessOptions>();
  CLI::App* run = replica->add_subcommand("run", "Run one shard replica until SIGTERM or SIGINT");
  run->add_option("--config", *config, "The replica's configuration (from network bootstrap)")
      ->required();
  run->add_option("--batch", options->batch_count_max, "Commands per block at most");
  run->add_option("--view-timeout-ms", options->view_timeout_ms, "Consensus view timeout");
  run->add_option("--takeover-ms", options->takeover_ms,
                  "Take over a session prepared but not accepted after this long (0: never)");
  auto no_fsync = std::make_shared<bool>(false);
  run->add_flag("--no-fsync", *no_fsync,
                "Consensus state survives kill -9 but not a machine crash (benchmarks only)");
  auto reliable = std::make_shared<bool>(false);
  run->add_flag("--reliable-messages", *reliable,
                "Protocol messages through the transport's outbox, inbox and receipts instead of "
                "as ephemeral messages (docs/messaging.md)");
  run->callback([config, options, no_fsync, reliable] {
    options->fsync = !*no_fsync;
    options->ephemeral_messages = !*reliable;
    run_replica(*config, *options);
  });

  auto bench = std::make_shared<notary::NetworkBenchOptions>();
  auto quick = std::make_shared<bool>(false);
  auto out = std::make_shared<std::string>("bench/results/network.json");
  auto parts = std::make_shared<std::string>("raw,1shard,2shards");
  CLI::App* bn = groups.bench->add_subcommand(
      "network", "Replica processes on loopback: raw ordering and notarised payments per second");
  bn->add_option("--seconds", bench->seconds, "Measured time per part")
      ->check(CLI::Range(1.0, 600.0));
  bn->add_flag("--quick", *quick, "A short run (3 s per part)");
  bn->add_option("--batch", bench->batch, "Raw: commands per block")->check(CLI::Range(1, 16384));
  bn->add_option("--outstanding", bench->outstanding, "Raw: commands in flight")
      ->check(CLI::Range(1, 1'000'000));
  bn->add_option("--command-bytes", bench->command_bytes, "Raw: bytes per command")
      ->check(CLI::Range(32, 65536));
  bn->add_option("--tx-outstanding", bench->tx_outstanding, "Payments in flight")
      ->check(CLI::Range(1, 100'000));
  bn->add_option("--parts", *parts, "Which parts: raw,1shard,2shards");
  bn->add_flag("--no-fsync", bench->no_fsync,
               "Replicas persist without fsync (survive kill -9, not a machine crash)");
  bn->add_flag("--reliable-messages", bench->reliable_messages,
               "Replicas and client send protocol messages reliably (outbox, inbox, receipts)");
  bn->add_option("--client-threads", bench->client_threads, "Client threads driving payments")
      ->check(CLI::Range(1, 16));
  bn->add_option("--out", *out, "Where to write the JSON results");
  bn->callback([bench, quick, out, parts] {
    bench->raw = parts->find("raw") != std::string::npos;
    bench->one_shard = parts->find("1shard") != std::string::npos;
    bench->two_shards = parts->find("2shards") != std::string::npos;
    run_bench(*bench, *quick, *out);
  });
}

}  // namespace folio::cli
