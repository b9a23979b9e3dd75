#include "notary/replica_bench.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "notary/replica_launcher.h"
#include "notary/replica_wire.h"

namespace folio::notary {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 if unreadable.
double cpu_seconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  if (!std::getline(in, line)) return 0;
  size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 1));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // fields 14 and 15: utime, stime
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<double>(utime + stime) / static_cast<double>(hz) : 0;
}

struct CpuSample {
  double replicas = 0;  // every replica process of the network, together
  double client = 0;    // this process
  Clock::time_point at = Clock::now();
};

CpuSample sample_cpu(LocalNetwork& net) {
  CpuSample s;
  for (uint32_t shard = 0; shard < net.shards(); ++shard)
    for (uint32_t i = 0; i < net.replicas(); ++i) {
      const ChildProcess& child = net.process(shard, i);
      if (child.running())
        s.replicas += cpu_seconds("/proc/" + std::to_string(child.pid()) + "/stat");
    }
  s.client = cpu_seconds("/proc/self/stat");
  s.at = Clock::now();
  return s;
}

// CPU microseconds per unit of work between two samples, and cores used.
struct CpuCost {
  double replica_us = 0;
  double client_us = 0;
  double cores = 0;
};

CpuCost cpu_cost(const CpuSample& a, const CpuSample& b, uint64_t units) {
  CpuCost c;
  double wall = std::chrono::duration<double>(b.at - a.at).count();
  if (units > 0) {
    c.replica_us = (b.replicas - a.replicas) * 1e6 / static_cast<double>(units);
    c.client_us = (b.client - a.client) * 1e6 / static_cast<double>(units);
  }
  if (wall > 0) c.cores = (b.replicas - a.replicas + b.client - a.client) / wall;
  return c;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1));
  return v[i];
}

double measure_verify_per_s() {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(FixedBytes<32>{});
  Bytes message(128, 0x42);
  crypto::Signature sig = key.sign(message);
  const int n = 3000;
  auto start = Clock::now();
  int good = 0;
  for (int i = 0; i < n; ++i) good += crypto::verify(key.public_key(), message, sig) ? 1 : 0;
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  return good == n && s > 0 ? n / s : 0;
}

std::string work_dir(const NetworkBenchOptions& o, const std::string& part) {
  fs::path base = o.work_dir.empty() ? fs::temp_directory_path() : fs::path(o.work_dir);
  fs::path p = base / ("folio-bench-network-" + std::to_string(::getpid()) + "-" + part);
  std::error_code ec;
  fs::remove_all(p, ec);
  fs::create_directories(p);
  return p.string();
}

