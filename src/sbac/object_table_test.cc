#include "sbac/object_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ledger::StateRef;
using ledger::TxId;
using testing::make_network;
using testing::vote;

// A rejection's reason, or a marker for an outcome that is not a rejection.
std::string rejection_of(const Outcome& outcome) {
  if (const auto* r = std::get_if<Rejection>(&outcome)) return std::string(to_string(r->reason));
  return "not rejected";
}

PrepareDecision prepared_of(const Outcome& outcome) {
  const auto* d = std::get_if<PrepareDecision>(&outcome);
  EXPECT_NE(d, nullptr) << rejection_of(outcome);
  return d ? *d : PrepareDecision{};
}

AcceptDecision accepted_of(const Outcome& outcome) {
  const auto* d = std::get_if<AcceptDecision>(&outcome);
  EXPECT_NE(d, nullptr) << rejection_of(outcome);
  return d ? *d : AcceptDecision{};
}

class RejectingCheck final : public PrepareCheck {
 public:
  std::optional<std::string> reject(const PrepareCommand&, ShardId) const override {
    return "the contract says no";
  }
};

// Two shards of four replicas (f = 1). Each table stands for every honest replica of its shard:
// they execute the same log, so they reach the same outcomes.
class ObjectTableTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kShards = 2;
  static constexpr uint32_t kDummySlots = 4;

  ObjectTableTest() {
    for (uint32_t s = 0; s < kShards; ++s) tables_.emplace_back(ShardId(s), net_.map, kDummySlots);
  }

  ObjectTable& table(uint32_t shard) { return tables_[shard]; }

  StateRef genesis(uint32_t shard, std::string_view label, uint32_t nth = 0) {
    StateRef ref = testing::ref_on(ShardId(shard), kShards, label, nth);
    EXPECT_TRUE(table(shard).add_genesis(ref).ok());
    return ref;
  }

  // A transaction id whose single output φ places on `shard`.
  static TxId tx_with_output_on(uint32_t shard, std::string_view label) {
    for (int k = 0;; ++k) {
      TxId id = testing::tx_id(std::string(label) + "#" + std::to_string(k));
      if (shard_of(StateRef{id, 0}, kShards) == ShardId(shard)) return id;
    }
  }

  static PrepareCommand command(const TxId& id, uint64_t session, std::vector<StateRef> inputs,
                                std::vector<StateRef> references = {}, uint32_t outputs = 0,
                                std::optional<uint32_t> dummy = std::nullopt) {
    std::sort(inputs.begin(), inputs.end());
    std::sort(references.begin(), references.end());
    return PrepareCommand{
        id,   Sequence(session), std::move(inputs), std::move(references), outputs, std::nullopt,
        dummy};
  }

  static std::set<ShardId> concerned(const PrepareCommand& c) {
    return concerned_shards(c.tx_id, c.inputs, c.references, c.output_count, kShards);
  }

  // Phase 1 at every concerned shard.
  std::map<ShardId, PrepareDecision> prepare_all(const PrepareCommand& c) {
    std::map<ShardId, PrepareDecision> out;
    for (ShardId s : concerned(c))
      out[s] = prepared_of(table(s.value()).prepare(c, now_, non_validating_));
    return out;
  }

  // The manager's phase-2 command: commit with every shard's commit vote, else abort with the
  // abort votes. Votes carry f+1 = 2 signatures.
  AcceptCommand decide(const std::map<ShardId, PrepareDecision>& votes) const {
    bool all_commit = std::all_of(votes.begin(), votes.end(), [](const auto& v) {
      return v.second.verdict == Verdict::kCommit;
    });
    AcceptCommand a;
    a.tx_id = votes.begin()->second.key.tx_id;
    a.session = votes.begin()->second.key.session;
    a.verdict = all_commit ? Verdict::kCommit : Verdict::kAbort;
    for (const auto& [shard, d] : votes)
      if (d.verdict == a.verdict) a.evidence.push_back(vote(net_, d.statement(net_.map.epoch), 2));
    return a;
  }

  std::map<ShardId, Outcome> accept_all(const AcceptCommand& a, const std::set<ShardId>& shards) {
    std::map<ShardId, Outcome> out;
    for (ShardId s : shards) out.emplace(s, table(s.value()).accept(a));
    return out;
  }

  // A whole S-BAC run; returns the final verdict.
  Verdict run(const PrepareCommand& c) {
    AcceptCommand a = decide(prepare_all(c));
    for (const auto& [shard, outcome] : accept_all(a, concerned(c)))
      EXPECT_EQ(accepted_of(outcome).verdict, a.verdict);
    return a.verdict;
  }

  const ObjectEntry& entry(const StateRef& ref) {
    const ObjectEntry* e = table(shard_of(ref, kShards).value()).find(ref);
    EXPECT_NE(e, nullptr) << ref.describe();
    static const ObjectEntry kMissing{};
    return e ? *e : kMissing;
  }

  testing::Network net_ = make_network(kShards, 4);
  std::vector<ObjectTable> tables_;
  NonValidating non_validating_;
  ledger::Timestamp now_{1'000'000};
};

