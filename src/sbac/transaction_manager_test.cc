// TransactionManager: both phases against real object tables, and what it refuses.
#include "sbac/transaction_manager.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ledger::StateRef;
using testing::make_network;

class TransactionManagerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kShards = 2;

  TransactionManagerTest() {
    for (uint32_t s = 0; s < kShards; ++s) tables_.emplace_back(ShardId(s), net_.map, 2);
    a_ = testing::ref_on(ShardId(0), kShards, "a");
    b_ = testing::ref_on(ShardId(1), kShards, "b");
    EXPECT_TRUE(tables_[0].add_genesis(a_).ok());
    EXPECT_TRUE(tables_[1].add_genesis(b_).ok());
  }

  PrepareCommand command(std::string_view label, uint64_t session) const {
    std::vector<StateRef> inputs{a_, b_};
    std::sort(inputs.begin(), inputs.end());
    return PrepareCommand{testing::tx_id(label), Sequence(session), inputs, {}, 0,
                          std::nullopt,          std::nullopt};
  }

  // Every concerned shard executes what the manager asks and replicas [0, signers) of each shard
  // report their signed statements to the manager.
  void run_phase_one(TransactionManager& manager, uint32_t signers) {
    for (ShardId s : manager.concerned()) {
      Outcome o = tables_[s.value()].prepare(manager.prepare_command(), now_, non_validating_);
      Prepared statement = std::get<PrepareDecision>(o).statement(net_.map.epoch);
      for (uint32_t i = 0; i < signers; ++i)
        manager.on_prepared(statement, sign(net_.keys[s.value()][i], statement));
    }
  }
  void run_phase_two(TransactionManager& manager, uint32_t signers) {
    ASSERT_TRUE(manager.accept_command());
    for (ShardId s : manager.concerned()) {
      Outcome o = tables_[s.value()].accept(*manager.accept_command());
      Accepted statement = std::get<AcceptDecision>(o).statement(net_.map.epoch);
      for (uint32_t i = 0; i < signers; ++i)
        manager.on_accepted(statement, sign(net_.keys[s.value()][3 - i], statement));
    }
  }

  testing::Network net_ = make_network(kShards, 4);
  std::vector<ObjectTable> tables_;
  NonValidating non_validating_;
  ledger::Timestamp now_{1'000};
  StateRef a_, b_;
};

TEST_F(TransactionManagerTest, DrivesACrossShardCommitToAVerifiedCertificate) {
  TransactionManager manager(command("T", 0), net_.map);
  EXPECT_EQ(manager.concerned(), (std::set<ShardId>{ShardId(0), ShardId(1)}));
  run_phase_one(manager, 1);  // f signatures per shard are not a vote
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kPreparing);
  EXPECT_FALSE(manager.accept_command());
  run_phase_one(manager, 2);  // phase 1 repeats idempotently at the shards
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  EXPECT_EQ(manager.accept_command()->verdict, Verdict::kCommit);
  EXPECT_EQ(manager.accept_command()->evidence.size(), 2u);

  run_phase_two(manager, 2);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kCommitted);
  ASSERT_TRUE(manager.certificate());
  EXPECT_TRUE(
      verify_certificate(testing::tx_id("T"), *manager.certificate(), manager.concerned(), net_.map)
          .ok());
  EXPECT_FALSE(tables_[0].find(a_)->active);
  EXPECT_FALSE(tables_[1].find(b_)->active);
}

TEST_F(TransactionManagerTest, OneShardsAbortVoteDecidesAbort) {
  // T1 holds the lock on `a`, so shard 0 votes abort for T2 while shard 1 votes commit.
  ASSERT_TRUE(std::holds_alternative<PrepareDecision>(tables_[0].prepare(
      PrepareCommand{testing::tx_id("T1"), Sequence(0), {a_}, {}, 0, std::nullopt, std::nullopt},
      now_, non_validating_)));
  TransactionManager manager(command("T2", 0), net_.map);
  run_phase_one(manager, 2);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  EXPECT_EQ(manager.accept_command()->verdict, Verdict::kAbort);
  run_phase_two(manager, 2);
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kAborted);
  EXPECT_FALSE(manager.certificate());
  // Shard 1 released `b` and moved it past the session.
  EXPECT_FALSE(tables_[1].find(b_)->lock);
  EXPECT_EQ(tables_[1].find(b_)->sequence, Sequence(1));
}

