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
  Prepared good{testing::tx_id("T"), Sequence(3), Verdict::kCommit, ShardId(0), net_.map.epoch};
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
  forged.signature.bytes.bytes[5] ^= 1;
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

TEST_F(TransactionManagerTest, PreparedStatementsAfterTheDecisionAreTooLate) {
  TransactionManager manager(command("T", 0), net_.map);
  run_phase_one(manager, 2);
  ASSERT_EQ(manager.phase(), TransactionManager::Phase::kAccepting);
  AcceptCommand decided = *manager.accept_command();
  Prepared late{testing::tx_id("T"), Sequence(0), Verdict::kAbort, ShardId(1), net_.map.epoch};
  EXPECT_EQ(manager.on_prepared(late, sign(net_.keys[1][3], late)), ManagerRefusal::kTooLate);
  EXPECT_EQ(*manager.accept_command(), decided);
}

}  // namespace
}  // namespace folio::sbac