TEST_F(ObjectTableTest, CrossShardCommitConsumesInputsAndCreatesOutputs) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  TxId id = testing::tx_id("T");
  PrepareCommand c = command(id, 0, {a, b}, {}, 3);
  auto votes = prepare_all(c);
  ASSERT_EQ(votes.size(), 2u);
  for (const auto& [shard, d] : votes) EXPECT_EQ(d.verdict, Verdict::kCommit);
  EXPECT_EQ(entry(a).lock, (SessionKey{id, Sequence(0)}));
  EXPECT_TRUE(entry(a).active);

  EXPECT_EQ(run(c), Verdict::kCommit);  // phase 1 repeats idempotently inside run()
  EXPECT_FALSE(entry(a).active);
  EXPECT_FALSE(entry(a).lock);
  EXPECT_FALSE(entry(b).active);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(entry(StateRef{id, i}).active);
    EXPECT_FALSE(entry(StateRef{id, i}).lock);
  }
}

TEST_F(ObjectTableTest, DoubleSpendAcrossTwoTransactionsIsRefused) {
  StateRef a = genesis(0, "a");
  PrepareCommand t1 = command(testing::tx_id("T1"), 0, {a});
  PrepareCommand t2 = command(testing::tx_id("T2"), 0, {a});
  EXPECT_EQ(prepared_of(table(0).prepare(t1, now_, non_validating_)).verdict, Verdict::kCommit);
  // Chainspace §V-A, Theorem 2: the lock makes the conflicting T2 abort.
  PrepareDecision d2 = prepared_of(table(0).prepare(t2, now_, non_validating_));
  EXPECT_EQ(d2.verdict, Verdict::kAbort);
  EXPECT_EQ(d2.reason, AbortReason::kObjectLocked);
  EXPECT_EQ(run(t1), Verdict::kCommit);
  EXPECT_EQ(run(t2), Verdict::kAbort);
  // After T1 commits, a fresh T3 finds the input consumed.
  PrepareDecision d3 =
      prepared_of(table(0).prepare(command(testing::tx_id("T3"), 0, {a}), now_, non_validating_));
  EXPECT_EQ(d3.reason, AbortReason::kObjectNotActive);
  EXPECT_FALSE(entry(a).active);
}

TEST_F(ObjectTableTest, ALockedInputMakesASecondPrepareAbortWithoutTouchingTheLock) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(0, "b");
  TxId t1 = testing::tx_id("T1");
  prepared_of(table(0).prepare(command(t1, 0, {a}), now_, non_validating_));
  PrepareDecision d = prepared_of(
      table(0).prepare(command(testing::tx_id("T2"), 0, {a, b}), now_, non_validating_));
  EXPECT_EQ(d.reason, AbortReason::kObjectLocked);
  EXPECT_EQ(entry(a).lock, (SessionKey{t1, Sequence(0)}));
  EXPECT_FALSE(entry(b).lock);  // an aborting prepare locks nothing
}

TEST_F(ObjectTableTest, UnknownInputsAbort) {
  StateRef ghost = testing::ref_on(ShardId(0), kShards, "never created");
  PrepareDecision d = prepared_of(
      table(0).prepare(command(testing::tx_id("T"), 0, {ghost}), now_, non_validating_));
  EXPECT_EQ(d.reason, AbortReason::kObjectNotActive);
}

TEST_F(ObjectTableTest, AbortReleasesLocksAndBumpsSequenceNumbers) {
  StateRef a = genesis(0, "a");
  StateRef missing = testing::ref_on(ShardId(1), kShards, "missing");
  TxId id = testing::tx_id("T");
  PrepareCommand c = command(id, 4, {a, missing});
  auto votes = prepare_all(c);
  EXPECT_EQ(votes[ShardId(0)].verdict, Verdict::kCommit);
  EXPECT_EQ(votes[ShardId(1)].verdict, Verdict::kAbort);
  EXPECT_TRUE(entry(a).lock);

  AcceptCommand abort = decide(votes);
  ASSERT_EQ(abort.verdict, Verdict::kAbort);
  for (const auto& [shard, outcome] : accept_all(abort, concerned(c)))
    EXPECT_EQ(accepted_of(outcome).verdict, Verdict::kAbort);
  // Byzcuit: locks released, sequence numbers past s_T = 4.
  EXPECT_FALSE(entry(a).lock);
  EXPECT_TRUE(entry(a).active);
  EXPECT_EQ(entry(a).sequence, Sequence(5));

  // An instance numbered at or below the aborted one cannot prepare commit on `a` any more...
  PrepareDecision stale =
      prepared_of(table(0).prepare(command(testing::tx_id("U"), 4, {a}), now_, non_validating_));
  EXPECT_EQ(stale.reason, AbortReason::kSequenceNewer);
  EXPECT_EQ(stale.sequence_max, Sequence(5));  // what a retry must reach
  // ...a later one can.
  EXPECT_EQ(run(command(testing::tx_id("U"), 5, {a})), Verdict::kCommit);
}

