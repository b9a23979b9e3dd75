// Failure ends and pruned de-duplication, on SQLite and PostgreSQL (docs/flows.md, "Failure ends"
// and "Pruning"). A flow that fails by its own error, an exception or a kill sends every session
// still open a durable failure end, so the counterparty's receive fails with
// SessionEnd::kCounterpartyFailed (and a safe reason) instead of waiting for an operator; crashes
// right before and right after the failure's commit still deliver exactly one end. Processed
// marks go when their flow ends, and no duplicate is processed twice, before or after. A peer
// beyond its responder cap has its sessions refused.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "flow/engine.h"
#include "flow/tables.h"
#include "flow/test_cluster.h"

namespace folio::flow {
namespace {

using testing::BackendTest;
using testing::Cluster;
using testing::ThreeStep;
using testing::ThreeStepResponder;

// ---- Flows ----------------------------------------------------------------------------------

// Asks once and waits; a counterparty failure is handled (the result says how the session ended).
struct Asker {
  static constexpr std::string_view kName = "test.end.Asker";
  std::string peer;
  FOLIO_FIELDS(peer)

  Flow<std::string> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    Result<uint64_t> answer = co_await session.send_and_receive<uint64_t>(uint64_t{7});
    if (answer.ok()) co_return std::string("answered");
    if (session.end() != SessionEnd::kCounterpartyFailed) co_return answer.error();
    std::string text = "[" + std::string(to_string(answer.error().code)) + "] " +
                       answer.error().context;
    FOLIO_CO_TRY(ctx.write([](storage::Session& tx) {
      return testing::record_effect(tx, "initiator", 0, 1);  // handled: once, whatever crashes
    }));
    co_return std::string(to_string(session.end())) + ": " + text;
  }
};

// Receives, sleeps, then fails with a secret in its error text: its failure step is driven by the
// clock, not by a message (so a crash before its commit loses no message's disposition).
struct FailingResponder {
  static constexpr std::string_view kName = "test.end.FailingResponder";
  Flow<uint64_t> call(FlowContext& ctx, Session session) {
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t value, co_await session.receive<uint64_t>());
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(10)));
    co_return make_error(ErrorCode::kVerification,
                         "secret: balance 1234 below " + std::to_string(value));
  }
};

// Alice -> Bob (Relay) -> Carol (Thrower): Carol throws; Bob's receive fails and fails Bob in
// turn; Alice's receive fails.
struct Chain {
  static constexpr std::string_view kName = "test.end.Chain";
  std::string peer;
  std::string last;
  FOLIO_FIELDS(peer, last)

  Flow<uint64_t> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    co_return co_await session.send_and_receive<uint64_t>(last);
  }
};

struct Relay {
  static constexpr std::string_view kName = "test.end.Relay";
  std::string peer;
  FOLIO_FIELDS(peer)

  Flow<uint64_t> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    co_return co_await session.send_and_receive<uint64_t>(uint64_t{1});
  }
};

struct RelayResponder {
  static constexpr std::string_view kName = "test.end.RelayResponder";
  Flow<uint64_t> call(FlowContext& ctx, Session session) {
    FOLIO_CO_ASSIGN_OR_RETURN(std::string next, co_await session.receive<std::string>());
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t value, co_await ctx.sub_flow<Relay>(next));
    FOLIO_CO_TRY(co_await session.send(value));
    co_return value;
  }
};

struct ThrowingResponder {
  static constexpr std::string_view kName = "test.end.ThrowingResponder";
  Flow<uint64_t> call(FlowContext&, Session session) {
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t value, co_await session.receive<uint64_t>());
    if (value != 0) throw std::runtime_error("secret key material");
    co_return value;
  }
};

// Exchanges once, then fails until a 'permit' row exists; after a retry it asks again.
struct AsksTwice {
  static constexpr std::string_view kName = "test.end.AsksTwice";
  std::string peer;
  FOLIO_FIELDS(peer)

