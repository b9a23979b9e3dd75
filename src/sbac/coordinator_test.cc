// The Coordinator over two object tables standing for two shards of four replicas each (every
// honest replica of a shard executes the same log, so one table per shard is enough), and the
// session-cache pruning and replay-defence switch of the table.
#include "sbac/coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ledger::StateRef;
using ledger::TxId;

class CoordinatorTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kShards = 2;

  CoordinatorTest() {
    for (uint32_t s = 0; s < kShards; ++s) tables_.emplace_back(ShardId(s), net_.map, 2);
  }

  StateRef genesis(uint32_t shard, std::string_view label) {
    StateRef ref = testing::ref_on(ShardId(shard), kShards, label);
    EXPECT_TRUE(tables_[shard].add_genesis(ref).ok());
    return ref;
  }

  static PrepareCommand command(std::string_view label, uint64_t session,
                                std::vector<StateRef> inputs, uint32_t outputs = 1) {
    std::sort(inputs.begin(), inputs.end());
    PrepareCommand c;
    c.tx_id = testing::tx_id(label);
    c.session = Sequence(session);
    c.inputs = std::move(inputs);
    c.output_count = outputs;
    c.dummy_slot = 0;
    return c;
  }

  // Every replica of the decision's shard signs its statement; `liar` (if any) signs `lie` as
  // sequence_max instead (it can lie only in its own name).
  std::vector<ReplicaMessage> statements(const Outcome& outcome, std::optional<uint32_t> liar = {},
                                         Sequence lie = Sequence(0)) {
    std::vector<ReplicaMessage> out;
    if (const auto* p = std::get_if<PrepareDecision>(&outcome)) {
      Prepared s = p->statement(net_.map.epoch);
      for (uint32_t i = 0; i < 4; ++i) {
        Prepared said = s;
        if (liar == i) said.sequence_max = lie;
        out.emplace_back(SignedPrepared{said, sign(net_.keys[s.shard.value()][i], said)});
      }
    }
    if (const auto* a = std::get_if<AcceptDecision>(&outcome)) {
      Accepted s = a->statement(net_.map.epoch);
      for (uint32_t i = 0; i < 4; ++i)
        out.emplace_back(SignedAccepted{s, sign(net_.keys[s.shard.value()][i], s), a->key});
    }
    return out;
  }

  // Delivers the coordinator's sends to the shards until it has nothing more to say.
  void drive(Coordinator& c, std::optional<uint32_t> liar = {}, Sequence lie = Sequence(0)) {
    for (int round = 0; round < 20 && c.outcome() == Coordinator::Outcome::kRunning; ++round) {
      std::vector<CoordinatorSend> sends = c.take_ready();
      if (sends.empty()) c.tick();
      deliver(c, sends, liar, lie);
    }
  }

  void deliver(Coordinator& c, const std::vector<CoordinatorSend>& sends,
               std::optional<uint32_t> liar = {}, Sequence lie = Sequence(0)) {
    {
      for (const CoordinatorSend& send : sends) {
        const auto* submit = std::get_if<SubmitCommand>(&send.message);
        if (submit == nullptr) continue;
        auto decoded = decode_command(submit->command);
        ASSERT_TRUE(decoded.ok());
        Outcome o = tables_[send.shard.value()].execute(*decoded, now_, check_);
        if (std::holds_alternative<SingleShardCommand>(*decoded)) {
          // As a ShardReplica does on the fast path: the prepared statement with the verdict.
          const auto& a = std::get<AcceptDecision>(o);
          PrepareDecision p{a.key, a.shard, a.verdict, AbortReason::kNone, Sequence(0)};
          for (const ReplicaMessage& m : statements(p, liar, lie)) c.on_replica(m);
        }
        for (const ReplicaMessage& m : statements(o, liar, lie)) c.on_replica(m);
      }
    }
  }

  testing::Network net_ = testing::make_network(kShards, 4);
  std::vector<ObjectTable> tables_;
  NonValidating check_;
  ledger::Timestamp now_{1'000'000};
};

TEST_F(CoordinatorTest, DrivesACrossShardCommitToAVerifiedCertificate) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  Coordinator c(command("T", 0, {a, b}), std::nullopt, net_.map, CoordinatorConfig{});
  ASSERT_EQ(c.concerned().size(), 2u);
  drive(c);
  ASSERT_EQ(c.outcome(), Coordinator::Outcome::kCommitted);
  ASSERT_TRUE(c.certificate().has_value());
  EXPECT_TRUE(verify_certificate(c.tx_id(), *c.certificate(), c.concerned(), net_.map).ok());
  EXPECT_FALSE(tables_[0].find(a)->active);
  EXPECT_FALSE(tables_[1].find(b)->active);
}

