#include "sim/sbac_sim.h"

#include <gtest/gtest.h>

namespace folio::sim {
namespace {

TEST(SbacSim, OneSeedRuns) {
  SbacSimOptions o;
  SbacSimResult r = run_sbac_sim(o);
  EXPECT_TRUE(r.ok()) << r.summary_line();
}

}  // namespace
}  // namespace folio::sim