// (a) Raw ordering.
Status run_raw(const NetworkBenchOptions& o, NetworkBenchResult& result) {
  LocalNetworkOptions ln;
  ln.bootstrap.dir = work_dir(o, "raw");
  ln.bootstrap.nodes = {"O=Bench Client, L=London, C=GB"};
  ln.bootstrap.notary = identity::NotaryKind::kBft;
  ln.bootstrap.replicas = 4;
  ln.bootstrap.genesis_states = 0;
  ln.folio_binary = o.folio_binary;
  ln.replica_args = {"--batch", std::to_string(o.batch)};
  if (o.no_fsync) ln.replica_args.push_back("--no-fsync");
  if (o.reliable_messages) ln.replica_args.push_back("--reliable-messages");
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<LocalNetwork> net, LocalNetwork::start(ln));
  if (!net->wait_all([](const ReplicaStatus& s) { return s.committed_height > 0; },
                     std::chrono::seconds(60)))
    return make_error(ErrorCode::kTimeout, "raw: replicas did not start committing");

  std::mutex mutex;
  std::unordered_map<consensus::CommandId, Clock::time_point> pending;  // GUARDED_BY(mutex)
  std::vector<double> latencies;                                        // GUARDED_BY(mutex)
  std::atomic<uint64_t> committed{0};
  std::atomic<bool> measuring{false};
  auto on_committed = [&](const net::Envelope& e) {
    auto batch = codec::decode_from_bytes<RawCommitted>(e.payload, wire_limits());
    if (!batch.ok()) return;
    auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mutex);
    for (const consensus::CommandId& id : batch->ids) {
      auto it = pending.find(id);
      if (it == pending.end()) continue;
      if (measuring.load())
        latencies.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      pending.erase(it);
      committed.fetch_add(1);
    }
  };
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<NetworkClient> client,
                         NetworkClient::open(net->files().node_configs[0], {}, on_committed,
                                             !o.reliable_messages));
  const auto& names = client->replica_names()[0];
  MessageIds ids;
  uint64_t counter = 0;
  Bytes prefix(16);
  randombytes_buf(prefix.data(), prefix.size());
  auto make_command = [&] {
    Bytes c = prefix;
    for (int k = 0; k < 8; ++k) c.push_back(static_cast<uint8_t>(counter >> (8 * k)));
    ++counter;
    c.resize(o.command_bytes, 0x5a);
    return c;
  };
  auto warmup_end = Clock::now() + std::chrono::milliseconds(
                                       static_cast<int64_t>(std::min(2.0, o.seconds / 3) * 1000));
  auto end = warmup_end + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000));
  uint64_t committed_at_start = 0;
  bool started = false;
  CpuSample cpu_start;
  while (Clock::now() < end) {
    if (!started && Clock::now() >= warmup_end) {
      started = true;
      committed_at_start = committed.load();
      measuring.store(true);
      cpu_start = sample_cpu(*net);
    }
    std::vector<Bytes> batch;
    {
      std::lock_guard<std::mutex> lock(mutex);
      size_t room = o.outstanding > pending.size() ? o.outstanding - pending.size() : 0;
      room = std::min<size_t>(room, o.batch);
      auto now = Clock::now();
      for (size_t k = 0; k < room; ++k) {
        Bytes c = make_command();
        pending.emplace(consensus::command_id(c), now);
        batch.push_back(std::move(c));
      }
    }
    if (batch.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    for (uint32_t i = 0; i < names.size(); ++i) {
      net::Envelope e;
      e.id = ids.next();
      e.recipient = names[i];
      e.topic = std::string(kTopicRawSubmit);
      e.payload = codec::encode_to_bytes(RawSubmit{batch, i == 0});
      FOLIO_TRY(client->transport().send(std::move(e)));
    }
  }
  uint64_t measured = committed.load() - committed_at_start;
  CpuCost cost = cpu_cost(cpu_start, sample_cpu(*net), measured);
  result.raw_replica_cpu_us_per_command = cost.replica_us;
  result.raw_client_cpu_us_per_command = cost.client_us;
  result.raw_cpu_cores_used = cost.cores;
  client.reset();
  net.reset();
  std::error_code ec;
  fs::remove_all(ln.bootstrap.dir, ec);
  result.raw_commands_per_s = static_cast<double>(measured) / o.seconds;
  std::lock_guard<std::mutex> lock(mutex);
  result.raw_p50_ms = percentile(latencies, 0.5);
  result.raw_p99_ms = percentile(latencies, 0.99);
  return ok_status();
}

// (b) and (c): notarised payments.
struct TxRun {
  double per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cross_fraction = 0;
  uint64_t aborted = 0;
  CpuCost cpu;
};

