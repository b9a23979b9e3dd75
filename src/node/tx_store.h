// TransactionStore: a node's record of the SignedTransactions it has verified, by id, each with its
// notarisation certificate once it is final (ARCHITECTURE.md §4; the Corda seed, "Data visibility
// and dependency resolution": a node keeps every transaction of the dependency graphs it accepted).
//
// Transactions are stored in their canonical encoding; each gets a sequence number in the order it
// was first recorded, which is the order of iteration (so a resolver or an explorer can page
// through them). Recording the same transaction again is idempotent: it replaces the stored
// signatures (the id, and so the content, is the same; a later record typically carries more
// signatures) and sets the certificate if one is given, never clearing it.
//
// Writes come in two forms: on the store's own database transaction, or on a storage::Session that
// a caller opened, so that a flow step records a transaction atomically with its vault writes and
// its journal. StateLoader and AttachmentLoader adapters let ledger resolution read from the node's
// database. Thread-safety: that of the storage::Database (one thread at a time); the store keeps no
// state of its own beyond a reference to it, which must outlive the store.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "ledger/ledger_transaction.h"
#include "notary/notary.h"
#include "storage/database.h"

namespace folio::node {

struct TransactionSequenceTag {};
using TransactionSequence = Counter<TransactionSequenceTag>;

struct StoredTransaction {
  TransactionSequence sequence;  // 1, 2, ... in the order first recorded
  ledger::SignedTransaction transaction;
  std::optional<notary::NotarisationCertificate> certificate;  // set once final
  bool is_final() const { return certificate.has_value(); }
};

class TransactionStore {
 public:
  // Runs the "transactions" migrations. `db` must outlive the store.
  static Result<std::unique_ptr<TransactionStore>> open(storage::Database& db);

  // Records `stx` (and its certificate, if given). The caller checked it; the store does not
  // verify.
  Status record(const ledger::SignedTransaction& stx,
                const std::optional<notary::NotarisationCertificate>& certificate = std::nullopt);
  Status record(storage::Session& session, const ledger::SignedTransaction& stx,
                const std::optional<notary::NotarisationCertificate>& certificate = std::nullopt);

  // Attaches the certificate to a recorded transaction: kNotFound if it is not recorded.
  Status set_certificate(const ledger::TxId& id, const notary::NotarisationCertificate& cert);
  Status set_certificate(storage::Session& session, const ledger::TxId& id,
                         const notary::NotarisationCertificate& cert);

  // kNotFound if the id is unknown; kInternal if the stored bytes do not decode.
  Result<StoredTransaction> get(const ledger::TxId& id) const;
  Result<StoredTransaction> get(storage::Session& session, const ledger::TxId& id) const;
  Result<bool> contains(const ledger::TxId& id) const;
  Result<int64_t> count() const;

  // Up to `limit` transactions recorded after `after` (0 for the first page), in sequence order.
  Result<std::vector<StoredTransaction>> list(TransactionSequence after, size_t limit) const;
  // Calls `visit` for each transaction in sequence order, a page at a time, until it returns false.
  Status for_each(const std::function<bool(const StoredTransaction&)>& visit,
                  size_t page_size = 256) const;

  // Output `ref.index` of recorded transaction `ref.tx_id`, or kNotFound.
  Result<ledger::TransactionState> load_state(const ledger::StateRef& ref) const;

  // The recorded transactions' content by id, for notary::validating_payload (which proves a
  // request's inputs and references against the transactions that created them).
  notary::TransactionLookup lookup() const;

 private:
  explicit TransactionStore(storage::Database& db) : db_(db) {}
  storage::Database& db_;
};

// ledger::StateLoader over a TransactionStore: resolution of inputs and references against the
// node's recorded transactions.
class StoreStateLoader : public ledger::StateLoader {
 public:
  explicit StoreStateLoader(const TransactionStore& store) : store_(store) {}
  Result<ledger::TransactionState> load(const ledger::StateRef& ref) const override {
    return store_.load_state(ref);
  }

 private:
  const TransactionStore& store_;
};

}  // namespace folio::node