  Flow<uint64_t> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t first, co_await session.send_and_receive<uint64_t>(uint64_t{1}));
    FOLIO_CO_ASSIGN_OR_RETURN(
        int64_t permits, ctx.record<int64_t>(testing::count_permits));
    if (permits == 0) co_return make_error(ErrorCode::kVerification, "no permit yet");
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t second, co_await session.send_and_receive<uint64_t>(first));
    co_return second;
  }
};

struct AnswersTwice {
  static constexpr std::string_view kName = "test.end.AnswersTwice";
  Flow<uint64_t> call(FlowContext&, Session session) {
    uint64_t total = 0;
    for (int i = 0; i < 2; ++i) {
      FOLIO_CO_ASSIGN_OR_RETURN(uint64_t value, co_await session.receive<uint64_t>());
      total += value;
      FOLIO_CO_TRY(co_await session.send(value + 1));
    }
    co_return total;
  }
};

// Waits for a second message that never comes: a flow that runs until killed.
struct Lingerer {
  static constexpr std::string_view kName = "test.end.Lingerer";
  std::string peer;
  FOLIO_FIELDS(peer)
  Flow<uint64_t> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    co_return co_await session.send_and_receive<uint64_t>(uint64_t{3});
  }
};

struct LingererResponder {
  static constexpr std::string_view kName = "test.end.LingererResponder";
  Flow<uint64_t> call(FlowContext&, Session session) {
    FOLIO_CO_ASSIGN_OR_RETURN(uint64_t first, co_await session.receive<uint64_t>());
    Result<uint64_t> second = co_await session.receive<uint64_t>();
    if (!second.ok() && session.end() == SessionEnd::kCounterpartyFailed) {
      co_return first;  // the initiator was killed: handled
    }
    co_return second;
  }
};

FlowRegistry make_registry() {
  FlowRegistry r;
  EXPECT_TRUE(r.register_flow<Asker>().ok());
  EXPECT_TRUE(r.register_responder<FailingResponder>(Asker::kName).ok());
  EXPECT_TRUE(r.register_flow<Chain>().ok());
  EXPECT_TRUE(r.register_responder<RelayResponder>(Chain::kName).ok());
  EXPECT_TRUE(r.register_responder<ThrowingResponder>(Relay::kName).ok());
  EXPECT_TRUE(r.register_flow<AsksTwice>().ok());
  EXPECT_TRUE(r.register_responder<AnswersTwice>(AsksTwice::kName).ok());
  EXPECT_TRUE(r.register_flow<Lingerer>().ok());
  EXPECT_TRUE(r.register_responder<LingererResponder>(Lingerer::kName).ok());
  EXPECT_TRUE(r.register_flow<ThreeStep>().ok());
  EXPECT_TRUE(r.register_responder<ThreeStepResponder>(ThreeStep::kName).ok());
  return r;
}

FlowInfo only_flow(Cluster& c, const std::string& node) {
  std::vector<FlowInfo> flows = c.engine(node).flows();
  EXPECT_EQ(flows.size(), 1u) << node;
  return flows.empty() ? FlowInfo{} : flows[0];
}

int64_t count(Cluster& c, const std::string& node, const std::string& sql) {
  auto rows = c.db(node).query(sql);
  EXPECT_TRUE(rows.ok()) << sql;
  return rows.ok() ? rows->at(0).integer(0) : -1;
}

// Runs the network, the engines' timers and the clock until nothing moves.
void settle(Cluster& c) {
  for (int i = 0; i < 20; ++i) {
    c.run();
    c.clock.advance(10);
  }
  c.run();
}

class SessionEndTest : public BackendTest {};