Result<TxRun> run_payments(const NetworkBenchOptions& o, uint32_t shards) {
  // Enough genesis states for a generous rate over warm-up plus measurement.
  // Payments are prepared (signed, proved) before the clock starts; a run that uses them all
  // ends early and its rate is taken over the time it ran.
  uint64_t states = static_cast<uint64_t>(o.tx_rate_max * (o.seconds + 2)) + o.tx_outstanding;
  LocalNetworkOptions ln;
  ln.bootstrap.dir = work_dir(o, "tx" + std::to_string(shards));
  ln.bootstrap.nodes = {"O=Bench Client, L=London, C=GB"};
  ln.bootstrap.notary = shards == 1 ? identity::NotaryKind::kBft : identity::NotaryKind::kSharded;
  ln.bootstrap.shards = shards;
  ln.bootstrap.replicas = 4;
  ln.bootstrap.genesis_states = states;
  ln.bootstrap.genesis_outputs_per_transaction = 50;
  ln.folio_binary = o.folio_binary;
  // The client is alive: replicas should not start managing sessions that are merely queued
  // (with latency near the default takeover delay under saturation, they would add load).
  ln.replica_args = {"--takeover-ms", "10000"};
  if (o.no_fsync) ln.replica_args.push_back("--no-fsync");
  if (o.reliable_messages) ln.replica_args.push_back("--reliable-messages");
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<LocalNetwork> net, LocalNetwork::start(ln));

  // Payments prepared (signed, proved) before the clock starts, while the replicas start.
  FOLIO_ASSIGN_OR_RETURN(ProcessConfig config, load_process_config(net->files().node_configs[0]));
  FOLIO_ASSIGN_OR_RETURN(GenesisSpec spec, load_genesis(config.genesis));
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey owner,
                         load_genesis_owner_key(net->files().genesis_owner_key_path));
  std::vector<ledger::WireTransaction> genesis = genesis_transactions(spec);
  crypto::PrivateKey payee = crypto::PrivateKey::ed25519(FixedBytes<32>{});
  std::vector<Payment> payments;
  payments.reserve(states);
  uint64_t cross = 0;
  for (size_t t = 0; t < genesis.size(); ++t) {
    ledger::TxId id = genesis[t].id();
    for (uint32_t i = 0; i < genesis[t].outputs.size(); ++i) {
      payments.push_back(pay_genesis_state(spec, genesis[t], id, i, owner, payee.public_key(), 1));
      const auto& tx = payments.back().stx.tx;
      if (shards > 1 &&
          sbac::concerned_shards(tx.id(), tx.inputs, tx.references, 1, shards).size() > 1)
        ++cross;
    }
  }
  if (!net->wait_all([](const ReplicaStatus& s) { return s.committed_height > 0; },
                     std::chrono::seconds(90)))
    return make_error(ErrorCode::kTimeout, "replicas did not start committing");
  ShardedClientOptions co;
  co.pending_max = 1u << 20;
  // Resends and status queries while a transaction is merely queued behind others add load that
  // delays everything further: under saturation, wait longer before resending.
  // Every tick visits every coordinator in flight: tick every 50 ms. Resend after 8 s: on loopback
  // with a live client nothing is lost, and under saturation a resend re-executes the binding
  // checks at every replica (more load, later answers, more resends).
  co.tick_ms = 50;
  co.resend_ticks = 160;
  co.threads = o.client_threads;
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<NetworkClient> client,
                         NetworkClient::open(net->files().node_configs[0], co, nullptr,
                                             !o.reliable_messages));

  // The S-BAC requests (ids, prepare commands, bindings) are built before the clock starts too.
  std::vector<ShardedNotaryClient::Request> requests;
  requests.reserve(payments.size());
  for (const Payment& p : payments) requests.push_back(client->notary().prepare(p.stx, p.proved));
  payments.clear();
  payments.shrink_to_fit();
  std::mutex mutex;
  std::vector<double> latencies;  // GUARDED_BY(mutex)
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> aborted{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<bool> measuring{false};
  size_t next = 0;
  auto warmup_end = Clock::now() + std::chrono::milliseconds(
                                       static_cast<int64_t>(std::min(2.0, o.seconds / 3) * 1000));
  auto end = warmup_end + std::chrono::milliseconds(static_cast<int64_t>(o.seconds * 1000));
  uint64_t done_at_start = 0;
  bool started = false;
  std::cerr << "bench network: " << requests.size() << " payments prepared, measuring\n";
  Clock::time_point measure_start = end;
  CpuSample cpu_start;
  while (Clock::now() < end && next < requests.size()) {
    if (!started && Clock::now() >= warmup_end) {
      started = true;
      done_at_start = done.load();
      measuring.store(true);
      measure_start = Clock::now();
      cpu_start = sample_cpu(*net);
    }
    if (in_flight.load() >= o.tx_outstanding) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    ShardedNotaryClient::Request& request = requests[next++];
    in_flight.fetch_add(1);
    auto t0 = Clock::now();
    client->notary().submit(std::move(request), [&, t0](const ledger::TxId&,
                                                        Result<NotarisationCertificate> r) {
      if (r.ok()) {
        done.fetch_add(1);
        if (measuring.load()) {
          std::lock_guard<std::mutex> lock(mutex);
          latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
      } else {
        aborted.fetch_add(1);
      }
      in_flight.fetch_sub(1);
    });
  }
  TxRun run;
  double measured_s = std::chrono::duration<double>(Clock::now() - measure_start).count();
  uint64_t measured = done.load() - done_at_start;
  run.per_s = started && measured_s > 0 ? static_cast<double>(measured) / measured_s : 0;
  if (started) run.cpu = cpu_cost(cpu_start, sample_cpu(*net), measured);
  run.aborted = aborted.load();
  run.cross_fraction = requests.empty() ? 0 : static_cast<double>(cross) / requests.size();
  client.reset();  // joins the client's thread: no callback runs after this
  net.reset();
  std::error_code ec;
  fs::remove_all(ln.bootstrap.dir, ec);
  run.p50_ms = percentile(latencies, 0.5);
  run.p99_ms = percentile(latencies, 0.99);
  return run;
}

}  // namespace