TEST_F(ObjectTableTest, AShardThatPreparedAbortAcceptsAbortWithoutForeignVotes) {
  StateRef missing = testing::ref_on(ShardId(0), kShards, "missing");
  PrepareCommand c = command(testing::tx_id("T"), 0, {missing});
  EXPECT_EQ(prepared_of(table(0).prepare(c, now_, non_validating_)).verdict, Verdict::kAbort);
  AcceptCommand a{c.tx_id, c.session, Verdict::kAbort, {}};
  EXPECT_EQ(accepted_of(table(0).accept(a)).verdict, Verdict::kAbort);
}

TEST_F(ObjectTableTest, AbortNeedsAnAbortVoteWhereThisShardPreparedCommit) {
  StateRef a = genesis(0, "a");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a});
  prepared_of(table(0).prepare(c, now_, non_validating_));
  EXPECT_EQ(rejection_of(table(0).accept(AcceptCommand{c.tx_id, c.session, Verdict::kAbort, {}})),
            "bad evidence");
  EXPECT_TRUE(entry(a).lock);
}

// Byzcuit's phase-2 replay: an accept recorded elsewhere (or forged for a session this shard never
// saw) is ignored, even with valid signatures.
TEST_F(ObjectTableTest, ReplayedAcceptForASessionNotInTheCacheIsIgnored) {
  StateRef a = genesis(0, "a");
  TxId id = testing::tx_id("T");
  Prepared commit{id, Sequence(7), Verdict::kCommit, ShardId(0), net_.map.epoch, Sequence(0)};
  AcceptCommand replay{id, Sequence(7), Verdict::kCommit, {vote(net_, commit, 2)}};
  EXPECT_EQ(rejection_of(table(0).accept(replay)), "no such session");
  EXPECT_TRUE(entry(a).active);
  EXPECT_EQ(table(0).session_count(), 0u);
  // Prepared under session 0 does not open session 7 either.
  prepared_of(table(0).prepare(command(id, 0, {a}), now_, non_validating_));
  EXPECT_EQ(rejection_of(table(0).accept(replay)), "no such session");
  EXPECT_TRUE(entry(a).active);
}

// Byzcuit's phase-1 replay: shard 0's prepared(T, 0, commit) recorded from an aborted instance is
// presented with shard 1's commit vote of a new instance. The session number binds each vote to its
// instance, so the mix is rejected and nothing is consumed.
TEST_F(ObjectTableTest, PreparedFromAnOldInstanceCannotCommitANewOne) {
  StateRef a = genesis(0, "a");
  StateRef b_late = testing::ref_on(ShardId(1), kShards, "b");  // does not exist yet
  TxId id = testing::tx_id("T");
  PrepareCommand first = command(id, 0, {a, b_late});
  auto old_votes = prepare_all(first);
  ASSERT_EQ(old_votes[ShardId(0)].verdict, Verdict::kCommit);
  PreparedVote recorded = vote(net_, old_votes[ShardId(0)].statement(net_.map.epoch), 2);
  accept_all(decide(old_votes), concerned(first));  // abort: b is missing

  // `a` is spent by another transaction, then b appears and T is retried under session 5.
  EXPECT_EQ(run(command(testing::tx_id("Spend a"), 1, {a})), Verdict::kCommit);
  ASSERT_TRUE(table(1).add_genesis(b_late).ok());
  PrepareCommand retry = command(id, 5, {a, b_late});
  auto new_votes = prepare_all(retry);
  EXPECT_EQ(new_votes[ShardId(0)].verdict, Verdict::kAbort);  // a is gone
  EXPECT_EQ(new_votes[ShardId(1)].verdict, Verdict::kCommit);

  AcceptCommand forged{id,
                       Sequence(5),
                       Verdict::kCommit,
                       {recorded, vote(net_, new_votes[ShardId(1)].statement(net_.map.epoch), 2)}};
  EXPECT_EQ(rejection_of(table(1).accept(forged)), "bad evidence");
  EXPECT_EQ(rejection_of(table(0).accept(forged)), "contradicts own vote");
  // The old session's own accept is settled and cannot be turned into a commit either.
  AcceptCommand old_commit{id, Sequence(0), Verdict::kCommit, {recorded}};
  EXPECT_EQ(rejection_of(table(1).accept(old_commit)), "already decided");
  EXPECT_TRUE(entry(b_late).active);
  EXPECT_EQ(entry(b_late).lock, (SessionKey{id, Sequence(5)}));
  // The honest outcome of the new instance: abort everywhere, b released.
  for (const auto& [shard, outcome] : accept_all(decide(new_votes), concerned(retry)))
    EXPECT_EQ(accepted_of(outcome).verdict, Verdict::kAbort);
  EXPECT_TRUE(entry(b_late).active);
  EXPECT_FALSE(entry(b_late).lock);
  EXPECT_EQ(entry(b_late).sequence, Sequence(6));
}