// Before: Alice waited for ever on a responder that had failed, until an operator killed it.
TEST_P(SessionEndTest, AFailedResponderEndsTheInitiatorsWaitWithATypedSafeReason) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto handle = c.engine("O=Alice").start(Asker{"O=Bob"});
  ASSERT_TRUE(handle.ok());
  settle(c);
  FlowInfo bob = only_flow(c, "O=Bob");
  EXPECT_EQ(bob.status, FlowStatus::kHospitalised);
  EXPECT_NE(bob.error.find("secret"), std::string::npos);  // the whole text stays at home
  EXPECT_EQ(c.engine("O=Bob").stats().failure_ends_sent, 1u);
  auto result = c.engine("O=Alice").result<std::string>(handle->id);
  ASSERT_TRUE(result.has_value()) << "Alice is still waiting for Bob";
  ASSERT_TRUE(result->ok()) << result->error().message();
  EXPECT_EQ(**result,
            "counterparty failed: [" + std::string(to_string(ErrorCode::kIo)) +
                "] counterparty O=Bob: flow 'test.end.FailingResponder' failed (" +
                std::string(to_string(ErrorCode::kVerification)) + ")");
  EXPECT_EQ((*result)->find("secret"), std::string::npos);
  EXPECT_EQ(c.engine("O=Alice").stats().failure_ends_received, 1u);
  EXPECT_EQ(count(c, "O=Bob", "SELECT COUNT(*) FROM flow_outbox"), 0);
}

TEST_P(SessionEndTest, AFailureFailsTheCounterpartyInTurnAlongAChain) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  ASSERT_TRUE(c.add("O=Carol").ok());
  auto handle = c.engine("O=Alice").start(Chain{"O=Bob", "O=Carol"});
  ASSERT_TRUE(handle.ok());
  settle(c);
  EXPECT_EQ(only_flow(c, "O=Carol").status, FlowStatus::kHospitalised);
  EXPECT_NE(only_flow(c, "O=Carol").error.find("secret key material"), std::string::npos);
  FlowInfo bob = only_flow(c, "O=Bob");
  EXPECT_EQ(bob.status, FlowStatus::kHospitalised);
  EXPECT_NE(bob.error.find("counterparty O=Carol: flow 'test.end.ThrowingResponder' failed (" +
                           std::string(to_string(ErrorCode::kInternal)) + ")"),
            std::string::npos)
      << bob.error;
  FlowInfo alice = *c.engine("O=Alice").flow(handle->id);
  EXPECT_EQ(alice.status, FlowStatus::kHospitalised);
  EXPECT_NE(alice.error.find("counterparty O=Bob: flow 'test.end.RelayResponder' failed"),
            std::string::npos)
      << alice.error;
  EXPECT_EQ(alice.error.find("secret"), std::string::npos) << alice.error;
  // Each side tells only the sessions still open: Bob tells Alice (Carol has failed already),
  // Alice tells nobody.
  EXPECT_EQ(c.engine("O=Carol").stats().failure_ends_sent, 1u);
  EXPECT_EQ(c.engine("O=Bob").stats().failure_ends_sent, 1u);
  EXPECT_EQ(c.engine("O=Alice").stats().failure_ends_sent, 0u);
  for (const std::string n : {"O=Alice", "O=Bob", "O=Carol"}) {
    EXPECT_EQ(count(c, n, "SELECT COUNT(*) FROM flow_outbox"), 0) << n;
  }
}

// A retried flow whose failure closed its session fails at its next receive on it instead of
// waiting for a counterparty that was told it had failed.
TEST_P(SessionEndTest, ARetriedFlowFindsTheSessionsItsFailureClosed) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto handle = c.engine("O=Alice").start(AsksTwice{"O=Bob"});
  ASSERT_TRUE(handle.ok());
  settle(c);
  EXPECT_EQ(c.engine("O=Alice").flow(handle->id)->status, FlowStatus::kHospitalised);
  FlowInfo bob = only_flow(c, "O=Bob");
  EXPECT_EQ(bob.status, FlowStatus::kHospitalised);  // its second receive failed
  EXPECT_NE(bob.error.find("flow 'test.end.AsksTwice' failed (" +
                           std::string(to_string(ErrorCode::kVerification)) + ")"),
            std::string::npos)
      << bob.error;
  ASSERT_TRUE(c.db("O=Alice")
                  .exec("INSERT INTO test_effects (party, step, value) VALUES ('permit', 0, 0)")
                  .ok());
  ASSERT_TRUE(c.engine("O=Alice").retry(handle->id).ok());
  settle(c);
  FlowInfo alice = *c.engine("O=Alice").flow(handle->id);
  EXPECT_EQ(alice.status, FlowStatus::kHospitalised);
  EXPECT_NE(alice.error.find("session closed when this flow failed"), std::string::npos)
      << alice.error;
  // Bob heard of Alice's failure once (the retry had no open session left to tell).
  EXPECT_EQ(c.engine("O=Bob").stats().failure_ends_received, 1u);
}

