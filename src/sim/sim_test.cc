#include <gtest/gtest.h>

#include "sim/byzantine.h"
#include "sim/consensus_sim.h"

namespace folio::sim {
namespace {

// The sweep: every seed picks a fault mix (clean, lossy, partitions, crashes, Byzantine f,
// drift, and combinations) and a committee size (4, 7 or 10); every invariant must hold.
void sweep(uint64_t first, uint64_t last) {
  SimOptions base;
  size_t failures = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    SimResult r = run_consensus_sim(sweep_options(seed, base));
    if (!r.ok()) {
      ++failures;
      ADD_FAILURE() << r.summary_line();
    }
    EXPECT_EQ(r.committed_commands, base.commands) << r.summary_line();
  }
  EXPECT_EQ(failures, 0u);
}

TEST(SimulatorSweep, Seeds1To125KeepEveryInvariant) { sweep(1, 125); }
TEST(SimulatorSweep, Seeds126To250KeepEveryInvariant) { sweep(126, 250); }
TEST(SimulatorSweep, Seeds251To375KeepEveryInvariant) { sweep(251, 375); }
TEST(SimulatorSweep, Seeds376To500KeepEveryInvariant) { sweep(376, 500); }

TEST(Simulator, OneSeedReproducesTheWholeRun) {
  SimOptions base;
  SimOptions o = sweep_options(7, base);  // the mix with every fault
  EXPECT_EQ(run_consensus_sim(o).summary_line(), run_consensus_sim(o).summary_line());
  SimOptions other = sweep_options(15, base);
  EXPECT_NE(run_consensus_sim(o).summary_line(), run_consensus_sim(other).summary_line());
}

TEST(Simulator, FaultsAreActuallyInjected) {
  SimOptions o;
  o.seed = 3;
  o.loss_ppm = 100'000;
  o.duplicate_ppm = 100'000;
  o.crashes = true;
  o.partitions = true;
  o.byzantine = 1;
  SimResult r = run_consensus_sim(o);
  EXPECT_TRUE(r.ok()) << r.summary_line();
  EXPECT_GT(r.messages_dropped, 0u);
  EXPECT_GT(r.crashes, 0u);
  EXPECT_GT(r.rejections, 0u);
}

TEST(Simulator, ByzantineMinorityInLargerCommitteesCannotBreakSafetyOrLiveness) {
  for (uint32_t n : {7u, 10u}) {
    SimOptions o;
    o.seed = 11 + n;
    o.replicas = n;
    o.byzantine = (n - 1) / 3;
    o.loss_ppm = 20'000;
    SimResult r = run_consensus_sim(o);
    EXPECT_TRUE(r.ok()) << r.summary_line();
    EXPECT_EQ(r.committed_commands, o.commands) << r.summary_line();
  }
}

// Liveness after healing: from 1 s on the committee is split in halves (no quorum on either side),
// so most commands cannot commit before the network heals at 5 s; all must commit afterwards, at
// every honest replica, within the bound, with a Byzantine replica and lossy links before healing.
TEST(Liveness, EveryCommandCommitsAfterASplitWithNoQuorumHeals) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.replicas = seed % 2 == 0 ? 4 : 7;
    o.byzantine = 1;
    o.loss_ppm = 20'000;
    o.split_from_ms = 1'000;
    SimResult r = run_consensus_sim(o);
    EXPECT_TRUE(r.ok()) << r.summary_line();
    EXPECT_EQ(r.committed_commands, o.commands) << r.summary_line();
    // Commands submitted during the split waited for healing: the run outlived the heal.
    EXPECT_GT(r.end_ms, o.heal_ms) << r.summary_line();
  }
}

// Negative control: with the two-chain commit rule weakened to a one-chain rule, a Byzantine
// leader that shows its QC to one replica only and lies about it in its timeouts makes honest
// replicas commit conflicting blocks, and the checkers must say so. The same seeds with the
// correct rule are clean, so the difference is the rule and nothing else.
TEST(NegativeControl, BrokenCommitRuleIsCaughtAsAnAgreementViolation) {
  size_t caught = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SimOptions o;
    o.seed = seed;
    o.byzantine = 1;
    o.byzantine_behaviours = kForkAfterTimeout;
    o.commands = 60;
    o.break_commit_rule = true;
    SimResult broken = run_consensus_sim(o);
    bool agreement = false;
    for (const std::string& v : broken.violations) agreement |= v.rfind("agreement", 0) == 0;
    caught += agreement;
    o.break_commit_rule = false;
    SimResult intact = run_consensus_sim(o);
    EXPECT_TRUE(intact.ok()) << intact.summary_line();
  }
  EXPECT_GE(caught, 20u) << "the checkers did not notice a broken commit rule";
}

}  // namespace
}  // namespace folio::sim
