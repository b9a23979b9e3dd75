#include "node/bench_node.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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

Status bench_payments(const NodeBenchOptions& options, NodeBenchResult& out) {
  MockNetworkOptions network_options = base_options(options);
  network_options.delivery_threads = std::max<size_t>(1, options.threads);
  network_options.sqlite_synchronous_full = options.sync_full;
  MockNetwork net(network_options);
  net.add_node(kAlice);
  net.add_node(kBob);
  net.add_notary(kNotary);
  FOLIO_TRY(net.start_all());
  // Waves: Alice gets a wave's coins (10 units each, issued in transactions of 100 outputs that
  // Bob also records; not timed), then starts the wave's payments together and the network runs
  // until they are done (timed). Coin selection costs grow with the payer's number of unspent
  // coins (the vault counts the candidates on every selection), so the payer holds at most one
  // wave of coins, as a busy payer with a moderate float would.
  const ledger::Party alice = net.party(kAlice);
  const ledger::Party notary = net.party(kNotary);
  contracts::IssuedCurrency usd{{alice, {}}, "USD"};
  uint64_t batches_before = net.node(kNotary).notary()->batches();
  std::vector<flow::FlowHandle> handles;
  double elapsed = 0;
  std::clock_t cpu = 0;
  size_t issued = 0;
  for (size_t started = 0, batch = 0; started < options.payments;) {
    size_t wave = std::min(options.payments_in_flight, options.payments - started);
    for (size_t wave_issued = 0; wave_issued < wave; ++batch) {
      ledger::WireTransaction tx;
      for (size_t i = 0; i < 100 && wave_issued < wave; ++i, ++wave_issued, ++issued)
        tx.outputs.push_back(contracts::cash_output({10, usd}, alice.owning_key, notary));
      tx.commands.push_back(contracts::cash_issue(alice.owning_key));
      tx.notary = notary;
      std::memcpy(tx.salt.data(), &batch, sizeof batch);
      FOLIO_TRY(finalise(net, kAlice, tx, {kBob}));
    }
    Clock::time_point start = Clock::now();
    std::clock_t cpu_start = std::clock();
    // Started in the same turn of Alice's loop, as a busy node's RPC clients would: their first
    // steps (coin selection, signing, the notary request) commit as one group.
    net.node(kAlice).engine().hold();
    for (size_t w = 0; w < wave; ++w, ++started) {
      flows::CashPayment pay;
      pay.amount = 10;
      pay.currency = "USD";
      pay.recipient = kBob;
      auto h = net.node(kAlice).start_flow(pay);
      if (!h.ok()) {
        net.node(kAlice).engine().release();
        return h.error();
      }
      handles.push_back(*h);
    }
    net.node(kAlice).engine().release();
    net.run();
    elapsed += seconds_since(start);
    cpu += std::clock() - cpu_start;
  }
  out.payments_cpu_s = static_cast<double>(cpu) / CLOCKS_PER_SEC;
  if (options.progress) {
    uint64_t steps = 0, messages = 0;
    for (const std::string& n : {kAlice, kBob, kNotary}) {
      steps += net.node(n).engine().stats().steps_committed;
      messages += net.node(n).engine().stats().messages_accepted;
    }
    options.progress("payments: " + std::to_string(steps) + " flow steps and " +
                     std::to_string(messages) + " accepted messages on the three nodes (with "
                     "the setup's)");
  }
  for (const flow::FlowHandle& h : handles) {
    auto r = net.node(kAlice).result<ledger::TxId>(h.id);
    if (!r) return make_error(ErrorCode::kInternal, "a payment did not finish");
    if (!r->ok()) return make_error(ErrorCode::kInternal, "a payment failed: " + r->error().message());
  }
  FOLIO_ASSIGN_OR_RETURN(uint64_t bob, net.node(kBob).cash_balance("USD"));
  if (bob != 10 * options.payments)
    return make_error(ErrorCode::kInternal, "Bob holds " + std::to_string(bob));
  out.payments = options.payments;
  out.payments_threads = network_options.delivery_threads;
  out.payments_sync_full = options.sync_full;
  for (const std::string& n : {kAlice, kBob, kNotary})
    out.payments_group_commits += net.node(n).engine().stats().group_commits;
  out.payments_per_s = static_cast<double>(options.payments) / elapsed;
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
  char buffer[1024];
  std::snprintf(buffer, sizeof buffer,
                "{\n  \"payments_per_s\": %.1f,\n  \"payments\": %zu,\n  \"payments_cpu_s\": %.2f,\n"
                "  \"payments_threads\": %zu,\n  \"payments_sqlite_synchronous\": \"%s\",\n"
                "  \"payments_group_commits\": %llu,\n"
                "  \"notary_batches\": %llu,\n"
                "  \"backchain_10k_s\": %.3f,\n  \"backchain_depth\": %zu,\n"
                "  \"suspended_flows\": %llu,\n  \"suspended_flows_start_s\": %.2f,\n"
                "  \"suspended_flows_rss_mb\": %.1f,\n  \"resume_s\": %.3f,\n"
                "  \"resumed_flows\": %llu,\n  \"ed25519_verify_per_s\": %.0f\n}\n",
                payments_per_s, payments, payments_cpu_s, payments_threads,
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
