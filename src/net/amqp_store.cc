#include "net/amqp_store.h"

#include <map>

namespace folio::net {
namespace {

using storage::Value;

const storage::Migration kMigrations[] = {
    {1,
     "AMQP transport outbox, inbox de-duplication table and receipts",
     {"CREATE TABLE net_outbox (recipient TEXT NOT NULL, id BLOB NOT NULL, sequence INTEGER NOT "
      "NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, content_hash BLOB NOT NULL, accepted "
      "INTEGER NOT NULL, PRIMARY KEY (recipient, id))",
      "CREATE INDEX net_outbox_sequence ON net_outbox (sequence)",
      "CREATE TABLE net_inbox (sender TEXT NOT NULL, id BLOB NOT NULL, content_hash BLOB NOT "
      "NULL, receipted INTEGER NOT NULL, PRIMARY KEY (sender, id))",
      "CREATE INDEX net_inbox_receipted ON net_inbox (receipted)",
      "CREATE TABLE net_receipts (hash BLOB PRIMARY KEY, receiver TEXT NOT NULL, body BLOB NOT "
      "NULL)"}},
};

Value blob(ByteView bytes) { return Bytes(bytes.begin(), bytes.end()); }

Result<crypto::Hash256> hash_column(const storage::Row& row, size_t i) {
  const Bytes& bytes = row.blob(i);
  if (bytes.size() != crypto::Hash256::kSize)
    return make_error(ErrorCode::kMalformed, "net table holds a hash of " +
                                                 std::to_string(bytes.size()) + " bytes");
  return crypto::Hash256::from(bytes);
}

}  // namespace

Result<std::unique_ptr<AmqpStore>> AmqpStore::open(storage::Database& database) {
  FOLIO_TRY(database.migrate("net", kMigrations));
  FOLIO_ASSIGN_OR_RETURN(auto rows,
                         database.query("SELECT COALESCE(MAX(sequence), 0) + 1 FROM net_outbox"));
  auto store = std::unique_ptr<AmqpStore>(new AmqpStore(database));
  store->next_sequence_ = rows.at(0).integer(0);
  return store;
}

Result<std::vector<OutboxRow>> AmqpStore::load_outbox() {
  std::lock_guard lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(
      auto rows, database_.query("SELECT recipient, id, topic, payload, content_hash, accepted "
                                 "FROM net_outbox ORDER BY sequence"));
  std::vector<OutboxRow> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    OutboxRow entry;
    entry.envelope.recipient = row.text(0);
    FOLIO_ASSIGN_OR_RETURN(entry.envelope.id, hash_column(row, 1));
    entry.envelope.topic = row.text(2);
    entry.envelope.payload = row.blob(3);
    FOLIO_ASSIGN_OR_RETURN(entry.content_hash, hash_column(row, 4));
    entry.accepted = row.integer(5) != 0;
    out.push_back(std::move(entry));
  }
  return out;
}

