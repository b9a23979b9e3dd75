// Scenario tests: small scripts drive a TestCluster step by step and state what must hold.
//
//   replicas N        a committee of N (first line)
//   submit K          K new commands to every replica that is up
//   run MS            MS milliseconds of ticks and deliveries
//   crash I / restart I
//   cut I / heal      drop every message to or from I / stop dropping
//   expect committed I K   replica I has committed exactly K commands
//   expect agree            replicas' committed blocks agree at every common height, and
//                           replicas that are up have equal command logs
//   expect view I V         replica I is in view V
//   expect view-above I V   replica I is past view V
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "consensus/test_cluster.h"

namespace folio::consensus {
namespace {

using testing::TestCluster;

std::vector<Bytes> commands_of(const std::vector<CommittedBlock>& log) {
  std::vector<Bytes> out;
  for (const CommittedBlock& c : log)
    for (const Bytes& b : c.block->commands) out.push_back(b);
  return out;
}

void run_script(const std::string& script) {
  std::istringstream lines(script);
  std::unique_ptr<TestCluster> cluster;
  std::set<uint32_t> cut;
  uint32_t n = 0;
  int next_command = 0;
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream words(line);
    std::string verb;
    if (!(words >> verb)) continue;
    SCOPED_TRACE("line " + std::to_string(number) + ": " + line);
    if (verb == "replicas") {
      words >> n;
      cluster = std::make_unique<TestCluster>(n);
      cluster->drop = [&cut](const testing::Envelope& e) {
        return cut.contains(e.from.value()) || cut.contains(e.to.value());
      };
      continue;
    }
    ASSERT_NE(cluster, nullptr) << "a script starts with `replicas N`";
    if (verb == "submit") {
      int k = 0;
      words >> k;
      for (int i = 0; i < k; ++i)
        cluster->submit_all(to_bytes("cmd-" + std::to_string(next_command++)));
    } else if (verb == "run") {
      int64_t ms = 0;
      words >> ms;
      cluster->run_for(ms);
    } else if (verb == "crash" || verb == "restart" || verb == "cut") {
      uint32_t i = 0;
      words >> i;
      if (verb == "crash") cluster->crash(i);
      if (verb == "restart") cluster->restart(i);
      if (verb == "cut") cut.insert(i);
    } else if (verb == "heal") {
      cut.clear();
    } else if (verb == "expect") {
      std::string what;
      words >> what;
      if (what == "committed") {
        uint32_t i = 0;
        size_t k = 0;
        words >> i >> k;
        EXPECT_EQ(commands_of(cluster->committed(i)).size(), k) << "replica " << i;
      } else if (what == "agree") {
        std::vector<Bytes> reference;
        bool first = true;
        for (uint32_t i = 0; i < n; ++i) {
          for (uint32_t j = 0; j < i; ++j) {
            size_t common = std::min(cluster->committed(i).size(), cluster->committed(j).size());
            for (size_t h = 0; h < common; ++h)
              EXPECT_EQ(cluster->committed(i)[h].id, cluster->committed(j)[h].id)
                  << "replicas " << i << " and " << j << " at height " << h + 1;
          }
          if (!cluster->up(i)) continue;
          if (first) {
            reference = commands_of(cluster->committed(i));
            first = false;
          } else {
            EXPECT_EQ(commands_of(cluster->committed(i)), reference) << "replica " << i;
          }
        }
      } else if (what == "view") {
        uint32_t i = 0;
        uint64_t v = 0;
        words >> i >> v;
        EXPECT_EQ(cluster->replica(i).view(), View(v)) << "replica " << i;
      } else if (what == "view-above") {
        uint32_t i = 0;
        uint64_t v = 0;
        words >> i >> v;
        EXPECT_GT(cluster->replica(i).view(), View(v)) << "replica " << i;
      } else {
        FAIL() << "unknown expectation " << what;
      }
    } else {
      FAIL() << "unknown step " << verb;
    }
  }
}

TEST(Scenario, LeaderCrashIsRoutedAroundAndTheCrashedReplicaCatchesUpAfterRestart) {
  run_script(R"(
    replicas 4
    submit 10
    run 300
    expect committed 0 10
    crash 1
    submit 10
    run 4000
    expect committed 0 20
    expect committed 2 20
    expect committed 1 10
    restart 1
    run 4000
    expect committed 1 20
    expect agree
  )");
}

TEST(Scenario, MinorityCutOffCommitsNothingUntilHealedThenAgrees) {
  run_script(R"(
    replicas 7
    cut 5
    cut 6
    submit 15
    run 6000
    expect committed 0 15
    expect committed 5 0
    expect committed 6 0
    heal
    run 6000
    expect committed 5 15
    expect committed 6 15
    expect agree
  )");
}

TEST(Scenario, WithoutAQuorumNeitherBlocksNorTimeoutCertificatesFormUntilHealing) {
  // Replica 1 proposes in view 1 but only 2 of 4 can vote, and only 2 time out together: no QC,
  // no TC, so everyone stays in view 1 (re-sending timeouts with back-off) until the cut heals.
  run_script(R"(
    replicas 4
    cut 2
    cut 3
    submit 5
    run 3000
    expect committed 0 0
    expect committed 1 0
    expect view 0 1
    expect view 2 1
    heal
    run 8000
    expect committed 0 5
    expect committed 3 5
    expect view-above 0 2
    expect agree
  )");
}

}  // namespace
}  // namespace folio::consensus
