// External operations (flow/external.h): a flow awaits an operation done outside the engine; the
// outcome is journalled, so a crash after it was seen replays it without starting the operation
// again, and a crash before starts the same operation (same id) again.
#include "flow/external.h"

#include <gtest/gtest.h>

#include "flow/engine.h"
#include "flow/test_cluster.h"

namespace folio::flow {
namespace {

using testing::Cluster;

constexpr std::string_view kKind = "test.double";

// Awaits "double" of `x`, writes an effect, then sleeps an hour (a suspension after the outcome)
// and returns twice x plus one.
struct AwaitsExternal {
  static constexpr std::string_view kName = "test.AwaitsExternal";
  uint64_t x = 0;
  FOLIO_FIELDS(x)
  Flow<uint64_t> call(FlowContext& ctx) {
    Bytes key = codec::encode_to_bytes(x);
    Bytes request = codec::encode_to_bytes(x);
    ctx.step("awaiting");
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t doubled,
                              co_await await_external<uint64_t>(ctx, std::string(kKind), key,
                                                                request));
    int64_t seen = static_cast<int64_t>(doubled);
    FOLIO_CO_TRY(ctx.write([seen](storage::Session& tx) {
      return testing::record_effect(tx, "initiator", 0, seen);
    }));
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::hours(1)));
    co_return doubled + 1;
  }
};

// AwaitsExternal with a poll interval of an hour: without a wake it would see its outcome only
// after the clock had passed that hour.
struct AwaitsExternalSlowly {
  static constexpr std::string_view kName = "test.AwaitsExternalSlowly";
  uint64_t x = 0;
  FOLIO_FIELDS(x)
  Flow<uint64_t> call(FlowContext& ctx) {
    Bytes key = codec::encode_to_bytes(x);
    Bytes request = codec::encode_to_bytes(x);
    ExternalPolicy policy;
    policy.first_ms = kHourMs;
    policy.max_ms = kHourMs;
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t doubled,
                              co_await await_external<uint64_t>(ctx, std::string(kKind), key,
                                                                request, policy));
    int64_t seen = static_cast<int64_t>(doubled);
    FOLIO_CO_TRY(ctx.write([seen](storage::Session& tx) {
      return testing::record_effect(tx, "initiator", 0, seen);
    }));
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::hours(1)));
    co_return doubled + 1;
  }
  static constexpr int64_t kHourMs = 3'600'000;
};

// A process's registry of operations: starts are recorded, completed by the test.
struct Process {
  ExternalOperations operations;
  std::vector<std::pair<OperationId, uint64_t>> started;
  Process() {
    EXPECT_TRUE(operations
                    .add(std::string(kKind),
                         [this](const OperationId& id, const Bytes& request,
                                ExternalOperations::Completion) {
                           auto x = codec::decode_from_bytes<uint64_t>(request);
                           EXPECT_TRUE(x.ok());
                           started.emplace_back(id, x.ok() ? *x : 0);
                         })
                    .ok());
  }
  void complete_all(bool fail = false) {
    for (auto& [id, x] : started) {
      if (fail) {
        operations.complete(id, make_error(ErrorCode::kConflict, "refused by the rail"));
      } else {
        operations.complete(id, codec::encode_to_bytes(uint64_t{x * 2}));
      }
    }
  }
};

