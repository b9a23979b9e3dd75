// The subcommands of the `folio` binary. Each module's commands live in their own file and are
// added to the application here by an explicit call from main.cc (no static registration).
#pragma once

#include <CLI/CLI.hpp>

namespace folio::cli {

// Parent commands that several modules add children to.
struct Groups {
  CLI::App* sim;
  CLI::App* bench;
  CLI::App* tx;
  CLI::App* contract;
};

void add_ledger_commands(CLI::App& app, Groups& groups);  // ledger-demo, tx decode, bench ledger
void add_zk_commands(CLI::App& app, Groups& groups);      // bench zk (when src/zk is built)
void add_wasm_commands(CLI::App& app, Groups& groups);    // contract validate|run, bench wasm
void add_consensus_commands(CLI::App& app, Groups& groups);  // sim consensus, bench consensus
void add_sbac_commands(CLI::App& app, Groups& groups);       // sim sbac
void add_sbac_bench_commands(CLI::App& app, Groups& groups);  // bench sbac-sim
void add_identity_commands(CLI::App& app, Groups& groups);   // doorman run|approve, networkmap run
void add_node_commands(CLI::App& app, Groups& groups);       // bench node (and later node run)
void add_network_commands(CLI::App& app, Groups& groups);  // network bootstrap, replica run, bench network
void add_node_run_commands(CLI::App& app, Groups& groups);  // node run (src/node/process.cmake)
void add_demo_commands(CLI::App& app, Groups& groups);      // demo: the real-process network

}  // namespace folio::cli
