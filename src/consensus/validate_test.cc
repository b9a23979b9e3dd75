#include "consensus/validate.h"

#include <gtest/gtest.h>

#include "consensus/test_cluster.h"

namespace folio::consensus {
namespace {

using testing::make_committee;
using testing::make_qc;
using testing::replica_key;

Block block_in_view(uint64_t view, uint32_t n = 4) {
  Block b;
  b.view = View(view);
  b.height = Height(1);
  b.leader = ReplicaId(static_cast<uint32_t>(view % n));
  b.timestamp_ms = 10;
  b.qc = genesis_qc();
  b.commands = {to_bytes("x")};
  return b;
}

std::optional<RejectReason> reason(const Validation& v) {
  if (const auto* r = std::get_if<Rejection>(&v)) return r->reason;
  return std::nullopt;
}

class ValidatorTest : public ::testing::Test {
 protected:
  Validator validator{make_committee(4), MessageLimits{}};
  Validation check(ReplicaId from, const Message& m) {
    return validator.validate(from, codec::encode_to_bytes(m));
  }
};

TEST_F(ValidatorTest, AcceptsAGenuineProposalVoteAndTimeout) {
  Block b = block_in_view(1);
  EXPECT_EQ(reason(check(ReplicaId(1), Proposal{b, std::nullopt})), std::nullopt);
  EXPECT_EQ(reason(check(ReplicaId(3), make_vote(replica_key(3), ReplicaId(3), b, block_id(b)))),
            std::nullopt);
  Timeout t = make_timeout(replica_key(2), ReplicaId(2), View(2), make_qc(b, 3));
  EXPECT_EQ(reason(check(ReplicaId(2), TimeoutMessage{t, std::nullopt})), std::nullopt);
}

TEST_F(ValidatorTest, UnknownSenderIsRejected) {
  EXPECT_EQ(reason(check(ReplicaId(4), BlockRequest{genesis_id(), 1})),
            RejectReason::kUnknownReplica);
}

TEST_F(ValidatorTest, ForgedVoteSignatureIsRejected) {
  Block b = block_in_view(1);
  Vote v = make_vote(replica_key(3), ReplicaId(3), b, block_id(b));
  v.signature.bytes.bytes[7] ^= 0x20;
  EXPECT_EQ(reason(check(ReplicaId(3), v)), RejectReason::kBadSignature);
  // A vote signed by another replica's key but claiming replica 3.
  Vote forged = make_vote(replica_key(0), ReplicaId(3), b, block_id(b));
  EXPECT_EQ(reason(check(ReplicaId(3), forged)), RejectReason::kBadSignature);
}

TEST_F(ValidatorTest, RelayedVoteIsRejected) {
  Block b = block_in_view(1);
  Vote v = make_vote(replica_key(3), ReplicaId(3), b, block_id(b));
  EXPECT_EQ(reason(check(ReplicaId(2), v)), RejectReason::kWrongSender);
}

TEST_F(ValidatorTest, ProposalFromANonLeaderIsRejected) {
  Block b = block_in_view(1);
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{b, std::nullopt})), RejectReason::kWrongLeader);
  b.leader = ReplicaId(2);
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{b, std::nullopt})), RejectReason::kWrongLeader);
}

TEST_F(ValidatorTest, CertificateBelowQuorumOrWithBadVoteIsRejected) {
  Block parent = block_in_view(1);
  Block child = block_in_view(2);
  child.height = Height(2);
  child.qc = make_qc(parent, 2);
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{child, std::nullopt})),
            RejectReason::kInvalidCertificate);
  child.qc = make_qc(parent, 3);
  child.qc.votes[2].signature.bytes.bytes[0] ^= 1;
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{child, std::nullopt})),
            RejectReason::kBadSignature);
  child.qc = make_qc(parent, 3);
  child.qc.votes[2].voter = ReplicaId(9);
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{child, std::nullopt})),
            RejectReason::kUnknownReplica);
}

TEST_F(ValidatorTest, ForgedGenesisCertificateIsRejected) {
  Block b = block_in_view(1);
  b.qc.block_id = BlockId(crypto::sha256(as_bytes("not genesis")));
  EXPECT_EQ(reason(check(ReplicaId(1), Proposal{b, std::nullopt})),
            RejectReason::kInvalidCertificate);
}