TEST_F(CoordinatorTest, ResendsOnTheTimerUntilAnswered) {
  StateRef a = genesis(0, "a");
  Coordinator c(command("T", 0, {a}, 0), std::nullopt, net_.map, CoordinatorConfig{3, 1});
  EXPECT_FALSE(c.take_ready().empty());  // the first prepare and query, lost
  c.tick();
  c.tick();
  EXPECT_TRUE(c.take_ready().empty());
  c.tick();
  EXPECT_FALSE(c.take_ready().empty());  // resent after three ticks
}

// The prepare is encoded from its parts without building a ShardCommand: the bytes must be the
// codec's encoding of the form the session sends (bound, fast path, plain).
TEST_F(CoordinatorTest, SendsThePrepareEncodedExactlyAsTheCodecEncodesItsForm) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareBinding binding;
  binding.signatures.resize(2);
  auto first_submit = [](Coordinator& c) {
    for (const CoordinatorSend& s : c.take_ready())
      if (const auto* submit = std::get_if<SubmitCommand>(&s.message)) return submit->command;
    return Bytes{};
  };
  PrepareCommand cross = command("T", 0, {a, b});
  PrepareCommand single = command("S", 0, {a}, 0);
  Coordinator bound_cross(cross, binding, net_.map, CoordinatorConfig{});
  EXPECT_EQ(first_submit(bound_cross),
            codec::encode_to_bytes(ShardCommand(BoundPrepareCommand{cross, binding, false})));
  Coordinator bound_single(single, binding, net_.map, CoordinatorConfig{});
  EXPECT_EQ(first_submit(bound_single),
            codec::encode_to_bytes(ShardCommand(BoundPrepareCommand{single, binding, true})));
  Coordinator fast(single, std::nullopt, net_.map, CoordinatorConfig{});
  EXPECT_EQ(first_submit(fast), codec::encode_to_bytes(ShardCommand(SingleShardCommand{single})));
  Coordinator plain(cross, std::nullopt, net_.map, CoordinatorConfig{});
  EXPECT_EQ(first_submit(plain), codec::encode_to_bytes(ShardCommand(cross)));
}

// After a commit decision, a prepared statement of a shard already known to have prepared changes
// nothing and is not verified; before it, or after an abort decision, every one is.
TEST_F(CoordinatorTest, LatePreparedStatementsAfterACommitDecisionCostNoVerification) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  VerifyCache cache;
  Coordinator c(command("T", 0, {a, b}), std::nullopt, net_.map, CoordinatorConfig{}, &cache);
  std::vector<ReplicaMessage> late;
  for (const CoordinatorSend& send : c.take_ready()) {
    const auto* submit = std::get_if<SubmitCommand>(&send.message);
    if (submit == nullptr) continue;  // the queries
    Outcome o = tables_[send.shard.value()].execute(*decode_command(submit->command), now_, check_);
    std::vector<ReplicaMessage> said = statements(o);
    for (size_t i = 0; i < said.size(); ++i) {
      if (i < 2) {
        c.on_replica(said[i]);  // f+1 of each shard: counted
      } else {
        late.push_back(said[i]);
      }
    }
  }
  ASSERT_TRUE(c.prepare_command().tx_id == testing::tx_id("T"));
  uint64_t verified = cache.hits() + cache.misses();
  EXPECT_EQ(verified, 4u);
  for (const ReplicaMessage& m : late) c.on_replica(m);
  EXPECT_EQ(cache.hits() + cache.misses(), verified);
  EXPECT_EQ(c.refused(), 0u);
  deliver(c, c.take_ready());
  EXPECT_EQ(c.outcome(), Coordinator::Outcome::kCommitted);
}

