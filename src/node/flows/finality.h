// The core transaction flows (ARCHITECTURE.md section 4, "Core flows"; the Corda seed, "Flow
// framework" and "Data visibility and dependency resolution"):
//
//   NotaryClient      sub-flow: sends a NotarisationRequest to the transaction's notary over a
//                     flow session, checks the certificate it gets back against the notary's entry
//                     in the network parameters; a refusal is an error naming the conflicts.
//   NotaryService     responder on a notary node: hands the request to the node's NotaryBatcher
//                     (one batch for all concurrent requests), waits for the batch, answers.
//   Finality          sub-flow: notarises (when the transaction has inputs, references or a time
//                     window), records the transaction with its certificate and the vault changes
//                     in one step, then sends it to every other participant and recipient, and
//                     resends it later to any that refused it, until each has recorded it.
//   ReceiveFinality   responder: resolves the transaction's back-chain from the sender, verifies
//                     every transaction and certificate, records them (idempotently); or tells the
//                     sender why it cannot and completes with that refusal.
//
// Resolution (send_transaction / receive_transaction, on an open session) is breadth-first: the
// receiver asks for every missing dependency of the current level in ONE request; the sender
// answers with those transactions and, within a byte budget and the receiver's prefetch allowance
// (doubled each round), their own ancestors, breadth-first, so a long chain needs far fewer round
// trips than levels. The receiver accepts at most
// kResolveTransactionsMax transactions for one resolution; the sender serves only transactions in
// the dependency graph of the transaction it sent. Every downloaded transaction is verified in
// dependency order (contracts, signatures, and the notary's certificate for each transaction that
// consumed or referenced anything) before any of them is recorded.
//
// Message sequences (-> initiator to responder):
//   notarise:  -> Bytes(NotarisationRequest)       <- Bytes(NotarisationResponse)
//   finality:  -> TransactionMessage  { <- FetchRequest(ids)  -> FetchResponse(txs) }*
//              <- FetchRequest(empty) (done: recorded)  or  <- FetchRequest(refusal)
#pragma once

#include <set>
#include <string>
#include <vector>

#include "flow/context.h"
#include "node/flows/flow_services.h"

