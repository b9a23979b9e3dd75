// ShardReplica over real consensus replicas: four replicas of shard 0 wired by a synchronous
// in-memory network, ordering S-BAC commands and signing statements from the committed log.
#include "sbac/shard_replica.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <set>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ledger::StateRef;

class ShardReplicaTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kShards = 2;
  static constexpr uint32_t kReplicas = 4;

  explicit ShardReplicaTest(size_t sessions_max = 1u << 16)
      : committee_(net_.map.shards[0].replicas) {
    for (uint32_t i = 0; i < kReplicas; ++i) {
      ShardReplicaConfig config(ShardId(0), net_.map, &check_, net_.keys[0][i]);
      config.takeover_ticks = 20;
      config.sessions_max = sessions_max;
      consensus::ReplicaConfig consensus(committee_, consensus::ReplicaId(i), net_.keys[0][i]);
      consensus.limits.batch_count_max = 4096;  // the codec's byte-string bound follows it
      consensus.view_timeout_ms = 300;
      consensus.idle_proposal_delay_ms = 20;
      replicas_.push_back(std::make_unique<ShardReplica>(std::move(config), consensus,
                                                         consensus::RestoredState{}, 0));
      validators_.push_back(std::make_unique<consensus::Validator>(committee_, consensus.limits));
      a_ = testing::ref_on(ShardId(0), kShards, "a");
      b_ = testing::ref_on(ShardId(1), kShards, "b");
      EXPECT_TRUE(replicas_[i]->add_genesis(a_).ok());
    }
  }

  void submit(const ShardCommand& command) {
    Bytes bytes = codec::encode_to_bytes(command);
    for (auto& r : replicas_) (void)r->on_manager(SubmitCommand{bytes});
  }

  // Runs the shard for `ms` of logical time in 10 ms ticks, delivering every message at once.
  void run(int64_t ms) {
    for (int64_t end = now_ + ms; now_ < end;) {
      now_ += 10;
      for (auto& r : replicas_) r->tick(now_);
      std::deque<std::pair<uint32_t, std::pair<uint32_t, Bytes>>> queue;  // to, from, bytes
      auto flush = [&](uint32_t i) {
        // split_: as the replica process drives it, the votes leave before the blocks execute.
        ShardReady ready =
            split_ ? replicas_[i]->take_consensus_ready() : replicas_[i]->take_ready();
        if (split_) {
          EXPECT_TRUE(ready.prepared.empty() && ready.accepted.empty() && ready.outcomes.empty());
        }
        for (const consensus::Outgoing& o : ready.consensus.send) {
          Bytes bytes = codec::encode_to_bytes(o.message);
          for (uint32_t to = 0; to < kReplicas; ++to)
            if (to != i && (!o.to || o.to->value() == to)) queue.push_back({to, {i, bytes}});
        }
        if (split_) replicas_[i]->apply_ready(ready);
        for (auto& p : ready.prepared) prepared_[i].push_back(p);
        for (auto& a : ready.accepted) accepted_[i].push_back(a);
        for (auto& t : ready.takeovers) takeovers_[i].push_back(t);
        replicas_[i]->advance(ready);
      };
      for (uint32_t i = 0; i < kReplicas; ++i) flush(i);
      while (!queue.empty()) {
        auto [to, message] = queue.front();
        queue.pop_front();
        auto v = validators_[to]->validate(consensus::ReplicaId(message.first), message.second);
        if (auto* verified = std::get_if<consensus::Verified<consensus::Message>>(&v))
          replicas_[to]->step(*verified);
        flush(to);
      }
    }
  }

  // Submits a fast-path command spending `a_` and runs the shard until it is decided.
  PrepareCommand run_fast_path() {
    PrepareCommand c;
    c.tx_id = testing::tx_id("T");
    c.inputs = {a_};
    submit(SingleShardCommand{c});
    run(1'000);
    return c;
  }

  // Replica i signed the fast path's prepared and accepted(commit) under one batch of two and
  // spent `a_`.
  void expect_fast_path_signed(uint32_t i) {
    ASSERT_EQ(prepared_[i].size(), 1u);
    ASSERT_EQ(accepted_[i].size(), 1u);
    const SignedAccepted& a = accepted_[i][0];
    EXPECT_EQ(a.statement.verdict, Verdict::kCommit);
    EXPECT_TRUE(verify_signature(a.statement, a.signature));
    EXPECT_TRUE(verify_signature(prepared_[i][0].statement, prepared_[i][0].signature));
    EXPECT_EQ(std::get<BatchSignature>(a.signature.signature).leaf_count, 2u);
    EXPECT_FALSE(replicas_[i]->table().find(a_)->active);
  }

  testing::Network net_ = testing::make_network(kShards, kReplicas);
  consensus::Committee committee_;
  NonValidating check_;
  std::vector<std::unique_ptr<ShardReplica>> replicas_;
  std::vector<std::unique_ptr<consensus::Validator>> validators_;
  StateRef a_, b_;
  int64_t now_ = 0;
  bool split_ = false;  // drive with take_consensus_ready + apply_ready
  std::map<uint32_t, std::vector<SignedPrepared>> prepared_;
  std::map<uint32_t, std::vector<SignedAccepted>> accepted_;
  std::map<uint32_t, std::vector<Takeover>> takeovers_;
};

