// The notary request/response model shared by every kind of notary (ARCHITECTURE.md §3 table:
// single, raft, bft, sharded), and the check any party runs on a notarisation certificate.
//
// A client asks a notary to notarise a transaction with a NotarisationRequest: the transaction as
// the notary's mode needs it (a FilteredTransaction revealing inputs, references, notary, time
// window and signers for a non-validating notary; the SignedTransaction with every input and
// reference as a ProvedState for a validating one) and the requester's signature over the
// transaction id. The notary answers with a NotarisationResponse: a NotarisationCertificate or a
// Refusal naming why (for a double spend, each conflicting state with the transaction that consumed
// it).
//
// Certificates come in two forms:
//   BatchCertificate        one notary key (single notary, or a Raft notary's shared service key)
//                           signed the Merkle root of a batch of transaction ids once; the
//                           certificate carries that signature and the branch from this id's leaf
//                           to the root.
//   sbac::NotarisationCertificate  f+1 accepted(commit) statements per concerned shard (bft is one
//                           shard; sharded is S-BAC under a shard map), see src/sbac/statements.h.
// `verify_notarisation` checks either against the notary's entry in the network parameters; it is
// pure and may be run by anyone (counterparty, auditor, the notary client flow).
//
// Every type here has a canonical encoding (FOLIO_FIELDS) and decodes strictly: requests and
// responses arrive from the network. Value types and pure functions; thread-safe for concurrent
// const use.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/keys.h"
#include "crypto/merkle.h"
#include "ledger/transaction.h"
#include "sbac/shard_map.h"
#include "sbac/statements.h"

namespace folio::notary {

using ledger::TxId;

// Bounds a notary applies to a request before doing any work on it.
constexpr size_t kRequestBytesMax = 8u << 20;
constexpr size_t kProvedStatesPerRequestMax = 2 * ledger::kComponentsPerGroupMax;
constexpr size_t kRefusalMessageBytesMax = 4096;
constexpr size_t kConflictsPerRefusalMax = 2 * ledger::kComponentsPerGroupMax;
constexpr uint32_t kBatchLeavesMax = 1u << 16;

enum class NotaryKind : uint8_t { kSingle = 0, kRaft = 1, kBft = 2, kSharded = 3 };
constexpr uint32_t enum_count(NotaryKind) { return 4; }
constexpr std::string_view enum_name(NotaryKind) { return "NotaryKind"; }
std::string_view to_string(NotaryKind kind);

// A notary as the network parameters list it: its identity (the Party that transactions name as
// their notary), whether it validates, its kind and, for bft and sharded notaries, the shard map
// whose replicas sign (a bft notary's map has exactly one shard).
struct NotaryEntry {
  ledger::Party identity;
  bool validating = false;
  NotaryKind kind = NotaryKind::kSingle;
  std::optional<sbac::ShardMap> shard_map;
  FOLIO_FIELDS(identity, validating, kind, shard_map)
  friend bool operator==(const NotaryEntry&, const NotaryEntry&) = default;
};

// ---- Requests ---------------------------------------------------------------------------------

// For a non-validating notary: a tear-off that reveals every input, reference, the notary, the time
// window and the signers of every command (and may hide the rest).
struct NonValidatingPayload {
  ledger::FilteredTransaction tx;
  FOLIO_FIELDS(tx)
  friend bool operator==(const NonValidatingPayload&, const NonValidatingPayload&) = default;
};

// For a validating notary: the whole transaction, and the content of every input and reference
// proved against the id of the transaction that created it (ARCHITECTURE.md §3, proved states), so
// the notary checks the content rather than trusting the client.
struct ValidatingPayload {
  ledger::SignedTransaction tx;
  std::vector<ledger::ProvedState> inputs;
  std::vector<ledger::ProvedState> references;
  FOLIO_FIELDS(tx, inputs, references)
  friend bool operator==(const ValidatingPayload&, const ValidatingPayload&) = default;
};

using RequestPayload = std::variant<NonValidatingPayload, ValidatingPayload>;

// The tear-off a non-validating notary needs: every input, reference, the notary, the time window
// and the signers; outputs, commands' parameters and attachments stay hidden.
NonValidatingPayload non_validating_payload(const ledger::WireTransaction& tx);

// Finds the transaction that created a state (the node's transaction store, a test's map).
using TransactionLookup = std::function<Result<ledger::WireTransaction>(const TxId&)>;

// The payload for a validating notary: `stx` with every input and reference proved against the
// transaction that created it. Fails with the lookup's error, or kNotFound if a creating
// transaction has no such output.
Result<ValidatingPayload> validating_payload(const ledger::SignedTransaction& stx,
                                             const TransactionLookup& lookup);

struct NotarisationRequest {
  RequestPayload payload;
  // A signature by one of the transaction's command signers (a leaf key of one) over
  // request_signature_payload(id): the notary serves only parties to the transaction.
  ledger::TransactionSignature requester;
  FOLIO_FIELDS(payload, requester)
  friend bool operator==(const NotarisationRequest&, const NotarisationRequest&) = default;

