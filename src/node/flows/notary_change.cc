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
                           const ledger::SignedTransaction& stx, storage::Session* db) {
  const ledger::WireTransaction& tx = stx.tx;
  if (tx.commands.size() != 1 || tx.commands[0].contract != ledger::kNotaryChangeContract ||
      tx.commands[0].name != ledger::kNotaryChangeCommand)
    return make_error(ErrorCode::kVerification, "the proposal is not a notary change");
  if (tx.inputs.empty())
    return make_error(ErrorCode::kVerification, "the proposal moves no state");
  // The initiator must be a participant of every state it moves: a stranger that merely signed
  // the proposal with a key of its own gets no signature.
  for (const ledger::StateRef& in : tx.inputs) {
    auto state = services.transactions->load_state(in);
    if (!state.ok()) return state.error();
    const ledger::Contract* contract = services.contracts->find(state->contract);
    if (contract == nullptr)
      return make_error(ErrorCode::kNotFound, "unknown contract " + state->contract);
    auto participants = contract->participants(*state);
    if (!participants.ok()) return participants.error();
    bool initiator_participates = false;
    for (const crypto::PublicKey& key : *participants) {
      auto party = services.identities->party_by_key(key);
      if (party.ok() && party->name == initiator) initiator_participates = true;
    }
    if (!initiator_participates)
      return make_error(ErrorCode::kUnsupported,
                        initiator + " is not a participant of " + in.describe());
  }
  // A state one of this node's flows holds (a trade, another notary change) is not moved under it.
  if (db != nullptr) {
    for (const ledger::StateRef& in : tx.inputs) {
      std::vector<ledger::StateRef> refs{in};
      auto held = services.vault->load(*db, refs);
      if (!held.ok()) {
        if (held.error().code == ErrorCode::kNotFound) continue;  // not in our vault
        return held.error();
      }
      if (held->at(0).metadata.lock_id.has_value())
        return make_error(ErrorCode::kConflict,
                          "state " + in.describe() + " is in use by one of this node's flows");
    }
  }
  auto target = codec::decode_from_bytes<ledger::Party>(tx.commands[0].params);
  if (!target.ok()) return make_error(ErrorCode::kVerification, "the new notary does not decode");
  auto entry = services.notary_entry(target->name);
  if (!entry.ok()) return entry.error();
  if (!(entry->identity == *target))
    return make_error(ErrorCode::kVerification,
                      "the new notary's identity is not the network parameters' " + target->name);
  // Unset policy: any notary of the network parameters (checked above) is accepted, as Corda's
  // default acceptor does; the network's operator vouches for the notaries it publishes.
  if (services.accept_notary_change && !services.accept_notary_change(initiator, target->name))
    return make_error(ErrorCode::kUnsupported,
                      "this node's policy declines moving states to " + target->name);
  return ok_status();
}

namespace {

// The initiator's part after the state was locked: the proposal signed by every participant.
Flow<ledger::SignedTransaction> propose_change(FlowContext& ctx, FlowServices* services,
                                               const ledger::StateAndRef& current,
                                               const notary::NotaryEntry& entry) {
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
                                                      current.ref.describe() +
                                                      ": it cannot propose");
  ledger::WireTransaction tx;
  tx.inputs.push_back(current.ref);
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
  co_return co_await collect_signatures(ctx, services, own, sessions);
}

}  // namespace

Flow<ledger::StateRef> NotaryChange::call(FlowContext& ctx) {
  ctx.step("Proposing");
  const std::string target = new_notary;
  std::function<Result<notary::NotaryEntry>(storage::Session&)> find_notary =
      [this, &target](storage::Session&) { return services->notary_entry(target); };
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, ctx.record(find_notary));
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef current, load_own_state(ctx, services, state));
  auto signed_tx = co_await propose_change(ctx, services, current, entry);
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
  TransactionCheck check = [s, initiator](storage::Session& db,
                                          const ledger::SignedTransaction& stx) -> Status {
    return check_notary_change(*s, initiator, stx, &db);
  };
  co_return co_await sign_or_refuse(ctx, session, services, std::move(check));
}

}  // namespace folio::node::flows
