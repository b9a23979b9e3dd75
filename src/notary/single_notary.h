// SingleNotary: the `single` notary of ARCHITECTURE.md §3, whose uniqueness record lives in the
// notary node's own database (SQLite or PostgreSQL through storage::Database).
//
// Requests are processed in batches (the Corda single-node notary's design): a batch is checked and
// applied in ONE database transaction, then the notary signs the Merkle root of the batch's
// notarised transaction ids ONCE, and each notarised request gets a BatchCertificate with that
// signature and its own inclusion branch (notary.h). What is checked, in order, per request:
//   1. the payload fits the notary's mode (NonValidatingPayload or ValidatingPayload);
//   2. non-validating: every Merkle branch of the FilteredTransaction against its id, and that
//      inputs, references, notary, time window and signers are all revealed; validating: every
//      proved input and reference against its StateRef, then the whole ledger pipeline
//      (ledger::verify_transaction: structure, constraints, signatures except the notary's own,
//      contracts);
//   3. the transaction names this notary; no input or reference repeats;
//   4. the requester signed request_signature_payload(id) with a leaf key of a command signer;
//   5. in the database transaction: a transaction already notarised (earlier, or earlier in this
//      batch) is notarised again (idempotent: a fresh certificate, nothing changes); otherwise the
//      time window must contain the notary's clock (read once per batch), no input may be consumed
//      and no reference consumed, by an earlier batch or an earlier request of this batch (the
//      first wins; the refusal names the consuming transaction). Then its inputs are recorded as
//      consumed.
// If the database transaction fails (the commit included), nothing of the batch is applied, no
// certificate is issued, and process_batch returns the error: the caller may retry the batch.
//
// Schema (component "notary"): notary_consumed_states(tx_id, output_index -> consuming_tx, batch),
// notary_transactions(tx_id -> batch), notary_batches(batch -> leaf_count, root, notary time).
//
// Thread-safety: enqueue() and queued() may be called from any thread; process_batch() and flush()
// serialise on an internal mutex. The Database, Clock, ContractProvider and AttachmentLoader given
// to open() must outlive the notary and not be used by other threads meanwhile (the Database).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "crypto/merkle.h"
#include "ledger/contract.h"
#include "notary/clock.h"
#include "notary/notary.h"
#include "storage/database.h"

namespace folio::notary {

// A batch's Merkle tree over its leaves, with every subtree root kept: the root and all the
// inclusion proofs of a batch of n in O(n log n) (crypto::merkle_prove costs O(n) per proof). Its
// proofs are exactly crypto::merkle_prove's.
class BatchTree {
 public:
  explicit BatchTree(std::span<const crypto::Hash256> leaves);
  const crypto::Hash256& root() const { return root_; }
  // REQUIRES: index < the number of leaves
  crypto::MerkleProof prove(uint32_t index) const;

 private:
  crypto::Hash256 build(size_t offset, size_t size);
  const crypto::Hash256& subtree(size_t offset, size_t size) const;

  std::vector<crypto::Hash256> leaves_;
  std::map<std::pair<size_t, size_t>, crypto::Hash256> roots_;  // (offset, size), size >= 2
  crypto::Hash256 root_;
};

struct SingleNotaryConfig {
  ledger::Party identity;  // REQUIRES: identity.owning_key == the signing key's public key
  bool validating = false;
  // Most requests processed in one batch by flush(); process_batch() refuses larger spans.
  size_t batch_requests_max = 4096;
};

struct TicketTag {};
using Ticket = Counter<TicketTag>;

class SingleNotary {
 public:
  // Runs the "notary" migrations and returns a ready notary. A validating notary needs `contracts`
  // and `attachments` (kInvalidArgument otherwise). kInvalidArgument if the identity's key is not
  // `key`'s public key.
  static Result<std::unique_ptr<SingleNotary>> open(
      storage::Database& db, crypto::PrivateKey key, SingleNotaryConfig config, const Clock& clock,
      const ledger::ContractProvider* contracts = nullptr,
      const ledger::AttachmentLoader* attachments = nullptr);

  // This notary as the network parameters list it.
  NotaryEntry entry() const;

  // Notarises a batch: one response per request, in request order. An error only when storage
  // failed (then nothing of the batch was applied) or when the batch is larger than
  // batch_requests_max (kLimitExceeded).
  Result<std::vector<NotarisationResponse>> process_batch(
      std::span<const NotarisationRequest> requests);

  // The same on encoded requests, as they arrive from the network: one encoded response per
  // request, in order. A request that does not decode strictly gets a kMalformedRequest refusal
  // (with a zero tx id) instead of stopping the batch. An error only as for process_batch().
  Result<std::vector<Bytes>> process_encoded_batch(std::span<const Bytes> requests);

  // The queue: requests wait until flush() processes up to batch_requests_max of them, oldest
  // first, as one batch. If storage fails, they are put back at the front and the error returned.
  Ticket enqueue(NotarisationRequest request);
  size_t queued() const;
  Result<std::vector<std::pair<Ticket, NotarisationResponse>>> flush();

  // The transaction that consumed `state`, if any (for operators and tests).
  Result<std::optional<TxId>> consumed_by(const ledger::StateRef& state);

  SingleNotary(const SingleNotary&) = delete;
  SingleNotary& operator=(const SingleNotary&) = delete;

 private:
  struct Checked;

  SingleNotary(storage::Database& db, crypto::PrivateKey key, SingleNotaryConfig config,
               const Clock& clock, const ledger::ContractProvider* contracts,
               const ledger::AttachmentLoader* attachments);

  Checked check(const NotarisationRequest& request) const;
  Checked check_non_validating(const NonValidatingPayload& payload,
                               const ledger::TransactionSignature& requester) const;
  Checked check_validating(const ValidatingPayload& payload,
                           const ledger::TransactionSignature& requester) const;

  storage::Database& db_;
  const crypto::PrivateKey key_;
  const SingleNotaryConfig config_;
  const Clock& clock_;
  const ledger::ContractProvider* contracts_;
  const ledger::AttachmentLoader* attachments_;

  std::mutex process_mutex_;  // one batch at a time
  mutable std::mutex queue_mutex_;
  std::deque<std::pair<Ticket, NotarisationRequest>> queue_;  // GUARDED_BY(queue_mutex_)
  Ticket next_ticket_{1};                                     // GUARDED_BY(queue_mutex_)
};

}  // namespace folio::notary
