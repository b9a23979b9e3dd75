// The sharded-notary simulator as a test: a sweep of 300 seeds, each with its own fault mix, must
// find no violation; and the negative controls must: the replay adversary against shards whose
// Byzcuit defences are switched off, and more than f Byzantine replicas in a shard.
#include "sim/sbac_sim.h"

#include <gtest/gtest.h>

#include <string>

namespace folio::sim {
namespace {

// Small per-seed workloads keep 300 seeds within about a minute in Release.
SbacSimOptions sweep_base() {
  SbacSimOptions o;
  o.transactions = 10;
  o.accounts = 8;
  return o;
}

void sweep(uint64_t first, uint64_t last) {
  uint64_t committed = 0;
  uint64_t cross_shard = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    SbacSimResult r = run_sbac_sim(sbac_sweep_options(seed, sweep_base()));
    EXPECT_TRUE(r.ok()) << r.summary_line();
    committed += r.committed;
    cross_shard += r.cross_shard;
  }
  // The sweep does real work: most payments commit, and many of them across shards.
  EXPECT_GT(committed, (last - first + 1) * 4);
  EXPECT_GT(cross_shard, (last - first + 1) * 2);
}

TEST(SbacSimSweep, Seeds1To100) { sweep(1, 100); }
TEST(SbacSimSweep, Seeds101To200) { sweep(101, 200); }
TEST(SbacSimSweep, Seeds201To300) { sweep(201, 300); }

TEST(SbacSim, SameSeedSameRun) {
  SbacSimOptions o = sbac_sweep_options(7, sweep_base());
  EXPECT_EQ(run_sbac_sim(o).summary_line(), run_sbac_sim(o).summary_line());
}

bool mentions(const SbacSimResult& r, const std::string& what) {
  for (const std::string& v : r.violations)
    if (v.find(what) != std::string::npos) return true;
  return false;
}

// Byzcuit's point: the replayed accept of an earlier instance aborts a later one at one shard while
// the others commit it. With the defences on, the same seeds and adversary find nothing.
TEST(SbacSimNegativeControl, ReplayAdversaryBreaksShardsWithoutByzcuitDefences) {
  for (uint64_t seed : {1, 2, 3}) {
    SbacSimOptions o;
    o.seed = seed;
    o.transactions = 16;
    o.replay = true;
    SbacSimResult defended = run_sbac_sim(o);
    EXPECT_TRUE(defended.ok()) << defended.summary_line();
    EXPECT_GT(defended.replays, 0u);
    o.break_replay_defences = true;
    SbacSimResult broken = run_sbac_sim(o);
    EXPECT_FALSE(broken.ok()) << broken.summary_line();
    EXPECT_TRUE(mentions(broken, "all-or-nothing broken")) << broken.summary_line();
    EXPECT_TRUE(mentions(broken, "cash not conserved")) << broken.summary_line();
  }
}

// f+1 replicas of a shard signing the opposite of every decision outvote nothing within the
// shard's consensus, but their signatures alone are a shard vote: managers commit on forged
// prepared(commit) votes (all-or-nothing breaks) and accepted(commit) signatures assemble into
// certificates for transactions that did not commit. The checker must see both.
TEST(SbacSimNegativeControl, MoreThanFByzantineReplicasBreakSafetyAndTheCheckerSeesIt) {
  bool split = false;
  for (uint64_t seed : {1, 2, 3, 4}) {
    SbacSimOptions o;
    o.seed = seed;
    o.transactions = 16;
    o.byzantine = 2;  // f = 1 for n = 4
    o.byzantine_behaviours = kSbacFlip;
    SbacSimResult r = run_sbac_sim(o);
    EXPECT_FALSE(r.ok()) << r.summary_line();
    EXPECT_TRUE(mentions(r, "a certificate verifies for")) << r.summary_line();
    // A forged commit vote splits a transaction across shards on some seeds (2 and 4 today).
    split = split || (mentions(r, "all-or-nothing broken") && mentions(r, "cash not conserved"));
    // The same liars, but only f of them: nothing breaks.
    o.byzantine = 1;
    SbacSimResult within = run_sbac_sim(o);
    EXPECT_TRUE(within.ok()) << within.summary_line();
  }
  EXPECT_TRUE(split);
}

// Silent replicas beyond f that still run consensus do not break safety: the f+1 honest replicas
// left still sign, and nobody can forge their statements.
TEST(SbacSimNegativeControl, MoreThanFSilentReplicasKeepSafety) {
  SbacSimOptions o;
  o.seed = 4;
  o.transactions = 12;
  o.byzantine = 2;
  o.byzantine_behaviours = kSbacSilent;
  SbacSimResult r = run_sbac_sim(o);
  EXPECT_TRUE(r.ok()) << r.summary_line();
  EXPECT_GT(r.committed, 0u);
}

TEST(SbacSim, CrashingClientsAreFinishedByTakeover) {
  SbacSimOptions o;
  o.seed = 11;
  o.transactions = 16;
  o.client_crash_ppm = 1'000'000;  // every client crashes within 400 ms of starting
  SbacSimResult r = run_sbac_sim(o);
  EXPECT_TRUE(r.ok()) << r.summary_line();
  EXPECT_GT(r.takeovers, 0u);
  EXPECT_EQ(r.client_crashes, 16u);
}

TEST(SbacSim, ValidatingShardsUnderContentionAndByzantineReplicas) {
  SbacSimOptions o;
  o.seed = 5;
  o.shards = 3;
  o.transactions = 16;
  o.validating = true;
  o.high_contention = true;
  o.byzantine = 1;
  o.replay = true;
  o.loss_ppm = 30'000;
  SbacSimResult r = run_sbac_sim(o);
  EXPECT_TRUE(r.ok()) << r.summary_line();
  EXPECT_GT(r.committed, 0u);
  EXPECT_GT(r.aborted, 0u);
}

// sequence_max is signed inside `prepared`: f replicas per shard that sign false values under
// contention (where aborts and retries happen) sign only their own lies, which never match the
// honest f+1, so every retry still runs above the objects' real sequence numbers.
TEST(SbacSim, ReplicasLyingAboutSequenceNumbersCanOnlySignTheirOwnLies) {
  for (uint64_t seed : {3u, 8u, 21u}) {
    SbacSimOptions o;
    o.seed = seed;
    o.transactions = 16;
    o.high_contention = true;
    o.byzantine = 1;
    o.byzantine_behaviours = kSbacLieSequence;
    o.replay = true;
    SbacSimResult r = run_sbac_sim(o);
    EXPECT_TRUE(r.ok()) << r.summary_line();
    EXPECT_GT(r.committed, 0u) << seed;
  }
}

// The replay adversary's batch-evidence tampering and its relabelled accepted(abort) statements
// happen under contention (aborts and retries), and the invariants hold: tampered evidence is
// refused as bad evidence, relabelled statements are refused by the signed session.
TEST(SbacSim, TamperedBatchEvidenceAndRelabelledAcceptedReplaysKeepTheInvariants) {
  uint64_t tampered = 0;
  uint64_t relabelled = 0;
  for (uint64_t seed : {1u, 2u, 3u}) {
    SbacSimOptions o;
    o.seed = seed;
    o.transactions = 16;
    o.high_contention = true;
    o.byzantine = 1;
    o.replay = true;
    SbacSimResult r = run_sbac_sim(o);
    EXPECT_TRUE(r.ok()) << r.summary_line();
    tampered += r.replays_tampered;
    relabelled += r.replays_relabelled;
  }
  EXPECT_GT(tampered, 0u);
  EXPECT_GT(relabelled, 0u);
}

}  // namespace
}  // namespace folio::sim