class ExternalOperationTest : public ::testing::Test {
 protected:
  ExternalOperationTest() : cluster_(storage::Backend::kSqlite, registry_) {}
  void SetUp() override {
    ASSERT_TRUE(registry_.register_flow<AwaitsExternal>().ok());
    ASSERT_TRUE(registry_.register_flow<AwaitsExternalSlowly>().ok());
    ASSERT_TRUE(registry_.register_flow<testing::ThreeStep>().ok());
    ASSERT_TRUE(registry_.register_responder<testing::ThreeStepResponder>(
                             testing::ThreeStep::kName)
                    .ok());
    use(std::make_unique<Process>());
    ASSERT_TRUE(cluster_.add("O=Alice").ok());
  }
  // A new process: a fresh registry of operations (nothing started, nothing known).
  void use(std::unique_ptr<Process> p) {
    process_ = std::move(p);
    services_ = std::make_unique<Services>();
    services_->add(process_->operations);
    cluster_.options.services = services_.get();
  }
  // Advances time in steps of 5 ms, ticking, `steps` times.
  void advance(int steps) {
    for (int i = 0; i < steps; ++i) {
      cluster_.clock.advance(5);
      cluster_.engine("O=Alice").tick();
    }
  }
  void crash_and_restart() {
    cluster_.crash("O=Alice");
    use(std::make_unique<Process>());
    Status s = cluster_.start("O=Alice");
    ASSERT_TRUE(s.ok()) << s.error().message();
  }
  // What the node's loop does when an outcome arrives: wakes the flows awaiting it.
  void wake_awaiting() {
    std::vector<FlowId> woken = process_->operations.take_wakes();
    cluster_.engine("O=Alice").wake(woken);
  }
  std::optional<Result<uint64_t>> result(const FlowId& id) {
    return cluster_.engine("O=Alice").result<uint64_t>(id);
  }

  FlowRegistry registry_;
  Cluster cluster_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<Services> services_;
};

TEST_F(ExternalOperationTest, CompletesWithTheOutcome) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternal{21});
  ASSERT_TRUE(handle.ok());
  ASSERT_EQ(process_->started.size(), 1u);
  EXPECT_EQ(process_->started[0].first,
            external_operation_id(handle->id, kKind, codec::encode_to_bytes(uint64_t{21})));
  advance(50);
  EXPECT_FALSE(result(handle->id).has_value());  // still waiting
  EXPECT_EQ(process_->started.size(), 1u);       // started once, however many polls
  process_->complete_all();
  advance(50);
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:42"});
  cluster_.clock.advance(3'600'000);
  cluster_.engine("O=Alice").tick();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 43u);
}

TEST_F(ExternalOperationTest, AnErrorOutcomeFailsTheFlowWithItsCode) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternal{5});
  ASSERT_TRUE(handle.ok());
  process_->complete_all(/*fail=*/true);
  advance(50);
  auto r = cluster_.engine("O=Alice").result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_NE(r->error().message().find("refused by the rail"), std::string::npos)
      << r->error().message();
  EXPECT_TRUE(cluster_.effects("O=Alice").empty());
}

TEST_F(ExternalOperationTest, CrashBeforeTheOutcomeStartsTheSameOperationAgain) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternal{7});
  ASSERT_TRUE(handle.ok());
  advance(20);  // several journalled polls, no outcome
  ASSERT_EQ(process_->started.size(), 1u);
  OperationId first = process_->started[0].first;
  crash_and_restart();  // the outcome of the first process is lost with it
  advance(50);
  ASSERT_EQ(process_->started.size(), 1u) << "the replayed flow starts the operation again";
  EXPECT_EQ(process_->started[0].first, first);
  process_->complete_all();
  advance(50);
  cluster_.clock.advance(3'600'000);
  cluster_.engine("O=Alice").tick();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 15u);
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:14"});
}

TEST_F(ExternalOperationTest, CrashAfterTheOutcomeReplaysItWithoutStartingAgain) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternal{9});
  ASSERT_TRUE(handle.ok());
  process_->complete_all();
  advance(50);  // the outcome is journalled; the flow sleeps for an hour
  ASSERT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:18"});
  crash_and_restart();  // the new process knows nothing of the operation
  advance(50);
  EXPECT_TRUE(process_->started.empty()) << "a journalled outcome must not start it again";
  cluster_.clock.advance(3'600'000);
  cluster_.engine("O=Alice").tick();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 19u);
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:18"});
}