// Byzcuit's other phase-2 attack: replaying a recorded accept(commit) at an output shard after the
// outputs were spent must not bring them back.
TEST_F(ObjectTableTest, AReplayedAcceptDoesNotRecreateOutputs) {
  StateRef a = genesis(0, "a");
  TxId id = tx_with_output_on(1, "T");
  PrepareCommand c = command(id, 0, {a}, {}, 1, 0);
  AcceptCommand commit = decide(prepare_all(c));
  ASSERT_EQ(commit.verdict, Verdict::kCommit);
  accept_all(commit, concerned(c));
  StateRef output{id, 0};
  EXPECT_TRUE(entry(output).active);
  EXPECT_EQ(run(command(testing::tx_id("Spend output"), 0, {output})), Verdict::kCommit);
  EXPECT_FALSE(entry(output).active);

  // The same accept again: the recorded decision, and nothing changes.
  AcceptDecision again = accepted_of(table(1).accept(commit));
  EXPECT_EQ(again.created, std::vector<StateRef>{output});
  EXPECT_FALSE(entry(output).active);
  // Relabelled with a new session: not in the cache.
  AcceptCommand relabelled = commit;
  relabelled.session = Sequence(1);
  EXPECT_EQ(rejection_of(table(1).accept(relabelled)), "no such session");
  // A new instance of the committed transaction aborts at the output shard.
  PrepareDecision retry =
      prepared_of(table(1).prepare(command(id, 1, {a}, {}, 1, 0), now_, non_validating_));
  EXPECT_EQ(retry.reason, AbortReason::kAlreadyCommitted);
  EXPECT_FALSE(entry(output).active);
}

TEST_F(ObjectTableTest, OutputOnlyShardsJoinPhaseOneThroughADummyObject) {
  StateRef a = genesis(0, "a");
  TxId id = tx_with_output_on(1, "T");
  PrepareDecision no_dummy =
      prepared_of(table(1).prepare(command(id, 0, {a}, {}, 1), now_, non_validating_));
  EXPECT_EQ(no_dummy.reason, AbortReason::kDummyMissing);
  PrepareDecision bad_slot =
      prepared_of(table(1).prepare(command(id, 1, {a}, {}, 1, kDummySlots), now_, non_validating_));
  EXPECT_EQ(bad_slot.reason, AbortReason::kDummyMissing);

  PrepareCommand c = command(id, 2, {a}, {}, 1, 3);
  auto votes = prepare_all(c);
  EXPECT_EQ(votes[ShardId(1)].verdict, Verdict::kCommit);
  EXPECT_EQ(table(1).dummy(3).lock, (SessionKey{id, Sequence(2)}));
  // The dummy is locked like an object: another output-only transaction on slot 3 waits.
  PrepareDecision busy = prepared_of(
      table(1).prepare(command(tx_with_output_on(1, "V"), 2, {}, {}, 1, 3), now_, non_validating_));
  EXPECT_EQ(busy.reason, AbortReason::kObjectLocked);
  EXPECT_EQ(run(c), Verdict::kCommit);
  EXPECT_FALSE(table(1).dummy(3).lock);
  EXPECT_TRUE(entry(StateRef{id, 0}).active);
}

TEST_F(ObjectTableTest, ATransactionWithoutInputsCommitsOnlyOnce) {
  TxId id = tx_with_output_on(1, "Issue");
  PrepareCommand first = command(id, 0, {}, {}, 1, 0);
  EXPECT_EQ(prepared_of(table(1).prepare(first, now_, non_validating_)).verdict, Verdict::kCommit);
  // A second instance on another dummy slot may not hold a commit vote at the same time...
  PrepareDecision second =
      prepared_of(table(1).prepare(command(id, 1, {}, {}, 1, 1), now_, non_validating_));
  EXPECT_EQ(second.reason, AbortReason::kSessionOpen);
  EXPECT_EQ(run(first), Verdict::kCommit);
  // ...nor start after the commit.
  PrepareDecision third =
      prepared_of(table(1).prepare(command(id, 2, {}, {}, 1, 2), now_, non_validating_));
  EXPECT_EQ(third.reason, AbortReason::kAlreadyCommitted);
}