Result<bool> AmqpStore::outbox_insert(const OutboxRow& row) {
  std::lock_guard lock(mutex_);
  Value params[] = {row.envelope.recipient, blob(row.envelope.id.view()), next_sequence_,
                    row.envelope.topic,     row.envelope.payload,        blob(row.content_hash.view()),
                    int64_t{row.accepted ? 1 : 0}};
  FOLIO_ASSIGN_OR_RETURN(
      int64_t changed,
      database_.exec("INSERT INTO net_outbox (recipient, id, sequence, topic, payload, "
                     "content_hash, accepted) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     params));
  if (changed == 1) ++next_sequence_;
  return changed == 1;
}

Status AmqpStore::outbox_mark_accepted(const std::string& recipient, const MessageId& id) {
  std::lock_guard lock(mutex_);
  Value params[] = {recipient, blob(id.view())};
  FOLIO_TRY(database_.exec("UPDATE net_outbox SET accepted = 1 WHERE recipient = ? AND id = ?",
                           params));
  return ok_status();
}

Status AmqpStore::outbox_delete(const std::string& recipient, const MessageId& id) {
  std::lock_guard lock(mutex_);
  Value params[] = {recipient, blob(id.view())};
  FOLIO_TRY(database_.exec("DELETE FROM net_outbox WHERE recipient = ? AND id = ?", params));
  return ok_status();
}

Result<std::vector<MessageId>> AmqpStore::apply_receipt(const SignedReceipt& receipt,
                                                        const crypto::Hash256& receipt_hash) {
  std::lock_guard lock(mutex_);
  std::vector<MessageId> deleted;
  FOLIO_TRY(database_.transact([&](storage::Session& session) -> Status {
    deleted.clear();
    Value insert[] = {blob(receipt_hash.view()), receipt.receipt.receiver,
                      encode_receipt(receipt)};
    FOLIO_TRY(session.exec(
        "INSERT INTO net_receipts (hash, receiver, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        insert));
    for (const ReceiptEntry& entry : receipt.receipt.entries) {
      Value params[] = {receipt.receipt.receiver, blob(entry.id.view()),
                        blob(entry.content_hash.view())};
      FOLIO_ASSIGN_OR_RETURN(
          int64_t changed,
          session.exec("DELETE FROM net_outbox WHERE recipient = ? AND id = ? AND content_hash = ?",
                       params));
      if (changed == 1) deleted.push_back(entry.id);
    }
    return ok_status();
  }));
  return deleted;
}

Result<int64_t> AmqpStore::outbox_size() {
  std::lock_guard lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(auto rows, database_.query("SELECT COUNT(*) FROM net_outbox"));
  return rows.at(0).integer(0);
}

Result<bool> AmqpStore::inbox_check_duplicate(const std::string& sender, const MessageId& id) {
  std::lock_guard lock(mutex_);
  Value params[] = {sender, blob(id.view())};
  // A read first: almost every message is new, and a read costs no write transaction.
  FOLIO_ASSIGN_OR_RETURN(
      auto rows, database_.query("SELECT receipted FROM net_inbox WHERE sender = ? AND id = ?",
                                 params));
  if (rows.empty()) return false;
  if (rows.at(0).integer(0) != 0)
    FOLIO_TRY(database_.exec("UPDATE net_inbox SET receipted = 0 WHERE sender = ? AND id = ?",
                             params));
  return true;
}

Status AmqpStore::inbox_insert(const std::string& sender, const ReceiptEntry& entry) {
  std::lock_guard lock(mutex_);
  Value params[] = {sender, blob(entry.id.view()), blob(entry.content_hash.view())};
  FOLIO_TRY(database_.exec(
      "INSERT INTO net_inbox (sender, id, content_hash, receipted) VALUES (?, ?, ?, 0) "
      "ON CONFLICT DO NOTHING",
      params));
  return ok_status();
}

Result<std::vector<UnreceiptedMessage>> AmqpStore::inbox_unreceipted() {
  std::lock_guard lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(
      auto rows,
      database_.query("SELECT sender, id, content_hash FROM net_inbox WHERE receipted = 0"));
  std::vector<UnreceiptedMessage> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    UnreceiptedMessage message;
    message.sender = row.text(0);
    FOLIO_ASSIGN_OR_RETURN(message.entry.id, hash_column(row, 1));
    FOLIO_ASSIGN_OR_RETURN(message.entry.content_hash, hash_column(row, 2));
    out.push_back(std::move(message));
  }
  return out;
}

Status AmqpStore::inbox_mark_receipted(const std::string& sender,
                                       std::span<const ReceiptEntry> entries) {
  std::lock_guard lock(mutex_);
  return database_.transact([&](storage::Session& session) -> Status {
    for (const ReceiptEntry& entry : entries) {
      Value params[] = {sender, blob(entry.id.view())};
      FOLIO_TRY(session.exec("UPDATE net_inbox SET receipted = 1 WHERE sender = ? AND id = ?",
                             params));
    }
    return ok_status();
  });
}

Result<int64_t> AmqpStore::receipts_stored() {
  std::lock_guard lock(mutex_);
  FOLIO_ASSIGN_OR_RETURN(auto rows, database_.query("SELECT COUNT(*) FROM net_receipts"));
  return rows.at(0).integer(0);
}

}  // namespace folio::net