// The clock never moves in these tests: only the wake can end the hour-long poll sleep.
TEST_F(ExternalOperationTest, ACompletionWakesTheSleepingFlowWithoutWaitingForItsPoll) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternalSlowly{21});
  ASSERT_TRUE(handle.ok());
  ASSERT_EQ(process_->started.size(), 1u);
  wake_awaiting();  // nothing arrived: nothing to wake
  EXPECT_TRUE(cluster_.effects("O=Alice").empty());
  process_->complete_all();
  wake_awaiting();
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:42"});
  EXPECT_EQ(process_->operations.watched(), 0u);
  // The flow's own hour-long sleep after the outcome is not cut short by another wake.
  wake_awaiting();
  EXPECT_FALSE(result(handle->id).has_value());
  cluster_.clock.advance(AwaitsExternalSlowly::kHourMs);
  cluster_.engine("O=Alice").tick();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 43u);
  EXPECT_EQ(process_->started.size(), 1u);
}

TEST_F(ExternalOperationTest, AnErrorOutcomeAlsoWakesTheFlow) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternalSlowly{5});
  ASSERT_TRUE(handle.ok());
  process_->complete_all(/*fail=*/true);
  wake_awaiting();
  auto r = cluster_.engine("O=Alice").result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_NE(r->error().message().find("refused by the rail"), std::string::npos)
      << r->error().message();
  EXPECT_EQ(process_->operations.watched(), 0u);
}

TEST_F(ExternalOperationTest, AnEvictedSleeperIsRebuiltAndWoken) {
  cluster_.options.evict_suspended = true;
  ASSERT_TRUE(cluster_.restart("O=Alice").ok());
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternalSlowly{8});
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(cluster_.engine("O=Alice").resident_frames(), 0u);
  uint64_t replays = cluster_.engine("O=Alice").stats().replays;
  process_->complete_all();
  wake_awaiting();
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:16"});
  EXPECT_GT(cluster_.engine("O=Alice").stats().replays, replays);
  cluster_.clock.advance(AwaitsExternalSlowly::kHourMs);
  cluster_.engine("O=Alice").tick();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 17u);
}

// An outcome the flow read by polling before the loop got to its wake: the stale wake is dropped,
// so it cannot end the flow's later hour-long sleep.
TEST_F(ExternalOperationTest, AWakeForAnOutcomeAlreadyPolledIsDropped) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternal{3});
  ASSERT_TRUE(handle.ok());
  process_->complete_all();
  advance(50);  // polled: the outcome is journalled, the flow sleeps an hour
  ASSERT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:6"});
  EXPECT_TRUE(process_->operations.take_wakes().empty());
  EXPECT_FALSE(result(handle->id).has_value());
}

TEST_F(ExternalOperationTest, WakingFinishedUnknownOrNonSleepingFlowsChangesNothing) {
  FlowEngine& engine = cluster_.engine("O=Alice");
  auto handle = engine.start(AwaitsExternal{4});
  ASSERT_TRUE(handle.ok());
  process_->complete_all();
  advance(50);
  cluster_.clock.advance(3'600'000);
  engine.tick();
  ASSERT_TRUE(result(handle->id).has_value());
  uint64_t steps = engine.stats().steps_committed;
  std::vector<FlowId> ids = {handle->id, crypto::sha256(as_bytes(std::string("nobody")))};
  engine.wake(ids);
  engine.wake(ids);
  EXPECT_EQ(engine.stats().steps_committed, steps);
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok());
  EXPECT_EQ(**r, 9u);
  // A hospitalised flow stays in the hospital.
  auto failed = engine.start(AwaitsExternalSlowly{6});
  ASSERT_TRUE(failed.ok());
  ASSERT_TRUE(engine.kill(failed->id).ok());
  std::vector<FlowId> killed = {failed->id};
  engine.wake(killed);
  auto k = engine.result(failed->id);
  ASSERT_TRUE(k.has_value());
  EXPECT_FALSE(k->ok());
  EXPECT_EQ(engine.flow(failed->id)->status, FlowStatus::kKilled);
}

