#include "sbac/statements.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ::testing::HasSubstr;
using testing::make_network;
using testing::vote;

// Two concerned shards of n = 4 (f = 1) in a map of three.
class CertificateTest : public ::testing::Test {
 protected:
  Accepted accepted(ShardId shard, Verdict verdict = Verdict::kCommit) const {
    return Accepted{id_, verdict, shard, net_.map.epoch};
  }
  NotarisationCertificate good() const {
    return NotarisationCertificate{
        net_.map.epoch,
        {vote(net_, accepted(ShardId(0)), 2), vote(net_, accepted(ShardId(2)), 2, 1)}};
  }
  std::string failure(const NotarisationCertificate& certificate) const {
    Status s = verify_certificate(id_, certificate, concerned_, net_.map);
    return s.ok() ? "ok" : s.error().context;
  }

  testing::Network net_ = make_network(3, 4);
  ledger::TxId id_ = testing::tx_id("T");
  std::set<ShardId> concerned_{ShardId(0), ShardId(2)};
};

TEST_F(CertificateTest, FPlusOneAcceptedCommitPerConcernedShardVerifies) {
  EXPECT_EQ(failure(good()), "ok");
  auto all_four = good();
  all_four.votes[0] = vote(net_, accepted(ShardId(0)), 4);
  EXPECT_EQ(failure(all_four), "ok");
}

TEST_F(CertificateTest, FSignaturesAreNotAVote) {
  auto c = good();
  c.votes[1].signatures.pop_back();
  EXPECT_THAT(failure(c), HasSubstr("too few signatures"));
}

TEST_F(CertificateTest, ADuplicateSignerCountsOnce) {
  auto c = good();
  c.votes[0].signatures[1] = c.votes[0].signatures[0];
  EXPECT_THAT(failure(c), HasSubstr("duplicate signer"));
}

TEST_F(CertificateTest, ANonMemberCannotSign) {
  auto c = good();
  // A replica of shard 1 signs shard 0's statement.
  c.votes[0].signatures[1] = sign(net_.keys[1][0], c.votes[0].statement);
  EXPECT_THAT(failure(c), HasSubstr("not a member"));
}

TEST_F(CertificateTest, AForgedSignatureIsRejected) {
  auto c = good();
  std::get<crypto::Signature>(c.votes[0].signatures[1].signature).bytes.bytes[0] ^= 1;
  EXPECT_THAT(failure(c), HasSubstr("bad signature"));
}

TEST_F(CertificateTest, AnotherEpochIsRejected) {
  auto c = good();
  c.epoch = Epoch(2);
  EXPECT_THAT(failure(c), HasSubstr("wrong epoch"));
  // Statements signed under epoch 2 do not count under the epoch-1 map either.
  Accepted old = accepted(ShardId(2));
  old.epoch = Epoch(2);
  auto d = good();
  d.votes[1] = vote(net_, old, 2);
  EXPECT_THAT(failure(d), HasSubstr("wrong epoch"));
}

TEST_F(CertificateTest, AnotherTransactionIsRejected) {
  auto c = good();
  Accepted other = accepted(ShardId(2));
  other.tx_id = testing::tx_id("T'");
  c.votes[1] = vote(net_, other, 2);
  EXPECT_THAT(failure(c), HasSubstr("wrong transaction"));
}

TEST_F(CertificateTest, EveryConcernedShardMustBePresent) {
  auto c = good();
  c.votes.pop_back();
  EXPECT_THAT(failure(c), HasSubstr("missing shard"));
  auto twice = good();
  twice.votes[1] = vote(net_, accepted(ShardId(0)), 2, 2);
  EXPECT_THAT(failure(twice), HasSubstr("duplicate shard"));
  auto extra = good();
  extra.votes.push_back(vote(net_, accepted(ShardId(1)), 2));
  EXPECT_THAT(failure(extra), HasSubstr("unexpected shard"));
}

TEST_F(CertificateTest, AcceptedAbortIsNotACertificate) {
  auto c = good();
  c.votes[0] = vote(net_, accepted(ShardId(0), Verdict::kAbort), 2);
  EXPECT_THAT(failure(c), HasSubstr("not a commit"));
}

TEST_F(CertificateTest, AStatementSignedForOneShardCannotBeRelabelled) {
  auto c = good();
  c.votes[1].statement.shard = ShardId(0);  // shard 2's signatures relabelled as shard 0's
  c.votes.erase(c.votes.begin());
  concerned_ = {ShardId(0)};
  EXPECT_THAT(failure(c), HasSubstr("not a member"));
}

TEST(Statements, PayloadsAreDomainSeparated) {
  auto net = make_network(1, 4);
  ledger::TxId id = testing::tx_id("T");
  Prepared prepared{id, Sequence(0), Verdict::kCommit, ShardId(0), net.map.epoch, Sequence(0)};
  Accepted accepted{id, Verdict::kCommit, ShardId(0), net.map.epoch};
  Bytes p = signing_payload(prepared);
  Bytes a = signing_payload(accepted);
  EXPECT_EQ(std::string(p.begin(), p.begin() + 19), "folio/sbac/prepared");
  EXPECT_EQ(std::string(a.begin(), a.begin() + 19), "folio/sbac/accepted");
  // A prepared signature never verifies as an accepted one.
  ReplicaSignature sig = sign(net.keys[0][0], prepared);
  EXPECT_TRUE(verify_signature(p, sig));
  EXPECT_FALSE(verify_signature(a, sig));
}

TEST(Statements, CertificateRoundTripsThroughTheCodec) {
  auto net = make_network(2, 4);
  NotarisationCertificate c{
      net.map.epoch,
      {vote(net, Accepted{testing::tx_id("T"), Verdict::kCommit, ShardId(1), net.map.epoch}, 2)}};
  auto decoded = codec::decode_from_bytes<NotarisationCertificate>(codec::encode_to_bytes(c));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, c);
}

}  // namespace
}  // namespace folio::sbac