namespace folio::node::flows {

constexpr size_t kResolveTransactionsMax = 100'000;
constexpr size_t kFetchIdsMax = 10'000;
constexpr size_t kFetchResponseBytesMax = 768u << 10;
// Every round trip of a resolution must bring a transaction asked for; this bounds them further
// (an honest sender's 768 KB responses carry 100,000 transactions in far fewer).
constexpr size_t kResolveRoundTripsMax = 10'000;

// A transaction as a peer sends it: content, signatures and, once final, its certificate.
struct TransactionMessage {
  ledger::SignedTransaction stx;
  std::optional<notary::NotarisationCertificate> certificate;
  FOLIO_FIELDS(stx, certificate)
};

struct FetchRequest {
  std::vector<ledger::TxId> ids;  // empty: resolution is over (or, with a refusal, abandoned)
  // How many ancestors of `ids` the sender may add unasked. The receiver starts small and doubles
  // it while the chain goes on, so a receiver that already holds most of the history is not sent
  // it again, and a long new chain still needs only logarithmically more round trips.
  uint32_t prefetch_max = 0;
  // Non-empty (with no ids): the receiver could not resolve or verify the transaction and will not
  // record it, for this reason. The sender of a final transaction tries again later (Finality).
  std::string refusal;
  FOLIO_FIELDS(ids, prefetch_max, refusal)
};
constexpr uint32_t kPrefetchFirst = 32;
constexpr uint32_t kPrefetchMax = 100'000;

struct FetchResponse {
  std::vector<TransactionMessage> transactions;
  FOLIO_FIELDS(transactions)
};

// A received transaction and the dependencies that resolution downloaded, in dependency order.
struct Resolved {
  TransactionMessage top;
  std::vector<TransactionMessage> dependencies;
  size_t round_trips = 0;
  FOLIO_FIELDS(top, dependencies, round_trips)
};

// Sends `message` on `session` and serves the receiver's fetch requests until it says it is done;
// a refusal from the receiver is an error (kVerification) naming its reason.
flow::Flow<bool> send_transaction(flow::FlowContext& ctx, flow::Session session,
                                  FlowServices* services, TransactionMessage message);
// Receives a transaction on `session`, resolves and verifies its dependencies (not the
// transaction itself: the caller verifies it with the signatures it requires), records the
// dependencies in the transaction store (not the vault), and tells the sender it is done.
flow::Flow<Resolved> receive_transaction(flow::FlowContext& ctx, flow::Session session,
                                         FlowServices* services);

// Verifies `message` against the node's store plus `extra` (already verified dependencies):
// the ledger pipeline with every required signature except `allowed_missing`, and the
// certificate against the named notary when `require_certificate`.
Status verify_message(FlowServices& services, const TransactionMessage& message,
                      const std::vector<TransactionMessage>& extra, bool require_certificate,
                      const std::vector<crypto::PublicKey>& allowed_missing = {});

// Whether a transaction needs its notary: it consumes or references states, or has a time window.
bool needs_notary(const ledger::WireTransaction& tx);

// Records `message` (transaction store and vault) in the flow's step.
Status record_transaction(flow::FlowContext& ctx, FlowServices* services,
                          const TransactionMessage& message);

struct NotaryClient {
  static constexpr std::string_view kName = "folio.NotaryClient";
  ledger::SignedTransaction stx;
  FOLIO_FIELDS(stx)
  FlowServices* services = nullptr;
  flow::Flow<notary::NotarisationCertificate> call(flow::FlowContext& ctx);
};

struct NotaryServiceResponder {
  static constexpr std::string_view kName = "folio.NotaryService";
  FlowServices* services = nullptr;
  flow::Flow<bool> call(flow::FlowContext& ctx, flow::Session session);
};

// Finality resends a final transaction to a participant that refused it (draining, a session
// rejected, a dependency it could not resolve or verify): after 1 s, then twice as long each
// time up to 10 minutes between attempts, and then every 10 minutes until every participant has
// it or the operator kills the flow (a final transaction is never given up on; the flow does not
// go to the hospital for it). Every kFinalityWarnEvery attempts it logs who still refuses, why.
constexpr uint32_t kFinalityWarnEvery = 16;
constexpr int64_t kFinalityResendFirstMs = 1'000;
constexpr int64_t kFinalityResendMaxMs = 600'000;
constexpr size_t kRefusalTextMax = 1024;

struct Finality {
  static constexpr std::string_view kName = "folio.Finality";
  ledger::SignedTransaction stx;
  std::vector<std::string> recipients;  // beyond the participants, e.g. an observer
  FOLIO_FIELDS(stx, recipients)
  FlowServices* services = nullptr;
  flow::Flow<TransactionMessage> call(flow::FlowContext& ctx);
};

// What ReceiveFinality did: recorded the transaction, or refused it (and told the sender why).
struct FinalityOutcome {
  ledger::TxId id;  // the transaction received (zero if none could be)
  bool recorded = false;
  std::string refusal;  // at most kRefusalTextMax bytes
  FOLIO_FIELDS(id, recorded, refusal)
};

// Records a final transaction (idempotently: a resend of a transaction it holds changes nothing).
// When it cannot resolve or verify it, it tells the sender why (a FetchRequest refusal), so that
// the sender resends later instead of waiting, and completes with the refusal as its outcome: a
// refusal is an answer, not a failure, so a peer sending what does not verify leaves no flow in
// the hospital. Local failures (recording) remain errors.
struct ReceiveFinality {
  static constexpr std::string_view kName = "folio.ReceiveFinality";
  FlowServices* services = nullptr;
  flow::Flow<FinalityOutcome> call(flow::FlowContext& ctx, flow::Session session);
};

// Collecting signatures (collect_signatures / sign_transaction): node/flows/collect_signatures.h.

// The party names that must receive a final transaction: the well-known parties of every output's
// participants, except this node.
Result<std::vector<std::string>> participant_names(FlowServices& services,
                                                   const ledger::WireTransaction& tx);

// A SignedTransaction with this node's signature over the id of `tx`.
Result<ledger::SignedTransaction> sign_new(FlowServices& services, ledger::WireTransaction tx);

}  // namespace folio::node::flows
