// AttachmentStore: a node's content-addressed store of attachments, the zip files that transactions
// name by hash (the Corda seed, "Attachments and contract bytecodes").
//
// An attachment's id is the SHA-256 of its bytes. Import checks, before anything is stored:
//   - size: at most options.attachment_bytes_max (kLimitExceeded);
//   - the id: if the caller expected one (it fetched the bytes by id from a peer), the bytes must
//     hash to it (kVerification);
//   - the zip: it opens with consistency checks, has at most entries_max entries with safe,
//     distinct, relative names, no encrypted entry, and every entry reads back whole with a good
//     CRC within uncompressed_bytes_max in total, counted as actually read, never from the zip's
//     own size fields (kMalformed, or kLimitExceeded for a zip bomb);
//   - a contract attachment (one holding contract.wasm) must parse as one (wasm/attachment.h); it
//     then provides the contract its manifest names;
//   - each signature given must be valid over wasm::attachment_signature_payload(id)
//   (kVerification).
// Importing the same bytes again is idempotent: the same id, new valid signers added.
//
// load() gives what ledger verification sees (ledger::Attachment: id, provided contracts, checked
// signers); StoreAttachmentLoader adapts the store for ledger resolution. Writes take the store's
// own transaction or a caller's storage::Session. Thread-safety: that of the storage::Database,
// which must outlive the store.
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "ledger/ledger_transaction.h"
#include "storage/database.h"

namespace folio::node {

struct AttachmentStoreOptions {
  size_t attachment_bytes_max = 8u << 20;
  size_t entries_max = 1024;
  size_t uncompressed_bytes_max = 64u << 20;
  size_t entry_name_bytes_max = 512;
};

class AttachmentStore {
 public:
  // Runs the "attachments" migrations. `db` must outlive the store.
  static Result<std::unique_ptr<AttachmentStore>> open(storage::Database& db,
                                                       AttachmentStoreOptions options = {});

  Result<ledger::AttachmentId> import(
      ByteView zip, const std::optional<ledger::AttachmentId>& expected_id = std::nullopt,
      std::span<const ledger::TransactionSignature> signatures = {});
  Result<ledger::AttachmentId> import(
      storage::Session& session, ByteView zip,
      const std::optional<ledger::AttachmentId>& expected_id = std::nullopt,
      std::span<const ledger::TransactionSignature> signatures = {});

  // The checks of import() without storing: what a peer's bytes would be refused for.
  Result<ledger::Attachment> inspect(
      ByteView zip, std::span<const ledger::TransactionSignature> signatures = {}) const;

  // kNotFound for an unknown id.
  Result<Bytes> content(const ledger::AttachmentId& id) const;
  Result<ledger::Attachment> load(const ledger::AttachmentId& id) const;
  Result<bool> contains(const ledger::AttachmentId& id) const;

  const AttachmentStoreOptions& options() const { return options_; }

 private:
  AttachmentStore(storage::Database& db, AttachmentStoreOptions options)
      : db_(db), options_(options) {}
  storage::Database& db_;
  AttachmentStoreOptions options_;
};

// ledger::AttachmentLoader over an AttachmentStore.
class StoreAttachmentLoader : public ledger::AttachmentLoader {
 public:
  explicit StoreAttachmentLoader(const AttachmentStore& store) : store_(store) {}
  Result<ledger::Attachment> load(const ledger::AttachmentId& id) const override {
    return store_.load(id);
  }

 private:
  const AttachmentStore& store_;
};

}  // namespace folio::node