// Byzcuit: an abort bumps sequence numbers past s_T; a retry must run above the highest sequence
// number that f+1 replicas of a shard report alike, and a lone liar cannot move it.
TEST_F(CoordinatorTest, RetriesAboveTheSequenceNumbersThatFPlusOneReplicasReport) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  // An earlier transaction's session 6 aborts at shard 0 (its other input does not exist) and
  // bumps `a` to 7.
  PrepareCommand other = command("U", 6, {a, testing::ref_on(ShardId(0), kShards, "none")}, 0);
  ASSERT_TRUE(std::holds_alternative<PrepareDecision>(tables_[0].prepare(other, now_, check_)));
  ASSERT_TRUE(std::holds_alternative<AcceptDecision>(
      tables_[0].accept(AcceptCommand{other.tx_id, other.session, Verdict::kAbort, {}})));
  ASSERT_EQ(tables_[0].find(a)->sequence, Sequence(7));

  Coordinator c(command("T", 0, {a, b}), std::nullopt, net_.map, CoordinatorConfig{5, 3});
  drive(c, /*liar=*/3, /*lie=*/Sequence(1'000'000));
  ASSERT_EQ(c.outcome(), Coordinator::Outcome::kCommitted);
  EXPECT_EQ(c.attempts(), 2u);
  EXPECT_EQ(c.session(), Sequence(7));  // not 1 (too low again), not the liar's million
}

// sequence_max is signed inside `prepared`: the network rewriting it in f+1 honest replicas'
// SignedPrepared after they signed cannot make f+1 matching reports of a false value. The
// rewritten copies arrive first and are refused; the genuine ones still count, and the retry runs
// at the real sequence number (without the signature the copies would count, the genuine ones
// would be duplicates, and the retry would jump to the rewritten value).
TEST_F(CoordinatorTest, SequenceMaxRewrittenAfterSigningIsRefusedAndTheRetryIsUnchanged) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareCommand other = command("U", 6, {a, testing::ref_on(ShardId(0), kShards, "none")}, 0);
  ASSERT_TRUE(std::holds_alternative<PrepareDecision>(tables_[0].prepare(other, now_, check_)));
  ASSERT_TRUE(std::holds_alternative<AcceptDecision>(
      tables_[0].accept(AcceptCommand{other.tx_id, other.session, Verdict::kAbort, {}})));
  ASSERT_EQ(tables_[0].find(a)->sequence, Sequence(7));

  const Sequence rewritten(1'000'000);
  Coordinator c(command("T", 0, {a, b}), std::nullopt, net_.map, CoordinatorConfig{5, 3});
  uint64_t rewrites = 0;
  for (int round = 0; round < 40 && c.outcome() == Coordinator::Outcome::kRunning; ++round) {
    std::vector<CoordinatorSend> sends = c.take_ready();
    if (sends.empty()) c.tick();
    for (const CoordinatorSend& send : sends) {
      const auto* submit = std::get_if<SubmitCommand>(&send.message);
      if (submit == nullptr) continue;
      auto decoded = decode_command(submit->command);
      ASSERT_TRUE(decoded.ok());
      Outcome o = tables_[send.shard.value()].execute(*decoded, now_, check_);
      std::vector<ReplicaMessage> said = statements(o);
      for (size_t i = 0; i < said.size(); ++i) {
        const auto* p = std::get_if<SignedPrepared>(&said[i]);
        if (p != nullptr && i < 2) {  // replicas 0 and 1: f+1 of each shard
          SignedPrepared copy = *p;
          copy.statement.sequence_max = rewritten;
          uint64_t refused = c.refused();
          c.on_replica(copy);
          EXPECT_EQ(c.refused(), refused + 1);
          ++rewrites;
        }
        c.on_replica(said[i]);
      }
    }
  }
  EXPECT_GE(rewrites, 4u);  // both shards' f+1, in the first session at least
  ASSERT_EQ(c.outcome(), Coordinator::Outcome::kCommitted);
  EXPECT_EQ(c.attempts(), 2u);
  EXPECT_EQ(c.session(), Sequence(7));
}

TEST_F(CoordinatorTest, GivesUpAfterItsAttempts) {
  StateRef a = genesis(0, "a");
  PrepareCommand spend = command("U", 0, {a}, 0);
  Coordinator first(spend, std::nullopt, net_.map, CoordinatorConfig{});
  drive(first);
  ASSERT_EQ(first.outcome(), Coordinator::Outcome::kCommitted);
  Coordinator second(command("T", 0, {a}, 0), std::nullopt, net_.map, CoordinatorConfig{5, 3});
  drive(second);
  EXPECT_EQ(second.outcome(), Coordinator::Outcome::kAborted);  // `a` is spent for good
  EXPECT_EQ(second.attempts(), 3u);
}