TEST_F(ExternalOperationTest, WakingAFlowThatAwaitsAMessageChangesNothing) {
  ASSERT_TRUE(cluster_.add("O=Bob").ok());
  FlowEngine& engine = cluster_.engine("O=Alice");
  auto handle = engine.start(testing::ThreeStep{"O=Bob", 1});
  ASSERT_TRUE(handle.ok());
  uint64_t steps = engine.stats().steps_committed;
  std::vector<FlowId> ids = {handle->id};
  engine.wake(ids);  // it waits for Bob's answer, not for a timer
  EXPECT_EQ(engine.stats().steps_committed, steps);
  EXPECT_EQ(engine.flow(handle->id)->status, FlowStatus::kRunning);
  cluster_.run();
  auto r = result(handle->id);
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->error().message();
  EXPECT_EQ(**r, 22u);  // 1 -> 2*2=4 -> 5*2=10 -> 11*2=22
}

// After a crash the new process knows nothing of the old one's operations or watchers: the flow
// polls (at its stored deadline), starts the operation again under the same id, and a wake then
// ends its next sleep as before.
TEST_F(ExternalOperationTest, AfterACrashPollingRestartsTheOperationAndWakesWorkAgain) {
  auto handle = cluster_.engine("O=Alice").start(AwaitsExternalSlowly{10});
  ASSERT_TRUE(handle.ok());
  OperationId first = process_->started.at(0).first;
  crash_and_restart();
  wake_awaiting();
  EXPECT_TRUE(process_->started.empty());  // not live before its stored deadline
  cluster_.clock.advance(AwaitsExternalSlowly::kHourMs);
  cluster_.engine("O=Alice").tick();  // polls, nothing known: starts again, sleeps an hour
  ASSERT_EQ(process_->started.size(), 1u);
  EXPECT_EQ(process_->started[0].first, first);
  EXPECT_TRUE(cluster_.effects("O=Alice").empty());
  process_->complete_all();
  wake_awaiting();
  EXPECT_EQ(cluster_.effects("O=Alice"), std::vector<std::string>{"initiator:0:20"});
}

TEST(ExternalOperations, QueuesAWakeOnlyForAWatchedOperationStillWatched) {
  ExternalOperations ops;
  ASSERT_TRUE(ops.add("k", [](const OperationId&, const Bytes&, ExternalOperations::Completion) {
                   }).ok());
  OperationId a = crypto::sha256(as_bytes(std::string("a")));
  OperationId b = crypto::sha256(as_bytes(std::string("b")));
  OperationId c = crypto::sha256(as_bytes(std::string("c")));
  FlowId fa = crypto::sha256(as_bytes(std::string("flow a")));
  FlowId fc = crypto::sha256(as_bytes(std::string("flow c")));
  ops.watch(a, fa);
  ops.watch(c, fc);
  int notified = 0;
  ops.set_on_complete([&] { ++notified; });
  ops.complete(b, Bytes{2});  // nobody watches b
  ops.complete(c, Bytes{3});
  ops.unwatch(c);             // read by a poll before the loop got to it
  ops.complete(a, Bytes{1});
  ops.complete(a, Bytes{9});  // a second outcome is ignored: no second wake
  EXPECT_EQ(notified, 3);
  EXPECT_EQ(ops.take_wakes(), std::vector<FlowId>{fa});
  EXPECT_TRUE(ops.take_wakes().empty());
  EXPECT_EQ(ops.watched(), 0u);
}

TEST(ExternalOperations, StartsOncePerIdAndKeepsTheFirstOutcome) {
  ExternalOperations ops;
  int starts = 0;
  ASSERT_TRUE(ops.add("k", [&](const OperationId&, const Bytes&, ExternalOperations::Completion) {
                   ++starts;
                 }).ok());
  EXPECT_EQ(ops.add("k", nullptr).error().code, ErrorCode::kConflict);
  OperationId id = crypto::sha256(as_bytes(std::string("op")));
  EXPECT_TRUE(ops.start("k", id, Bytes{}).ok());
  EXPECT_TRUE(ops.start("k", id, Bytes{}).ok());
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(ops.start("unknown", id, Bytes{}).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ops.outcome(id).has_value());  // running
  ops.complete(id, Bytes{1});
  ops.complete(id, Bytes{2});
  ASSERT_TRUE(ops.outcome(id).has_value());
  EXPECT_EQ(ops.outcome(id)->value(), Bytes{1});
}

}  // namespace
}  // namespace folio::flow
