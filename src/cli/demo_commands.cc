// `folio demo`: the README's main job. Bootstraps a network in a temporary directory, starts three
// party nodes and a sharded notary (2 shards x 4 replicas) as real processes on 127.0.0.1 (plus the
// network map service), runs a workload of cash issues, payments among random pairs and deliberate
// double spends over the nodes' RPC with a progress bar, prints a summary (committed, refused as
// conflicts, throughput, p50/p99 latency, cash conserved) and stops every process it started.
// `--keep-running` leaves them up until Ctrl-C; `--json` prints the summary as one JSON object.
//
// The demo is a client like any other: it talks to the nodes only through node::RpcClient, and to
// the processes only through node::ProcessNetwork. Exit status: 0, or 1 if cash was not conserved,
// a double spend committed twice, or the network did not start; 130 if interrupted.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "node/process_network.h"
#include "node/rpc_client.h"

namespace folio::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using node::FlowState;
using node::FlowStatus;
using node::RpcClient;

constexpr uint64_t kPaymentsMax = 1'000'000;
constexpr uint32_t kConcurrencyMax = 256;
constexpr std::chrono::milliseconds kFlowTimeout{120'000};
constexpr std::chrono::milliseconds kSettleTimeout{60'000};
const std::string kCurrency = "GBP";

struct DemoFlags {
  uint64_t payments = 200;
  uint32_t concurrency = 8;
  uint32_t double_spend_every = 20;  // one operation in N is a deliberate double spend; 0: none
  uint32_t coins_per_node = 10;
  uint64_t coin_amount = 5'000;
  uint64_t amount_max = 100;
  uint32_t shards = 2;
  uint32_t replicas = 4;
  uint64_t seed = 0;  // 0: random
  std::string dir;
  std::string folio_binary;
  bool keep_running = false;
  bool keep_dir = false;
  bool json = false;
};

[[noreturn]] void fail(const std::string& message, int code = 1) {
  std::cerr << "error: " << message << "\n";
  throw CLI::RuntimeError(code);
}

// One operation of the workload, decided before it starts (reproducible from --seed).
struct Operation {
  bool double_spend = false;
  size_t payer = 0;
  size_t payee = 0;    // payment; double spend: to_a
  size_t payee_b = 0;  // double spend: to_b
  uint64_t amount = 0;
};

enum class Outcome {
  kCommitted,          // a payment that completed
  kDoubleSpendOk,      // a double spend: one committed, the notary refused the other
  kConflict,           // a payment the notary refused as a conflict
  kInsufficientFunds,  // the payer could not select coins (409)
  kFailed,             // anything else: an RPC error, a flow hospitalised or killed, a timeout
  kDoubleCommitted,    // a double spend whose both payments committed: must never happen
};

struct Tally {
  std::mutex mu;
  uint64_t done = 0;
  uint64_t committed =
      0;  // transactions committed (payments, plus the winner of each double spend)
  uint64_t payments_committed = 0;
  uint64_t double_spends_refused = 0;
  uint64_t conflicts_refused = 0;  // every refusal: double spends' losers and refused payments
  uint64_t payments_refused = 0;   // ordinary payments the notary refused (an input already spent)
  uint64_t insufficient_funds = 0;
  uint64_t failed = 0;
  uint64_t double_committed = 0;
  Clock::time_point last_done{};
  std::vector<double> latencies_ms;
  std::vector<std::string> errors;  // the first few, for the summary
};

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return 0;
  std::sort(sorted.begin(), sorted.end());
  size_t index = static_cast<size_t>(std::floor(p * static_cast<double>(sorted.size() - 1)));
  return sorted[index];
}

std::string short_name(const std::string& x500) {
  // "O=Alice, L=London, C=GB" -> "Alice"
  size_t o = x500.find("O=");
  if (o == std::string::npos) return x500;
  size_t end = x500.find(',', o);
  return x500.substr(o + 2, end == std::string::npos ? std::string::npos : end - o - 2);
}

// Runs one operation against the nodes and classifies it; `error` explains kFailed.
Outcome run_operation(const Operation& op, const std::vector<RpcClient>& rpc,
                      const std::vector<std::string>& names, std::string* error) {
  const RpcClient& payer = rpc[op.payer];
  Result<std::string> flow =
      op.double_spend ? payer.double_spend(names[op.payee], names[op.payee_b], op.amount, kCurrency)
                      : payer.cash_pay(names[op.payee], op.amount, kCurrency);
  if (!flow.ok()) {
    if (flow.error().code == ErrorCode::kConflict) return Outcome::kInsufficientFunds;
    *error = flow.error().message();
    return Outcome::kFailed;
  }
  Result<FlowStatus> status = payer.wait_flow(*flow, kFlowTimeout, node::stop_requested);
  if (!status.ok()) {
    *error = status.error().message();
    return Outcome::kFailed;
  }
  if (op.double_spend) {
    if (status->state == FlowState::kCompleted) {
      if (status->committed_tx && status->refused_tx &&
          *status->committed_tx != *status->refused_tx)
        return Outcome::kDoubleSpendOk;
      *error = "double spend " + *flow + " completed without naming one committed and one refused";
      return Outcome::kDoubleCommitted;
    }
    *error = "double spend " + *flow + " " + std::string(node::to_string(status->state)) + ": " +
             status->error.value_or("");
    // The flow fails with this text when the notary accepted both spends (docs/rpc.md: completing
    // means the notary refused exactly one).
    if (status->error && status->error->find("accepted both") != std::string::npos)
      return Outcome::kDoubleCommitted;
    return Outcome::kFailed;
  }
  if (status->state == FlowState::kCompleted) return Outcome::kCommitted;
  if (status->conflict()) {
    *error = "payment " + *flow + " refused as a conflict: " + status->error.value_or("") +
             (status->conflicting_tx ? " (input consumed by " + *status->conflicting_tx + ")" : "");
    return Outcome::kConflict;
  }
  *error = "payment " + *flow + " " + std::string(node::to_string(status->state)) + ": " +
           status->error.value_or("");
  return Outcome::kFailed;
}

// The progress bar: a redrawn line on a terminal, a line every 10% (or 5 s) otherwise.
class Progress {
 public:
  Progress(std::ostream& out, bool tty, uint64_t total) : out_(out), tty_(tty), total_(total) {}

  void update(const Tally& t, double elapsed_s, bool final) {
    uint64_t done = t.done;
    if (!tty_ && !final) {
      uint64_t step = std::max<uint64_t>(1, total_ / 10);
      bool due = done / step > last_step_ || elapsed_s - last_line_s_ >= 5.0;
      if (!due) return;
      last_step_ = done / step;
      last_line_s_ = elapsed_s;
    }
    constexpr int kWidth = 30;
    int filled = total_ == 0 ? kWidth : static_cast<int>(kWidth * done / total_);
    std::ostringstream line;
    line << "[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done
         << "/" << total_ << "  committed " << t.committed << "  refused " << t.conflicts_refused
         << "  failed " << t.failed + t.insufficient_funds;
    if (elapsed_s > 0) {
      char rate[32];
      std::snprintf(rate, sizeof rate, "  %.1f tx/s", static_cast<double>(t.committed) / elapsed_s);
      line << rate;
    }
    if (tty_) {
      out_ << "\r" << line.str() << "\x1b[K" << (final ? "\n" : "") << std::flush;
    } else {
      out_ << line.str() << "\n" << std::flush;
    }
  }

 private:
  std::ostream& out_;
  bool tty_;
  uint64_t total_;
  uint64_t last_step_ = 0;
  double last_line_s_ = 0;
};

struct CashCheck {
  bool conserved = false;
  uint64_t issued = 0;
  uint64_t total = 0;
  std::vector<uint64_t> balances;
  std::string error;
};

// Sums every node's balance until it equals what was issued or kSettleTimeout passes (finality
// to a payee may still be in flight when the payer's flow completes).
CashCheck check_cash(const std::vector<RpcClient>& rpc, uint64_t issued) {
  CashCheck c;
  c.issued = issued;
  auto deadline = Clock::now() + kSettleTimeout;
  for (;;) {
    c.balances.assign(rpc.size(), 0);
    c.total = 0;
    c.error.clear();
    for (size_t i = 0; i < rpc.size() && c.error.empty(); ++i) {
      Result<node::CashBalances> b = rpc[i].vault_cash();
      if (!b.ok()) {
        c.error = b.error().message();
        break;
      }
      c.balances[i] = b->of(kCurrency);
      c.total += c.balances[i];
    }
    c.conserved = c.error.empty() && c.total == c.issued;
    if (c.conserved || Clock::now() >= deadline || node::stop_requested()) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// Issues coins_per_node coins of coin_amount to every node (all flows at once); the total issued.
Result<uint64_t> issue_cash(const DemoFlags& flags, const std::vector<RpcClient>& rpc) {
  std::vector<std::pair<size_t, std::string>> flows;
  for (size_t i = 0; i < rpc.size(); ++i)
    for (uint32_t k = 0; k < flags.coins_per_node; ++k) {
      FOLIO_ASSIGN_OR_RETURN(std::string id, rpc[i].cash_issue(flags.coin_amount, kCurrency));
      flows.emplace_back(i, id);
    }
  uint64_t issued = 0;
  for (auto& [i, id] : flows) {
    FOLIO_ASSIGN_OR_RETURN(FlowStatus s, rpc[i].wait_flow(id, kFlowTimeout, node::stop_requested));
    if (s.state != FlowState::kCompleted)
      return make_error(ErrorCode::kInternal, "cash issue " + id + " " +
                                                  std::string(node::to_string(s.state)) + ": " +
                                                  s.error.value_or(""));
    issued += flags.coin_amount;
  }
  return issued;
}

std::string make_temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "folio-demo-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) fail("cannot create a temporary directory");
  return std::string(buffer.data());
}

void run_demo(const DemoFlags& flags) {
  if (flags.payments > kPaymentsMax) fail("--payments is at most 1000000");
  if (flags.concurrency == 0 || flags.concurrency > kConcurrencyMax)
    fail("--concurrency is between 1 and 256");
  if (flags.amount_max == 0 || flags.amount_max > flags.coin_amount)
    fail("--amount-max is between 1 and the coin amount");
  // Human output goes to stdout, or to stderr when stdout carries the JSON summary.
  std::ostream& out = flags.json ? std::cerr : std::cout;
  bool tty = ::isatty(flags.json ? STDERR_FILENO : STDOUT_FILENO) == 1;
  node::install_stop_signal_handlers();

  bool own_dir = flags.dir.empty();
  std::string dir = own_dir ? make_temp_dir() : flags.dir;
  node::ProcessNetworkOptions options;
  options.dir = dir;
  options.shards = flags.shards;
  options.replicas = flags.replicas;
  options.folio_binary = flags.folio_binary;
  size_t process_count = options.nodes.size() + 1 + size_t{flags.shards} * flags.replicas;
  out << "Folio demo: " << options.nodes.size() << " party nodes, a sharded notary of "
      << flags.shards << " shards x " << flags.replicas
      << " replicas and the network map: " << process_count << " processes on 127.0.0.1\n"
      << "directory " << dir << "\n"
      << "starting..." << std::endl;
  auto started = Clock::now();
  Result<std::unique_ptr<node::ProcessNetwork>> started_network =
      node::ProcessNetwork::start(options);
  if (!started_network.ok())
    fail("the network did not start: " + started_network.error().message() + "\n(logs kept in " +
         dir + ")");
  std::unique_ptr<node::ProcessNetwork> network = std::move(started_network).value();
  double startup_s = std::chrono::duration<double>(Clock::now() - started).count();

  std::vector<RpcClient> rpc;
  std::vector<std::string> names;
  for (size_t i = 0; i < network->node_count(); ++i) {
    rpc.push_back(network->rpc(i));
    names.push_back(network->node_name(i));
  }
  {
    char line[64];
    std::snprintf(line, sizeof line, "%.1f s", startup_s);
    out << "all " << process_count << " processes ready in " << line << "\n";
  }
  for (size_t i = 0; i < network->node_count(); ++i)
    out << "  " << names[i] << "  rpc " << network->rpc_endpoint(i).address() << "\n";

  // 1. Every node issues cash to itself.
  out << "issuing " << flags.coins_per_node << " x " << flags.coin_amount << " " << kCurrency
      << " to each node..." << std::endl;
  Result<uint64_t> issued = issue_cash(flags, rpc);
  if (!issued.ok())
    fail("cash issue failed: " + issued.error().message() + "\n(logs kept in " + dir + ")");

  // 2. The workload, decided up front from the seed.
  uint64_t seed = flags.seed != 0 ? flags.seed : std::random_device{}();
  std::mt19937_64 prng(seed);
  std::vector<Operation> ops(flags.payments);
  size_t n = rpc.size();
  uint64_t double_spends_planned = 0;
  for (uint64_t k = 0; k < flags.payments; ++k) {
    Operation& op = ops[k];
    op.payer = prng() % n;
    op.payee = (op.payer + 1 + prng() % (n - 1)) % n;
    op.amount = 1 + prng() % flags.amount_max;
    op.double_spend = n >= 3 && flags.double_spend_every != 0 &&
                      k % flags.double_spend_every == flags.double_spend_every - 1;
    if (op.double_spend) {
      ++double_spends_planned;
      // The two recipients are the two other nodes (three nodes: exactly those).
      op.payee_b = (op.payee + 1) % n == op.payer ? (op.payee + 2) % n : (op.payee + 1) % n;
    }
  }
  out << "workload: " << flags.payments << " operations (" << flags.payments - double_spends_planned
      << " payments among random pairs, " << double_spends_planned
      << " deliberate double spends), concurrency " << flags.concurrency << ", seed " << seed
      << std::endl;

  Tally tally;
  std::atomic<uint64_t> next{0};
  auto workload_start = Clock::now();
  std::vector<std::thread> workers;
  for (uint32_t w = 0; w < flags.concurrency; ++w)
    workers.emplace_back([&] {
      for (;;) {
        uint64_t k = next.fetch_add(1);
        if (k >= ops.size() || node::stop_requested()) return;
        auto t0 = Clock::now();
        std::string error;
        Outcome outcome = run_operation(ops[k], rpc, names, &error);
        auto t1 = Clock::now();
        double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
        std::lock_guard<std::mutex> lock(tally.mu);
        ++tally.done;
        tally.last_done = std::max(tally.last_done, t1);
        switch (outcome) {
          case Outcome::kCommitted:
            ++tally.committed;
            ++tally.payments_committed;
            tally.latencies_ms.push_back(ms);
            break;
          case Outcome::kDoubleSpendOk:
            ++tally.committed;
            ++tally.double_spends_refused;
            ++tally.conflicts_refused;
            tally.latencies_ms.push_back(ms);
            break;
          case Outcome::kConflict:
            ++tally.conflicts_refused;
            ++tally.payments_refused;
            tally.latencies_ms.push_back(ms);
            break;
          case Outcome::kInsufficientFunds:
            ++tally.insufficient_funds;
            break;
          case Outcome::kFailed:
            ++tally.failed;
            break;
          case Outcome::kDoubleCommitted:
            ++tally.double_committed;
            break;
        }
        if (!error.empty() && tally.errors.size() < 5) tally.errors.push_back(error);
      }
    });
  Progress progress(out, tty, flags.payments);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(tty ? 200 : 500));
    double elapsed = std::chrono::duration<double>(Clock::now() - workload_start).count();
    std::lock_guard<std::mutex> lock(tally.mu);
    bool finished = tally.done >= ops.size() || node::stop_requested();
    if (finished) break;
    progress.update(tally, elapsed, false);
  }
  for (std::thread& t : workers) t.join();
  // From the first start to the last completion (not to when this loop noticed it).
  double workload_s = tally.done == 0
                          ? 0.0
                          : std::chrono::duration<double>(tally.last_done - workload_start).count();
  progress.update(tally, workload_s, true);
  if (node::stop_requested()) {
    out << "interrupted: stopping every process" << std::endl;
    network.reset();
    out << "directory and logs kept in " << dir << std::endl;
    throw CLI::RuntimeError(130);
  }

  // 3. Summary.
  CashCheck cash = check_cash(rpc, *issued);
  double tx_per_s = workload_s > 0 ? static_cast<double>(tally.committed) / workload_s : 0;
  double p50 = percentile(tally.latencies_ms, 0.50);
  double p99 = percentile(tally.latencies_ms, 0.99);
  char buf[256];
  out << "\nsummary\n";
  out << "  committed            " << tally.committed << " transactions ("
      << tally.payments_committed << " payments, " << tally.double_spends_refused
      << " double-spend winners)\n";
  out << "  refused as conflicts " << tally.conflicts_refused << " (" << tally.double_spends_refused
      << " of " << double_spends_planned
      << " deliberate double spends: the notary refused exactly one of the two";
  if (tally.payments_refused > 0)
    out << "; " << tally.payments_refused << " ordinary payments whose input was already spent";
  out << ")\n";
  if (tally.insufficient_funds + tally.failed + tally.double_committed > 0)
    out << "  not completed        " << tally.failed << " failed, " << tally.insufficient_funds
        << " refused for insufficient funds, " << tally.double_committed
        << " double spends committed twice\n";
  for (const std::string& e : tally.errors) out << "    " << e << "\n";
  std::snprintf(buf, sizeof buf, "  throughput           %.1f tx/s (%.1f s of workload)\n",
                tx_per_s, workload_s);
  out << buf;
  std::snprintf(buf, sizeof buf,
                "  latency              p50 %.0f ms, p99 %.0f ms (RPC start to completion)\n", p50,
                p99);
  out << buf;
  out << "  cash conserved       " << (cash.conserved ? "yes" : "NO") << ": " << cash.issued << " "
      << kCurrency << " issued, " << cash.total << " in the vaults (";
  for (size_t i = 0; i < names.size(); ++i)
    out << (i ? ", " : "") << short_name(names[i]) << " " << cash.balances[i];
  out << ")" << (cash.error.empty() ? "" : " [" + cash.error + "]") << "\n";
  out << "  cross-shard          phi places every state on a shard independently, so with "
      << flags.shards << " shards most payments (1 input, 2 outputs) touch more than one; "
      << "the RPC does not show a transaction's states, so the demo does not count them\n";
  out << std::flush;

  if (flags.json) {
    nlohmann::json j = {{"committed", tally.committed},
                        {"conflicts_refused", tally.conflicts_refused},
                        {"tx_per_s", std::round(tx_per_s * 10) / 10},
                        {"p50_ms", std::round(p50 * 10) / 10},
                        {"p99_ms", std::round(p99 * 10) / 10},
                        {"cash_conserved", cash.conserved},
                        {"operations", flags.payments},
                        {"payments_committed", tally.payments_committed},
                        {"double_spends_planned", double_spends_planned},
                        {"double_spends_refused", tally.double_spends_refused},
                        {"double_spends_committed_twice", tally.double_committed},
                        {"payments_refused", tally.payments_refused},
                        {"failed", tally.failed},
                        {"insufficient_funds", tally.insufficient_funds},
                        {"cash_issued", cash.issued},
                        {"cash_in_vaults", cash.total},
                        {"workload_s", std::round(workload_s * 100) / 100},
                        {"startup_s", std::round(startup_s * 100) / 100},
                        {"concurrency", flags.concurrency},
                        {"shards", flags.shards},
                        {"replicas_per_shard", flags.replicas},
                        {"nodes", names.size()},
                        {"seed", seed}};
    std::cout << j.dump() << std::endl;
  }

  bool ok = cash.conserved && tally.double_committed == 0;
  if (flags.keep_running) {
    out << "\nthe network keeps running (this process owns it):\n"
        << "  directory " << network->dir() << "\n";
    for (size_t i = 0; i < network->node_count(); ++i)
      out << "  " << names[i] << "  rpc http://" << network->rpc_endpoint(i).address()
          << "  user demo, password in " << network->node_password_file(i) << "\n";
    out << "  network map http://" << network->network_map_address() << "\n";
    for (const std::string& line : network->describe_processes()) out << "  " << line << "\n";
    out << "  e.g. curl -u demo:$(cat " << network->node_password_file(0) << ") http://"
        << network->rpc_endpoint(0).address() << "/api/v1/vault/cash\n"
        << "stop everything with Ctrl-C (or kill " << ::getpid() << ")" << std::endl;
    while (!node::stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    out << "stopping every process" << std::endl;
  }
  network.reset();
  if (own_dir && !flags.keep_dir && !flags.keep_running && ok) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else if (!ok || flags.keep_dir || flags.keep_running) {
    out << "directory and logs kept in " << dir << "\n";
  }
  if (!ok) {
    out << "FAILED: " << (cash.conserved ? "" : "cash was not conserved; ")
        << (tally.double_committed ? "a double spend committed twice" : "") << std::endl;
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void add_demo_commands(CLI::App& app, Groups&) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Start a whole network as real processes on 127.0.0.1 (3 party nodes, a sharded notary of "
      "2 shards x 4 replicas, the network map), run payments and double spends, print a summary");
  demo->add_option("--payments", flags->payments, "Operations in the workload (default 200)");
  demo->add_option("--concurrency", flags->concurrency, "Operations in flight (default 8)")
      ->check(CLI::Range(1u, kConcurrencyMax));
  demo->add_option("--double-spend-every", flags->double_spend_every,
                   "One operation in N is a deliberate double spend (default 20; 0: none)");
  demo->add_option("--coins-per-node", flags->coins_per_node,
                   "Cash issues per node before the payments (default 10)")
      ->check(CLI::Range(1u, 1000u));
  demo->add_option("--coin-amount", flags->coin_amount, "Amount of each issue (default 5000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1'000'000'000}));
  demo->add_option("--amount-max", flags->amount_max, "Largest payment (default 100)");
  demo->add_option("--shards", flags->shards, "Notary shards (default 2)")
      ->check(CLI::Range(1u, 4u));
  demo->add_option("--replicas", flags->replicas, "Replicas per shard, 3f+1 (default 4)")
      ->check(CLI::Range(4u, 7u));
  demo->add_option("--seed", flags->seed, "Workload seed (default random)");
  demo->add_option("--dir", flags->dir, "Bootstrap here instead of a temporary directory");
  demo->add_option("--folio", flags->folio_binary,
                   "The folio binary to run the processes with (default this one)");
  demo->add_flag("--keep-running", flags->keep_running,
                 "Leave the network up after the summary, print where it is, stop on Ctrl-C");
  demo->add_flag("--keep-dir", flags->keep_dir, "Keep the directory (logs, databases) afterwards");
  demo->add_flag("--json", flags->json,
                 "Print the summary as one JSON object on stdout (progress goes to stderr)");
  demo->callback([flags] { run_demo(*flags); });
}

}  // namespace folio::cli
