#include "node/bench_node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "contracts/cash.h"
#include "node/flows/cash_flows.h"
#include "node/flows/finality.h"
#include "node/mock_network.h"

namespace folio::node {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const std::string kAlice = "O=Alice,L=London,C=GB";
const std::string kBob = "O=Bob,L=Paris,C=FR";
const std::string kCarol = "O=Carol,L=Rome,C=IT";
const std::string kNotary = "O=Notary,L=Zurich,C=CH";

// A flow that suspends for a day: what a node holds while it waits on people and peers.
struct Hold {
  static constexpr std::string_view kName = "bench.Hold";
  uint64_t n = 0;
  FOLIO_FIELDS(n)
  flows::FlowServices* services = nullptr;
  flow::Flow<uint64_t> call(flow::FlowContext& ctx) {
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::hours(24)));
    co_return n;
  }
};

MockNetworkOptions base_options(const NodeBenchOptions& options) {
  MockNetworkOptions o;
  o.temporary_parent = options.temporary_parent;
  o.network.record = false;
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<Hold>(r, s);
  };
  return o;
}

// Records, through a root Finality flow, a transaction Alice built and signed herself.
Status finalise(MockNetwork& net, const std::string& node, const ledger::WireTransaction& tx,
                std::vector<std::string> recipients) {
  FOLIO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx,
                         flows::sign_new(net.node(node).services(), tx));
  flows::Finality f;
  f.stx = stx;
  f.recipients = std::move(recipients);
  FOLIO_ASSIGN_OR_RETURN(flow::FlowHandle h, net.node(node).start_flow(f));
  auto r = net.run_flow<flows::TransactionMessage>(node, h);
  if (!r.ok()) return r.error();
  return ok_status();
}

double measure_ed25519() {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("bench")));
  Bytes message(64, 7);
  crypto::Signature sig = key.sign(message);
  size_t n = 0;
  Clock::time_point start = Clock::now();
  while (seconds_since(start) < 0.5) {
    for (int i = 0; i < 256; ++i) n += crypto::verify(key.public_key(), message, sig) ? 1 : 0;
  }
  return static_cast<double>(n) / seconds_since(start);
}

