// `folio doorman run|approve|reject|list` and `folio networkmap run`: the network's permissioning
// and network map services (src/identity, docs/identity.md). The services run until SIGINT or
// SIGTERM and then stop cleanly.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "identity/doorman.h"
#include "identity/network_map.h"

namespace folio::cli {
namespace {

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  throw CLI::RuntimeError(1);
}

template <class T>
T or_fail(Result<T> result) {
  if (!result.ok()) fail(result.error().message());
  return std::move(result).value();
}

void or_fail(const Status& status) {
  if (!status.ok()) fail(status.error().message());
}

// Blocks SIGINT and SIGTERM in this thread and (by inheritance) in every thread started after it,
// so that wait_for_stop_signal() receives them synchronously instead of a handler interrupting a
// server thread.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_stop_signal(const sigset_t& set) {
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

struct DoormanFlags {
  std::string dir;
  std::string host = "0.0.0.0";
  int port = 0;
  bool dev_mode = false;
  std::string root_dir;
  std::string request;
  std::string reason;
};

void run_doorman(const DoormanFlags& flags) {
  sigset_t signals = block_stop_signals();
  std::optional<std::string> root_dir;
  if (!flags.root_dir.empty()) root_dir = flags.root_dir;
  auto store = or_fail(identity::DoormanStore::open(flags.dir, root_dir));
  // No HTTP admin endpoints: a loopback source address would let any local process, or a browser
  // on this host, approve a request. `folio doorman approve|reject` works on the store directly.
  identity::DoormanServer server(*store, identity::DoormanOptions{flags.dev_mode, false});
  int port = or_fail(server.start(flags.host, flags.port));
  std::cout << "doorman listening on http://" << flags.host << ":" << port
            << (flags.dev_mode ? " (dev mode: requests approved automatically)" : "") << "\n"
            << "root certificate: " << flags.dir << "/root.pem\n"
            << "directory: " << flags.dir << std::endl;
  int signal_number = wait_for_stop_signal(signals);
  server.stop();
  std::cout << "doorman stopped (signal " << signal_number << ")" << std::endl;
}

void decide(const DoormanFlags& flags, bool approve) {
  auto store = or_fail(identity::DoormanStore::open(flags.dir));
  if (approve) {
    or_fail(store->approve(flags.request));
  } else {
    or_fail(store->reject(flags.request, flags.reason));
  }
  auto status = or_fail(store->status(flags.request));
  std::cout << "request " << flags.request << ": " << identity::to_string(status.state) << "\n";
}

struct NetworkMapFlags {
  std::string dir;
  std::string host = "0.0.0.0";
  int port = 0;
  std::string parameters_file;
  std::string root_dir;
  uint64_t epoch = 1;
  uint32_t min_platform_version = 1;
  uint64_t max_transaction_bytes = 10u << 20;
  uint64_t max_message_bytes = 10u << 20;
  std::vector<std::string> notaries;  // "NAME;KIND;validating|non-validating;KEYHEX"
};

identity::NetworkParameters parameters_from_flags(const NetworkMapFlags& flags) {
  if (!flags.parameters_file.empty()) {
    std::string text = or_fail(identity::read_text_file(flags.parameters_file, 4u << 20));
    auto parameters = identity::network_parameters_from_json(text);
    if (!parameters.ok()) fail(flags.parameters_file + ": " + parameters.error().message());
    return *parameters;
  }
  identity::NetworkParameters p;
  p.epoch = sbac::Epoch(flags.epoch);
  p.min_platform_version = flags.min_platform_version;
  p.max_transaction_bytes = flags.max_transaction_bytes;
  p.max_message_bytes = flags.max_message_bytes;
  p.modified_time_ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
  for (const std::string& spec : flags.notaries) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      size_t semicolon = spec.find(';', start);
      parts.push_back(spec.substr(start, semicolon - start));
      if (semicolon == std::string::npos) break;
      start = semicolon + 1;
    }
    if (parts.size() != 4 || (parts[2] != "validating" && parts[2] != "non-validating"))
      fail("--notary takes 'NAME;single|raft;validating|non-validating;KEYHEX', got '" + spec +
           "' (bft and sharded notaries need --parameters)");
    identity::NotaryInfo n;
    n.name = or_fail(identity::X500Name::parse(parts[0])).str();
    n.kind = or_fail(identity::parse_notary_kind(parts[1]));
    if (n.kind != identity::NotaryKind::kSingle && n.kind != identity::NotaryKind::kRaft)
      fail("bft and sharded notaries need a --parameters file (they carry a shard map)");
    n.validating = parts[2] == "validating";
    Bytes key = or_fail(from_hex(parts[3]));
    n.service_key = or_fail(codec::decode_from_bytes<crypto::PublicKey>(key));
    p.notaries.push_back(std::move(n));
  }
  std::sort(
      p.notaries.begin(), p.notaries.end(),
      [](const identity::NotaryInfo& a, const identity::NotaryInfo& b) { return a.name < b.name; });
  or_fail(p.check_canonical());
  return p;
}

