// Collecting the signatures a transaction needs from other nodes (the Corda seed, "Flow framework";
// Corda's CollectSignaturesFlow / SignTransactionFlow pair; docs/node.md, "Collect signatures").
//
//   collect_signatures  helper for an initiating flow that already holds sessions (the trade):
//   works
//                       out every required signer key (the commands' signers) without a signature,
//                       signs with this node's own, maps each remaining key to the well-known party
//                       that owns it (identity service, journalled), asks each such party over its
//                       session for exactly its keys, checks every returned signature (by a key
//                       that was asked of that party, valid over this transaction's id, one per
//                       key) and returns the fully signed transaction.
//   CollectSignatures   the same as an initiating sub-flow that opens its own sessions (answered by
//                       SignTransactionResponder, whose check is the node's `sign_policy`).
//   sign_transaction    the responder side, for a flow that has a session with the collector:
//                       receives the transaction and resolves its back-chain, verifies it
//                       (contracts, every signature present, only the not yet collected ones
//                       missing, and at least one signature of the asking party), runs the app's
//                       check (Corda's checkTransaction), then signs with the keys asked of it,
//                       each of which must be this node's and required and not yet signed. A
//                       refusal, whatever its reason, is sent back with the reason, so the
//                       collector ends with a clear error instead of waiting.
//
// Message sequence on one session (-> collector to signer):
//   -> TransactionMessage{partly signed}  { <- FetchRequest -> FetchResponse }*  <- FetchRequest{}
//   -> SignatureRequest{keys}
//   <- SignatureReply{signatures | refusal}
// The signer's decision (verification, check, signatures) is one journalled value: a replay after a
// restart sends the same answer without running the check again.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flow/context.h"
#include "node/flows/finality.h"
#include "node/flows/flow_services.h"

namespace folio::node::flows {

// No transaction needs more signers than this from one counterparty; a request or reply with more
// keys or signatures is refused.
constexpr size_t kSignaturesPerPartyMax = 256;
constexpr size_t kRefusalBytesMax = 1024;

struct SignatureRequest {
  std::vector<crypto::PublicKey>
      keys;  // the keys the collector asks this counterparty to sign with
  FOLIO_FIELDS(keys)
};

struct SignatureReply {
  std::vector<ledger::TransactionSignature> signatures;
  std::string refusal;  // non-empty: the counterparty declines, for this reason (no signatures)
  FOLIO_FIELDS(signatures, refusal)
};

// The keys one counterparty must sign with.
struct SignerGroup {
  std::string party;
  std::vector<crypto::PublicKey> keys;
  FOLIO_FIELDS(party, keys)
};

// The required signers of `stx` with no signature yet, sorted.
std::vector<crypto::PublicKey> missing_signers(const ledger::SignedTransaction& stx);

// Journalled: the missing signers that are not this node's, grouped by the well-known party that
// owns them (ordered by name). kNotFound names a key no known party owns.
Result<std::vector<SignerGroup>> remote_signers(flow::FlowContext& ctx, FlowServices* services,
                                                const ledger::SignedTransaction& stx);

// Adds this node's signatures for the missing signers it holds the keys of.
Result<ledger::SignedTransaction> sign_own(FlowServices& services, ledger::SignedTransaction stx);

// See the header comment. Sessions of parties that have nothing to sign are not used. A party with
// keys to sign but no session is an error (kInvalidArgument) before anything is sent.
flow::Flow<ledger::SignedTransaction> collect_signatures(flow::FlowContext& ctx,
                                                         FlowServices* services,
                                                         ledger::SignedTransaction stx,
                                                         std::vector<flow::Session> sessions);

// The app's check of a transaction it is asked to sign (Corda's checkTransaction): an error
// refuses, and its text reaches the collector. It runs inside the flow's step, with its database
// session (for vault reads), and its answer is journalled.
using TransactionCheck =
    std::function<Status(storage::Session&, const ledger::SignedTransaction&)>;

// See the header comment. The signed transaction (this node's signatures added), or, after the
// refusal was sent and committed (in a step of its own), kUnsupported with the reason. A flow
// that must release something on a refusal, or that should not go to the hospital for it, uses
// sign_or_refuse instead.
flow::Flow<ledger::SignedTransaction> sign_transaction(flow::FlowContext& ctx,
                                                       flow::Session session,
                                                       FlowServices* services,
                                                       TransactionCheck check);

struct CollectSignatures {
  static constexpr std::string_view kName = "folio.CollectSignatures";
  ledger::SignedTransaction stx;
  // The counterparties allowed to sign; empty: whoever owns a missing key.
  std::vector<std::string> parties;
  FOLIO_FIELDS(stx, parties)
  FlowServices* services = nullptr;
  flow::Flow<ledger::SignedTransaction> call(flow::FlowContext& ctx);
};

// What a signing responder did: signed, or refused (and said why). A refusal is an answer, not a
// failure of the responder, so it does not go to the hospital.
struct SigningOutcome {
  ledger::TxId id;
  bool signed_it = false;
  std::string refusal;
  FOLIO_FIELDS(id, signed_it, refusal)
};

// Answers CollectSignatures: signs what the node's `sign_policy` accepts (unset: refuses all).
struct SignTransactionResponder {
  static constexpr std::string_view kName = "folio.SignTransaction";
  FlowServices* services = nullptr;
  flow::Flow<SigningOutcome> call(flow::FlowContext& ctx, flow::Session session);
};

// Runs sign_transaction and turns a refusal into an outcome (other failures stay errors).
flow::Flow<SigningOutcome> sign_or_refuse(flow::FlowContext& ctx, flow::Session session,
                                          FlowServices* services, TransactionCheck check);

}  // namespace folio::node::flows
