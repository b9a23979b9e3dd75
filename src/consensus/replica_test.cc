#include "consensus/replica.h"

#include <gtest/gtest.h>

#include <set>

#include "consensus/test_cluster.h"

namespace folio::consensus {
namespace {

using testing::make_committee;
using testing::make_qc;
using testing::replica_key;
using testing::TestCluster;

Bytes command(int i) { return to_bytes("command-" + std::to_string(i)); }

std::vector<Bytes> commands_of(const std::vector<CommittedBlock>& log) {
  std::vector<Bytes> out;
  for (const CommittedBlock& c : log)
    for (const Bytes& b : c.block->commands) out.push_back(b);
  return out;
}

// ---- Driving one replica (id 0 of 4) by hand --------------------------------------------------

class Solo {
 public:
  explicit Solo(TestCluster::Tweak tweak = {}) {
    ReplicaConfig config(make_committee(4), ReplicaId(0), replica_key(0));
    config.view_timeout_ms = 1000;
    config.idle_proposal_delay_ms = 100;
    if (tweak) tweak(config);
    replica_ = std::make_unique<Replica>(std::move(config), RestoredState{}, 0);
  }

  Replica& replica() { return *replica_; }
  Ready receive(uint32_t from, const Message& m) {
    Validation v = validator_.validate(ReplicaId(from), codec::encode_to_bytes(m));
    EXPECT_TRUE(std::holds_alternative<Verified<Message>>(v))
        << to_string(std::get<Rejection>(v).reason) << ": " << std::get<Rejection>(v).detail;
    if (auto* ok = std::get_if<Verified<Message>>(&v)) replica_->step(*ok);
    return take();
  }
  Ready tick(int64_t now) {
    replica_->tick(now);
    return take();
  }
  Ready take() {
    Ready r = replica_->take_ready();
    replica_->advance(r);
    return r;
  }