TEST_F(ShardReplicaTest, UndecodableCommandsAreCountedAndIgnored) {
  for (auto& r : replicas_) (void)r->on_manager(SubmitCommand{Bytes{0xff, 0x00, 0x13}});
  run(1'000);
  for (auto& r : replicas_) EXPECT_EQ(r->undecodable_total(), 1u);
  EXPECT_TRUE(prepared_.empty());
}

TEST_F(ShardReplicaTest, EveryReplicaSignsTheFastPathsStatementsAndAnswersQueries) {
  PrepareCommand c = run_fast_path();
  for (uint32_t i = 0; i < kReplicas; ++i) {
    ASSERT_NO_FATAL_FAILURE(expect_fast_path_signed(i));
    const SignedAccepted& a = accepted_[i][0];
    EXPECT_EQ(a.signature.by, net_.map.shards[0].replicas[i]);
    // The fast path's two statements share one batch signature (one block).
    EXPECT_TRUE(a.signature.batched());
    // A query answers exactly what was sent, rebuilt from the block's stored batch.
    auto answers = replicas_[i]->on_manager(StatusQuery{SessionKey{c.tx_id, c.session}});
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0], ReplicaMessage{prepared_[i][0]});
    EXPECT_EQ(answers[1], ReplicaMessage{accepted_[i][0]});
  }
  EXPECT_TRUE(takeovers_.empty());
}

// Executing after the votes leave (take_consensus_ready, then apply_ready) signs the same
// statements, one batch per block, as take_ready does.
TEST_F(ShardReplicaTest, ApplyingAfterTheVotesLeaveSignsTheSameStatements) {
  split_ = true;
  run_fast_path();
  for (uint32_t i = 0; i < kReplicas; ++i) {
    ASSERT_NO_FATAL_FAILURE(expect_fast_path_signed(i));
    EXPECT_EQ(accepted_[i][0].statement, accepted_[0][0].statement);  // every replica alike
  }
}

