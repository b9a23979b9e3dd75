// ShardedNotaryClient's pieces that need no replica processes: the ManagerBatch it writes message
// by message must be byte for byte the codec's encoding of the same batch (the replicas decode it
// as a ManagerBatch). The whole client against real replicas is replica_network_test.
#include "notary/sharded_client.h"

#include <gtest/gtest.h>

namespace folio::notary {
namespace {

sbac::SessionKey session(uint8_t b, uint64_t s) {
  crypto::Hash256 bytes;
  bytes.bytes.fill(b);
  return sbac::SessionKey{ledger::TxId(bytes), sbac::Sequence(s)};
}

TEST(ManagerBatchWriter, WritesExactlyTheCodecsEncodingOfTheBatch) {
  std::vector<sbac::ManagerMessage> messages{
      sbac::SubmitCommand{Bytes(2000, 0xab)},
      sbac::StatusQuery{session(1, 0)},
      sbac::SubmitCommand{Bytes{}},
      sbac::StatusQuery{session(2, 7)},
  };
  ManagerBatchWriter writer;
  EXPECT_TRUE(writer.empty());
  for (const sbac::ManagerMessage& m : messages) writer.add(m);
  EXPECT_EQ(writer.count(), 4u);
  Bytes written = writer.finish();
  EXPECT_EQ(written, codec::encode_to_bytes(ManagerBatch{messages}));
  auto decoded = codec::decode_from_bytes<ManagerBatch>(written, wire_limits());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->messages, messages);
  // finish() empties the writer: the next batch holds only what is added after it.
  EXPECT_TRUE(writer.empty());
  writer.add(messages[1]);
  EXPECT_EQ(writer.finish(), codec::encode_to_bytes(ManagerBatch{{messages[1]}}));
  EXPECT_EQ(writer.finish(), codec::encode_to_bytes(ManagerBatch{}));
}

TEST(ManagerBatchWriter, ManyMessagesNeedAWiderLengthPrefix) {
  // 200 messages: the length no longer fits one ULEB128 byte.
  std::vector<sbac::ManagerMessage> messages;
  ManagerBatchWriter writer;
  for (uint32_t i = 0; i < 200; ++i) {
    messages.push_back(sbac::StatusQuery{session(static_cast<uint8_t>(i), i)});
    writer.add(messages.back());
  }
  EXPECT_EQ(writer.finish(), codec::encode_to_bytes(ManagerBatch{messages}));
}

}  // namespace
}  // namespace folio::notary
