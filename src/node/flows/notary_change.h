// Notary change (the Corda seed, "Notaries"; Corda's NotaryChangeFlow and its acceptor): moves a
// state to another notary with a notary-change transaction (ledger::kNotaryChangeContract), which
// the state's CURRENT notary notarises, so that it cannot be spent twice across the move.
//
//   NotaryChange          the initiator, a participant of the state: locks the state in its vault,
//                         builds the transaction (the state unchanged but for its notary, every
//                         participant a signer), signs with its own keys, collects the signatures
//                         of the participants on other nodes (collect_signatures, on sessions it
//                         opens to each of them), then Finality: notarised by the old notary,
//                         recorded, sent to every participant. A participant that refuses (or a
//                         notary that refuses), or any failure before the signatures are all
//                         collected, leaves the state where it was: the flow releases its lock
//                         and fails with the reason.
//   NotaryChangeResponder a participant's side (sign_or_refuse): it verifies the proposal
//                         (resolving the state's back-chain), checks that it is a notary change,
//                         proposed by a participant of every state it moves, of states none of
//                         this node's flows holds locked, to a notary of the network parameters
//                         that its `accept_notary_change` policy takes (unset: any notary of the
//                         network parameters), and signs with its own participant keys. The final
//                         transaction reaches it through Finality (ReceiveFinality).
//
// Message sequence, per remote participant:
//   -> TransactionMessage{proposal} { <- FetchRequest -> FetchResponse }* <- FetchRequest{}
//   -> SignatureRequest{keys}   <- SignatureReply{signatures | refusal}
//   then Finality: the old notary, then a ReceiveFinality session to each participant.
#pragma once

#include <string>

#include "flow/context.h"
#include "node/flows/collect_signatures.h"
#include "node/flows/flow_services.h"

namespace folio::node::flows {

struct NotaryChange {
  static constexpr std::string_view kName = "folio.NotaryChange";
  ledger::StateRef state;
  std::string new_notary;
  FOLIO_FIELDS(state, new_notary)
  FlowServices* services = nullptr;
  // The moved state (output 0 of the notary-change transaction).
  flow::Flow<ledger::StateRef> call(flow::FlowContext& ctx);
};

struct NotaryChangeResponder {
  static constexpr std::string_view kName = "folio.NotaryChangeResponder";
  FlowServices* services = nullptr;
  flow::Flow<SigningOutcome> call(flow::FlowContext& ctx, flow::Session session);
};

// The responder's check of a proposal: exactly one command, a notary change to a notary of the
// network parameters (identity as published), which the node's `accept_notary_change` policy
// takes for `initiator` (unset: every notary of the network parameters is accepted, Corda's
// default; set a policy to narrow it); `initiator` is a participant of every input; and, given the
// flow's database session `db`, no input is soft-locked by one of this node's flows.
Status check_notary_change(FlowServices& services, const std::string& initiator,
                           const ledger::SignedTransaction& stx, storage::Session* db = nullptr);

}  // namespace folio::node::flows