TEST_P(SessionEndTest, AKilledFlowsCounterpartyCanHandleItsEnd) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto handle = c.engine("O=Alice").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(handle.ok());
  settle(c);
  ASSERT_EQ(only_flow(c, "O=Bob").status, FlowStatus::kRunning);
  ASSERT_TRUE(c.engine("O=Alice").kill(handle->id, "stuck").ok());
  settle(c);
  FlowInfo bob = only_flow(c, "O=Bob");
  EXPECT_EQ(bob.status, FlowStatus::kCompleted);
  auto result = c.engine("O=Bob").result<uint64_t>(bob.id);
  ASSERT_TRUE(result.has_value() && result->ok());
  EXPECT_EQ(**result, 3u);
}

// A failure end is out of band or it is inconsistent (rejected); one for a session that does not
// exist opens nothing and leaves no mark.
TEST_P(SessionEndTest, AFailureEndFromAPeerIsCheckedAndOpensNothing) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Bob").ok());
  FlowEngine& bob = c.engine("O=Bob");
  wire::SessionMessage m;
  m.session_id = crypto::sha256(as_bytes("no such session"));
  m.from_initiator = true;
  m.initiating_flow = std::string(Asker::kName);
  m.kind = wire::Kind::kFailed;
  m.seq = 0;
  m.payload = wire::encode_error(make_error(ErrorCode::kIo, "flow 'x' failed (internal)"));
  net::Envelope e;
  e.id = crypto::sha256(as_bytes("a failure end"));
  e.sender = "O=Mallory";
  e.recipient = "O=Bob";
  e.topic = std::string(wire::kTopic);
  e.payload = codec::encode_to_bytes(m);
  EXPECT_EQ(bob.on_message(e), net::Disposition::kRejected);  // in sequence: inconsistent
  m.seq = wire::kOutOfBand;
  e.payload = codec::encode_to_bytes(m);
  EXPECT_EQ(bob.on_message(e), net::Disposition::kAccepted);
  EXPECT_TRUE(bob.flows().empty());
  EXPECT_EQ(bob.stats().failure_ends_received, 0u);
  EXPECT_EQ(count(c, "O=Bob", "SELECT COUNT(*) FROM flow_processed_from"), 0);
}

// ---- Crash matrix -----------------------------------------------------------------------------

enum class Crash { kNone, kBeforeCommit, kAfterCommitBeforeSend, kAfterSend };