void run_networkmap(const NetworkMapFlags& flags) {
  sigset_t signals = block_stop_signals();
  identity::NetworkParameters parameters = parameters_from_flags(flags);
  std::optional<std::string> root_dir;
  if (!flags.root_dir.empty()) root_dir = flags.root_dir;
  identity::Certificate root;
  auto id = or_fail(identity::load_or_create_network_map_identity(flags.dir, root_dir, &root));
  auto service = or_fail(identity::NetworkMapService::open(flags.dir, root, id, parameters));
  identity::NetworkMapServer server(*service);
  int port = or_fail(server.start(flags.host, flags.port));
  std::cout << "network map listening on http://" << flags.host << ":" << port << "\n"
            << "network parameters " << service->parameters_hash().hex() << " (epoch "
            << parameters.epoch.value() << ", " << parameters.notaries.size() << " notaries)\n"
            << "nodes: " << service->node_count() << "\n"
            << "directory: " << flags.dir << std::endl;
  int signal_number = wait_for_stop_signal(signals);
  server.stop();
  std::cout << "network map stopped (signal " << signal_number << ")" << std::endl;
}

}  // namespace

void add_identity_commands(CLI::App& app, Groups&) {
  CLI::App* doorman =
      app.add_subcommand("doorman", "The permissioning service (node certificates)");
  doorman->require_subcommand(1);

  auto run = std::make_shared<DoormanFlags>();
  CLI::App* r = doorman->add_subcommand("run", "Serve certificate signing requests over HTTP");
  r->add_option("--dir", run->dir, "State directory (root and doorman CA created on first run)")
      ->required();
  r->add_option("--port", run->port, "Port (0: any free port, printed)")
      ->check(CLI::Range(0, 65535));
  r->add_option("--host", run->host, "Address to bind");
  r->add_flag("--dev-mode", run->dev_mode, "Approve every valid request at once");
  r->add_option("--root-dir", run->root_dir,
                "First run only: take root.pem and root-key.pem from this directory");
  r->callback([run] { run_doorman(*run); });

  auto approve = std::make_shared<DoormanFlags>();
  CLI::App* a = doorman->add_subcommand("approve", "Approve a pending request");
  a->add_option("--dir", approve->dir, "The doorman's state directory")->required();
  a->add_option("--request", approve->request, "Request id")->required();
  a->callback([approve] { decide(*approve, true); });

  auto reject = std::make_shared<DoormanFlags>();
  CLI::App* j = doorman->add_subcommand("reject", "Reject a pending request");
  j->add_option("--dir", reject->dir, "The doorman's state directory")->required();
  j->add_option("--request", reject->request, "Request id")->required();
  j->add_option("--reason", reject->reason, "Why (sent to the node)");
  j->callback([reject] { decide(*reject, false); });

  auto list = std::make_shared<DoormanFlags>();
  CLI::App* l = doorman->add_subcommand("list", "List pending requests");
  l->add_option("--dir", list->dir, "The doorman's state directory")->required();
  l->callback([list] {
    auto store = or_fail(identity::DoormanStore::open(list->dir));
    for (const std::string& id : store->pending()) std::cout << id << "\n";
  });

  CLI::App* networkmap = app.add_subcommand("networkmap", "The network map service");
  networkmap->require_subcommand(1);
  auto nm = std::make_shared<NetworkMapFlags>();
  CLI::App* n = networkmap->add_subcommand("run", "Serve the signed network map over HTTP");
  n->add_option("--dir", nm->dir, "State directory")->required();
  n->add_option("--port", nm->port, "Port (0: any free port, printed)")
      ->check(CLI::Range(0, 65535));
  n->add_option("--host", nm->host, "Address to bind");
  n->add_option("--root-dir", nm->root_dir,
                "First run only: directory with root.pem and root-key.pem (the doorman's) to "
                "certify the network map key");
  n->add_option("--parameters", nm->parameters_file, "Network parameters (JSON, docs/identity.md)");
  n->add_option("--epoch", nm->epoch, "Without --parameters: the epoch");
  n->add_option("--min-platform-version", nm->min_platform_version, "Without --parameters");
  n->add_option("--max-transaction-bytes", nm->max_transaction_bytes, "Without --parameters");
  n->add_option("--max-message-bytes", nm->max_message_bytes, "Without --parameters");
  n->add_option("--notary", nm->notaries,
                "Without --parameters: 'NAME;single|raft;validating|non-validating;KEYHEX' "
                "(repeatable)");
  n->callback([nm] { run_networkmap(*nm); });
}

}  // namespace folio::cli
