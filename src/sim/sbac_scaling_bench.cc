// The measured cost model and the whole benchmark behind `folio bench sbac-sim` (the sweeps of
// Chainspace's evaluation, JSON and CSV): see sbac_scaling.h. Split from sbac_scaling.cc, which
// holds the simulation itself.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "base/assert.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "sbac/object_table.h"
#include "sbac/shard_map.h"
#include "sim/sbac_scaling.h"

namespace folio::sim {

using ledger::StateRef;
using ledger::TxId;
using sbac::ShardId;

// ---- the cost model -----------------------------------------------------------------------------

namespace {

// CPU time of this thread, so other processes on a shared machine perturb the figures less.
int64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Runs `op` in rounds of `round` calls until `budget_ns` of CPU time passed; ns per call.
template <class Op>
int64_t time_per_call(int64_t budget_ns, uint32_t round, Op op) {
  int64_t start = thread_cpu_ns();
  uint64_t calls = 0;
  int64_t elapsed = 0;
  do {
    for (uint32_t i = 0; i < round; ++i) op(calls + i);
    calls += round;
    elapsed = thread_cpu_ns() - start;
  } while (elapsed < budget_ns);
  return std::max<int64_t>(1, elapsed / static_cast<int64_t>(calls));
}

}  // namespace

namespace {

// A cross-shard prepare and accept on shard 0 of 2: transactions of one input on each shard and
// their output here, as the model's 2-shard transactions. The accept's evidence is shard 1's vote
// of f+1 batched signatures, all of one batch; its checking (verify_vote through a warm cache, the
// same calls ObjectTable::accept makes) is measured apart and taken out, since the model charges
// evidence per signature.
void measure_cross_shard(CostModel& k) {
  sbac::ShardMap map;
  map.epoch = sbac::Epoch(1);
  std::vector<std::vector<crypto::PrivateKey>> keys(2);
  for (uint8_t s = 0; s < 2; ++s) {
    for (uint8_t i = 0; i < 4; ++i) {
      FixedBytes<32> seed;
      seed.bytes[0] = i;
      seed.bytes[1] = s;
      seed.bytes[2] = 0x7b;
      keys[s].push_back(crypto::PrivateKey::ed25519(seed));
    }
    std::sort(keys[s].begin(), keys[s].end(),
              [](const auto& x, const auto& y) { return x.public_key() < y.public_key(); });
    sbac::Shard shard;
    for (const auto& key : keys[s]) shard.replicas.push_back(key.public_key());
    map.shards.push_back(std::move(shard));
  }
  constexpr uint32_t kCommands = 2048;
  sbac::ObjectTable table(ShardId(0), map, 1);
  sbac::NonValidating check;
  std::vector<sbac::PrepareCommand> prepares;
  std::vector<sbac::Prepared> votes;  // shard 1's prepared(commit) statements
  for (uint32_t i = 0; prepares.size() < kCommands; ++i) {
    crypto::Hash256 h;
    for (int b = 0; b < 4; ++b) h.bytes[b] = static_cast<uint8_t>(i >> (8 * b));
    h.bytes[31] = 0x31;
    StateRef here{TxId(h), 0};
    h.bytes[31] = 0x32;
    StateRef there{TxId(h), 0};
    h.bytes[31] = 0x33;
    TxId id(h);
    if (sbac::shard_of(here, map) != ShardId(0) || sbac::shard_of(there, map) != ShardId(1) ||
        sbac::shard_of(StateRef{id, 0}, map) != ShardId(0))
      continue;
    FOLIO_ASSERT(table.add_genesis(here).ok());
    sbac::PrepareCommand p;
    p.tx_id = id;
    p.inputs = {std::min(here, there), std::max(here, there)};
    p.output_count = 1;
    prepares.push_back(std::move(p));
    votes.push_back(sbac::Prepared{id, sbac::Sequence(0), sbac::Verdict::kCommit, ShardId(1),
                                   map.epoch, sbac::Sequence(0)});
  }
  std::vector<crypto::Hash256> leaves;
  for (const sbac::Prepared& vote : votes) leaves.push_back(sbac::statement_leaf(vote));
  sbac::BatchTree tree(std::move(leaves));
  std::vector<sbac::ReplicaSignature> first = sbac::sign_batch(keys[1][0], tree);
  std::vector<sbac::ReplicaSignature> second = sbac::sign_batch(keys[1][1], tree);
  std::vector<sbac::AcceptCommand> accepts;
  for (uint32_t i = 0; i < kCommands; ++i)
    accepts.push_back(sbac::AcceptCommand{votes[i].tx_id,
                                          sbac::Sequence(0),
                                          sbac::Verdict::kCommit,
                                          {sbac::PreparedVote{votes[i], {first[i], second[i]}}}});
  // The evidence's checks alone, through a warm cache.
  sbac::VerifyCache cache;
  FOLIO_ASSERT(sbac::verify_vote(accepts[0].evidence[0], map, &cache).ok());
  int64_t start = thread_cpu_ns();
  for (const sbac::AcceptCommand& accept : accepts)
    FOLIO_ASSERT(sbac::verify_vote(accept.evidence[0], map, &cache).ok());
  int64_t evidence_ns = (thread_cpu_ns() - start) / kCommands;

  start = thread_cpu_ns();
  for (const sbac::PrepareCommand& prepare : prepares) {
    sbac::Outcome outcome = table.prepare(prepare, ledger::Timestamp(1), check);
    FOLIO_ASSERT(std::get<sbac::PrepareDecision>(outcome).verdict == sbac::Verdict::kCommit);
  }
  k.table_prepare_ns = std::max<int64_t>(1, (thread_cpu_ns() - start) / kCommands);
  // The first accept warms the table's own cache (a block's first accept of a batch does).
  FOLIO_ASSERT(std::holds_alternative<sbac::AcceptDecision>(table.accept(accepts[0])));
  start = thread_cpu_ns();
  for (uint32_t i = 1; i < kCommands; ++i) {
    sbac::Outcome outcome = table.accept(accepts[i]);
    FOLIO_ASSERT(std::get<sbac::AcceptDecision>(outcome).verdict == sbac::Verdict::kCommit);
  }
  int64_t accept_ns = (thread_cpu_ns() - start) / (kCommands - 1);
  k.table_accept_ns = std::max<int64_t>(1, accept_ns - evidence_ns);
}

}  // namespace

CostModel CostModel::measure() {
  CostModel k;
  FixedBytes<32> seed;
  seed.bytes[0] = 0x42;
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(seed);
  uint8_t message[96] = {};
  volatile uint8_t sink = 0;
  k.sign_ns = time_per_call(60'000'000, 64, [&](uint64_t i) {
    message[0] = static_cast<uint8_t>(i);
    sink = sink ^ key.sign(ByteView(message, sizeof message)).bytes.bytes[0];
  });
  crypto::Signature signature = key.sign(ByteView(message, sizeof message));
  k.verify_ns = time_per_call(60'000'000, 32, [&](uint64_t) {
    sink = sink ^ static_cast<uint8_t>(crypto::verify(
                      key.public_key(), ByteView(message, sizeof message), signature));
  });
  std::vector<uint8_t> big(64 * 1024, 0x5a);
  int64_t big_ns = time_per_call(40'000'000, 4, [&](uint64_t i) {
    big[0] = static_cast<uint8_t>(i);
    sink = sink ^ crypto::sha256(ByteView(big.data(), big.size())).bytes[0];
  });
  k.hash_byte_ps = std::max<int64_t>(1, big_ns * 1000 / static_cast<int64_t>(big.size()));
  int64_t small_ns = time_per_call(20'000'000, 256, [&](uint64_t i) {
    message[0] = static_cast<uint8_t>(i);
    sink = sink ^ crypto::sha256(ByteView(message, 64)).bytes[0];
  });
  k.hash_call_ns = std::max<int64_t>(1, small_ns - 64 * k.hash_byte_ps / 1000);

  // One ObjectTable command of one input and one output on a one-shard map (the fast path), with
  // the canonical checks and φ it computes.
  sbac::ShardMap map;
  map.epoch = sbac::Epoch(1);
  std::vector<crypto::PublicKey> replicas;
  for (uint8_t i = 0; i < 4; ++i) {
    FixedBytes<32> s;
    s.bytes[0] = i;
    s.bytes[1] = 0x7a;
    replicas.push_back(crypto::PrivateKey::ed25519(s).public_key());
  }
  std::sort(replicas.begin(), replicas.end());
  map.shards.push_back(sbac::Shard{replicas});
  sbac::ObjectTable table(ShardId(0), map, 1);
  sbac::NonValidating check;
  constexpr uint32_t kTableCommands = 4096;
  std::vector<sbac::ShardCommand> commands;
  for (uint32_t i = 0; i < kTableCommands; ++i) {
    crypto::Hash256 h;
    for (int b = 0; b < 4; ++b) h.bytes[b] = static_cast<uint8_t>(i >> (8 * b));
    h.bytes[31] = 0x11;
    StateRef input{TxId(h), 0};
    FOLIO_ASSERT(table.add_genesis(input).ok());
    h.bytes[31] = 0x22;
    sbac::PrepareCommand p;
    p.tx_id = TxId(h);
    p.session = sbac::Sequence(0);
    p.inputs = {input};
    p.output_count = 1;
    commands.emplace_back(sbac::SingleShardCommand{p});
  }
  int64_t start = thread_cpu_ns();
  for (const auto& command : commands) {
    sbac::Outcome outcome = table.execute(command, ledger::Timestamp(1), check);
    FOLIO_ASSERT(std::holds_alternative<sbac::AcceptDecision>(outcome));
  }
  k.table_command_ns = std::max<int64_t>(1, (thread_cpu_ns() - start) / kTableCommands);
  measure_cross_shard(k);
  (void)sink;
  return k;
}

std::string CostModel::describe() const {
  char line[256];
  std::snprintf(line, sizeof line,
                "Ed25519 sign %.1f us, verify %.1f us; SHA-256 %.2f ns/byte + %lld ns/call; "
                "object-table command %.1f us (cross-shard prepare %.1f, accept %.1f)",
                static_cast<double>(sign_ns) / 1e3, static_cast<double>(verify_ns) / 1e3,
                static_cast<double>(hash_byte_ps) / 1e3, static_cast<long long>(hash_call_ns),
                static_cast<double>(table_command_ns) / 1e3,
                static_cast<double>(table_prepare_ns) / 1e3,
                static_cast<double>(table_accept_ns) / 1e3);
  return line;
}

// ---- the benchmark ------------------------------------------------------------------------------

namespace {

// The expected per-replica CPU, summed over concerned shards, of one transaction of `inputs`
// inputs on random shards of `shards`: the estimate from which an overload is offered. Batched,
// statements cost a share of a block's signature and the evidence's verifications are mostly
// cache hits (a Merkle branch and a cache lookup each). A rough estimate: the factor in
// `overload` below covers its error.
double transaction_cpu_ns(const CostModel& k, uint32_t shards, uint32_t inputs, uint32_t f,
                          bool distinct, uint32_t batch, bool unbatched) {
  double single = static_cast<double>(single_shard_command_ns(k, batch, unbatched));
  double p_single = distinct ? (inputs == 1 ? 1.0 : 0.0) : std::pow(1.0 / shards, inputs - 1);
  double concerned =
      distinct ? inputs
               : shards * (1.0 - std::pow(1.0 - 1.0 / shards, static_cast<double>(inputs)));
  concerned = std::max(concerned, 2.0);
  double prepare = single + static_cast<double>(k.table_prepare_ns - k.table_command_ns);
  double statement = static_cast<double>(unbatched ? k.sign_ns : k.sign_ns / batch);
  double evidence = static_cast<double>(unbatched ? k.verify_ns : 12 * k.hash_ns(65));
  double accept = static_cast<double>(k.hash_ns(400) + k.table_accept_ns) + statement +
                  (concerned - 1) * (f + 1) * evidence;
  double cross = concerned * (prepare + accept);
  return p_single * single + (1 - p_single) * cross;
}

struct Window {
  int64_t warmup_ns, measure_ns, drain_ns;
};

}  // namespace

SbacBenchReport run_sbac_bench(const SbacBenchOptions& options) {
  auto wall_start = std::chrono::steady_clock::now();
  SbacBenchReport report;
  report.options = options;
  report.costs = options.measure_costs ? CostModel::measure() : CostModel{};
  const CostModel& k = report.costs;
  const uint32_t f = (options.replicas - 1) / 3;
  const bool quick = options.quick;
  report.cpu_bound_tps = 1e9 / static_cast<double>(single_shard_command_ns(k, options.batch));

  ScalingOptions base;
  base.replicas = options.replicas;
  base.batch = options.batch;
  base.mempool_max = 2 * options.batch;
  base.seed = options.seed;
  base.costs = k;
  base.network = options.network;

  auto run = [&](const std::string& series, uint64_t x, ScalingOptions o, Window w) {
    o.warmup_ns = w.warmup_ns;
    o.measure_ns = w.measure_ns;
    o.drain_ns = w.drain_ns;
    SbacBenchPoint point{series, x, run_sbac_scaling(o), o.offered_tps};
    std::fprintf(stderr, "sbac-sim %-13s x=%-6llu offered %7llu/s: %s\n", series.c_str(),
                 static_cast<unsigned long long>(x), static_cast<unsigned long long>(o.offered_tps),
                 point.result.summary().c_str());
    report.points.push_back(point);
    return point.result;
  };
  auto overload = [&](uint32_t shards, uint32_t inputs, bool distinct, bool unbatched = false) {
    // Refusals cost no real crypto, so an estimate that errs is covered by a generous factor for
    // cross-shard mixes (their estimate is rougher).
    double cpu = transaction_cpu_ns(k, shards, inputs, f, distinct, options.batch, unbatched);
    double factor = inputs == 1 ? 1.3 : 2.0;
    return static_cast<uint64_t>(factor * shards * 1e9 / cpu) + 1;
  };

  // The consensus engine alone on one shard, for the same cost model: empty 128-byte commands.
  {
    ScalingOptions o = base;
    o.ordering_only = true;
    // One Jolteon round: the leader sends the block to n-1 replicas, two one-way latencies (block,
    // vote), a replica checks the QC and signs, the next leader verifies 2f+1 votes.
    double wire_ns = static_cast<double>(options.replicas - 1) * options.batch * 128 * 1e9 /
                     static_cast<double>(options.network.bandwidth_bytes_per_s);
    double round_ns = wire_ns + 2.0 * static_cast<double>(options.network.latency_ns) +
                      static_cast<double>(2 * (2 * f + 1) * k.verify_ns + 2 * k.sign_ns) +
                      static_cast<double>(k.hash_ns(options.batch * 128));
    o.offered_tps = static_cast<uint64_t>(1.3 * options.batch * 1e9 / round_ns);
    report.ordering_only_tps = run("ordering", 1, o,
                                   quick ? Window{20'000'000, 50'000'000, 10'000'000}
                                         : Window{200'000'000, 1'000'000'000, 50'000'000})
                                   .tps;
  }

  // Throughput versus shards, 1-input transactions on random shards (all single-shard).
  std::vector<uint32_t> shard_counts =
      quick ? std::vector<uint32_t>{1, 2} : std::vector<uint32_t>{1, 2, 4, 8, 16, 32, 64};
  double tps_one = 0;
  for (uint32_t shards : shard_counts) {
    ScalingOptions o = base;
    o.shards = shards;
    o.offered_tps = overload(shards, 1, false);
    // Commits come a block (about batch commands) at a time per shard, so the window spans many
    // blocks: its error is about one block per shard.
    int64_t measure = quick          ? 100'000'000
                      : shards == 1  ? 4'000'000'000
                      : shards == 2  ? 3'000'000'000
                      : shards <= 4  ? 1'500'000'000
                      : shards <= 16 ? 600'000'000
                                     : 300'000'000;
    double tps =
        run("shards", shards, o, Window{quick ? 100'000'000 : 300'000'000, measure, 50'000'000})
            .tps;
    if (shards == 1) tps_one = tps;
    report.efficiency_shards = shards;
    report.efficiency_64 = tps_one > 0 ? tps / (shards * tps_one) : 0;
  }
  report.single_shard_tps = tps_one;

  // Throughput versus inputs per transaction, inputs on random shards of 8 (4 when quick).
  const uint32_t input_shards = quick ? 2 : 8;
  const uint32_t inputs_max = quick ? 2 : 10;
  for (uint32_t inputs = 1; inputs <= inputs_max; ++inputs) {
    ScalingOptions o = base;
    o.shards = input_shards;
    o.inputs = inputs;
    o.offered_tps = overload(input_shards, inputs, false);
    run("inputs", inputs, o,
        quick ? Window{100'000'000, 100'000'000, 20'000'000}
              : Window{400'000'000, 500'000'000, 20'000'000});
  }

  // Single-shard versus 2-shard transactions on the same 2 shards.
  double pair_tps[2] = {0, 0};
  for (uint32_t concerned = 1; concerned <= 2; ++concerned) {
    ScalingOptions o = base;
    o.shards = 2;
    o.inputs = concerned;
    o.distinct_shards = true;
    o.offered_tps = overload(2, concerned, true);
    pair_tps[concerned - 1] = run("pair", concerned, o,
                                  quick ? Window{100'000'000, 100'000'000, 20'000'000}
                                        : Window{500'000'000, 1'000'000'000, 20'000'000})
                                  .tps;
  }
  report.two_shard_ratio = pair_tps[0] > 0 ? pair_tps[1] / pair_tps[0] : 0;

  // The same pair with per-statement signatures (the code before batching, for comparison).
  double unbatched_tps[2] = {0, 0};
  for (uint32_t concerned = 1; concerned <= 2; ++concerned) {
    ScalingOptions o = base;
    o.shards = 2;
    o.inputs = concerned;
    o.distinct_shards = true;
    o.unbatched_statements = true;
    o.offered_tps = overload(2, concerned, true, true);
    unbatched_tps[concerned - 1] = run("pair_unbatched", concerned, o,
                                       quick ? Window{100'000'000, 100'000'000, 20'000'000}
                                             : Window{500'000'000, 1'000'000'000, 20'000'000})
                                       .tps;
  }
  report.two_shard_ratio_unbatched =
      unbatched_tps[0] > 0 ? unbatched_tps[1] / unbatched_tps[0] : 0;

  // Latency versus offered load on 2 shards: 1-input transactions (single-shard), then 2-shard
  // transactions, each at fractions of the throughput just measured.
  std::vector<uint32_t> per_cent = quick ? std::vector<uint32_t>{20, 80}
                                         : std::vector<uint32_t>{5, 10, 25, 50, 75, 90, 100, 110};
  for (uint32_t concerned = 1; concerned <= 2; ++concerned) {
    for (uint32_t pc : per_cent) {
      // 2-shard points cost real signatures in wall time: fewer of them.
      if (concerned == 2 && (pc == 10 || pc == 110)) continue;
      ScalingOptions o = base;
      o.shards = 2;
      o.inputs = concerned;
      o.distinct_shards = true;
      o.offered_tps =
          std::max<uint64_t>(1, static_cast<uint64_t>(pair_tps[concerned - 1] * pc / 100));
      run(concerned == 1 ? "latency" : "latency_cross", o.offered_tps, o,
          quick ? Window{50'000'000, 100'000'000, 200'000'000}
                : Window{300'000'000, 700'000'000, 1'000'000'000});
    }
  }
  report.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return report;
}

std::string SbacBenchReport::csv() const {
  std::ostringstream out;
  out << "series,x,offered_tps,tps,p50_ms,p99_ms,committed,aborted,refused,cross_shard\n";
  for (const SbacBenchPoint& p : points) {
    char line[256];
    std::snprintf(line, sizeof line, "%s,%llu,%llu,%.1f,%.2f,%.2f,%llu,%llu,%llu,%llu\n",
                  p.series.c_str(), static_cast<unsigned long long>(p.x),
                  static_cast<unsigned long long>(p.offered_tps), p.result.tps, p.result.p50_ms,
                  p.result.p99_ms, static_cast<unsigned long long>(p.result.committed),
                  static_cast<unsigned long long>(p.result.aborted),
                  static_cast<unsigned long long>(p.result.refused),
                  static_cast<unsigned long long>(p.result.cross_shard));
    out << line;
  }
  return out.str();
}

std::string SbacBenchReport::json() const {
  double per_shard_max = 0;
  for (const SbacBenchPoint& p : points)
    if (p.series == "shards" && p.x == efficiency_shards) per_shard_max = p.result.tps / p.x;
  char text[2048];
  std::snprintf(
      text, sizeof text,
      "{\n"
      "  \"single_shard_tps\": %.1f,\n"
      "  \"efficiency_64\": %.4f,\n"
      "  \"efficiency_shards\": %u,\n"
      "  \"two_shard_ratio\": %.4f,\n"
      "  \"two_shard_ratio_unbatched\": %.4f,\n"
      "  \"per_shard_tps_at_max_shards\": %.1f,\n"
      "  \"ordering_only_tps\": %.1f,\n"
      "  \"cpu_bound_tps\": %.1f,\n"
      "  \"costs\": {\"sign_ns\": %lld, \"verify_ns\": %lld, \"hash_byte_ps\": %lld, "
      "\"hash_call_ns\": %lld, \"table_command_ns\": %lld, \"table_prepare_ns\": %lld, "
      "\"table_accept_ns\": %lld},\n"
      "  \"replicas\": %u,\n"
      "  \"batch\": %u,\n"
      "  \"latency_ms\": %.3f,\n"
      "  \"bandwidth_bytes_per_s\": %llu,\n"
      "  \"quick\": %s,\n"
      "  \"seed\": %llu,\n"
      "  \"points\": %zu,\n"
      "  \"load_average\": %.2f,\n"
      "  \"wall_s\": %.1f\n"
      "}\n",
      single_shard_tps, efficiency_64, efficiency_shards, two_shard_ratio, two_shard_ratio_unbatched,
      per_shard_max, ordering_only_tps, cpu_bound_tps, static_cast<long long>(costs.sign_ns),
      static_cast<long long>(costs.verify_ns), static_cast<long long>(costs.hash_byte_ps),
      static_cast<long long>(costs.hash_call_ns), static_cast<long long>(costs.table_command_ns),
      static_cast<long long>(costs.table_prepare_ns), static_cast<long long>(costs.table_accept_ns),
      options.replicas, options.batch, static_cast<double>(options.network.latency_ns) / 1e6,
      static_cast<unsigned long long>(options.network.bandwidth_bytes_per_s),
      options.quick ? "true" : "false", static_cast<unsigned long long>(options.seed),
      points.size(), load_average, wall_s);
  return text;
}

}  // namespace folio::sim