// Bob's responder fails on a timer; Bob is crashed right before or right after that failure's
// commit, then restarted from its database. Alice must see exactly one failure end.
void run_failure_crash(storage::Backend backend, Crash crash, bool evict) {
  FlowRegistry registry = make_registry();
  Cluster c(backend, registry);
  c.options.evict_suspended = evict;
  c.options.fault_before_commit = true;
  bool crashed = false;
  bool dead = false;
  c.faults["O=Bob"] = [&](FaultPoint point) {
    if (crashed || crash == Crash::kNone || !c.alive("O=Bob")) return false;
    // The failure's commit is the one that queues the failure end (counted before the point).
    bool failure_commit = c.engine("O=Bob").stats().failure_ends_sent > 0;
    if (crash == Crash::kBeforeCommit && point == FaultPoint::kBeforeCommit) {
      // The failing step runs from tick(): the only group without received messages here.
      crashed = dead = true;
      return true;
    }
    if (point != FaultPoint::kAfterCommitBeforeSend || !failure_commit) return false;
    crashed = true;
    if (crash == Crash::kAfterCommitBeforeSend) {
      dead = true;
      return true;
    }
    return false;  // kAfterSend: the messages leave, then the process dies
  };
  std::string where = std::string(crash == Crash::kBeforeCommit            ? "before commit"
                                  : crash == Crash::kAfterCommitBeforeSend ? "after commit"
                                  : crash == Crash::kAfterSend             ? "after send"
                                                                           : "no crash") +
                      (evict ? ", evicting" : "");
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto handle = c.engine("O=Alice").start(Asker{"O=Bob"});
  ASSERT_TRUE(handle.ok());
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 1000 && c.network.deliver_one(); ++i) {
    }
    for (const std::string n : {"O=Alice", "O=Bob"}) c.engine(n).tick();
    if (crashed && (dead || crash == Crash::kAfterSend) && c.alive("O=Bob")) {
      if (crash == Crash::kAfterSend) {
        // The end left and reaches Alice, but Bob dies before he hears she has it: his outbox
        // keeps it and his restart sends it again.
        c.network.endpoint("O=Bob").set_outcome_handler({});
        for (int i = 0; i < 1000 && c.network.deliver_one(); ++i) {
        }
      }
      c.crash("O=Bob");
      Status restarted = c.start("O=Bob");
      ASSERT_TRUE(restarted.ok()) << restarted.error().message() << " " << where;
      dead = false;
      if (crash == Crash::kAfterSend) crash = Crash::kNone;  // restarted once
    }
    c.clock.advance(5);
  }
  if (crash != Crash::kNone) {
    EXPECT_TRUE(crashed) << where;
  }
  auto result = c.engine("O=Alice").result<std::string>(handle->id);
  ASSERT_TRUE(result.has_value()) << "Alice still waits, " << where;
  ASSERT_TRUE(result->ok()) << result->error().message() << ", " << where;
  EXPECT_EQ((*result)->rfind("counterparty failed: ", 0), 0u) << **result << ", " << where;
  EXPECT_EQ(c.effects("O=Alice"), (std::vector<std::string>{"initiator:0:1"})) << where;
  EXPECT_EQ(c.engine("O=Alice").stats().failure_ends_received, 1u) << where;
  if (crash == Crash::kNone && where.rfind("after send", 0) == 0) {
    // The second copy was turned away (a duplicate, or after Alice's flow had ended).
    EXPECT_EQ(c.engine("O=Alice").stats().duplicates +
                  c.engine("O=Alice").stats().messages_after_end,
              1u)
        << where;
  }
  FlowInfo bob = only_flow(c, "O=Bob");
  EXPECT_EQ(bob.status, FlowStatus::kHospitalised) << where;
  EXPECT_EQ(count(c, "O=Bob", "SELECT COUNT(*) FROM flow_outbox"), 0) << where;
  EXPECT_EQ(count(c, "O=Alice", "SELECT COUNT(*) FROM flow_outbox"), 0) << where;
}

TEST_P(SessionEndTest, AFailureEndIsDeliveredOnceWhenItsNodeCrashesAroundTheCommit) {
  for (bool evict : {false, true}) {
    for (Crash crash :
         {Crash::kNone, Crash::kBeforeCommit, Crash::kAfterCommitBeforeSend, Crash::kAfterSend}) {
      run_failure_crash(GetParam(), crash, evict);
    }
  }
}

// ---- Pruning ---------------------------------------------------------------------------------

int64_t processed(Cluster& c, const std::string& node) {
  return count(c, node, "SELECT COUNT(*) FROM flow_processed_from");
}