std::string NetworkBenchResult::json() const {
  std::ostringstream j;
  j.precision(6);
  j << "{\n"
    << "  \"raw_commands_per_s\": " << raw_commands_per_s << ",\n"
    << "  \"raw_p50_ms\": " << raw_p50_ms << ",\n"
    << "  \"raw_p99_ms\": " << raw_p99_ms << ",\n"
    << "  \"raw_replica_cpu_us_per_command\": " << raw_replica_cpu_us_per_command << ",\n"
    << "  \"raw_client_cpu_us_per_command\": " << raw_client_cpu_us_per_command << ",\n"
    << "  \"raw_cpu_cores_used\": " << raw_cpu_cores_used << ",\n"
    << "  \"notarised_tx_per_s_1shard\": " << notarised_tx_per_s_1shard << ",\n"
    << "  \"p50_ms_1shard\": " << p50_ms_1shard << ",\n"
    << "  \"p99_ms_1shard\": " << p99_ms_1shard << ",\n"
    << "  \"aborted_1shard\": " << aborted_1shard << ",\n"
    << "  \"replica_cpu_us_per_tx_1shard\": " << replica_cpu_us_per_tx_1shard << ",\n"
    << "  \"client_cpu_us_per_tx_1shard\": " << client_cpu_us_per_tx_1shard << ",\n"
    << "  \"cpu_cores_used_1shard\": " << cpu_cores_used_1shard << ",\n"
    << "  \"notarised_tx_per_s_2shards\": " << notarised_tx_per_s_2shards << ",\n"
    << "  \"p50_ms_2shards\": " << p50_ms_2shards << ",\n"
    << "  \"p99_ms_2shards\": " << p99_ms_2shards << ",\n"
    << "  \"cross_shard_fraction_2shards\": " << cross_shard_fraction_2shards << ",\n"
    << "  \"aborted_2shards\": " << aborted_2shards << ",\n"
    << "  \"replica_cpu_us_per_tx_2shards\": " << replica_cpu_us_per_tx_2shards << ",\n"
    << "  \"client_cpu_us_per_tx_2shards\": " << client_cpu_us_per_tx_2shards << ",\n"
    << "  \"cpu_cores_used_2shards\": " << cpu_cores_used_2shards << ",\n"
    << "  \"ed25519_verify_per_s\": " << ed25519_verify_per_s << ",\n"
    << "  \"ed25519_verify_per_s_min\": " << ed25519_verify_per_s_min << ",\n"
    << "  \"seconds\": " << seconds << ",\n"
    << "  \"replica_fsync\": " << (replica_fsync ? "true" : "false") << ",\n"
    << "  \"reliable_messages\": " << (reliable_messages ? "true" : "false") << ",\n"
    << "  \"client_threads\": " << client_threads << ",\n"
    << "  \"load_average_start\": " << load_average_start << ",\n"
    << "  \"load_average_end\": " << load_average_end << "\n"
    << "}\n";
  return j.str();
}

Result<NetworkBenchResult> run_network_bench(const NetworkBenchOptions& o) {
  if (sodium_init() < 0) return make_error(ErrorCode::kInternal, "libsodium");
  NetworkBenchResult r;
  r.seconds = o.seconds;
  r.replica_fsync = !o.no_fsync;
  r.reliable_messages = o.reliable_messages;
  r.client_threads = o.client_threads;
  r.load_average_start = load_average();
  // One core's Ed25519 rate, sampled before each part and at the end: on a shared machine it says
  // how much of a core the processes got; the mean is reported, the lowest beside it.
  std::vector<double> verify_rates{measure_verify_per_s()};
  if (o.raw) {
    std::cerr << "bench network: (a) raw ordering, 4 replica processes\n";
    FOLIO_TRY(run_raw(o, r));
  }
  if (o.one_shard) {
    verify_rates.push_back(measure_verify_per_s());
    std::cerr << "bench network: (b) notarised payments, 1 shard of 4 processes\n";
    FOLIO_ASSIGN_OR_RETURN(TxRun run, run_payments(o, 1));
    r.notarised_tx_per_s_1shard = run.per_s;
    r.p50_ms_1shard = run.p50_ms;
    r.p99_ms_1shard = run.p99_ms;
    r.aborted_1shard = run.aborted;
    r.replica_cpu_us_per_tx_1shard = run.cpu.replica_us;
    r.client_cpu_us_per_tx_1shard = run.cpu.client_us;
    r.cpu_cores_used_1shard = run.cpu.cores;
  }
  if (o.two_shards) {
    verify_rates.push_back(measure_verify_per_s());
    std::cerr << "bench network: (c) notarised payments, 2 shards of 4 processes\n";
    FOLIO_ASSIGN_OR_RETURN(TxRun run, run_payments(o, 2));
    r.notarised_tx_per_s_2shards = run.per_s;
    r.p50_ms_2shards = run.p50_ms;
    r.p99_ms_2shards = run.p99_ms;
    r.cross_shard_fraction_2shards = run.cross_fraction;
    r.aborted_2shards = run.aborted;
    r.replica_cpu_us_per_tx_2shards = run.cpu.replica_us;
    r.client_cpu_us_per_tx_2shards = run.cpu.client_us;
    r.cpu_cores_used_2shards = run.cpu.cores;
  }
  verify_rates.push_back(measure_verify_per_s());
  double sum = 0;
  for (double v : verify_rates) sum += v;
  r.ed25519_verify_per_s = sum / static_cast<double>(verify_rates.size());
  r.ed25519_verify_per_s_min = *std::min_element(verify_rates.begin(), verify_rates.end());
  r.load_average_end = load_average();
  return r;
}

}  // namespace folio::notary