TEST_F(ValidatorTest, TimeoutCertificateNeedsQuorumOfValidSignatures) {
  Block b = block_in_view(1);
  TimeoutCert tc{View(1), {}};
  for (uint32_t i = 0; i < 3; ++i) {
    Timeout t = make_timeout(replica_key(i), ReplicaId(i), View(1), genesis_qc());
    tc.entries.push_back(TcEntry{ReplicaId(i), View(0), t.signature});
  }
  Block after = block_in_view(2);
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{after, tc})), std::nullopt);
  TimeoutCert lying = tc;
  lying.entries[1].high_qc_view = View(0);
  lying.view = View(3);  // signatures were for view 1
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{after, lying})), RejectReason::kBadSignature);
  tc.entries.pop_back();
  EXPECT_EQ(reason(check(ReplicaId(2), Proposal{after, tc})), RejectReason::kInvalidCertificate);
}

TEST_F(ValidatorTest, BatchBoundsAreEnforced) {
  MessageLimits limits;
  limits.batch_count_max = 2;
  limits.command_bytes_max = 8;
  limits.batch_bytes_max = 12;
  Validator small(make_committee(4), limits);
  Block b = block_in_view(1);
  b.commands = {to_bytes("a"), to_bytes("b"), to_bytes("c")};
  EXPECT_EQ(reason(small.validate(ReplicaId(1), codec::encode_to_bytes(Message(Proposal{b, {}})))),
            RejectReason::kOversize);
  b.commands = {to_bytes("12345678"), to_bytes("12345678")};
  EXPECT_EQ(reason(small.validate(ReplicaId(1), codec::encode_to_bytes(Message(Proposal{b, {}})))),
            RejectReason::kOversize);
  b.commands = {Bytes{}};
  EXPECT_EQ(reason(small.validate(ReplicaId(1), codec::encode_to_bytes(Message(Proposal{b, {}})))),
            RejectReason::kOversize);
}

TEST_F(ValidatorTest, ArbitraryBytesNeverCrashAndAreRejectedAsMalformed) {
  // Mutations of valid messages and random garbage: every outcome is a value, never a crash.
  Block parent = block_in_view(1);
  Block child = block_in_view(2);
  child.height = Height(2);
  child.qc = make_qc(parent, 3);
  Bytes valid = codec::encode_to_bytes(Message(Proposal{child, std::nullopt}));
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    Bytes bytes = valid;
    switch (i % 4) {
      case 0:
        bytes[next() % bytes.size()] ^= static_cast<uint8_t>(1 + next() % 255);
        break;
      case 1:
        bytes.resize(next() % bytes.size());
        break;
      case 2:
        bytes.insert(bytes.begin() + static_cast<long>(next() % bytes.size()), 0xff);
        break;
      default:
        bytes.resize(next() % 64);
        for (uint8_t& b : bytes) b = static_cast<uint8_t>(next());
    }
    rejected += reason(validator.validate(ReplicaId(2), bytes)).has_value();
  }
  EXPECT_GT(rejected, 1900u);
  EXPECT_EQ(reason(validator.validate(ReplicaId(2), Bytes{0x00})), RejectReason::kMalformed);
}

TEST_F(ValidatorTest, OversizeInputIsRejectedBeforeDecoding) {
  Bytes huge(MessageLimits{}.message_bytes_max(4) + 1, 0);
  EXPECT_EQ(reason(validator.validate(ReplicaId(0), huge)), RejectReason::kOversize);
}

TEST_F(ValidatorTest, BlockRequestCountIsBounded) {
  EXPECT_EQ(reason(check(ReplicaId(0), BlockRequest{genesis_id(), 0})), RejectReason::kOversize);
  EXPECT_EQ(reason(check(ReplicaId(0), BlockRequest{genesis_id(), 1000})), RejectReason::kOversize);
}

TEST(Committee, QuorumIsTwoFPlusOneAndLeadersRotate) {
  for (uint32_t n : {4u, 7u, 10u, 13u}) {
    Committee c = make_committee(n);
    EXPECT_EQ(c.faults_max(), (n - 1) / 3);
    EXPECT_EQ(c.quorum(), 2 * c.faults_max() + 1);
    EXPECT_EQ(c.leader(View(n + 2)), ReplicaId(2));
  }
}

}  // namespace
}  // namespace folio::consensus