// Before: every message accepted left a row in flow_processed_from for ever.
TEST_P(SessionEndTest, ProcessedMarksGoWhenTheirFlowEnds) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto lingering = c.engine("O=Alice").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(lingering.ok());
  for (uint64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.engine("O=Alice").start(ThreeStep{"O=Bob", i}).ok());
  }
  settle(c);
  // Five finished conversations leave nothing; the running one keeps its single mark.
  EXPECT_EQ(processed(c, "O=Bob"), 1);
  EXPECT_EQ(processed(c, "O=Alice"), 0);
  ASSERT_TRUE(c.engine("O=Alice").kill(lingering->id, "done testing").ok());
  settle(c);
  EXPECT_EQ(processed(c, "O=Bob"), 0);
  EXPECT_EQ(processed(c, "O=Alice"), 0);
}

// Marks of schema version 2 name no flow; they go at a start-up with no flow live, when every
// session they can belong to has ended, and stay while one is.
TEST_P(SessionEndTest, MarksFromBeforeMigrationThreeGoAtAStartWithNoFlowLive) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  auto lingering = c.engine("O=Alice").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(lingering.ok());
  settle(c);
  crypto::Hash256 old_id = crypto::sha256(as_bytes("accepted by version 2"));
  const storage::Value params[] = {std::string("O=Alice"),
                                   Bytes(old_id.bytes.begin(), old_id.bytes.end())};
  ASSERT_TRUE(c.db("O=Bob")
                  .exec("INSERT INTO flow_processed_from (sender, message_id) VALUES (?, ?)",
                        params)
                  .ok());
  ASSERT_EQ(processed(c, "O=Bob"), 2);  // the running responder's mark and the old one
  ASSERT_TRUE(c.restart("O=Bob").ok());
  EXPECT_EQ(processed(c, "O=Bob"), 2);  // a flow is live: the old mark may be its
  ASSERT_TRUE(c.engine("O=Alice").kill(lingering->id, "upgrade").ok());
  settle(c);
  EXPECT_EQ(processed(c, "O=Bob"), 1);
  ASSERT_TRUE(c.restart("O=Bob").ok());
  EXPECT_EQ(processed(c, "O=Bob"), 0);
}

// Every message Bob receives is delivered again at once (the flow runs: its marks catch them),
// then all of them again once the flow has ended (its marks are gone: the session turns them
// away), and again after a restart. Each is processed once: one responder, three effects.
TEST_P(SessionEndTest, NoDuplicateIsProcessedTwiceBeforeOrAfterItsMarksArePruned) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  std::vector<net::Envelope> delivered;
  FlowEngine* bob = &c.engine("O=Bob");
  c.network.endpoint("O=Bob").set_handler([&](const net::Envelope& e) {
    delivered.push_back(e);
    net::Disposition first = bob->on_message(e);
    EXPECT_EQ(bob->on_message(e), net::Disposition::kAccepted);
    return first;
  });
  auto handle = c.engine("O=Alice").start(ThreeStep{"O=Bob", 0});
  ASSERT_TRUE(handle.ok());
  c.run();
  ASSERT_EQ(delivered.size(), 4u);  // three data and Alice's end
  // The copies of the first two arrived while Bob's flow ran (duplicates by their marks); the
  // third message ended it, so its copy, Alice's end and that one's copy find it finished.
  EXPECT_EQ(bob->stats().duplicates, 2u);
  EXPECT_EQ(bob->stats().messages_after_end, 3u);
  EXPECT_EQ(processed(c, "O=Bob"), 0);
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      ASSERT_TRUE(c.restart("O=Bob").ok());
      bob = &c.engine("O=Bob");
    }
    uint64_t accepted = bob->stats().messages_accepted;
    for (const net::Envelope& e : delivered) {
      EXPECT_EQ(bob->on_message(e), net::Disposition::kAccepted);
    }
    EXPECT_EQ(bob->stats().messages_accepted, accepted) << pass;
    ASSERT_EQ(bob->flows().size(), 1u) << pass;
    EXPECT_EQ(bob->flows()[0].status, FlowStatus::kCompleted) << pass;
    EXPECT_EQ(c.effects("O=Bob"), (std::vector<std::string>{"responder:0:1", "responder:1:3",
                                                            "responder:2:7"}))
        << pass;
    EXPECT_EQ(processed(c, "O=Bob"), 0) << pass;
  }
  auto result = c.engine("O=Alice").result<uint64_t>(handle->id);
  ASSERT_TRUE(result.has_value() && result->ok());
  EXPECT_EQ(**result, 14u);
}