// Regression (a contention sweep, seed 5): shard 1 missed the prepare, the abort was decided on
// shard 0's vote, and the accept sent to shard 1 was sequenced there before any prepare: refused
// (no session), then filtered out of the log as a duplicate, and the client waited forever.
TEST_F(CoordinatorTest, AcceptGoesOnlyToShardsThatPreparedAndLaggardsGetThePrepareAgain) {
  StateRef missing = testing::ref_on(ShardId(0), kShards, "never created");
  StateRef b = genesis(1, "b");
  Coordinator c(command("T", 0, {missing, b}), std::nullopt, net_.map, CoordinatorConfig{});
  auto kind_for = [](const std::vector<CoordinatorSend>& sends, ShardId shard) {
    for (const CoordinatorSend& s : sends) {
      const auto* submit = std::get_if<SubmitCommand>(&s.message);
      if (submit == nullptr || s.shard != shard) continue;
      auto decoded = decode_command(submit->command);
      EXPECT_TRUE(decoded.ok());
      return decoded.ok() ? decoded->index() : size_t{99};
    }
    return size_t{99};
  };
  std::vector<CoordinatorSend> first = c.take_ready();
  for (const CoordinatorSend& s : first) {
    const auto* submit = std::get_if<SubmitCommand>(&s.message);
    if (submit == nullptr || s.shard != ShardId(0)) continue;  // shard 1's copy is lost
    Outcome o = tables_[0].execute(*decode_command(submit->command), now_, check_);
    for (const ReplicaMessage& m : statements(o)) c.on_replica(m);
  }
  std::vector<CoordinatorSend> decided = c.take_ready();
  EXPECT_EQ(kind_for(decided, ShardId(0)), 1u);  // AcceptCommand
  EXPECT_EQ(kind_for(decided, ShardId(1)), 0u);  // PrepareCommand again, not the accept
  deliver(c, decided);  // shard 0 accepts; shard 1 prepares and its replicas report it
  std::vector<CoordinatorSend> accept = c.take_ready();
  EXPECT_EQ(kind_for(accept, ShardId(1)), 1u);  // now the accept
  deliver(c, accept);
  drive(c);
  EXPECT_EQ(c.outcome(), Coordinator::Outcome::kAborted);
  EXPECT_FALSE(tables_[1].find(b)->lock.has_value());
}

// Regression (review of issue 4): `accepted` carried no session and SignedAccepted's session was
// unsigned, so a recorded accepted(abort) of session 0, relabelled as session 1's, counted for
// session 1 before session 1's own accept ran: the coordinator gave up (or retried) with `b` still
// locked by session 1 at shard 1. The session is now signed inside `accepted`.
TEST_F(CoordinatorTest, RelabelledAcceptedAbortOfAnEarlierSessionIsNotCounted) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  // Another transaction holds `a` (prepared commit, never accepted): every session of T aborts at
  // shard 0 and prepares commit (locking `b`) at shard 1.
  ASSERT_EQ(std::get<PrepareDecision>(tables_[0].prepare(command("U", 0, {a}, 0), now_, check_))
                .verdict,
            Verdict::kCommit);
  Coordinator c(command("T", 0, {a, b}), std::nullopt, net_.map, CoordinatorConfig{5, 2});
  std::vector<SignedAccepted> recorded;  // session 0's accepted(abort), as the network saw them
  bool injected = false;
  for (int round = 0; round < 40 && c.outcome() == Coordinator::Outcome::kRunning; ++round) {
    std::vector<CoordinatorSend> sends = c.take_ready();
    if (sends.empty()) c.tick();
    for (const CoordinatorSend& send : sends) {
      const auto* submit = std::get_if<SubmitCommand>(&send.message);
      if (submit == nullptr) continue;
      auto decoded = decode_command(submit->command);
      ASSERT_TRUE(decoded.ok());
      const auto* accept = std::get_if<AcceptCommand>(&*decoded);
      if (!injected && accept != nullptr && accept->session == Sequence(1)) {
        // Session 1 decided abort; before its accept is sequenced anywhere, the replay.
        injected = true;
        ASSERT_FALSE(recorded.empty());
        for (SignedAccepted replayed : recorded) {
          replayed.session = SessionKey{c.tx_id(), Sequence(1)};
          c.on_replica(replayed);
        }
        EXPECT_EQ(c.outcome(), Coordinator::Outcome::kRunning);
        EXPECT_EQ(c.session(), Sequence(1));
      }
      Outcome o = tables_[send.shard.value()].execute(*decoded, now_, check_);
      for (const ReplicaMessage& m : statements(o)) {
        if (const auto* s = std::get_if<SignedAccepted>(&m); s && s->session.session == Sequence(0))
          recorded.push_back(*s);
        c.on_replica(m);
      }
    }
  }
  ASSERT_TRUE(injected);
  EXPECT_EQ(c.outcome(), Coordinator::Outcome::kAborted);
  EXPECT_EQ(c.attempts(), 2u);
  // Session 1's own accept(abort) ran at shard 1: `b` is free again.
  EXPECT_EQ(tables_[1].session_accepted(SessionKey{c.tx_id(), Sequence(1)}), Verdict::kAbort);
  EXPECT_FALSE(tables_[1].find(b)->lock.has_value());
}