TEST_F(ObjectTableTest, RepeatedStepsReturnTheRecordedDecision) {
  StateRef a = genesis(0, "a");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a});
  Outcome first = table(0).prepare(c, now_, non_validating_);
  ObjectEntry locked = entry(a);
  // A repeat, even at another time, changes nothing and answers the same.
  EXPECT_EQ(table(0).prepare(c, ledger::Timestamp(0), non_validating_), first);
  EXPECT_EQ(entry(a), locked);
  EXPECT_EQ(table(0).session_count(), 1u);

  AcceptCommand commit = decide({{ShardId(0), prepared_of(first)}});
  Outcome accepted = table(0).accept(commit);
  EXPECT_EQ(accepted_of(accepted).consumed, std::vector<StateRef>{a});
  EXPECT_EQ(table(0).accept(commit), accepted);
  EXPECT_EQ(table(0).prepare(c, now_, non_validating_), first);  // still the recorded vote
  EXPECT_FALSE(entry(a).active);
  EXPECT_FALSE(entry(a).lock);

  AcceptCommand flip{c.tx_id, c.session, Verdict::kAbort, {}};
  EXPECT_EQ(rejection_of(table(0).accept(flip)), "already decided");
  PrepareCommand other = c;
  other.output_count = 1;
  EXPECT_EQ(rejection_of(table(0).prepare(other, now_, non_validating_)), "session conflict");
}

TEST_F(ObjectTableTest, ReferencesAreLockedDuringTheCommitButStayActive) {
  StateRef a = genesis(0, "a");
  StateRef r = genesis(1, "r");
  TxId id = testing::tx_id("T");
  PrepareCommand c = command(id, 0, {a}, {r});
  auto votes = prepare_all(c);
  EXPECT_EQ(votes.size(), 2u);  // the reference makes shard 1 concerned
  EXPECT_EQ(entry(r).lock, (SessionKey{id, Sequence(0)}));
  // While T commits, the reference can be neither consumed nor read by another transaction.
  PrepareDecision spend = prepared_of(
      table(1).prepare(command(testing::tx_id("Spend r"), 0, {r}), now_, non_validating_));
  EXPECT_EQ(spend.reason, AbortReason::kObjectLocked);
  AcceptCommand commit = decide(votes);
  ASSERT_EQ(commit.verdict, Verdict::kCommit);
  auto outcomes = accept_all(commit, concerned(c));
  EXPECT_TRUE(accepted_of(outcomes.at(ShardId(1))).consumed.empty());
  EXPECT_TRUE(entry(r).active);
  EXPECT_FALSE(entry(r).lock);
  EXPECT_EQ(run(command(testing::tx_id("Spend r later"), 0, {r})), Verdict::kCommit);
  EXPECT_FALSE(entry(r).active);
}

TEST_F(ObjectTableTest, AnInactiveReferenceAborts) {
  StateRef r = genesis(0, "r");
  EXPECT_EQ(run(command(testing::tx_id("Spend r"), 0, {r})), Verdict::kCommit);
  PrepareDecision d = prepared_of(
      table(0).prepare(command(testing::tx_id("T"), 0, {}, {r}), now_, non_validating_));
  EXPECT_EQ(d.reason, AbortReason::kObjectNotActive);
}

TEST_F(ObjectTableTest, CommitEvidenceMustCoverEveryConcernedShardOfTheSession) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a, b});
  auto votes = prepare_all(c);
  AcceptCommand commit = decide(votes);
  ASSERT_EQ(commit.evidence.size(), 2u);

  AcceptCommand partial = commit;
  partial.evidence.pop_back();
  EXPECT_EQ(rejection_of(table(0).accept(partial)), "bad evidence");
  AcceptCommand weak = commit;
  weak.evidence[1].signatures.pop_back();  // f signatures
  EXPECT_EQ(rejection_of(table(0).accept(weak)), "bad evidence");
  AcceptCommand duplicated = commit;
  duplicated.evidence[1] = duplicated.evidence[0];
  EXPECT_EQ(rejection_of(table(0).accept(duplicated)), "bad evidence");
  EXPECT_TRUE(entry(a).active);
  EXPECT_TRUE(entry(a).lock);
  EXPECT_EQ(accepted_of(table(0).accept(commit)).verdict, Verdict::kCommit);
}

TEST_F(ObjectTableTest, TheTimeWindowIsCheckedAgainstTheAgreedTime) {
  StateRef a = genesis(0, "a");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a});
  c.time_window = ledger::TimeWindow{std::nullopt, ledger::Timestamp(500)};
  EXPECT_EQ(prepared_of(table(0).prepare(c, ledger::Timestamp(500), non_validating_)).reason,
            AbortReason::kOutsideTimeWindow);
  c.session = Sequence(1);
  EXPECT_EQ(prepared_of(table(0).prepare(c, ledger::Timestamp(499), non_validating_)).verdict,
            Verdict::kCommit);
}

TEST_F(ObjectTableTest, TheValidatingSeamCanVetoACommit) {
  StateRef a = genesis(0, "a");
  RejectingCheck no;
  PrepareDecision d = prepared_of(table(0).prepare(command(testing::tx_id("T"), 0, {a}), now_, no));
  EXPECT_EQ(d.reason, AbortReason::kRejectedByValidation);
  EXPECT_FALSE(entry(a).lock);
}