// ---- Per-peer responder cap -------------------------------------------------------------------

// Before: a peer could open responder flows without bound.
TEST_P(SessionEndTest, APeerBeyondItsResponderCapIsRefusedClearly) {
  FlowRegistry registry = make_registry();
  Cluster c(GetParam(), registry);
  c.options.responders_per_peer_max = 2;
  ASSERT_TRUE(c.add("O=Alice").ok());
  ASSERT_TRUE(c.add("O=Bob").ok());
  ASSERT_TRUE(c.add("O=Carol").ok());
  std::vector<FlowId> alice;
  for (int i = 0; i < 3; ++i) {
    auto handle = c.engine("O=Alice").start(Lingerer{"O=Bob"});
    ASSERT_TRUE(handle.ok());
    alice.push_back(handle->id);
  }
  settle(c);
  EXPECT_EQ(c.engine("O=Bob").responders_of("O=Alice"), 2);
  EXPECT_EQ(c.engine("O=Bob").stats().sessions_rejected, 1u);
  EXPECT_EQ(c.engine("O=Bob").flows().size(), 2u);
  int refused = 0;
  FlowId running;
  for (const FlowId& id : alice) {
    FlowInfo info = *c.engine("O=Alice").flow(id);
    if (info.status == FlowStatus::kRunning) {
      running = id;
      continue;
    }
    ++refused;
    EXPECT_EQ(info.status, FlowStatus::kHospitalised);
    EXPECT_NE(info.error.find("session rejected: node O=Bob already has 2 flows for O=Alice, the "
                              "most it runs for one peer"),
              std::string::npos)
        << info.error;
    auto result = c.engine("O=Alice").result(id);
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE(result->ok());
  }
  EXPECT_EQ(refused, 1);
  // The cap is per peer: Carol is served.
  auto carol = c.engine("O=Carol").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(carol.ok());
  settle(c);
  EXPECT_EQ(c.engine("O=Bob").responders_of("O=Carol"), 1);
  // The count survives a restart (rebuilt from the flows' rows).
  ASSERT_TRUE(c.restart("O=Bob").ok());
  EXPECT_EQ(c.engine("O=Bob").responders_of("O=Alice"), 2);
  auto fourth = c.engine("O=Alice").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(fourth.ok());
  settle(c);
  EXPECT_EQ(c.engine("O=Alice").flow(fourth->id)->status, FlowStatus::kHospitalised);
  // A responder that ends frees its place: one of Alice's running flows is killed, Bob's responder
  // handles that and completes, and Alice's next session is accepted.
  ASSERT_TRUE(c.engine("O=Alice").kill(running, "make room").ok());
  settle(c);
  EXPECT_EQ(c.engine("O=Bob").responders_of("O=Alice"), 1);
  auto fifth = c.engine("O=Alice").start(Lingerer{"O=Bob"});
  ASSERT_TRUE(fifth.ok());
  settle(c);
  EXPECT_EQ(c.engine("O=Alice").flow(fifth->id)->status, FlowStatus::kRunning);
  EXPECT_EQ(c.engine("O=Bob").responders_of("O=Alice"), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, SessionEndTest, testing::test_backends(),
                         [](const ::testing::TestParamInfo<storage::Backend>& info) {
                           return std::string(info.param == storage::Backend::kSqlite
                                                  ? "Sqlite"
                                                  : "Postgres");
                         });

}  // namespace
}  // namespace folio::flow
