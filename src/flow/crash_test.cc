// Crash recovery: a three-step two-party flow, with either node crashed at every one of its
// suspension commits, before or after that commit's messages were handed to the transport, with
// and without frame eviction. After a restart from its database the flow must complete exactly
// once: each side's side effects appear once, the responder runs once, both outboxes drain.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "flow/engine.h"
#include "flow/test_cluster.h"

namespace folio::flow {
namespace {

using testing::Cluster;
using testing::ThreeStep;
using testing::ThreeStepResponder;

enum class CrashMode { kBeforeSend, kAfterSend };

FlowRegistry make_registry() {
  FlowRegistry r;
  EXPECT_TRUE(r.register_flow<ThreeStep>().ok());
  EXPECT_TRUE(r.register_responder<ThreeStepResponder>(ThreeStep::kName).ok());
  return r;
}

int64_t outbox_rows(Cluster& c, const std::string& node) {
  auto rows = c.db(node).query("SELECT COUNT(*) FROM flow_outbox");
  EXPECT_TRUE(rows.ok());
  return rows.ok() ? rows->at(0).integer(0) : -1;
}

struct Outcome {
  bool crashed = false;
  int alice_commits = 0;
  int bob_commits = 0;
};

// Runs ThreeStep from Alice to Bob. When `victim` is not empty it is crashed at its k-th step
// commit (1-based) and restarted from its database.
Outcome run_scenario(storage::Backend backend, const std::string& victim, int k, CrashMode mode,
                     bool evict) {
  FlowRegistry registry = make_registry();
  Cluster c(backend, registry);
  c.options.evict_suspended = evict;
  Outcome out;
  bool crash_pending = false;
  for (const std::string name : {"O=Alice", "O=Bob"}) {
    c.faults[name] = [&, name](FaultPoint) {
      int& commits = name == "O=Alice" ? out.alice_commits : out.bob_commits;
      ++commits;
      if (name != victim || commits != k || out.crashed) return false;
      out.crashed = true;
      if (mode == CrashMode::kBeforeSend) return true;  // dies before handing messages over
      crash_pending = true;                             // dies after this call returns
      return false;
    };
  }
  EXPECT_TRUE(c.add("O=Alice").ok());
  EXPECT_TRUE(c.add("O=Bob").ok());

  auto crash_if_due = [&] {
    if (!out.crashed || victim.empty()) return;
    bool dead = mode == CrashMode::kBeforeSend ? c.engine(victim).crashed() : crash_pending;
    if (!dead) return;
    crash_pending = false;
    c.crash(victim);
    Status restarted = c.start(victim);
    EXPECT_TRUE(restarted.ok()) << restarted.error().message();
  };

  auto handle = c.engine("O=Alice").start(ThreeStep{"O=Bob", 0});
  EXPECT_TRUE(handle.ok());
  if (!handle.ok()) return out;
  crash_if_due();
  for (int i = 0; i < 10'000 && c.network.deliver_one(); ++i) crash_if_due();

  std::string where = "victim " + victim + " at commit " + std::to_string(k) +
                      (mode == CrashMode::kBeforeSend ? " before send" : " after send") +
                      (evict ? ", evicting" : "");
  auto result = c.engine("O=Alice").result<uint64_t>(handle->id);
  EXPECT_TRUE(result.has_value() && result->ok()) << where;
  if (result && result->ok()) {
    EXPECT_EQ(**result, 14u) << where;
  }
  EXPECT_EQ(c.effects("O=Alice"),
            (std::vector<std::string>{"initiator:0:2", "initiator:1:6", "initiator:2:14"}))
      << where;
  EXPECT_EQ(c.effects("O=Bob"),
            (std::vector<std::string>{"responder:0:1", "responder:1:3", "responder:2:7"}))
      << where;
  std::vector<FlowInfo> bob = c.engine("O=Bob").flows();
  EXPECT_EQ(bob.size(), 1u) << where;
  if (!bob.empty()) {
    EXPECT_EQ(bob[0].status, FlowStatus::kCompleted) << where;
  }
  EXPECT_EQ(outbox_rows(c, "O=Alice"), 0) << where;
  EXPECT_EQ(outbox_rows(c, "O=Bob"), 0) << where;
  return out;
}

class CrashRecoveryTest
    : public ::testing::TestWithParam<std::tuple<storage::Backend, CrashMode, bool>> {
 protected:
  void SetUp() override {
    if (std::get<0>(GetParam()) == storage::Backend::kPostgres &&
        !storage::testing::PgServer::binaries_available()) {
      GTEST_SKIP() << "PostgreSQL server binaries not found";
    }
  }
};

TEST_P(CrashRecoveryTest, EverySuspensionPointOfEitherSide) {
  auto [backend, mode, evict] = GetParam();
  Outcome clean = run_scenario(backend, "", 0, mode, evict);
  // Alice: start, three replies (the last one completes). Bob: three messages.
  ASSERT_EQ(clean.alice_commits, 4);
  ASSERT_EQ(clean.bob_commits, 3);
  for (const std::string victim : {"O=Alice", "O=Bob"}) {
    int commits = victim == "O=Alice" ? clean.alice_commits : clean.bob_commits;
    for (int k = 1; k <= commits; ++k) {
      Outcome o = run_scenario(backend, victim, k, mode, evict);
      EXPECT_TRUE(o.crashed) << victim << " " << k;
    }
  }
}

std::string crash_name(
    const ::testing::TestParamInfo<std::tuple<storage::Backend, CrashMode, bool>>& info) {
  auto [backend, mode, evict] = info.param;
  return std::string(backend == storage::Backend::kSqlite ? "Sqlite" : "Postgres") +
         (mode == CrashMode::kBeforeSend ? "BeforeSend" : "AfterSend") +
         (evict ? "Evicting" : "Resident");
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, CrashRecoveryTest,
    ::testing::Combine(testing::test_backends(),
                       ::testing::Values(CrashMode::kBeforeSend, CrashMode::kAfterSend),
                       ::testing::Bool()),
    crash_name);

}  // namespace
}  // namespace folio::flow
