// AmqpStore: the AMQP transport's tables in the node's database (component "net").
//
//   net_outbox   messages handed to `send` and not yet covered by a verified receipt, keyed by
//                (recipient, id); `accepted` is 1 once the recipient accepted the transfer, which
//                stops the outcome from being reported twice after a restart.
//   net_inbox    messages this node accepted, keyed by (sender, id): the de-duplication table.
//                `receipted` is 0 until a receipt listing the message was accepted by its sender.
//   net_receipts verified receipts from peers, kept as evidence (encoded SignedReceipt).
//
// Keying the inbox by sender as well as id means one peer cannot poison another's ids.
// Thread-safe: every call takes the store's mutex, because a Database is used by one thread at a
// time; the store does not own the Database, which must outlive it.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "net/amqp_receipt.h"
#include "net/transport.h"
#include "storage/database.h"

namespace folio::net {

struct OutboxRow {
  Envelope envelope;
  crypto::Hash256 content_hash;
  bool accepted = false;
};

struct UnreceiptedMessage {
  std::string sender;
  ReceiptEntry entry;
};

class AmqpStore {
 public:
  // Runs the "net" migrations. REQUIRES: `database` outlives the store.
  static Result<std::unique_ptr<AmqpStore>> open(storage::Database& database);

  // Every outbox row, in the order they were queued.
  Result<std::vector<OutboxRow>> load_outbox();
  // False (and no change) if a row with the same recipient and id is already queued: a replayed
  // flow re-sends the same ids.
  Result<bool> outbox_insert(const OutboxRow& row);
  Status outbox_mark_accepted(const std::string& recipient, const MessageId& id);
  Status outbox_delete(const std::string& recipient, const MessageId& id);
  // Stores a verified receipt and deletes the outbox rows it covers (those whose content hash
  // matches), in one transaction. Returns the ids deleted.
  Result<std::vector<MessageId>> apply_receipt(const SignedReceipt& receipt,
                                               const crypto::Hash256& receipt_hash);
  Result<int64_t> outbox_size();

  // Whether (sender, id) was accepted before. A duplicate is marked unreceipted again, since its
  // sender evidently lacks the receipt.
  Result<bool> inbox_check_duplicate(const std::string& sender, const MessageId& id);
  Status inbox_insert(const std::string& sender, const ReceiptEntry& entry);
  Result<std::vector<UnreceiptedMessage>> inbox_unreceipted();
  Status inbox_mark_receipted(const std::string& sender, std::span<const ReceiptEntry> entries);
  Result<int64_t> receipts_stored();

 private:
  explicit AmqpStore(storage::Database& database) : database_(database) {}

  std::mutex mutex_;
  storage::Database& database_;  // GUARDED_BY(mutex_)
  int64_t next_sequence_ = 1;    // GUARDED_BY(mutex_): queue order of the next outbox row
};

}  // namespace folio::net
