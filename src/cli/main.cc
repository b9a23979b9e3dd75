// `folio`: one binary, many subcommands (ARCHITECTURE.md §5).
#include <malloc.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Replicas and nodes build and free blocks of a few hundred kilobytes many times a second. With
  // glibc's defaults each such buffer is a fresh mmap whose pages fault in zeroed (a sixth of a
  // replica's CPU under load): keep buffers up to 32 MB in the heap, and return memory to the
  // system only when 256 MB lie free at its top.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  CLI::App app{"Folio: a decentralised ledger with a sharded BFT notary"};
  app.require_subcommand(1);
  folio::cli::Groups groups{
      app.add_subcommand("sim", "Run the deterministic simulator"),
      app.add_subcommand("bench", "Run a benchmark and write bench/results/"),
      app.add_subcommand("tx", "Inspect transactions"),
      app.add_subcommand("contract", "Validate and run contracts"),
  };
  for (CLI::App* group : {groups.sim, groups.bench, groups.tx, groups.contract}) group->require_subcommand(1);
  folio::cli::add_ledger_commands(app, groups);
#ifdef FOLIO_HAVE_ZK
  folio::cli::add_zk_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_WASM
  folio::cli::add_wasm_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_CONSENSUS
  folio::cli::add_consensus_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_SBAC
  folio::cli::add_sbac_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_SBAC_BENCH
  folio::cli::add_sbac_bench_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_IDENTITY
  folio::cli::add_identity_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_NODE
  folio::cli::add_node_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_NETWORK
  folio::cli::add_network_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_NODE_RUN
  folio::cli::add_node_run_commands(app, groups);
#endif
#ifdef FOLIO_HAVE_DEMO
  folio::cli::add_demo_commands(app, groups);
#endif
  CLI11_PARSE(app, argc, argv);
  return 0;
}