TEST_F(TransactionManagerTest, RefusesStatementsThatDoNotBelongToTheSession) {
  TransactionManager manager(command("T", 3), net_.map);
  Prepared good{testing::tx_id("T"), Sequence(3), Verdict::kCommit, ShardId(0), net_.map.epoch,
                Sequence(0)};
  Prepared old_session = good;
  old_session.session = Sequence(2);
  EXPECT_EQ(manager.on_prepared(old_session, sign(net_.keys[0][0], old_session)),
            ManagerRefusal::kWrongSession);
  Prepared other_epoch = good;
  other_epoch.epoch = Epoch(9);
  EXPECT_EQ(manager.on_prepared(other_epoch, sign(net_.keys[0][0], other_epoch)),
            ManagerRefusal::kWrongSession);
  // Shard 1's replica signing for shard 0, and a forged signature.
  EXPECT_EQ(manager.on_prepared(good, sign(net_.keys[1][0], good)),
            ManagerRefusal::kInvalidSignature);
  ReplicaSignature forged = sign(net_.keys[0][0], good);
  std::get<crypto::Signature>(forged.signature).bytes.bytes[5] ^= 1;
  EXPECT_EQ(manager.on_prepared(good, forged), ManagerRefusal::kInvalidSignature);
  // A Byzantine replica signing both verdicts counts once.
  EXPECT_EQ(manager.on_prepared(good, sign(net_.keys[0][0], good)), std::nullopt);
  Prepared flip = good;
  flip.verdict = Verdict::kAbort;
  EXPECT_EQ(manager.on_prepared(flip, sign(net_.keys[0][0], flip)), ManagerRefusal::kDuplicate);
  EXPECT_EQ(manager.on_prepared(good, sign(net_.keys[0][0], good)), ManagerRefusal::kDuplicate);
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kPreparing);
  // Accepted statements before the decision are not counted.
  Accepted early{testing::tx_id("T"), Verdict::kCommit, ShardId(0), net_.map.epoch};
  EXPECT_EQ(manager.on_accepted(early, sign(net_.keys[0][0], early)),
            ManagerRefusal::kWrongSession);
}

// The session is signed inside `accepted`: session 1's accepted(abort), signed by every replica,
// does not count for session 2, which decided abort too and waits for its own accept.
TEST_F(TransactionManagerTest, AcceptedAbortOfAnEarlierSessionIsNotCounted) {
  TransactionManager manager(command("T", 2), net_.map);
  Prepared abort{testing::tx_id("T"), Sequence(2), Verdict::kAbort, ShardId(0), net_.map.epoch,
                 Sequence(0)};
  for (uint32_t i = 0; i < 2; ++i)
    ASSERT_EQ(manager.on_prepared(abort, sign(net_.keys[0][i], abort)), std::nullopt);
  ASSERT_EQ(manager.accept_command()->verdict, Verdict::kAbort);
  for (uint32_t s = 0; s < kShards; ++s) {
    Accepted earlier{testing::tx_id("T"), Verdict::kAbort, ShardId(s), net_.map.epoch,
                     Sequence(1)};
    for (uint32_t i = 0; i < 4; ++i)
      EXPECT_EQ(manager.on_accepted(earlier, sign(net_.keys[s][i], earlier)),
                ManagerRefusal::kWrongSession);
  }
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  Accepted own{testing::tx_id("T"), Verdict::kAbort, ShardId(0), net_.map.epoch, Sequence(2)};
  for (uint32_t i = 0; i < 2; ++i)
    EXPECT_EQ(manager.on_accepted(own, sign(net_.keys[0][i], own)), std::nullopt);
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kAborted);
}