TEST_F(ObjectTableTest, CommandsOutsideTheShardOrMalformedAreRejected) {
  StateRef a = genesis(0, "a");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a});
  EXPECT_EQ(rejection_of(table(1).prepare(c, now_, non_validating_)), "shard not concerned");
  StateRef b = genesis(0, "b");
  PrepareCommand unsorted = command(testing::tx_id("T"), 0, {a, b});
  std::swap(unsorted.inputs[0], unsorted.inputs[1]);
  EXPECT_EQ(rejection_of(table(0).prepare(unsorted, now_, non_validating_)), "malformed");
  PrepareCommand both = command(testing::tx_id("T"), 0, {a}, {a});
  EXPECT_EQ(rejection_of(table(0).prepare(both, now_, non_validating_)), "malformed");
  EXPECT_EQ(table(0).session_count(), 0u);
}

TEST_F(ObjectTableTest, TheSingleShardFastPathPreparesAndAcceptsInOneStep) {
  StateRef a = genesis(0, "a");
  TxId id = tx_with_output_on(0, "T");
  SingleShardCommand fast{command(id, 0, {a}, {}, 1)};
  AcceptDecision d = accepted_of(table(0).execute(fast, now_, non_validating_));
  EXPECT_EQ(d.verdict, Verdict::kCommit);
  EXPECT_EQ(d.consumed, std::vector<StateRef>{a});
  EXPECT_EQ(d.created, (std::vector<StateRef>{StateRef{id, 0}}));
  EXPECT_EQ(accepted_of(table(0).execute(fast, now_, non_validating_)), d);  // idempotent
  // A double spend through the fast path aborts and bumps the sequence number.
  TxId other = tx_with_output_on(0, "U");
  AcceptDecision abort =
      accepted_of(table(0).single_shard({command(other, 2, {a}, {}, 1)}, now_, non_validating_));
  EXPECT_EQ(abort.verdict, Verdict::kAbort);
  EXPECT_EQ(entry(a).sequence, Sequence(3));
  // A transaction touching another shard must take the two-phase path.
  StateRef b = genesis(1, "b");
  StateRef c = genesis(0, "c");
  EXPECT_EQ(rejection_of(table(0).single_shard({command(id, 1, {b, c})}, now_, non_validating_)),
            "not single-shard");
  EXPECT_FALSE(entry(c).lock);
}

TEST_F(ObjectTableTest, CommitEvidenceMayOmitOnlyTheShardsOwnVote) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareCommand c = command(testing::tx_id("T"), 0, {a, b});
  auto votes = prepare_all(c);
  AcceptCommand only_shard_1 = decide(votes);
  ASSERT_EQ(only_shard_1.evidence.size(), 2u);
  only_shard_1.evidence.erase(only_shard_1.evidence.begin());  // drop shard 0's vote
  EXPECT_EQ(rejection_of(table(1).accept(only_shard_1)), "bad evidence");
  EXPECT_EQ(accepted_of(table(0).accept(only_shard_1)).verdict, Verdict::kCommit);
}

TEST_F(ObjectTableTest, ASessionNumberThatWouldWrapIsMalformed) {
  StateRef a = genesis(0, "a");
  PrepareCommand c = command(testing::tx_id("T"), UINT64_MAX, {a});
  EXPECT_EQ(rejection_of(table(0).prepare(c, now_, non_validating_)), "malformed");
}

// The certificate that the shards' accepted statements form verifies exactly when T committed.
TEST_F(ObjectTableTest, AcceptedStatementsFormACertificateIffTheTransactionCommitted) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  auto certificate_of = [&](const PrepareCommand& c) {
    AcceptCommand decision = decide(prepare_all(c));
    NotarisationCertificate cert{net_.map.epoch, {}};
    for (const auto& [shard, outcome] : accept_all(decision, concerned(c)))
      cert.votes.push_back(vote(net_, accepted_of(outcome).statement(net_.map.epoch), 2, 2));
    return cert;
  };
  PrepareCommand t1 = command(testing::tx_id("T1"), 0, {a, b}, {}, 2);
  NotarisationCertificate committed = certificate_of(t1);
  EXPECT_TRUE(verify_certificate(t1.tx_id, committed, concerned(t1), net_.map).ok());

  PrepareCommand t2 = command(testing::tx_id("T2"), 0, {a, b});
  NotarisationCertificate aborted = certificate_of(t2);
  EXPECT_FALSE(verify_certificate(t2.tx_id, aborted, concerned(t2), net_.map).ok());
  // Nor does T1's certificate stand in for T2.
  EXPECT_FALSE(verify_certificate(t2.tx_id, committed, concerned(t2), net_.map).ok());
}

