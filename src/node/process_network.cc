// ProcessNetwork: bootstrap, spawn, readiness, kill/restart and stop of a local network of real
// `folio` processes (network map service, notary replicas, party nodes).
#include "node/process_network.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <thread>

#include "identity/network_map.h"
#include "notary/bootstrap.h"

namespace folio::node {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The children of every ProcessNetwork in this process, for the signal handler (which may only
// use async-signal-safe calls: kill on pids read from lock-free atomics).
constexpr size_t kRegisteredPidsMax = 256;
std::array<std::atomic<int>, kRegisteredPidsMax> g_pids{};
std::atomic<int> g_signals{0};

void register_pid(int pid) {
  if (pid <= 0) return;
  for (auto& slot : g_pids) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void unregister_pid(int pid) {
  if (pid <= 0) return;
  for (auto& slot : g_pids) {
    int expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void on_stop_signal(int) {
  int n = g_signals.fetch_add(1) + 1;
  for (auto& slot : g_pids) {
    int pid = slot.load();
    if (pid > 0) ::kill(pid, n == 1 ? SIGTERM : SIGKILL);
  }
  if (n > 1) ::_exit(130);
}

// A TCP listener answers at host:port (the network map service is up).
bool http_answers(const std::string& host, int port) {
  RpcClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(1'000);
  o.read_timeout = std::chrono::milliseconds(2'000);
  // Any HTTP answer will do; the path need not exist.
  RpcClient probe(RpcEndpoint{host, port, "", ""}, o);
  Result<bool> h = probe.health();
  return h.ok() || h.error().code != ErrorCode::kIo;
}

std::string slug_of(const std::string& config_path) {
  return fs::path(config_path).stem().string();
}

}  // namespace

std::string log_tail(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(bytes) ? size - bytes : 0;
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  return "--- last " + std::to_string(text.size()) + " bytes of " + path + " ---\n" + text;
}

void install_stop_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking call returns and the loop sees stop_requested()
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_signals.load() > 0; }

Result<std::string> self_executable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return make_error(ErrorCode::kIo, "/proc/self/exe: " + ec.message());
  return p.string();
}

Result<std::unique_ptr<ProcessNetwork>> ProcessNetwork::start(
    const ProcessNetworkOptions& options) {
  if (options.nodes.empty() || options.nodes.size() > kProcessNetworkNodesMax)
    return make_error(ErrorCode::kInvalidArgument, "between 1 and 16 nodes");
  std::unique_ptr<ProcessNetwork> n(new ProcessNetwork());
  n->options_ = options;
  if (n->options_.folio_binary.empty()) {
    FOLIO_ASSIGN_OR_RETURN(n->options_.folio_binary, self_executable());
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return make_error(ErrorCode::kIo, options.dir + ": " + ec.message());
  n->options_.dir = fs::absolute(options.dir).string();

  // Bootstrap and start the replicas (LocalNetwork does both).
  notary::LocalNetworkOptions lo;
  lo.bootstrap.dir = n->options_.dir;
  lo.bootstrap.nodes = options.nodes;
  lo.bootstrap.notary = identity::NotaryKind::kSharded;
  lo.bootstrap.shards = options.shards;
  lo.bootstrap.replicas = options.replicas;
  lo.bootstrap.genesis_states = options.genesis_states;
  lo.folio_binary = n->options_.folio_binary;
  lo.replica_args = options.replica_args;
  FOLIO_ASSIGN_OR_RETURN(n->replicas_, notary::LocalNetwork::start(lo));
  n->remember_pids();

  const notary::BootstrapResult& files = n->replicas_->files();
  if (files.node_configs.size() != options.nodes.size())
    return make_error(ErrorCode::kInternal, "bootstrap wrote a different number of nodes");
  FOLIO_TRY(n->start_network_map());

  n->nodes_.resize(files.node_configs.size());
  for (size_t i = 0; i < files.node_configs.size(); ++i) {
    NodeProcess& node = n->nodes_[i];
    node.config = files.node_configs[i];
    FOLIO_ASSIGN_OR_RETURN(notary::ProcessConfig c, notary::load_process_config(node.config));
    if (!c.rpc.has_value())
      return make_error(ErrorCode::kInvalidArgument, node.config + ": no rpc section");
    node.name = c.name;
    node.password_file =
        i < files.rpc_password_files.size()
            ? files.rpc_password_files[i]
            : (fs::path(node.config).parent_path() / (slug_of(node.config) + ".rpc-password"))
                  .string();
    FOLIO_ASSIGN_OR_RETURN(std::string password, read_rpc_password(node.password_file));
    node.rpc = RpcEndpoint{c.rpc->host == "0.0.0.0" ? "127.0.0.1" : c.rpc->host, c.rpc->port,
                           "demo", password};
    node.log = (fs::path(n->options_.dir) / ("node-" + slug_of(node.config) + ".log")).string();
    FOLIO_TRY(n->spawn_node(i));
  }

  auto deadline = Clock::now() + options.ready_timeout;
  FOLIO_TRY(n->wait_replicas_ready(options.ready_timeout));
  for (size_t i = 0; i < n->nodes_.size(); ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    FOLIO_TRY(n->wait_node_ready(i, std::max(left, std::chrono::milliseconds(1))));
  }
  return n;
}

ProcessNetwork::~ProcessNetwork() { stop(); }

Status ProcessNetwork::start_network_map() {
  const notary::BootstrapResult& files = replicas_->files();
  if (files.network_map_address.empty()) return ok_status();  // nodes work from `peers`
  size_t colon = files.network_map_address.rfind(':');
  if (colon == std::string::npos)
    return make_error(ErrorCode::kInvalidArgument,
                      "network map address '" + files.network_map_address + "'");
  std::string host = files.network_map_address.substr(0, colon);
  std::string port = files.network_map_address.substr(colon + 1);
  network_map_address_ = files.network_map_address;
  network_map_log_ = (fs::path(options_.dir) / "network-map.log").string();
  std::vector<std::string> argv{options_.folio_binary,
                                "networkmap",
                                "run",
                                "--dir",
                                files.network_map_dir,
                                "--parameters",
                                files.network_map_parameters,
                                "--host",
                                host,
                                "--port",
                                port};
  FOLIO_ASSIGN_OR_RETURN(network_map_, notary::ChildProcess::spawn(argv, network_map_log_));
  register_pid(network_map_.pid());
  auto deadline = Clock::now() + options_.ready_timeout;
  int port_number = std::atoi(port.c_str());
  while (!http_answers(host, port_number)) {
    if (network_map_.wait_exit(std::chrono::milliseconds(0)).has_value())
      return make_error(ErrorCode::kIo,
                        "the network map service exited at start\n" + log_tail(network_map_log_));
    if (Clock::now() >= deadline)
      return make_error(ErrorCode::kTimeout, "the network map service is not answering on " +
                                                 network_map_address_ + "\n" +
                                                 log_tail(network_map_log_));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ok_status();
}

Status ProcessNetwork::spawn_node(size_t i) {
  NodeProcess& node = nodes_.at(i);
  std::vector<std::string> argv{options_.folio_binary, "node", "run", "--config", node.config};
  argv.insert(argv.end(), options_.node_args.begin(), options_.node_args.end());
  FOLIO_ASSIGN_OR_RETURN(node.process, notary::ChildProcess::spawn(argv, node.log));
  register_pid(node.process.pid());
  return ok_status();
}

Status ProcessNetwork::wait_replicas_ready(std::chrono::milliseconds timeout) {
  // A replica is ready once it has written its status file (it does after its first loop turn).
  if (replicas_->wait_all([](const notary::ReplicaStatus&) { return true; }, timeout))
    return ok_status();
  for (uint32_t s = 0; s < replicas_->shards(); ++s)
    for (uint32_t r = 0; r < replicas_->replicas(); ++r) {
      notary::ChildProcess& c = replicas_->process(s, r);
      bool exited = !c.running() || c.wait_exit(std::chrono::milliseconds(0)).has_value();
      if (exited || !replicas_->status(s, r).ok())
        return make_error(exited ? ErrorCode::kIo : ErrorCode::kTimeout,
                          "replica " + std::to_string(r) + " of shard " + std::to_string(s) +
                              (exited ? " exited" : " wrote no status file in time") + "\n" +
                              log_tail(replicas_->log_path(s, r)));
    }
  return make_error(ErrorCode::kTimeout, "replicas not ready");
}

Status ProcessNetwork::wait_node_ready(size_t i, std::chrono::milliseconds timeout) {
  NodeProcess& node = nodes_.at(i);
  RpcClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(1'000);
  o.read_timeout = std::chrono::milliseconds(5'000);
  RpcClient client(node.rpc, o);
  auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  for (;;) {
    int pid = node.process.pid();
    if (!node.process.running() || node.process.wait_exit(std::chrono::milliseconds(0))) {
      unregister_pid(pid);
      return make_error(ErrorCode::kIo,
                        "node " + node.name + " exited before it was ready\n" + log_tail(node.log));
    }
    Result<bool> ready = client.health();
    if (ready.ok() && *ready) {
      // Ready, and its network map lists every party node: payments to any of them can start.
      Result<RpcNodeInfo> info = client.node_info();
      if (info.ok() && info->peers >= nodes_.size()) return ok_status();
      last = info.ok() ? "its network map lists " + std::to_string(info->peers) + " of " +
                             std::to_string(nodes_.size()) + " nodes"
                       : info.error().message();
    } else {
      last = ready.ok() ? std::string("503 not ready") : ready.error().message();
    }
    if (Clock::now() >= deadline)
      return make_error(ErrorCode::kTimeout, "node " + node.name + " not ready on " +
                                                 node.rpc.address() + " after " +
                                                 std::to_string(timeout.count()) + " ms (" + last +
                                                 ")\n" + log_tail(node.log));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void ProcessNetwork::kill_node(size_t i, int signo) {
  NodeProcess& node = nodes_.at(i);
  int pid = node.process.pid();
  node.process.signal(signo);
  if (!node.process.wait_exit(std::chrono::milliseconds(10'000))) node.process.stop();
  unregister_pid(pid);
}

Status ProcessNetwork::restart_node(size_t i) {
  NodeProcess& node = nodes_.at(i);
  if (node.process.running()) kill_node(i, SIGKILL);
  FOLIO_TRY(spawn_node(i));
  return wait_node_ready(i, options_.ready_timeout);
}

std::vector<std::string> ProcessNetwork::describe_processes() const {
  std::vector<std::string> lines;
  if (network_map_.running())
    lines.push_back("network map  " + network_map_address_ + "  pid " +
                    std::to_string(network_map_.pid()) + "  log " + network_map_log_);
  for (const NodeProcess& node : nodes_)
    if (node.process.running())
      lines.push_back("node " + node.name + "  rpc " + node.rpc.address() + "  pid " +
                      std::to_string(node.process.pid()) + "  log " + node.log);
  if (replicas_)
    for (uint32_t s = 0; s < replicas_->shards(); ++s)
      for (uint32_t r = 0; r < replicas_->replicas(); ++r) {
        notary::ChildProcess& c = replicas_->process(s, r);
        if (c.running())
          lines.push_back("replica shard " + std::to_string(s) + " index " + std::to_string(r) +
                          "  pid " + std::to_string(c.pid()) + "  log " +
                          replicas_->log_path(s, r));
      }
  return lines;
}

void ProcessNetwork::remember_pids() {
  if (!replicas_) return;
  for (uint32_t s = 0; s < replicas_->shards(); ++s)
    for (uint32_t r = 0; r < replicas_->replicas(); ++r)
      register_pid(replicas_->process(s, r).pid());
}

void ProcessNetwork::forget_pids() {
  for (NodeProcess& node : nodes_) unregister_pid(node.process.pid());
  unregister_pid(network_map_.pid());
  if (!replicas_) return;
  for (uint32_t s = 0; s < replicas_->shards(); ++s)
    for (uint32_t r = 0; r < replicas_->replicas(); ++r)
      unregister_pid(replicas_->process(s, r).pid());
}

void ProcessNetwork::stop() {
  forget_pids();
  // Nodes first, all signalled before any is waited for, so they drain in parallel.
  for (NodeProcess& node : nodes_) node.process.signal(SIGTERM);
  for (NodeProcess& node : nodes_) node.process.stop(std::chrono::milliseconds(10'000));
  network_map_.stop();
  replicas_.reset();  // SIGTERM to every replica, then SIGKILL after a grace period
}

}  // namespace folio::node
