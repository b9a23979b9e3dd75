// `folio node run --config F`: one party node (or a single notary's node) as a process, until
// SIGTERM or SIGINT (docs/network.md, "Node processes"; its RPC: docs/rpc.md).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "node/node_process.h"
#include "notary/bootstrap.h"

namespace folio::cli {
namespace {

std::atomic<bool> g_node_stop{false};
extern "C" void on_node_stop_signal(int) { g_node_stop.store(true); }

[[noreturn]] void node_fail(const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  // The transport's thread may be waiting on the loop that never ran: leave without destructors.
  std::_Exit(1);
}

struct NodeRunFlags {
  std::string config;
  int64_t tick_ms = 5;
  int64_t map_refresh_ms = 2000;
  int64_t drain_ms = 10'000;
};

void run_node(const NodeRunFlags& flags) {
  auto config = notary::load_process_config(flags.config);
  if (!config.ok()) node_fail(config.error().message());
  node::NodeProcessOptions options;
  options.tick_ms = std::max<int64_t>(1, flags.tick_ms);
  options.map_refresh = std::chrono::milliseconds(std::max<int64_t>(50, flags.map_refresh_ms));
  options.drain_timeout = std::chrono::milliseconds(std::max<int64_t>(0, flags.drain_ms));
  auto process = node::NodeProcess::open(*config, options);
  if (!process.ok()) node_fail(process.error().message());
  struct sigaction sa {};
  sa.sa_handler = on_node_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  Status started = (*process)->start();
  if (!started.ok()) node_fail(started.error().message());
  std::cout << "node " << config->name << " listening on " << config->listen_host << ":"
            << (*process)->listen_port();
  if ((*process)->rpc_port() != 0)
    std::cout << ", rpc http://" << config->rpc->host << ":" << (*process)->rpc_port();
  std::cout << std::endl;
  Status s = (*process)->run(g_node_stop);
  if (!s.ok()) node_fail("node stopped: " + s.error().message());
  // A transport whose stop hangs must not keep the process alive.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::cerr << "node: shutdown did not finish within 10 s; exiting" << std::endl;
    std::_Exit(0);
  }).detach();
  process->reset();
  std::cout << "node " << config->name << " stopped" << std::endl;
}

}  // namespace

void add_node_run_commands(CLI::App& app, Groups&) {
  CLI::App* node = nullptr;
  for (CLI::App* sub : app.get_subcommands([](CLI::App* a) { return a->get_name() == "node"; }))
    node = sub;
  if (node == nullptr) {
    node = app.add_subcommand("node", "Folio nodes as processes");
    node->require_subcommand(1);
  }
  auto flags = std::make_shared<NodeRunFlags>();
  CLI::App* run = node->add_subcommand("run", "Run one node until SIGTERM or SIGINT");
  run->add_option("--config", flags->config, "The node's configuration (folio network bootstrap)")
      ->required();
  run->add_option("--tick-ms", flags->tick_ms, "Event loop period");
  run->add_option("--map-refresh-ms", flags->map_refresh_ms, "Network map refresh period");
  run->add_option("--drain-ms", flags->drain_ms, "How long SIGTERM lets running flows finish");
  run->callback([flags] { run_node(*flags); });
}

}  // namespace folio::cli
