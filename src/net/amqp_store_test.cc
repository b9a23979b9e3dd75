// The transport's tables on both backends (SQLite and a throwaway PostgreSQL server).
#include "net/amqp_store.h"

#include <gtest/gtest.h>

#include "storage/testing/both_backends.h"

namespace folio::net {
namespace {

class AmqpStoreTest : public storage::testing::BothBackends {};

MessageId id_from(uint8_t byte) {
  MessageId id;
  id.bytes.fill(byte);
  return id;
}

OutboxRow row(const std::string& recipient, uint8_t id, const std::string& payload) {
  OutboxRow out;
  out.envelope = Envelope{id_from(id), "O=A, L=London, C=GB", recipient, "topic", to_bytes(payload)};
  out.content_hash = content_hash(out.envelope);
  return out;
}

TEST_P(AmqpStoreTest, OutboxKeepsQueueOrderAndAcceptedFlagAcrossReopen) {
  const std::string bob = "O=B, L=Paris, C=FR";
  {
    auto store = AmqpStore::open(database());
    ASSERT_TRUE(store.ok()) << store.error().message();
    for (uint8_t i : {5, 1, 3}) EXPECT_TRUE(*(*store)->outbox_insert(row(bob, i, "p")));
    EXPECT_FALSE(*(*store)->outbox_insert(row(bob, 1, "p")));  // already queued
    EXPECT_TRUE(*(*store)->outbox_insert(row("O=C, L=Rome, C=IT", 1, "p")));  // other recipient
    ASSERT_TRUE((*store)->outbox_mark_accepted(bob, id_from(3)).ok());
  }
  auto store = AmqpStore::open(database());  // migrations already applied: a no-op
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_TRUE(*(*store)->outbox_insert(row(bob, 9, "p")));
  auto rows = (*store)->load_outbox();
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 5u);
  std::vector<uint8_t> order;
  for (const auto& r : *rows) order.push_back(r.envelope.id.bytes[0]);
  EXPECT_EQ(order, (std::vector<uint8_t>{5, 1, 3, 1, 9}));
  EXPECT_TRUE((*rows)[2].accepted);
  EXPECT_FALSE((*rows)[0].accepted);
  EXPECT_EQ((*rows)[0].content_hash, row(bob, 5, "p").content_hash);
  EXPECT_EQ(to_string((*rows)[0].envelope.payload), "p");
  ASSERT_TRUE((*store)->outbox_delete(bob, id_from(5)).ok());
  EXPECT_EQ(*(*store)->outbox_size(), 4);
}

TEST_P(AmqpStoreTest, ReceiptDeletesOnlyRowsWhoseContentMatches) {
  const std::string bob = "O=B, L=Paris, C=FR";
  auto store = AmqpStore::open(database());
  ASSERT_TRUE(store.ok()) << store.error().message();
  ASSERT_TRUE(*(*store)->outbox_insert(row(bob, 1, "one")));
  ASSERT_TRUE(*(*store)->outbox_insert(row(bob, 2, "two")));
  ASSERT_TRUE(*(*store)->outbox_insert(row("O=C, L=Rome, C=IT", 3, "three")));
  SignedReceipt receipt;
  receipt.receipt.receiver = bob;
  receipt.receipt.addressee = "O=A, L=London, C=GB";
  receipt.receipt.entries = {
      ReceiptEntry{id_from(1), row(bob, 1, "one").content_hash},
      ReceiptEntry{id_from(2), row(bob, 2, "not what was sent").content_hash},
      ReceiptEntry{id_from(3), row("O=C, L=Rome, C=IT", 3, "three").content_hash},  // not Bob's
  };
  auto deleted = (*store)->apply_receipt(receipt, crypto::sha256(as_bytes("r1")));
  ASSERT_TRUE(deleted.ok()) << deleted.error().message();
  EXPECT_EQ(*deleted, std::vector<MessageId>{id_from(1)});
  EXPECT_EQ(*(*store)->outbox_size(), 2);
  EXPECT_EQ(*(*store)->receipts_stored(), 1);
  auto again = (*store)->apply_receipt(receipt, crypto::sha256(as_bytes("r1")));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(*(*store)->receipts_stored(), 1);
}

TEST_P(AmqpStoreTest, InboxDeduplicatesPerSenderAndTracksReceipts) {
  const std::string alice = "O=A, L=London, C=GB";
  const std::string carol = "O=C, L=Rome, C=IT";
  auto store = AmqpStore::open(database());
  ASSERT_TRUE(store.ok()) << store.error().message();
  ReceiptEntry entry{id_from(7), crypto::sha256(as_bytes("content"))};
  EXPECT_FALSE(*(*store)->inbox_check_duplicate(alice, entry.id));
  ASSERT_TRUE((*store)->inbox_insert(alice, entry).ok());
  EXPECT_TRUE(*(*store)->inbox_check_duplicate(alice, entry.id));
  EXPECT_FALSE(*(*store)->inbox_check_duplicate(carol, entry.id));  // ids are per sender
  auto owed = (*store)->inbox_unreceipted();
  ASSERT_TRUE(owed.ok());
  ASSERT_EQ(owed->size(), 1u);
  EXPECT_EQ(owed->at(0).sender, alice);
  EXPECT_EQ(owed->at(0).entry, entry);
  ASSERT_TRUE((*store)->inbox_mark_receipted(alice, std::vector<ReceiptEntry>{entry}).ok());
  EXPECT_TRUE((*store)->inbox_unreceipted()->empty());
  // A duplicate after the receipt: its sender lacks the receipt, so it is owed again.
  EXPECT_TRUE(*(*store)->inbox_check_duplicate(alice, entry.id));
  EXPECT_EQ((*store)->inbox_unreceipted()->size(), 1u);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(AmqpStoreTest);

}  // namespace
}  // namespace folio::net