// ---- The table's session cache and replay-defence switch ----------------------------------------

TEST_F(CoordinatorTest, PrunedCommittedTransactionsCannotBePreparedAgain) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareCommand t = command("T", 0, {a, b});
  Coordinator c(t, std::nullopt, net_.map, CoordinatorConfig{});
  drive(c);
  ASSERT_EQ(c.outcome(), Coordinator::Outcome::kCommitted);
  // An aborted session of another transaction stays; T's committed session goes.
  StateRef d = genesis(0, "d");
  PrepareCommand u = command("U", 0, {d, a}, 0);
  ASSERT_EQ(std::get<PrepareDecision>(tables_[0].prepare(u, now_, check_)).verdict,
            Verdict::kAbort);
  EXPECT_EQ(tables_[0].prune_sessions(0), 1u);
  EXPECT_EQ(tables_[0].session_count(), 1u);
  // A replayed prepare of T's session would otherwise be sequenced afresh and sign an abort vote
  // for a session this shard voted commit in; it is refused without a vote.
  Outcome again = tables_[0].prepare(t, now_, check_);
  ASSERT_TRUE(std::holds_alternative<Rejection>(again));
  EXPECT_EQ(std::get<Rejection>(again).reason, RejectReason::kPruned);
  Outcome other_session = tables_[0].prepare(command("T", 5, {a, b}), now_, check_);
  EXPECT_TRUE(std::holds_alternative<Rejection>(other_session));
  Outcome accept = tables_[0].accept(AcceptCommand{t.tx_id, t.session, Verdict::kAbort, {}});
  ASSERT_TRUE(std::holds_alternative<Rejection>(accept));
  EXPECT_EQ(std::get<Rejection>(accept).reason, RejectReason::kNoSession);
  EXPECT_FALSE(tables_[0].find(a)->active);
  // Bounded: nothing prunable is left, so the bound is not forced below the open sessions.
  EXPECT_EQ(tables_[0].prune_sessions(0), 0u);
}

// The negative control of the object table itself: without Byzcuit's defences, the accept(abort)
// of session 0 replayed while session 1 is prepared aborts session 1 here, although another shard
// may commit it; with them, it changes nothing.
TEST_F(CoordinatorTest, ReplayedAbortReachesALaterSessionOnlyWithoutTheDefences) {
  for (bool defences : {true, false}) {
    ObjectTable table(ShardId(0), net_.map, 2);
    table.set_test_only_replay_defences(defences);
    StateRef a = testing::ref_on(ShardId(0), kShards, "a");
    StateRef b = testing::ref_on(ShardId(1), kShards, "b");
    ASSERT_TRUE(table.add_genesis(a).ok());
    PrepareCommand s0 = command("T", 0, {a, b}, 0);
    ASSERT_TRUE(std::holds_alternative<PrepareDecision>(table.prepare(s0, now_, check_)));
    // Session 0 aborts because shard 1 voted abort.
    AcceptCommand abort0{
        s0.tx_id,
        s0.session,
        Verdict::kAbort,
        {testing::vote(
            net_,
            Prepared{s0.tx_id, s0.session, Verdict::kAbort, ShardId(1), net_.map.epoch, Sequence(0)},
            2)}};
    ASSERT_TRUE(std::holds_alternative<AcceptDecision>(table.accept(abort0)));
    PrepareCommand s1 = s0;
    s1.session = Sequence(1);
    ASSERT_EQ(std::get<PrepareDecision>(table.prepare(s1, now_, check_)).verdict, Verdict::kCommit);
    Outcome replayed = table.accept(abort0);
    if (defences) {
      EXPECT_EQ(std::get<AcceptDecision>(replayed).key.session, Sequence(0));  // recorded, no-op
      EXPECT_EQ(table.find(a)->lock, (SessionKey{s1.tx_id, Sequence(1)}));
    } else {
      EXPECT_EQ(std::get<AcceptDecision>(replayed).key.session, Sequence(1));
      EXPECT_FALSE(table.find(a)->lock.has_value());
    }
  }
}

}  // namespace
}  // namespace folio::sbac