Status bench_suspended(const NodeBenchOptions& options, NodeBenchResult& out) {
  MockNetworkOptions o = base_options(options);
  o.engine.evict_suspended = true;
  MockNetwork net(o);
  net.add_node(kAlice);
  net.add_notary(kNotary);
  FOLIO_TRY(net.start_all());
  Clock::time_point start = Clock::now();
  // Started 10,000 to a turn of Alice's loop: each turn's first steps (to the 24-hour sleep)
  // commit as one group.
  constexpr size_t kStartsPerTurn = 10'000;
  flow::FlowEngine& engine = net.node(kAlice).engine();
  for (size_t i = 0; i < options.suspended_flows; ++i) {
    if (i % kStartsPerTurn == 0) engine.hold();
    bool started = net.node(kAlice).start_flow(Hold{i}).ok();
    if (!started || (i + 1) % kStartsPerTurn == 0 || i + 1 == options.suspended_flows)
      engine.release();
    if (!started) return make_error(ErrorCode::kInternal, "could not start a flow");
    if (options.progress && (i + 1) % 100'000 == 0)
      options.progress("suspended flows started: " + std::to_string(i + 1));
  }

  out.suspended_start_s = seconds_since(start);
  out.suspended_flows = options.suspended_flows;
  out.suspended_flows_rss_mb = resident_mb();
  if (net.node(kAlice).engine().resident_frames() != 0)
    return make_error(ErrorCode::kInternal, "suspended flows kept their frames");
  if (engine.stats().steps_committed < options.suspended_flows)
    return make_error(ErrorCode::kInternal, "not every flow reached its sleep");
  start = Clock::now();
  FOLIO_TRY(net.restart(kAlice));
  out.resume_s = seconds_since(start);
  uint64_t running = 0;
  for (const flow::FlowInfo& f : net.node(kAlice).engine().flows())
    if (f.status == flow::FlowStatus::kRunning) ++running;
  out.resumed_flows = running;
  return ok_status();
}

// Payments as a closed loop with a window: `payments_window` CashPayments are kept outstanding
// from Alice to Bob; each completion lets a new one start, in the same turn of Alice's loop as the
// others the same delivery completed (their first steps commit as one group), so the payer, notary
// and payee stages of different payments overlap. Only completions between the warm-up's end and
// the last start are counted (neither the filling nor the draining of the window).
//
// Coins: Alice holds a float of 10-unit coins (issued in transactions of 100 outputs that Bob also
// records). A payment starts only when a recorded coin is free (issued and recorded minus payments
// started), so coin selection never starves; the float is topped up by issuance flows started in
// the loop (they run during the measured interval, about one 100-output transaction per 100
// payments). Coin selection costs grow with the payer's number of unspent coins (the vault counts
// the candidates on every selection), so the free float stays near half the window plus one
// issue: enough for the completions of a round or two (the window is filled in cohorts).
Status bench_payments(const NodeBenchOptions& options, NodeBenchResult& out) {
  constexpr size_t kIssueOutputs = 100;
  const size_t window = std::max<size_t>(1, options.payments_window);
  const size_t warmup = options.payments_warmup;
  if (warmup + window >= options.payments)
    return make_error(ErrorCode::kInvalidArgument,
                      "payments (" + std::to_string(options.payments) +
                          ") must exceed the warm-up plus the window (" +
                          std::to_string(warmup + window) + ")");
  MockNetworkOptions network_options = base_options(options);
  network_options.delivery_threads = std::max<size_t>(1, options.threads);
  network_options.sqlite_synchronous_full = options.sync_full;
  network_options.interleave_rounds = true;
  MockNetwork net(network_options);
  net.add_node(kAlice);
  net.add_node(kBob);
  net.add_notary(kNotary);
  // Alice's completed flows, reported on whichever thread serves her; read on this one between
  // delivery rounds.
  std::mutex completed_mutex;
  std::vector<std::pair<flow::FlowId, bool>> completed_flows;  // id, ok
  net.config(kAlice).engine.on_completed = [&](const flow::FlowId& id, const Result<Bytes>& r) {
    std::lock_guard<std::mutex> lock(completed_mutex);
    completed_flows.emplace_back(id, r.ok());
  };
  FOLIO_TRY(net.start_all());
  const ledger::Party alice = net.party(kAlice);
  const ledger::Party notary = net.party(kNotary);
  contracts::IssuedCurrency usd{{alice, {}}, "USD"};
  Node& payer = net.node(kAlice);
  flow::FlowEngine& engine = payer.engine();

  uint64_t issue_batch = 0;
  auto issue_transaction = [&]() {
    ledger::WireTransaction tx;
    for (size_t i = 0; i < kIssueOutputs; ++i)
      tx.outputs.push_back(contracts::cash_output({10, usd}, alice.owning_key, notary));
    tx.commands.push_back(contracts::cash_issue(alice.owning_key));
    tx.notary = notary;
    std::memcpy(tx.salt.data(), &issue_batch, sizeof issue_batch);
    ++issue_batch;
    return tx;
  };
  // The initial float (not timed).
  const size_t float_target = window / 2 + kIssueOutputs;
  size_t coins_issued = 0;  // recorded by Alice
  while (coins_issued < float_target) {
    FOLIO_TRY(finalise(net, kAlice, issue_transaction(), {kBob}));
    coins_issued += kIssueOutputs;
  }
  {
    std::lock_guard<std::mutex> lock(completed_mutex);
    completed_flows.clear();
  }

  uint64_t batches_before = net.node(kNotary).notary()->batches();
  std::map<flow::FlowId, bool> payments;   // started payment -> completed
  std::map<flow::FlowId, bool> issues;     // started issuance -> completed
  size_t started = 0, completed = 0, coins_issuing = 0;
  constexpr size_t kFillRounds = 4;  // about the rounds a payment takes (docs/node.md)
  bool filled = false;
  int64_t last_fill_ms = -1;
  size_t coin_waits = 0;  // turns that started fewer payments than the window allowed: no free coin
  size_t measured_from = 0, measured_to = 0;
  bool measuring = false, measured = false;
  Clock::time_point t0, t1;
  std::clock_t cpu0 = 0, cpu1 = 0;
  Status failure = ok_status();

  // Collects completions and refills the window: called between delivery rounds.
  auto turn_body = [&]() {
    if (!failure.ok()) return;
    std::vector<std::pair<flow::FlowId, bool>> done;
    {
      std::lock_guard<std::mutex> lock(completed_mutex);
      done.swap(completed_flows);
    }
    for (const auto& [id, ok] : done) {
      auto p = payments.find(id);
      auto i = issues.find(id);
      if (p == payments.end() && i == issues.end()) continue;  // a sub-flow or responder
      if (!ok) {
        failure = make_error(ErrorCode::kInternal, p != payments.end() ? "a payment failed"
                                                                       : "an issuance failed");
        return;
      }
      bool& flag = p != payments.end() ? p->second : i->second;
      if (flag) {
        failure = make_error(ErrorCode::kInternal, "a flow completed twice");
        return;
      }
      flag = true;
      if (p != payments.end()) {
        ++completed;
      } else {
        coins_issuing -= kIssueOutputs;
        coins_issued += kIssueOutputs;
      }
    }
    if (!measuring && completed >= warmup) {
      measuring = true;
      measured_from = completed;
      t0 = Clock::now();
      cpu0 = std::clock();
    }
    size_t outstanding = started - completed;
    size_t free_coins = coins_issued - started;
    size_t wanted = std::min(window - std::min(window, outstanding), options.payments - started);
    // Filling the window: a share per clock round, so that the payments reach each stage in
    // several cohorts (their stages then overlap for good: a completion is replaced at once).
    if (!filled) {
      // Free-running, the clock stands still: a share per turn of Alice's thread instead.
      if (!options.free_running && net.clock().now_ms() == last_fill_ms) wanted = 0;
      wanted = std::min(wanted, (window + kFillRounds - 1) / kFillRounds);
    }
    size_t n = std::min(wanted, free_coins);
    if (n < wanted) ++coin_waits;
    bool top_up = started + n < options.payments &&
                  coins_issued + coins_issuing - (started + n) < float_target;
    if (n == 0 && !top_up) return;
    // Started in the same turn of Alice's loop, as a busy node's RPC clients would: their first
    // steps (coin selection, signing, the notary request) commit as one group.
    engine.hold();
    for (size_t k = 0; k < n; ++k) {
      flows::CashPayment pay;
      pay.amount = 10;
      pay.currency = "USD";
      pay.recipient = kBob;
      auto h = payer.start_flow(pay);
      if (!h.ok()) {
        failure = h.error();
        break;
      }
      payments.emplace(h->id, false);
      ++started;
    }
    while (failure.ok() && started < options.payments &&
           coins_issued + coins_issuing - started < float_target) {
      auto stx = flows::sign_new(payer.services(), issue_transaction());
      if (!stx.ok()) {
        failure = stx.error();
        break;
      }
      flows::Finality f;
      f.stx = *stx;
      f.recipients = {kBob};
      auto h = payer.start_flow(f);
      if (!h.ok()) {
        failure = h.error();
        break;
      }
      issues.emplace(h->id, false);
      coins_issuing += kIssueOutputs;
    }
    engine.release();
    if (n > 0 && !filled) {
      last_fill_ms = net.clock().now_ms();
      filled = started - completed >= window || started == options.payments;
    }
    if (measuring && !measured && started == options.payments) {
      measured = true;
      measured_to = completed;
      t1 = Clock::now();
      cpu1 = std::clock();
    }
  };
  // Progress as seen by this thread while the nodes' threads run free.
  std::atomic<size_t> moves{0};
  std::atomic<bool> finished{false};
  auto turn = [&]() {
    turn_body();
    moves.store(completed + started);
    if (!failure.ok() || completed >= options.payments) finished.store(true);
  };
  // Between rounds (this thread) and right after each of Alice's batches (on the thread serving
  // her): completions are replaced in the turn that saw them, by Alice herself.
  net.after_delivery = turn;
  net.after_batch[kAlice] = turn;
  turn();
  if (options.free_running) {
    // Alice's thread runs the turns; this one only watches for the end or a stall.
    net.start_free_running();
    size_t last_moves = moves.load();
    Clock::time_point last_move = Clock::now();
    bool stalled = false;
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      size_t now_moves = moves.load();
      if (now_moves != last_moves) {
        last_moves = now_moves;
        last_move = Clock::now();
      } else if (seconds_since(last_move) > 60) {
        stalled = true;
        break;
      }
    }
    net.stop_free_running();
    if (stalled && failure.ok()) {
      failure = make_error(ErrorCode::kInternal,
                           "payments stopped moving: " + std::to_string(completed) + " of " +
                               std::to_string(started) + " started completed");
    }
  }
  size_t idle_runs = 0;
  while (!options.free_running && failure.ok() && completed < options.payments) {
    size_t before = completed + started;
    net.run();
    turn();
    idle_runs = completed + started == before ? idle_runs + 1 : 0;
    if (idle_runs > 3) {
      failure = make_error(ErrorCode::kInternal,
                           "payments stopped moving: " + std::to_string(completed) + " of " +
                               std::to_string(started) + " started completed");
    }
  }
  net.after_delivery = nullptr;
  net.after_batch.clear();
  FOLIO_TRY(failure);
  if (!measured || measured_to <= measured_from)
    return make_error(ErrorCode::kInternal, "no payment completed in the measured interval");
  if (options.progress) {
    uint64_t steps = 0, messages = 0;
    for (const std::string& n : {kAlice, kBob, kNotary}) {
      steps += net.node(n).engine().stats().steps_committed;
      messages += net.node(n).engine().stats().messages_accepted;
    }
    options.progress("payments: " + std::to_string(steps) + " flow steps and " +
                     std::to_string(messages) + " accepted messages on the three nodes (with "
                     "the setup's); " + std::to_string(issues.size()) +
                     " issuance flows in the loop; " + std::to_string(coin_waits) +
                     " turns waited for a free coin");
  }
  // Every payment completed exactly once, successfully, and the balances add up.
  if (payments.size() != options.payments)
    return make_error(ErrorCode::kInternal, "started " + std::to_string(payments.size()) +
                                                " payments");
  for (const auto& [id, done] : payments) {
    auto r = payer.result<ledger::TxId>(id);
    if (!done || !r) return make_error(ErrorCode::kInternal, "a payment did not finish");
    if (!r->ok()) return make_error(ErrorCode::kInternal, "a payment failed: " + r->error().message());
  }
  for (const auto& [id, done] : issues)
    if (!done) return make_error(ErrorCode::kInternal, "an issuance did not finish");
  FOLIO_ASSIGN_OR_RETURN(uint64_t bob, net.node(kBob).cash_balance("USD"));
  if (bob != 10 * options.payments)
    return make_error(ErrorCode::kInternal, "Bob holds " + std::to_string(bob));
  FOLIO_ASSIGN_OR_RETURN(uint64_t alice_balance, payer.cash_balance("USD"));
  if (alice_balance != 10 * (coins_issued - options.payments))
    return make_error(ErrorCode::kInternal, "Alice holds " + std::to_string(alice_balance) +
                                                ", not " +
                                                std::to_string(10 * (coins_issued - options.payments)));
  out.payments = options.payments;
  out.payments_measured = measured_to - measured_from;
  out.payments_window = window;
  out.payments_threads = options.free_running ? 3 : network_options.delivery_threads;
  out.payments_free_running = options.free_running;
  out.payments_sync_full = options.sync_full;
  for (const std::string& n : {kAlice, kBob, kNotary})
    out.payments_group_commits += net.node(n).engine().stats().group_commits;
  double elapsed = std::chrono::duration<double>(t1 - t0).count();
  out.payments_per_s = static_cast<double>(out.payments_measured) / elapsed;
  out.payments_cpu_s = static_cast<double>(cpu1 - cpu0) / CLOCKS_PER_SEC;
  out.notary_batches = net.node(kNotary).notary()->batches() - batches_before;
  return ok_status();
}