TEST_F(ObjectTableTest, GenesisCannotPlantAPendingTransactionsOutput) {
  StateRef a = genesis(0, "a");
  TxId id = tx_with_output_on(0, "T");
  PrepareCommand c = command(id, 0, {a}, {}, 1);
  EXPECT_EQ(prepared_of(table(0).prepare(c, now_, non_validating_)).verdict, Verdict::kCommit);
  EXPECT_FALSE(table(0).add_genesis(StateRef{id, 0}).ok());
  EXPECT_EQ(run(c), Verdict::kCommit);
  EXPECT_FALSE(table(0).add_genesis(a).ok());  // already known
}

// A binding is evidence for the prepare and, while its session awaits the accept, what a replica
// taking over the manager needs; a decided session (and the fast path, decided at once) keeps
// none. The rvalue execute moves it into the session unchanged.
TEST_F(ObjectTableTest, ABindingIsKeptOnlyWhileItsSessionAwaitsItsAccept) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(1, "b");
  PrepareBinding binding;
  binding.signatures.push_back(ledger::TransactionSignature{net_.keys[0][0].public_key(), {}});
  PrepareCommand c = command(testing::tx_id("T"), 0, {a, b});
  SessionKey key{c.tx_id, c.session};
  prepared_of(table(0).execute(ShardCommand{BoundPrepareCommand{c, binding, false}}, now_,
                               non_validating_));
  ASSERT_NE(table(0).session_binding(key), nullptr);
  EXPECT_EQ(*table(0).session_binding(key), binding);
  const ShardCommand copied{BoundPrepareCommand{c, binding, false}};
  prepared_of(table(1).execute(copied, now_, non_validating_));
  ASSERT_NE(table(1).session_binding(key), nullptr);
  EXPECT_EQ(*table(1).session_binding(key), binding);

  AcceptCommand accept = decide({{ShardId(0), *table(0).session_prepared(key)},
                                 {ShardId(1), *table(1).session_prepared(key)}});
  ASSERT_EQ(accept.verdict, Verdict::kCommit);
  EXPECT_EQ(accepted_of(table(0).accept(accept)).consumed, std::vector<StateRef>{a});
  EXPECT_EQ(table(0).session_binding(key), nullptr);
  ASSERT_NE(table(0).session_command(key), nullptr);  // a repeat still meets its command
  EXPECT_EQ(prepared_of(table(0).prepare(c, now_, non_validating_)).verdict, Verdict::kCommit);
  EXPECT_EQ(accepted_of(table(0).accept(accept)).consumed, std::vector<StateRef>{a});

  StateRef d = genesis(0, "d");
  PrepareCommand fast = command(tx_with_output_on(0, "F"), 0, {d}, {}, 1);
  Outcome outcome = table(0).execute(ShardCommand{BoundPrepareCommand{fast, binding, true}}, now_,
                                     non_validating_);
  EXPECT_EQ(accepted_of(outcome).verdict, Verdict::kCommit);
  EXPECT_EQ(table(0).session_binding(SessionKey{fast.tx_id, fast.session}), nullptr);
}

// Pruning drops the oldest sessions of committed transactions until the bound holds, each with
// every other session of its transaction; it never drops a session of a transaction that did not
// commit, and names what it dropped.
TEST_F(ObjectTableTest, PruningDropsTheOldestCommittedSessionsWithTheirTransactions) {
  StateRef a = genesis(0, "a");
  StateRef b = genesis(0, "b");
  StateRef c = genesis(0, "c");
  PrepareCommand first = command(tx_with_output_on(0, "first"), 0, {b}, {}, 1);
  PrepareCommand second = command(tx_with_output_on(0, "second"), 0, {a}, {}, 1);
  // A session of `second` that prepared abort (an unknown input), beside its committed one.
  StateRef unknown = testing::ref_on(ShardId(0), kShards, "unknown");
  PrepareCommand second_replay = command(second.tx_id, 5, {a, unknown}, {}, 1);
  PrepareCommand open = command(tx_with_output_on(0, "open"), 0, {c}, {}, 1);
  EXPECT_EQ(prepared_of(table(0).prepare(second_replay, now_, non_validating_)).verdict,
            Verdict::kAbort);
  EXPECT_EQ(accepted_of(table(0).single_shard(SingleShardCommand{first}, now_, non_validating_))
                .verdict,
            Verdict::kCommit);
  EXPECT_EQ(accepted_of(table(0).single_shard(SingleShardCommand{second}, now_, non_validating_))
                .verdict,
            Verdict::kCommit);
  EXPECT_EQ(prepared_of(table(0).prepare(open, now_, non_validating_)).verdict, Verdict::kCommit);
  ASSERT_EQ(table(0).session_count(), 4u);

  std::vector<SessionKey> dropped;
  // `second`'s aborted session is the oldest; its committed one goes with it, though dropping one
  // session would have met the bound.
  EXPECT_EQ(table(0).prune_sessions(3, &dropped), 2u);
  EXPECT_EQ(dropped, (std::vector<SessionKey>{{second.tx_id, Sequence(5)},
                                              {second.tx_id, Sequence(0)}}));
  dropped.clear();
  EXPECT_EQ(table(0).prune_sessions(2, &dropped), 0u);
  EXPECT_EQ(table(0).prune_sessions(0, &dropped), 1u);  // `open` never committed: never pruned
  EXPECT_EQ(dropped, (std::vector<SessionKey>{{first.tx_id, Sequence(0)}}));
  EXPECT_EQ(table(0).session_count(), 1u);
  EXPECT_EQ(rejection_of(table(0).prepare(second_replay, now_, non_validating_)),
            "transaction committed and pruned");
  EXPECT_EQ(rejection_of(table(0).accept(AcceptCommand{first.tx_id, Sequence(0), Verdict::kCommit,
                                                       {}})),
            "no such session");
}

