// Model properties of the S-BAC scaling simulation on small deterministic configurations. No test
// here measures or asserts wall time: the cost model is the fixed default, so every figure is a
// pure function of the options.
#include "sim/sbac_scaling.h"

#include <gtest/gtest.h>

#include <string>

namespace folio::sim {
namespace {

ScalingOptions small(uint32_t shards, uint32_t inputs, uint64_t offered_tps) {
  ScalingOptions o;
  o.shards = shards;
  o.inputs = inputs;
  o.offered_tps = offered_tps;
  o.batch = 50;
  o.mempool_max = 100;
  o.warmup_ns = 20'000'000;
  o.measure_ns = 50'000'000;
  o.drain_ns = 200'000'000;
  return o;
}

void expect_conserved(const ScalingResult& r) {
  EXPECT_EQ(r.offered, r.refused + r.committed + r.aborted + r.unfinished);
  EXPECT_EQ(r.table_rejections, 0u);
  EXPECT_EQ(r.manager_refusals, 0u);
}

TEST(SbacScaling, OneSeedReproducesTheRunExactly) {
  ScalingOptions o = small(2, 2, 4000);
  ScalingResult a = run_sbac_scaling(o);
  ScalingResult b = run_sbac_scaling(o);
  EXPECT_EQ(a.offered, b.offered);
  EXPECT_EQ(a.committed, b.committed);
  EXPECT_EQ(a.aborted, b.aborted);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.replica_busy_ns, b.replica_busy_ns);
  EXPECT_EQ(a.p99_ms, b.p99_ms);
  o.seed = 2;
  ScalingResult c = run_sbac_scaling(o);
  EXPECT_NE(a.events, c.events);
}

TEST(SbacScaling, EveryOfferedTransactionIsAccountedFor) {
  for (uint32_t inputs : {1u, 2u, 3u}) {
    ScalingResult r = run_sbac_scaling(small(3, inputs, 3000));
    SCOPED_TRACE(inputs);
    expect_conserved(r);
    EXPECT_GT(r.committed, 0u);
  }
}

TEST(SbacScaling, UnderLightLoadEverythingFinishesAndNothingIsRefused) {
  ScalingResult r = run_sbac_scaling(small(2, 2, 1000));
  expect_conserved(r);
  EXPECT_EQ(r.refused, 0u);
  EXPECT_EQ(r.unfinished, 0u);
}

TEST(SbacScaling, SingleInputTransactionsTakeTheFastPathWithoutStatementsToTheManager) {
  ScalingResult r = run_sbac_scaling(small(4, 1, 3000));
  EXPECT_EQ(r.cross_shard, 0u);
  EXPECT_EQ(r.real_signatures, 0u);
  EXPECT_GT(r.committed, 0u);
}

TEST(SbacScaling, InputsOnDistinctShardsAreCrossShardAndRunTheRealManager) {
  ScalingOptions o = small(2, 2, 1000);
  o.distinct_shards = true;
  ScalingResult r = run_sbac_scaling(o);
  expect_conserved(r);
  EXPECT_EQ(r.cross_shard, r.offered - r.refused);
  // Each committed transaction needed f+1 prepared and f+1 accepted statements from each of its
  // two shards, each really signed and checked by the TransactionManager.
  EXPECT_GE(r.real_signatures, r.committed * 2 * 2 * 2);
}

TEST(SbacScaling, DoubleSpendsAbortInTheObjectTableAndOnlyThen) {
  // On the fast path (1 input) and across shards (2 inputs on distinct shards).
  for (uint32_t inputs : {1u, 2u}) {
    SCOPED_TRACE(inputs);
    ScalingOptions o = small(2, inputs, 3000);
    o.distinct_shards = true;
    o.conflict_ppm = 0;
    ScalingResult clean = run_sbac_scaling(o);
    expect_conserved(clean);
    EXPECT_EQ(clean.aborted, 0u);
    o.conflict_ppm = 200'000;
    ScalingResult contended = run_sbac_scaling(o);
    expect_conserved(contended);
    EXPECT_GT(contended.aborted, 0u);
  }
}

TEST(SbacScaling, LatencyIsAtLeastTheMessageDelaysOfOneCommit) {
  // Client to replicas, proposal, vote, proposal carrying the QC, and so on: a single-shard
  // transaction cannot finish in fewer than four one-way latencies, whatever the load.
  ScalingOptions o = small(1, 1, 500);
  o.network.latency_ns = 5'000'000;
  ScalingResult r = run_sbac_scaling(o);
  ASSERT_GT(r.window_latencies, 0u);
  EXPECT_GE(r.p50_ms, 4 * 5.0);
  EXPECT_GE(r.p99_ms, r.p50_ms);
}

TEST(SbacScaling, AnOverloadedShardCommitsAtMostWhatItsReplicasCpuAllows) {
  // Every committed single-shard transaction costs each replica at least its admission and
  // execution, so no shard can commit more than one second of CPU buys.
  ScalingOptions o = small(1, 1, 100'000);
  o.batch = 400;
  o.mempool_max = 800;
  o.warmup_ns = 300'000'000;
  o.measure_ns = 2'000'000'000;  // about 60 blocks, so one block more or less is 2%
  o.drain_ns = 0;
  ScalingResult r = run_sbac_scaling(o);
  expect_conserved(r);
  EXPECT_GT(r.refused, 0u);
  EXPECT_LE(r.tps, 1e9 / static_cast<double>(single_shard_command_ns(o.costs, o.batch)) * 1.05);
  EXPECT_GT(r.tps, 0.0);
}

TEST(SbacScaling, MoreShardsCarryMoreOfTheSameLoadAtOverload) {
  // Shards do not share machines in the model: the committed count grows with the shards.
  ScalingOptions one = small(1, 1, 40'000);
  ScalingOptions four = small(4, 1, 160'000);
  ScalingResult a = run_sbac_scaling(one);
  ScalingResult b = run_sbac_scaling(four);
  EXPECT_GT(b.committed, 2 * a.committed);
}

TEST(SbacScaling, BatchedStatementsCostLessCpuForTheSameTransactions) {
  ScalingOptions o = small(2, 2, 1000);
  o.distinct_shards = true;
  ScalingResult batched = run_sbac_scaling(o);
  o.unbatched_statements = true;
  ScalingResult plain = run_sbac_scaling(o);
  expect_conserved(batched);
  expect_conserved(plain);
  EXPECT_EQ(plain.offered, batched.offered);
  EXPECT_EQ(plain.committed, batched.committed);
  EXPECT_LT(batched.replica_busy_ns, plain.replica_busy_ns);
  // One real root signature per replica and block a manager needed, far fewer than statements.
  EXPECT_GT(batched.batch_signatures, 0u);
  EXPECT_LT(batched.batch_signatures, batched.real_signatures);
  EXPECT_EQ(plain.batch_signatures, 0u);
}

TEST(SbacScaling, ReplicasVerifyEachBatchOfEvidenceOncePerSigner) {
  // Many 2-shard transactions per block: their accepts' evidence comes from few blocks of the
  // other shard, so most evidence signatures are answered by the replicas' caches.
  ScalingOptions o = small(2, 2, 6000);
  o.distinct_shards = true;
  ScalingResult r = run_sbac_scaling(o);
  expect_conserved(r);
  EXPECT_GT(r.evidence_verifies, 0u);
  EXPECT_GT(r.evidence_cached, 4 * r.evidence_verifies);
  o.unbatched_statements = true;
  ScalingResult plain = run_sbac_scaling(o);
  EXPECT_EQ(plain.evidence_cached, 0u);
}

TEST(SbacBench, QuickRunReportsTheThreeFiguresAndOneCsvRowPerPoint) {
  SbacBenchOptions options;
  options.quick = true;
  options.measure_costs = false;
  SbacBenchReport report = run_sbac_bench(options);
  EXPECT_GT(report.single_shard_tps, 0.0);
  EXPECT_GT(report.two_shard_ratio, 0.0);
  EXPECT_LT(report.two_shard_ratio, 1.0);
  EXPECT_GT(report.efficiency_64, 0.0);
  std::string json = report.json();
  for (const char* key : {"\"single_shard_tps\"", "\"efficiency_64\"", "\"two_shard_ratio\""})
    EXPECT_NE(json.find(key), std::string::npos) << key;
  std::string csv = report.csv();
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  EXPECT_EQ(lines, report.points.size() + 1);
  for (const SbacBenchPoint& p : report.points) {
    EXPECT_EQ(p.result.table_rejections, 0u) << p.series;
    EXPECT_EQ(p.result.manager_refusals, 0u) << p.series;
  }
}

}  // namespace
}  // namespace folio::sim