TEST_F(TransactionManagerTest, PreparedStatementsAfterTheDecisionAreTooLate) {
  TransactionManager manager(command("T", 0), net_.map);
  run_phase_one(manager, 2);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  AcceptCommand decided = *manager.accept_command();
  Prepared late{testing::tx_id("T"), Sequence(0), Verdict::kAbort, ShardId(1), net_.map.epoch,
                Sequence(0)};
  EXPECT_EQ(manager.on_prepared(late, sign(net_.keys[1][3], late)), ManagerRefusal::kTooLate);
  EXPECT_EQ(*manager.accept_command(), decided);
}

// sequence_max is signed: a Byzantine replica that signs another value makes another statement,
// which cannot join the honest replicas' f+1 and does not reach the evidence.
TEST_F(TransactionManagerTest, ALiedSequenceMaxIsItsSignersOwnStatementAndNeverEvidence) {
  TransactionManager manager(command("T", 0), net_.map);
  std::vector<Prepared> honest;
  for (ShardId s : manager.concerned()) {
    Outcome o = tables_[s.value()].prepare(manager.prepare_command(), now_, non_validating_);
    honest.push_back(std::get<PrepareDecision>(o).statement(net_.map.epoch));
  }
  // Replica 0 of each shard lies; then one honest replica each: f+1 = 2 signers, not alike.
  for (const Prepared& p : honest) {
    Prepared lie = p;
    lie.sequence_max = Sequence(1'000'000);
    EXPECT_EQ(manager.on_prepared(lie, sign(net_.keys[p.shard.value()][0], lie)), std::nullopt);
    // Its signature does not carry over to the honest statement.
    EXPECT_EQ(manager.on_prepared(p, sign(net_.keys[p.shard.value()][0], lie)),
              ManagerRefusal::kInvalidSignature);
    EXPECT_EQ(manager.on_prepared(p, sign(net_.keys[p.shard.value()][1], p)), std::nullopt);
  }
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kPreparing);
  for (const Prepared& p : honest)
    EXPECT_EQ(manager.on_prepared(p, sign(net_.keys[p.shard.value()][2], p)), std::nullopt);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  for (const PreparedVote& vote : manager.accept_command()->evidence) {
    EXPECT_EQ(vote.statement.sequence_max, Sequence(0));
    EXPECT_EQ(vote.signatures.size(), 2u);
    for (const ReplicaSignature& sig : vote.signatures)
      EXPECT_NE(sig.by, net_.keys[vote.statement.shard.value()][0].public_key());
  }
  run_phase_two(manager, 2);
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kCommitted);
}

// Statements signed in batches (one root per replica and block) cost the manager's cache one
// verification per replica and batch, and make evidence the tables accept.
TEST_F(TransactionManagerTest, BatchedStatementsCostOneVerificationPerSignerAndBatch) {
  VerifyCache cache;
  TransactionManager first(command("T1", 0), net_.map, &cache);
  TransactionManager second(command("T2", 0), net_.map, &cache);
  // T1 takes a and b, so T2 aborts on both shards: each shard's block holds both statements.
  for (ShardId s : first.concerned()) {
    ObjectTable& table = tables_[s.value()];
    Prepared p1 = std::get<PrepareDecision>(
                      table.prepare(first.prepare_command(), now_, non_validating_))
                      .statement(net_.map.epoch);
    Prepared p2 = std::get<PrepareDecision>(
                      table.prepare(second.prepare_command(), now_, non_validating_))
                      .statement(net_.map.epoch);
    EXPECT_EQ(p2.verdict, Verdict::kAbort);
    BatchTree tree({statement_leaf(p1), statement_leaf(p2)});
    for (uint32_t r = 0; r < 2; ++r) {
      std::vector<ReplicaSignature> sigs = sign_batch(net_.keys[s.value()][r], tree);
      EXPECT_EQ(first.on_prepared(p1, sigs[0]), std::nullopt);
      // T2 decides abort on shard 0's vote alone; shard 1's statements come too late for it.
      EXPECT_EQ(second.on_prepared(p2, sigs[1]),
                s == ShardId(0) ? std::nullopt : std::optional(ManagerRefusal::kTooLate));
    }
  }
  EXPECT_EQ(cache.misses(), 4u);  // 2 shards x 2 signers, one batch each
  EXPECT_EQ(cache.hits(), 2u);    // T2's statements on shard 0
  ASSERT_TRUE(first.accept_command());
  EXPECT_EQ(first.accept_command()->verdict, Verdict::kCommit);
  ASSERT_TRUE(second.accept_command());
  EXPECT_EQ(second.accept_command()->verdict, Verdict::kAbort);
  // The tables take the batched evidence, each verifying every signer's batch once: T2's abort
  // evidence is under roots that T1's commit evidence already brought.
  run_phase_two(first, 2);
  EXPECT_EQ(first.phase(), TransactionManager::Phase::kCommitted);
  run_phase_two(second, 2);
  EXPECT_EQ(second.phase(), TransactionManager::Phase::kAborted);
  for (const ObjectTable& table : tables_) {
    EXPECT_EQ(table.verify_cache().misses(), 4u);
    EXPECT_EQ(table.verify_cache().hits(), 2u);
  }
}