  // The id the request is about: the filtered transaction's claimed id, or the signed one's
  // computed id. Not yet verified for a non-validating payload.
  TxId tx_id() const;
};

// "folio/notary/request/v1" || id.
Bytes request_signature_payload(const TxId& id);
NotarisationRequest make_request(RequestPayload payload, const crypto::PrivateKey& requester);

// ---- Certificates -----------------------------------------------------------------------------

// The single-notary (and Raft service key) form. The notary signs
//   "folio/notary/batch/v1" || u32 leaf_count || root
// once per batch, where root = merkle_root(batch_leaf(id) for each id of the batch, in order).
struct BatchCertificate {
  crypto::PublicKey notary_key;  // the leaf key that signed
  uint32_t leaf_count = 0;       // the batch's size, bound by the signature
  crypto::Hash256 root;
  crypto::Signature signature;
  crypto::MerkleProof branch;  // from batch_leaf(tx_id) to root
  FOLIO_FIELDS(notary_key, leaf_count, root, signature, branch)
  friend bool operator==(const BatchCertificate&, const BatchCertificate&) = default;
};

// SHA-256(0x00 || "folio/notary/batch-leaf/v1" || id): a leaf can never be read as an interior
// node (prefix 0x01, crypto/merkle.h).
crypto::Hash256 batch_leaf(const TxId& id);
Bytes batch_signature_payload(uint32_t leaf_count, const crypto::Hash256& root);

using NotarisationCertificate = std::variant<BatchCertificate, sbac::NotarisationCertificate>;

// What a verifier of a sharded certificate knows of the transaction itself: the shards that must
// have accepted it follow from its inputs, references and outputs, never from the certificate.
struct TransactionFootprint {
  std::vector<ledger::StateRef> inputs;
  std::vector<ledger::StateRef> references;
  uint32_t output_count = 0;
  static TransactionFootprint of(const ledger::WireTransaction& tx);
};

// OK iff `certificate` proves that `notary` notarised `tx_id`:
//  - single / raft: a BatchCertificate whose key is the notary identity's owning key (a leaf),
//  whose
//    branch leads from batch_leaf(tx_id) to the root, with branch.leaf_count == leaf_count, and
//    whose signature over batch_signature_payload(leaf_count, root) is valid;
//  - bft: an sbac certificate with shard 0's accepted(commit) vote under the entry's one-shard map;
//  - sharded: an sbac certificate from every concerned shard of `footprint` under the entry's map.
// kInvalidArgument if the certificate's form does not fit the notary's kind, if a sharded notary is
// given no footprint or an entry lacks its shard map; kVerification for a certificate that does
// not prove notarisation.
Status verify_notarisation(const TxId& tx_id, const NotarisationCertificate& certificate,
                           const NotaryEntry& notary,
                           const TransactionFootprint* footprint = nullptr);

// ---- Responses --------------------------------------------------------------------------------

enum class RefusalReason : uint8_t {
  kConflict = 0,            // an input is consumed, or a reference is not current
  kTimeWindow = 1,          // the notary's clock is outside the transaction's time window
  kWrongNotary = 2,         // the transaction names another notary, or none
  kBadRequester = 3,        // the requester signature is invalid or not by a signer
  kInvalidTransaction = 4,  // a proof, a signature or a contract rejected the transaction
  kMalformedRequest = 5,    // the request does not fit this notary's mode or bounds
  kUnavailable = 6,         // the notary could not process the request (storage failure); retry
};
constexpr uint32_t enum_count(RefusalReason) { return 7; }
constexpr std::string_view enum_name(RefusalReason) { return "RefusalReason"; }
std::string_view to_string(RefusalReason reason);

// One state that could not be used, and the transaction that consumed it.
struct Conflict {
  ledger::StateRef state;
  TxId consumed_by;
  bool is_reference = false;  // the state was a reference of the refused transaction
  FOLIO_FIELDS(state, consumed_by, is_reference)
  friend bool operator==(const Conflict&, const Conflict&) = default;
};

struct Refusal {
  RefusalReason reason = RefusalReason::kMalformedRequest;
  std::string message;              // for a person; at most kRefusalMessageBytesMax
  std::vector<Conflict> conflicts;  // kConflict only, in the order of the transaction
  FOLIO_FIELDS(reason, message, conflicts)
  friend bool operator==(const Refusal&, const Refusal&) = default;
  Status check_canonical() const;
  std::string describe() const;  // "conflict: input 3fa1c2d0:0 consumed by 9b2e11aa"
};

struct NotarisationResponse {
  TxId tx_id;
  std::variant<NotarisationCertificate, Refusal> outcome;
  FOLIO_FIELDS(tx_id, outcome)
  friend bool operator==(const NotarisationResponse&, const NotarisationResponse&) = default;

  bool notarised() const { return outcome.index() == 0; }
  // REQUIRES: notarised()
  const NotarisationCertificate& certificate() const { return std::get<0>(outcome); }
  // REQUIRES: !notarised()
  const Refusal& refusal() const { return std::get<1>(outcome); }
};

// Strict decoding of network bytes (bounded by kRequestBytesMax).
Result<NotarisationRequest> decode_request(ByteView bytes);
Result<NotarisationResponse> decode_response(ByteView bytes);

}  // namespace folio::notary