Status bench_backchain(const NodeBenchOptions& options, NodeBenchResult& out) {
  MockNetwork net(base_options(options));
  net.add_node(kAlice);
  net.add_node(kCarol);
  net.add_notary(kNotary);
  FOLIO_TRY(net.start_all());
  Node& alice = net.node(kAlice);
  const ledger::Party me = alice.identity();
  const ledger::Party notary = net.party(kNotary);
  crypto::PrivateKey key = net.identity_key(kAlice);
  notary::SingleNotary& single = net.node(kNotary).notary()->notary();

  // A chain: one issue, then `depth - 1` moves of the same coin from Alice to Alice, notarised in
  // batches straight through the notary and recorded in Alice's store and vault.
  contracts::IssuedCurrency usd{{me, {}}, "USD"};
  std::vector<ledger::SignedTransaction> chain;
  ledger::WireTransaction issue;
  issue.outputs.push_back(contracts::cash_output({100, usd}, me.owning_key, notary));
  issue.commands.push_back(contracts::cash_issue(me.owning_key));
  issue.notary = notary;
  chain.push_back(ledger::SignedTransaction{issue, {ledger::sign_transaction(key, issue.id())}});
  std::vector<std::optional<notary::NotarisationCertificate>> certificates{std::nullopt};
  for (size_t i = 1; i < options.backchain_depth; ++i) {
    ledger::WireTransaction move;
    move.inputs.push_back(ledger::StateRef{chain.back().id(), 0});
    move.outputs.push_back(contracts::cash_output({100, usd}, me.owning_key, notary));
    move.commands.push_back(contracts::cash_move({me.owning_key}));
    move.notary = notary;
    std::memcpy(move.salt.data(), &i, sizeof i);
    chain.push_back(ledger::SignedTransaction{move, {ledger::sign_transaction(key, move.id())}});
  }
  for (size_t first = 1; first < chain.size(); first += 4000) {
    std::vector<notary::NotarisationRequest> requests;
    for (size_t i = first; i < std::min(chain.size(), first + 4000); ++i)
      requests.push_back(notary::make_request(notary::non_validating_payload(chain[i].tx), key));
    FOLIO_ASSIGN_OR_RETURN(std::vector<notary::NotarisationResponse> responses,
                           single.process_batch(requests));
    for (const notary::NotarisationResponse& r : responses) {
      if (!r.notarised()) return make_error(ErrorCode::kInternal, r.refusal().describe());
      certificates.push_back(r.certificate());
    }
  }
  for (size_t first = 0; first < chain.size(); first += 1000) {
    FOLIO_TRY(alice.database().transact([&](storage::Session& s) -> Status {
      for (size_t i = first; i < std::min(chain.size(), first + 1000); ++i) {
        FOLIO_TRY(alice.transactions().record(s, chain[i], certificates[i]));
        auto u = alice.vault().record(s, chain[i], alice.services().relevance(),
                                      ledger::Timestamp(static_cast<int64_t>(i)));
        if (!u.ok()) return u.error();
      }
      return ok_status();
    }));
  }
  if (options.progress) options.progress("back-chain built: " + std::to_string(chain.size()));
  net.network().clear_deliveries();
  flows::CashPayment pay;
  pay.amount = 100;
  pay.currency = "USD";
  pay.recipient = kCarol;
  Clock::time_point start = Clock::now();
  FOLIO_ASSIGN_OR_RETURN(flow::FlowHandle h, alice.start_flow(pay));
  auto r = net.run_flow<ledger::TxId>(kAlice, h);
  out.backchain_s = seconds_since(start);
  if (!r.ok()) return r.error();
  FOLIO_ASSIGN_OR_RETURN(int64_t carol_txs, net.node(kCarol).transactions().count());
  if (static_cast<size_t>(carol_txs) != chain.size() + 1)
    return make_error(ErrorCode::kInternal, "Carol holds " + std::to_string(carol_txs) +
                                                " transactions");
  out.backchain_depth = chain.size();
  return ok_status();
}

}  // namespace

