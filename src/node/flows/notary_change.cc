// NotaryChange and its responder: see notary_change.h and docs/node.md.
#include "node/flows/notary_change.h"

#include <algorithm>

#include "ledger/verify.h"
#include "node/flows/cash_flows.h"
#include "node/flows/finality.h"
#include "node/flows/trade.h"

namespace folio::node::flows {

using flow::Flow;
using flow::FlowContext;
using flow::Session;

Status check_notary_change(FlowServices& services, const std::string& initiator,
                           const ledger::SignedTransaction& stx) {
  const ledger::WireTransaction& tx = stx.tx;
  if (tx.commands.size() != 1 || tx.commands[0].contract != ledger::kNotaryChangeContract ||
      tx.commands[0].name != ledger::kNotaryChangeCommand)
    return make_error(ErrorCode::kVerification, "the proposal is not a notary change");
  auto target = codec::decode_from_bytes<ledger::Party>(tx.commands[0].params);
  if (!target.ok()) return make_error(ErrorCode::kVerification, "the new notary does not decode");
  auto entry = services.notary_entry(target->name);
  if (!entry.ok()) return entry.error();
  if (!(entry->identity == *target))
    return make_error(ErrorCode::kVerification,
                      "the new notary's identity is not the network parameters' " + target->name);
  if (services.accept_notary_change && !services.accept_notary_change(initiator, target->name))
    return make_error(ErrorCode::kUnsupported,
                      "this node's policy declines moving states to " + target->name);
  return ok_status();
}

Flow<ledger::StateRef> NotaryChange::call(FlowContext& ctx) {
  ctx.step("Proposing");
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, services->notary_entry(new_notary));
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef current, load_own_state(ctx, services, state));
  const ledger::Contract* contract = services->contracts->find(current.state.contract);
  if (contract == nullptr)
    co_return make_error(ErrorCode::kNotFound, "unknown contract " + current.state.contract);
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<crypto::PublicKey> participants,
                            contract->participants(current.state));
  std::sort(participants.begin(), participants.end());
  participants.erase(std::unique(participants.begin(), participants.end()), participants.end());
  if (std::none_of(participants.begin(), participants.end(),
                   [&](const crypto::PublicKey& p) { return services->keys->is_ours(p); }))
    co_return make_error(ErrorCode::kUnsupported, "this node is not a participant of " +
                                                      state.describe() + ": it cannot propose");
  ledger::WireTransaction tx;
  tx.inputs.push_back(state);
  ledger::TransactionState moved = current.state;
  moved.notary = entry.identity;
  tx.outputs.push_back(moved);
  tx.commands.push_back(ledger::Command{std::string(ledger::kNotaryChangeContract),
                                        std::string(ledger::kNotaryChangeCommand),
                                        codec::encode_to_bytes(entry.identity), participants});
  tx.notary = current.state.notary;  // the OLD notary notarises the move
  tx.salt = fresh_salt(ctx);
  ledger::SignedTransaction proposal;
  proposal.tx = std::move(tx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction own, sign_own(*services, proposal));
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<SignerGroup> groups, remote_signers(ctx, services, own));
  std::vector<Session> sessions;
  for (const SignerGroup& group : groups) sessions.push_back(ctx.initiate(group.party));
  ctx.step("Collecting the participants' signatures");
  auto signed_tx = co_await collect_signatures(ctx, services, own, sessions);
  if (!signed_tx.ok()) {
    // Nothing happened to the state: it stays with its notary, unlocked.
    FOLIO_CO_TRY(co_await release_locks(ctx, services));
    co_return signed_tx.error();
  }
  ctx.step("Finalising with the old notary");
  Finality finality;
  finality.stx = std::move(signed_tx).value();
  finality.services = services;
  auto finalised = co_await ctx.sub_flow(finality);
  if (!finalised.ok()) {
    // Only a refusal proves the move will never be final (see BuyAsset).
    if (finalised.error().code == ErrorCode::kConflict)
      FOLIO_CO_TRY(co_await release_locks(ctx, services));
    co_return finalised.error();
  }
  co_return ledger::StateRef{finalised->stx.id(), 0};
}

Flow<SigningOutcome> NotaryChangeResponder::call(FlowContext& ctx, Session session) {
  FlowServices* s = services;
  std::string initiator = session.party();
  TransactionCheck check = [s, initiator](const ledger::SignedTransaction& stx) -> Status {
    return check_notary_change(*s, initiator, stx);
  };
  co_return co_await sign_or_refuse(ctx, session, services, std::move(check));
}

}  // namespace folio::node::flows
