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