// The hash seed only places entries: tables with different seeds reach the same outcomes.
TEST(ObjectTableHashSeed, ChangesNoOutcome) {
  auto net = make_network(1, 4);
  ObjectTable plain(ShardId(0), net.map, 4, 0);
  ObjectTable seeded(ShardId(0), net.map, 4, 0x5eed5eed5eed5eedull);
  NonValidating check;
  std::vector<StateRef> coins;
  for (uint32_t i = 0; i < 64; ++i) {
    coins.push_back(StateRef{testing::tx_id("genesis"), i});
    ASSERT_TRUE(plain.add_genesis(coins.back()).ok());
    ASSERT_TRUE(seeded.add_genesis(coins.back()).ok());
  }
  for (uint32_t t = 0; t < 200; ++t) {
    // Overlapping inputs: some commit, some find their input consumed or locked.
    std::vector<StateRef> inputs{coins[t % 64], coins[(t * 7 + 3) % 64]};
    std::sort(inputs.begin(), inputs.end());
    inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
    PrepareCommand c{testing::tx_id("t" + std::to_string(t)), Sequence(t % 3), inputs, {}, 2,
                     std::nullopt, std::nullopt};
    ShardCommand command = t % 4 == 0 ? ShardCommand{c} : ShardCommand{SingleShardCommand{c}};
    ledger::Timestamp now(1'000'000);
    EXPECT_EQ(plain.execute(command, now, check), seeded.execute(command, now, check)) << t;
    if (t % 50 == 49) {
      EXPECT_EQ(plain.prune_sessions(20), seeded.prune_sessions(20));
    }
  }
  EXPECT_EQ(plain.session_count(), seeded.session_count());
  for (const auto& [ref, entry] : plain.objects()) {
    ASSERT_NE(seeded.find(ref), nullptr);
    EXPECT_EQ(*seeded.find(ref), entry);
  }
}

TEST(DecodeCommand, RejectsEveryTruncationAndGarbage) {
  auto net = make_network(2, 4);
  TxId id = testing::tx_id("T");
  Prepared p{id, Sequence(3), Verdict::kCommit, ShardId(1), net.map.epoch, Sequence(0)};
  Bytes bytes = codec::encode_to_bytes(
      ShardCommand{AcceptCommand{id, Sequence(3), Verdict::kCommit, {vote(net, p, 2)}}});
  ASSERT_TRUE(decode_command(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_command(ByteView(bytes.data(), n)).ok()) << n;
  Bytes unknown_variant{7};
  EXPECT_EQ(decode_command(unknown_variant).error().code, ErrorCode::kMalformed);
  Bytes huge(kCommandBytesMax + 1, 0);
  EXPECT_FALSE(decode_command(huge).ok());
}

TEST(ShardCommand, RoundTripsAndDecodesStrictly) {
  auto net = make_network(2, 4);
  TxId id = testing::tx_id("T");
  ShardCommand prepare = PrepareCommand{id,
                                        Sequence(3),
                                        {StateRef{testing::tx_id("a"), 0}},
                                        {StateRef{testing::tx_id("r"), 1}},
                                        2,
                                        ledger::TimeWindow{ledger::Timestamp(1), std::nullopt},
                                        1};
  Prepared p{id, Sequence(3), Verdict::kCommit, ShardId(1), net.map.epoch, Sequence(0)};
  ShardCommand accept = AcceptCommand{id, Sequence(3), Verdict::kCommit, {vote(net, p, 2)}};
  for (const ShardCommand& c : {prepare, accept}) {
    Bytes bytes = codec::encode_to_bytes(c);
    auto decoded = codec::decode_from_bytes<ShardCommand>(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message();
    EXPECT_EQ(*decoded, c);
    bytes.push_back(0);
    EXPECT_FALSE(codec::decode_from_bytes<ShardCommand>(bytes).ok());
  }
  // A prepare whose inputs are out of order does not decode.
  auto& fields = std::get<PrepareCommand>(prepare);
  fields.inputs.push_back(StateRef{testing::tx_id("a"), 0});
  EXPECT_FALSE(codec::decode_from_bytes<ShardCommand>(codec::encode_to_bytes(prepare)).ok());
}

}  // namespace
}  // namespace folio::sbac