double resident_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      double kb = 0;
      fields >> kb;
      return kb / 1024.0;
    }
  }
  return 0;
}

std::string NodeBenchResult::to_json() const {
  char buffer[2048];
  std::snprintf(buffer, sizeof buffer,
                "{\n  \"payments_per_s\": %.1f,\n  \"payments\": %zu,\n  \"payments_measured\": %zu,\n"
                "  \"payments_window\": %zu,\n  \"payments_cpu_s\": %.2f,\n"
                "  \"payments_threads\": %zu,\n  \"payments_free_running\": %s,\n"
                "  \"payments_sqlite_synchronous\": \"%s\",\n"
                "  \"payments_group_commits\": %llu,\n"
                "  \"notary_batches\": %llu,\n"
                "  \"backchain_10k_s\": %.3f,\n  \"backchain_depth\": %zu,\n"
                "  \"suspended_flows\": %llu,\n  \"suspended_flows_start_s\": %.2f,\n"
                "  \"suspended_flows_rss_mb\": %.1f,\n  \"resume_s\": %.3f,\n"
                "  \"resumed_flows\": %llu,\n  \"ed25519_verify_per_s\": %.0f\n}\n",
                payments_per_s, payments, payments_measured, payments_window, payments_cpu_s,
                payments_threads, payments_free_running ? "true" : "false",
                payments_sync_full ? "full" : "normal",
                static_cast<unsigned long long>(payments_group_commits),
                static_cast<unsigned long long>(notary_batches),
                backchain_s, backchain_depth, static_cast<unsigned long long>(suspended_flows),
                suspended_start_s, suspended_flows_rss_mb, resume_s,
                static_cast<unsigned long long>(resumed_flows), ed25519_verify_per_s);
  return buffer;
}

Result<NodeBenchResult> run_node_bench(const NodeBenchOptions& options) {
  NodeBenchResult out;
  out.ed25519_verify_per_s = measure_ed25519();
  // Suspended flows first, so that the resident memory is theirs rather than the heap left behind
  // by the other phases.
  if (options.suspended_flows > 0) FOLIO_TRY(bench_suspended(options, out));
  if (options.progress) options.progress("suspended flows done");
  if (options.payments > 0) FOLIO_TRY(bench_payments(options, out));
  if (options.progress) options.progress("payments done");
  if (options.backchain_depth > 1) FOLIO_TRY(bench_backchain(options, out));
  return out;
}

}  // namespace folio::node