TEST_F(TransactionManagerTest, SingleShardFastPathCommitsOnAcceptedStatementsAlone) {
  PrepareCommand single{testing::tx_id("S"), Sequence(0), {a_}, {}, 0, std::nullopt, std::nullopt};
  TransactionManager manager(single, net_.map);
  ASSERT_EQ(manager.concerned(), (std::set<ShardId>{ShardId(0)}));
  Outcome o = tables_[0].single_shard(SingleShardCommand{single}, now_, non_validating_);
  Accepted statement = std::get<AcceptDecision>(o).statement(net_.map.epoch);
  ASSERT_EQ(statement.verdict, Verdict::kCommit);
  // Replicas send no prepared statement for a fast-path commit: the accepted ones decide.
  EXPECT_EQ(manager.on_accepted(statement, sign(net_.keys[0][0], statement)), std::nullopt);
  EXPECT_EQ(manager.on_accepted(statement, sign(net_.keys[0][0], statement)),
            ManagerRefusal::kDuplicate);  // one replica counts once
  EXPECT_EQ(manager.phase(), TransactionManager::Phase::kPreparing);
  Accepted forged = statement;
  forged.session = Sequence(1);  // another session's statement
  EXPECT_EQ(manager.on_accepted(forged, sign(net_.keys[0][1], forged)),
            ManagerRefusal::kWrongSession);
  EXPECT_EQ(manager.on_accepted(statement, sign(net_.keys[1][1], statement)),
            ManagerRefusal::kInvalidSignature);  // a replica of another shard
  EXPECT_EQ(manager.on_accepted(statement, sign(net_.keys[0][1], statement)), std::nullopt);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kCommitted);
  ASSERT_TRUE(manager.certificate());
  EXPECT_TRUE(
      verify_certificate(single.tx_id, *manager.certificate(), manager.concerned(), net_.map).ok());
}

TEST_F(TransactionManagerTest, AcceptedWithoutPreparedDecidesNothingElse) {
  // A fast-path abort still waits for prepared statements (a retry needs their sequence_max).
  PrepareCommand single{testing::tx_id("S"), Sequence(0), {a_}, {}, 0, std::nullopt, std::nullopt};
  TransactionManager aborting(single, net_.map);
  Accepted abort(single.tx_id, Verdict::kAbort, ShardId(0), net_.map.epoch, single.session);
  for (uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(aborting.on_accepted(abort, sign(net_.keys[0][i], abort)),
              ManagerRefusal::kWrongSession);
  EXPECT_EQ(aborting.phase(), TransactionManager::Phase::kPreparing);
  // A cross-shard transaction is decided only through its prepared statements.
  TransactionManager cross(command("T", 0), net_.map);
  for (uint32_t s = 0; s < kShards; ++s) {
    Accepted commit(testing::tx_id("T"), Verdict::kCommit, ShardId(s), net_.map.epoch);
    for (uint32_t i = 0; i < 4; ++i)
      EXPECT_EQ(cross.on_accepted(commit, sign(net_.keys[s][i], commit)),
                ManagerRefusal::kWrongSession);
  }
  EXPECT_EQ(cross.phase(), TransactionManager::Phase::kPreparing);
  EXPECT_FALSE(cross.certificate());
}

}  // namespace
}  // namespace folio::sbac
