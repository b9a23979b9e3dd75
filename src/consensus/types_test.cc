#include "consensus/types.h"

#include <gtest/gtest.h>

#include "consensus/test_cluster.h"

namespace folio::consensus {
namespace {

using testing::make_qc;

Block sample_block() {
  Block b;
  b.view = View(1);
  b.height = Height(1);
  b.leader = ReplicaId(1);
  b.timestamp_ms = 1234;
  b.qc = genesis_qc();
  b.commands = {to_bytes("pay alice 5"), to_bytes("pay bob 7")};
  return b;
}

TEST(Encoding, EveryMessageRoundTripsThroughTheStrictDecoder) {
  Block b = sample_block();
  Block child = b;
  child.view = View(2);
  child.height = Height(2);
  child.leader = ReplicaId(2);
  child.qc = make_qc(b, 3);
  std::vector<Message> messages = {
      Proposal{child, std::nullopt},
      make_vote(testing::replica_key(0), ReplicaId(0), b, block_id(b)),
      TimeoutMessage{make_timeout(testing::replica_key(2), ReplicaId(2), View(3), child.qc),
                     TimeoutCert{View(2), {TcEntry{ReplicaId(0), View(1), {}}}}},
      BlockRequest{block_id(b), 4},
      BlockResponse{{child, b}},
  };
  for (const Message& m : messages) {
    Bytes bytes = codec::encode_to_bytes(m);
    auto back = codec::decode_from_bytes<Message>(bytes);
    ASSERT_TRUE(back.ok()) << message_name(m) << ": " << back.error().message();
    EXPECT_EQ(*back, m);
    bytes.push_back(0);
    EXPECT_FALSE(codec::decode_from_bytes<Message>(bytes).ok()) << "trailing byte accepted";
  }
}

TEST(Encoding, CertificateWithUnsortedOrRepeatedVotersIsMalformed) {
  QuorumCert qc = make_qc(sample_block(), 3);
  std::swap(qc.votes[0], qc.votes[1]);
  EXPECT_FALSE(codec::decode_from_bytes<QuorumCert>(codec::encode_to_bytes(qc)).ok());
  qc = make_qc(sample_block(), 3);
  qc.votes[1] = qc.votes[0];
  EXPECT_FALSE(codec::decode_from_bytes<QuorumCert>(codec::encode_to_bytes(qc)).ok());
}

TEST(BlockId, CoversEveryFieldIncludingCommandsAndTimestamp) {
  Block b = sample_block();
  BlockId id = block_id(b);
  Block other = b;
  other.timestamp_ms += 1;
  EXPECT_NE(block_id(other), id);
  other = b;
  other.commands[1].back() ^= 1;
  EXPECT_NE(block_id(other), id);
  EXPECT_EQ(block_id(sample_block()), id);
}

TEST(Block, EncodedBytesMaxBoundsTheEncodingEvenAtExtremeValues) {
  Block b = sample_block();
  EXPECT_GE(b.encoded_bytes_max(), codec::encode_to_bytes(b).size());
  // Largest numbers (longest varints), a full committee's votes, and commands long enough to
  // need multi-byte length prefixes.
  b.view = View(~uint64_t{0});
  b.height = Height(~uint64_t{0});
  b.leader = ReplicaId(~uint32_t{0});
  b.timestamp_ms = ~uint64_t{0};
  b.qc.view = View(~uint64_t{0});
  b.qc.height = Height(~uint64_t{0});
  b.qc.votes.clear();
  for (uint32_t v = 0; v < kReplicasMax; ++v)
    b.qc.votes.push_back(QcVote{ReplicaId(~uint32_t{0} - kReplicasMax + v), {}});
  b.commands.assign(3, Bytes(70'000, 0xab));
  b.commands.push_back(Bytes(1, 1));
  EXPECT_GE(b.encoded_bytes_max(), codec::encode_to_bytes(b).size());
}

TEST(Signing, VoteAndTimeoutPayloadsAreDomainSeparated) {
  // A vote signature must never verify as a timeout signature, whatever the numbers.
  Bytes vote = vote_payload(genesis_id(), View(5), Height(3));
  Bytes timeout = timeout_payload(View(5), View(3));
  EXPECT_NE(vote, timeout);
  crypto::PrivateKey key = testing::replica_key(0);
  crypto::Signature s = key.sign(vote);
  EXPECT_TRUE(crypto::verify(key.public_key(), vote, s));
  EXPECT_FALSE(crypto::verify(key.public_key(), timeout, s));
}

TEST(TimeoutCert, ReportsTheHighestQcViewOfItsSigners) {
  TimeoutCert tc{View(9),
                 {TcEntry{ReplicaId(0), View(3), {}}, TcEntry{ReplicaId(1), View(7), {}},
                  TcEntry{ReplicaId(2), View(5), {}}}};
  EXPECT_EQ(tc.max_high_qc_view(), View(7));
}

}  // namespace
}  // namespace folio::consensus