// The fast path signs a prepared statement for the manager: its sequence_max is the table's (here
// 7, after another transaction's session 6 aborted over `a`), never a made-up value, and its
// accepted statement names the session it answers, signed.
TEST_F(ShardReplicaTest, FastPathStatementsCarryTheTablesSequenceMaxAndTheSignedSession) {
  PrepareCommand u;
  u.tx_id = testing::tx_id("U");
  u.session = Sequence(6);
  u.inputs = {a_, testing::ref_on(ShardId(0), kShards, "never created")};
  std::sort(u.inputs.begin(), u.inputs.end());
  submit(u);
  run(500);
  submit(AcceptCommand{u.tx_id, u.session, Verdict::kAbort, {}});
  run(500);
  ASSERT_EQ(replicas_[0]->table().find(a_)->sequence, Sequence(7));
  prepared_.clear();
  accepted_.clear();
  PrepareCommand c;
  c.tx_id = testing::tx_id("T");
  c.session = Sequence(7);
  c.inputs = {a_};
  submit(SingleShardCommand{c});
  run(1'000);
  for (uint32_t i = 0; i < kReplicas; ++i) {
    ASSERT_EQ(prepared_[i].size(), 1u);
    ASSERT_EQ(accepted_[i].size(), 1u);
    EXPECT_EQ(prepared_[i][0].statement.verdict, Verdict::kCommit);
    EXPECT_EQ(prepared_[i][0].statement.sequence_max, Sequence(7));
    EXPECT_EQ(accepted_[i][0].statement.session, Sequence(7));
    EXPECT_EQ(accepted_[i][0].session, (SessionKey{c.tx_id, c.session}));
    EXPECT_TRUE(verify_signature(accepted_[i][0].statement, accepted_[i][0].signature));
  }
}

// One signature per committed block: the statements of several transactions ordered together
// share a root, each with its own branch, and a verifier's cache checks each batch once.
TEST_F(ShardReplicaTest, StatementsOfOneBlockShareOneBatchSignature) {
  constexpr uint32_t kTransactions = 5;
  std::vector<PrepareCommand> commands;
  for (uint32_t t = 0; t < kTransactions; ++t) {
    StateRef input = testing::ref_on(ShardId(0), kShards, "batch", t);
    for (auto& r : replicas_) ASSERT_TRUE(r->add_genesis(input).ok());
    PrepareCommand c;
    c.tx_id = testing::tx_id("T" + std::to_string(t));
    c.inputs = {input};
    commands.push_back(c);
  }
  for (const PrepareCommand& c : commands) submit(SingleShardCommand{c});
  run(1'000);
  for (uint32_t i = 0; i < kReplicas; ++i) {
    ASSERT_EQ(prepared_[i].size(), kTransactions);
    ASSERT_EQ(accepted_[i].size(), kTransactions);
    VerifyCache cache;
    std::set<crypto::Hash256> roots;
    uint64_t leaves = 0;
    auto check = [&](const auto& statement, const ReplicaSignature& signature) {
      EXPECT_EQ(signature.by, net_.map.shards[0].replicas[i]);
      EXPECT_TRUE(verify_signature(statement, signature, &cache));
      const auto& batch = std::get<BatchSignature>(signature.signature);
      if (roots.insert(batch.root).second) leaves += batch.leaf_count;
    };
    for (const SignedPrepared& p : prepared_[i]) check(p.statement, p.signature);
    for (const SignedAccepted& a : accepted_[i]) check(a.statement, a.signature);
    // Every statement is a leaf of exactly one of the replica's batches, one signature each.
    EXPECT_EQ(leaves, 2u * kTransactions);
    EXPECT_EQ(roots.size(), replicas_[i]->batches_signed());
    EXPECT_EQ(cache.misses(), replicas_[i]->batches_signed());
    EXPECT_LT(replicas_[i]->batches_signed(), 2u * kTransactions);
  }
}

// The manager of a cross-shard session vanished after phase 1: the replicas hand the session to
// their driver, with the command from their log, once the takeover timer expires.
TEST_F(ShardReplicaTest, AnUnacceptedSessionIsTakenOverAfterItsTimeout) {
  PrepareCommand c;
  c.tx_id = testing::tx_id("T");
  c.inputs = {a_, b_};
  std::sort(c.inputs.begin(), c.inputs.end());
  submit(c);
  run(150);
  ASSERT_EQ(prepared_[0].size(), 1u);
  EXPECT_EQ(prepared_[0][0].statement.verdict, Verdict::kCommit);
  EXPECT_TRUE(takeovers_.empty());
  run(400);
  ASSERT_FALSE(takeovers_[0].empty());
  EXPECT_EQ(takeovers_[0][0].command, c);
  // Once the accept is sequenced, the timer stops.
  AcceptCommand abort{
      c.tx_id,
      c.session,
      Verdict::kAbort,
      {testing::vote(
          net_,
          Prepared{c.tx_id, c.session, Verdict::kAbort, ShardId(1), net_.map.epoch, Sequence(0)},
          2)}};
  submit(abort);
  run(300);
  takeovers_.clear();
  run(2'000);
  EXPECT_TRUE(takeovers_.empty());
  for (uint32_t i = 0; i < kReplicas; ++i) {
    ASSERT_EQ(accepted_[i].size(), 1u);
    EXPECT_EQ(accepted_[i][0].statement.verdict, Verdict::kAbort);
  }
}

class PrunedShardReplicaTest : public ShardReplicaTest {
 protected:
  PrunedShardReplicaTest() : ShardReplicaTest(0) {}
};

// With a session cache of size 0, a committed transaction's sessions go at once, including one a
// replayed prepare opened beside it in the same block: no takeover of it, no crash, and a later
// prepare of the transaction is refused without a vote.
TEST_F(PrunedShardReplicaTest, PrunedSessionsNeedNoManager) {
  PrepareCommand fast;
  fast.tx_id = testing::tx_id("T");
  fast.inputs = {a_};
  PrepareCommand replayed = fast;
  replayed.session = Sequence(1);
  replayed.inputs = {a_, b_};
  std::sort(replayed.inputs.begin(), replayed.inputs.end());
  submit(SingleShardCommand{fast});
  submit(replayed);
  run(2'000);
  for (uint32_t i = 0; i < kReplicas; ++i) {
    EXPECT_EQ(replicas_[i]->table().session_count(), 0u);
    EXPECT_FALSE(replicas_[i]->table().find(a_)->active);
    // The pruned transaction's accepted(commit) stays, as it was sent.
    auto answers = replicas_[i]->on_manager(StatusQuery{SessionKey{fast.tx_id, fast.session}});
    ASSERT_EQ(answers.size(), 1u);
    ASSERT_FALSE(accepted_[i].empty());
    EXPECT_EQ(answers[0], ReplicaMessage{accepted_[i][0]});
  }
  EXPECT_TRUE(takeovers_.empty());
  replayed.session = Sequence(2);
  submit(replayed);
  size_t before = prepared_[0].size();
  run(1'000);
  EXPECT_EQ(prepared_[0].size(), before);  // refused: no new vote
}

}  // namespace
}  // namespace folio::sbac