 private:
  Validator validator_{make_committee(4), MessageLimits{}};
  std::unique_ptr<Replica> replica_;
};

std::vector<Vote> votes_in(const Ready& r) {
  std::vector<Vote> out;
  for (const Outgoing& o : r.send)
    if (const Vote* v = std::get_if<Vote>(&o.message)) out.push_back(*v);
  return out;
}

bool rejected_for(const Ready& r, RejectReason reason) {
  for (const Rejection& x : r.rejections)
    if (x.reason == reason) return true;
  return false;
}

Block make_block(uint64_t view, const QuorumCert& qc, uint64_t timestamp_ms,
                 std::vector<Bytes> commands = {}) {
  Block b;
  b.view = View(view);
  b.height = qc.height.next();
  b.leader = ReplicaId(static_cast<uint32_t>(view % 4));
  b.timestamp_ms = timestamp_ms;
  b.qc = qc;
  b.commands = std::move(commands);
  return b;
}

TimeoutCert make_tc(uint64_t view, uint64_t high_qc_view) {
  TimeoutCert tc{View(view), {}};
  for (uint32_t i = 1; i < 4; ++i) {
    crypto::Signature s = replica_key(i).sign(timeout_payload(View(view), View(high_qc_view)));
    tc.entries.push_back(TcEntry{ReplicaId(i), View(high_qc_view), s});
  }
  return tc;
}

TEST(VotingRule, AtMostOneVotePerViewEvenForAnEquivocatingLeader) {
  Solo solo;
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  Block b = make_block(1, genesis_qc(), 11, {command(2)});
  Ready first = solo.receive(1, Proposal{a, std::nullopt});
  ASSERT_EQ(votes_in(first).size(), 1u);
  EXPECT_EQ(votes_in(first)[0].block_id, block_id(a));
  ASSERT_TRUE(first.persist.safety.has_value());
  EXPECT_EQ(first.persist.safety->highest_voted_view, View(1));
  Ready second = solo.receive(1, Proposal{b, std::nullopt});
  EXPECT_TRUE(votes_in(second).empty());
  EXPECT_TRUE(rejected_for(second, RejectReason::kDuplicate));
  EXPECT_EQ(solo.replica().find_block(block_id(b)), nullptr) << "equivocation filled the store";
  EXPECT_TRUE(votes_in(solo.receive(1, Proposal{a, std::nullopt})).empty());
}

TEST(VotingRule, VoteGoesToTheNextLeader) {
  Solo solo;
  Ready r = solo.receive(1, Proposal{make_block(1, genesis_qc(), 10), std::nullopt});
  ASSERT_EQ(r.send.size(), 1u);
  EXPECT_EQ(r.send[0].to, ReplicaId(2));
}

TEST(VotingRule, AfterTimeoutCertificateOnlyBlocksExtendingItsHighestQcGetVotes) {
  Solo solo;
  Block a = make_block(1, genesis_qc(), 10);
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  Block b = make_block(2, make_qc(a, 3), 20);
  ASSERT_EQ(votes_in(solo.receive(2, Proposal{b, std::nullopt})).size(), 1u);
  // View 4 timed out, and a signer of the TC held QC(b) of view 2: a block of view 5 that
  // extends only `a` could abandon a committed `b`, so it gets no vote.
  Block fork = make_block(5, make_qc(a, 3), 30);
  Ready r = solo.receive(1, Proposal{fork, make_tc(4, 2)});
  EXPECT_TRUE(votes_in(r).empty());
  EXPECT_TRUE(rejected_for(r, RejectReason::kUnsafe));
  // With a TC whose highest QC is of view 1, extending `a` is safe.
  Solo other;
  ASSERT_EQ(votes_in(other.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  EXPECT_EQ(votes_in(other.receive(1, Proposal{fork, make_tc(4, 1)})).size(), 1u);
}

TEST(VotingRule, ProposalNotJustifiedByQcOrTcOfThePreviousViewIsRefused) {
  Solo solo;
  Block a = make_block(1, genesis_qc(), 10);
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  // View 3 with only QC(view 1): the replica is in view 2, so this is not yet its view.
  Ready r = solo.receive(3, Proposal{make_block(3, make_qc(a, 3), 30), std::nullopt});
  EXPECT_TRUE(votes_in(r).empty());
  EXPECT_TRUE(rejected_for(r, RejectReason::kFutureView));
}

TEST(CommitRule, NegativeControlSwitchCommitsOnASingleCertificate) {
  Solo solo([](ReplicaConfig& c) { c.test_only_commit_on_one_chain = true; });
  Block a = make_block(1, genesis_qc(), 10);
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  Ready r = solo.receive(2, Proposal{make_block(2, make_qc(a, 3), 20), std::nullopt});
  ASSERT_EQ(r.commit.size(), 1u);  // the correct rule waits for a certified child of `a`
  EXPECT_EQ(r.commit[0].id, block_id(a));
}

std::vector<Proposal> proposals_in(const Ready& r) {
  std::vector<Proposal> out;
  for (const Outgoing& o : r.send)
    if (const Proposal* p = std::get_if<Proposal>(&o.message)) out.push_back(*p);
  return out;
}

TEST(QuorumCert, TwoFPlusOneDistinctVotesCertifyABlockAndTheNextLeaderProposes) {
  // Replica 0 leads view 4, so it collects the votes of view 3.
  Solo solo;
  (void)solo.tick(100);
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  Block b = make_block(2, make_qc(a, 3), 20);
  Block c = make_block(3, make_qc(b, 3), 30, {command(3)});
  (void)solo.receive(1, Proposal{a, std::nullopt});
  (void)solo.receive(2, Proposal{b, std::nullopt});
  (void)solo.receive(3, Proposal{c, std::nullopt});  // replica 0 votes for c itself
  Block other = make_block(3, make_qc(b, 3), 31);
  auto vote = [](uint32_t voter, const Block& blk) {
    return make_vote(replica_key(voter), ReplicaId(voter), blk, block_id(blk));
  };
  // Replica 1 votes twice (for c, then for a conflicting block): it counts once.
  EXPECT_TRUE(proposals_in(solo.receive(1, vote(1, c))).empty());
  EXPECT_TRUE(proposals_in(solo.receive(1, vote(1, other))).empty());
  EXPECT_TRUE(proposals_in(solo.receive(1, vote(1, c))).empty());
  EXPECT_EQ(solo.replica().view(), View(3));
  // The third distinct voter completes 2f+1 = 3: a QC for c, view 4, and a proposal extending c.
  Ready r = solo.receive(2, vote(2, c));
  EXPECT_EQ(solo.replica().view(), View(4));
  EXPECT_EQ(solo.replica().high_qc().block_id, block_id(c));
  EXPECT_EQ(solo.replica().high_qc().votes.size(), 3u);
  std::vector<Proposal> sent = proposals_in(r);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].block.view, View(4));
  EXPECT_EQ(sent[0].block.parent(), block_id(c));
  EXPECT_EQ(sent[0].block.leader, ReplicaId(0));
  // QC(c), c's parent b being from view 2, commits b (a committed when c arrived with QC(b)).
  ASSERT_EQ(r.commit.size(), 1u);
  EXPECT_EQ(r.commit[0].id, block_id(b));
}

TEST(QuorumCert, VotesSentToAReplicaThatDoesNotLeadAreRejected) {
  Solo solo;
  Block a = make_block(1, genesis_qc(), 10);
  (void)solo.receive(1, Proposal{a, std::nullopt});
  // Votes of view 1 go to the leader of view 2, which is replica 2, not 0.
  Ready r = solo.receive(3, make_vote(replica_key(3), ReplicaId(3), a, block_id(a)));
  EXPECT_TRUE(rejected_for(r, RejectReason::kWrongLeader));
}

TEST(Timestamp, LeaderClockOutsideTheBoundGetsNoVote) {
  Solo solo([](ReplicaConfig& c) { c.view_timeout_ms = 100'000; });
  (void)solo.tick(5000);
  Block future = make_block(1, genesis_qc(), 5000 + 1001);
  Ready r = solo.receive(1, Proposal{future, std::nullopt});
  EXPECT_TRUE(votes_in(r).empty());
  EXPECT_TRUE(rejected_for(r, RejectReason::kBadTimestamp));
  Block past = make_block(1, genesis_qc(), 5000 - 1001);
  EXPECT_TRUE(
      rejected_for(solo.receive(1, Proposal{past, std::nullopt}), RejectReason::kBadTimestamp));
  Block fine = make_block(1, genesis_qc(), 5000 + 999);
  EXPECT_EQ(votes_in(solo.receive(1, Proposal{fine, std::nullopt})).size(), 1u);
}

TEST(Timestamp, MustIncreaseAlongTheChain) {
  Solo solo;
  (void)solo.tick(100);
  Block a = make_block(1, genesis_qc(), 100);
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  Ready r = solo.receive(2, Proposal{make_block(2, make_qc(a, 3), 100), std::nullopt});
  EXPECT_TRUE(rejected_for(r, RejectReason::kBadTimestamp));
}

TEST(CommitRule, TwoChainCommitsOnlyAcrossConsecutiveViews) {
  Solo solo;
  (void)solo.tick(100);
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  // View 2 times out; b in view 3 extends a: certified, but a and b are not consecutive.
  Block b = make_block(3, make_qc(a, 3), 20, {command(2)});
  Block c = make_block(4, make_qc(b, 3), 30, {command(3)});
  Block d = make_block(5, make_qc(c, 3), 40);
  EXPECT_TRUE(solo.receive(1, Proposal{a, std::nullopt}).commit.empty());
  EXPECT_TRUE(solo.receive(3, Proposal{b, make_tc(2, 1)}).commit.empty());
  // QC(b) certifies b whose parent a is two views back: no commit.
  EXPECT_TRUE(solo.receive(0, Proposal{c, std::nullopt}).commit.empty());
  // QC(c): c's parent b is from the previous view, so b commits, with a before it.
  Ready r = solo.receive(1, Proposal{d, std::nullopt});
  ASSERT_EQ(r.commit.size(), 2u);
  EXPECT_EQ(r.commit[0].id, block_id(a));
  EXPECT_EQ(r.commit[1].id, block_id(b));
  EXPECT_EQ(r.commit[1].certificate.block_id, block_id(b));
  EXPECT_EQ(r.commit[1].block->timestamp_ms, 20u);
  ASSERT_TRUE(r.persist.committed.has_value());
  EXPECT_EQ(r.persist.committed->height, Height(2));
}

TEST(CommitRule, CommitPrunesTheSiblingBesideTheCommittedChainAndKeepsTheBranchAhead) {
  Solo solo;
  (void)solo.tick(100);
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  Block b = make_block(2, make_qc(a, 3), 20, {command(2)});
  // View 2's QC never forms; x extends a again after a TC of view 2: x and b are siblings.
  Block x = make_block(3, make_qc(a, 3), 30, {command(3)});
  Block y = make_block(4, make_qc(x, 3), 40, {command(4)});
  Block z = make_block(5, make_qc(y, 3), 50);
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  ASSERT_EQ(votes_in(solo.receive(2, Proposal{b, std::nullopt})).size(), 1u);
  // The vote for x goes to the leader of view 4: this replica itself.
  ASSERT_TRUE(solo.receive(3, Proposal{x, make_tc(2, 1)}).rejections.empty());
  ASSERT_TRUE(solo.receive(0, Proposal{y, std::nullopt}).commit.empty());
  EXPECT_NE(solo.replica().find_block(block_id(b)), nullptr);
  // QC(y) commits x with a; b, at a committed height but not committed, can never commit.
  Ready r = solo.receive(1, Proposal{z, std::nullopt});
  ASSERT_EQ(r.commit.size(), 2u);
  EXPECT_EQ(r.commit[1].id, block_id(x));
  EXPECT_EQ(r.persist.pruned, std::vector<BlockId>{block_id(b)});
  EXPECT_EQ(solo.replica().find_block(block_id(b)), nullptr);
  for (const Block* kept : {&a, &x, &y, &z})
    EXPECT_NE(solo.replica().find_block(block_id(*kept)), nullptr);
  EXPECT_EQ(solo.replica().stored_blocks(), 5u);  // genesis, a, x, y, z
}

TEST(Validity, BlockRepeatingAPendingCommandGetsNoVote) {
  Solo solo;
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  ASSERT_EQ(votes_in(solo.receive(1, Proposal{a, std::nullopt})).size(), 1u);
  Block b = make_block(2, make_qc(a, 3), 20, {command(2), command(1)});
  Ready r = solo.receive(2, Proposal{b, std::nullopt});
  EXPECT_TRUE(votes_in(r).empty());
  EXPECT_TRUE(rejected_for(r, RejectReason::kDuplicate));
}

TEST(Mempool, FullReplicaRefusesCommandsWithAReason) {
  Solo solo([](ReplicaConfig& c) { c.mempool.count_max = 2; });
  EXPECT_EQ(solo.replica().submit(command(1)), std::nullopt);
  EXPECT_EQ(solo.replica().submit(command(1)), RejectReason::kDuplicate);
  EXPECT_EQ(solo.replica().submit(command(2)), std::nullopt);
  EXPECT_EQ(solo.replica().submit(command(3)), RejectReason::kMempoolFull);
}

TEST(CatchUp, UnsolicitedBlockResponseIsRejected) {
  Solo solo;
  Ready r = solo.receive(2, BlockResponse{{make_block(1, genesis_qc(), 10)}});
  EXPECT_TRUE(rejected_for(r, RejectReason::kUnsolicited));
  EXPECT_EQ(solo.replica().stored_blocks(), 1u);
}

TEST(CatchUp, MissingParentIsFetchedVerifiedByHashAndThenVotedOn) {
  Solo solo;
  (void)solo.tick(100);
  Block a = make_block(1, genesis_qc(), 10, {command(1)});
  Block b = make_block(2, make_qc(a, 3), 20, {command(2)});
  // The replica missed `a`: the proposal of `b` waits while `a` is requested from its sender.
  Ready r = solo.receive(2, Proposal{b, std::nullopt});
  EXPECT_TRUE(votes_in(r).empty());
  ASSERT_EQ(r.send.size(), 1u);
  const auto* request = std::get_if<BlockRequest>(&r.send[0].message);
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->block_id, block_id(a));
  EXPECT_EQ(r.send[0].to, ReplicaId(2));
  // A block that does not hash to the requested id is refused, and so is a chain whose second
  // block is not the first one's parent.
  Block forged = make_block(1, genesis_qc(), 11, {command(9)});
  EXPECT_TRUE(rejected_for(solo.receive(2, BlockResponse{{forged}}), RejectReason::kUnsolicited));
  EXPECT_TRUE(
      rejected_for(solo.receive(2, BlockResponse{{a, forged}}), RejectReason::kInvalidBlock));
  EXPECT_EQ(solo.replica().find_block(block_id(a)), nullptr);
  // The genuine block is stored, and the waiting proposal is voted on.
  Ready ok = solo.receive(2, BlockResponse{{a}});
  EXPECT_NE(solo.replica().find_block(block_id(a)), nullptr);
  ASSERT_EQ(votes_in(ok).size(), 1u);
  EXPECT_EQ(votes_in(ok)[0].block_id, block_id(b));
}

TEST(Pacemaker, ViewDurationBacksOffExponentiallyWhileViewsFail) {
  Solo solo;
  std::vector<int64_t> timeouts_at;
  for (int64_t t = 10; t <= 16'000; t += 10) {
    Ready r = solo.tick(t);
    for (const Outgoing& o : r.send)
      if (std::holds_alternative<TimeoutMessage>(o.message)) timeouts_at.push_back(t);
  }
  // Alone, the replica never forms a TC: it re-sends its timeout at 1, 3, 7 and 15 seconds.
  EXPECT_EQ(timeouts_at, (std::vector<int64_t>{1000, 3000, 7000, 15000}));
  EXPECT_EQ(solo.replica().view(), View(1));
  EXPECT_EQ(solo.replica().highest_voted_view(), View(1));
}

TEST(Pacemaker, TimedOutReplicaNoLongerVotesInThatView) {
  Solo solo;
  (void)solo.tick(1000);
  Ready r = solo.receive(1, Proposal{make_block(1, genesis_qc(), 1000), std::nullopt});
  EXPECT_TRUE(votes_in(r).empty());
}

// ---- Whole committees -----------------------------------------------------------------------

void expect_logs_agree(TestCluster& cluster, uint32_t n, size_t commands) {
  std::vector<Bytes> reference = commands_of(cluster.committed(0));
  EXPECT_EQ(reference.size(), commands);
  std::set<Bytes> unique(reference.begin(), reference.end());
  EXPECT_EQ(unique.size(), reference.size()) << "a command committed twice";
  for (uint32_t i = 1; i < n; ++i) {
    EXPECT_EQ(commands_of(cluster.committed(i)), reference) << "replica " << i;
    size_t common = std::min(cluster.committed(0).size(), cluster.committed(i).size());
    for (size_t h = 0; h < common; ++h)
      EXPECT_EQ(cluster.committed(i)[h].id, cluster.committed(0)[h].id) << "height " << h + 1;
  }
}

class Committees : public ::testing::TestWithParam<uint32_t> {};

TEST_P(Committees, EveryReplicaCommitsEverySubmittedCommandInOneOrder) {
  uint32_t n = GetParam();
  TestCluster cluster(n);
  for (int i = 0; i < 50; ++i) {
    cluster.submit_all(command(i));
    cluster.run_for(10);
  }
  cluster.run_for(1000);
  expect_logs_agree(cluster, n, 50);
  for (uint32_t i = 0; i < n; ++i) EXPECT_TRUE(cluster.reports(i).empty());
}
INSTANTIATE_TEST_SUITE_P(Sizes, Committees, ::testing::Values(4u, 7u, 10u));

TEST(Batching, BatchCountBoundLimitsBlocks) {
  TestCluster cluster(4, [](ReplicaConfig& c) { c.limits.batch_count_max = 7; });
  for (int i = 0; i < 100; ++i) cluster.submit_all(command(i));
  cluster.run_for(2000);
  expect_logs_agree(cluster, 4, 100);
  for (const CommittedBlock& c : cluster.committed(0)) EXPECT_LE(c.block->commands.size(), 7u);
}

TEST(ViewChange, TimeoutCertificateMovesStuckView) {
  TestCluster cluster(4);
  cluster.crash(1);  // leader of view 1
  for (int i = 0; i < 10; ++i) cluster.submit_all(command(i));
  cluster.run_for(3000);
  EXPECT_GT(cluster.replica(0).view(), View(2));
  bool tc_seen = false;
  for (const auto& e : cluster.sent) {
    auto m = codec::decode_from_bytes<Message>(e.bytes);
    if (m.ok() && std::holds_alternative<Proposal>(*m) && std::get<Proposal>(*m).tc) tc_seen = true;
  }
  EXPECT_TRUE(tc_seen) << "no proposal was justified by a timeout certificate";
  EXPECT_EQ(commands_of(cluster.committed(0)).size(), 10u);
  EXPECT_EQ(commands_of(cluster.committed(2)), commands_of(cluster.committed(0)));
}

TEST(Persistence, RestartedReplicaNeverVotesTwiceInAView) {
  TestCluster cluster(4);
  cluster.drop = [](const testing::Envelope&) { return true; };  // isolate replica 0
  auto votes_sent = [&] {
    size_t k = 0;
    for (const auto& e : cluster.sent) {
      auto m = codec::decode_from_bytes<Message>(e.bytes);
      k += e.from == ReplicaId(0) && m.ok() && std::holds_alternative<Vote>(*m);
    }
    return k;
  };
  Block a = make_block(1, genesis_qc(), 1, {command(1)});
  Block b = make_block(1, genesis_qc(), 2, {command(2)});
  auto deliver = [&](const Block& blk) {
    cluster.deliver(
        {ReplicaId(1), ReplicaId(0), codec::encode_to_bytes(Message(Proposal{blk, {}}))});
  };
  deliver(a);
  ASSERT_EQ(votes_sent(), 1u);
  cluster.crash(0);
  cluster.restart(0);
  EXPECT_EQ(cluster.replica(0).highest_voted_view(), View(1));
  deliver(a);
  deliver(b);
  EXPECT_EQ(votes_sent(), 1u);
}

TEST(CatchUp, LaggingReplicaFetchesMissingBlocksAndCommitsTheSameLog) {
  TestCluster cluster(4, [](ReplicaConfig& c) { c.limits.fetch_blocks_max = 4; });
  bool cut = true;
  cluster.drop = [&](const testing::Envelope& e) {
    return cut && (e.to == ReplicaId(3) || e.from == ReplicaId(3));
  };
  for (int i = 0; i < 40; ++i) {
    cluster.submit_all(command(i));
    cluster.run_for(20);
  }
  cluster.run_for(4000);
  ASSERT_TRUE(cluster.committed(3).empty());
  ASSERT_GT(cluster.committed(0).size(), 2u);
  cut = false;
  cluster.run_for(6000);
  expect_logs_agree(cluster, 4, 40);
  bool fetched = false;
  for (const auto& e : cluster.sent) {
    auto m = codec::decode_from_bytes<Message>(e.bytes);
    fetched |= e.from == ReplicaId(3) && m.ok() && std::holds_alternative<BlockRequest>(*m);
  }
  EXPECT_TRUE(fetched);
}

TEST(CatchUp, CrashedReplicaRestartsFromDiskAndCatchesUp) {
  TestCluster cluster(4);
  for (int i = 0; i < 20; ++i) {
    cluster.submit_all(command(i));
    cluster.run_for(20);
  }
  cluster.crash(2);
  for (int i = 20; i < 40; ++i) {
    cluster.submit_all(command(i));
    cluster.run_for(20);
  }
  cluster.restart(2);
  cluster.run_for(4000);
  expect_logs_agree(cluster, 4, 40);
}

}  // namespace
}  // namespace folio::consensus
