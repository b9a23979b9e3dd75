// Trade flows (AssetIssue, SellAsset, BuyAsset) and their helpers: see trade.h and docs/node.md.
#include "node/flows/trade.h"

#include <algorithm>
#include <limits>

#include "contracts/cash.h"
#include "ledger/verify.h"
#include "node/flows/asset.h"
#include "node/flows/cash_flows.h"
#include "node/flows/collect_signatures.h"
#include "node/flows/finality.h"

namespace folio::node::flows {

using flow::Flow;
using flow::FlowContext;
using flow::Session;
using ledger::TxId;

Result<ledger::StateAndRef> load_own_state(FlowContext& ctx, FlowServices* services,
                                           const ledger::StateRef& ref) {
  ledger::Timestamp now(ctx.now_ms() * 1000);
  std::string lock_id = ctx.id().hex();
  std::function<Result<ledger::StateAndRef>(storage::Session&)> load =
      [&](storage::Session& session) -> Result<ledger::StateAndRef> {
    std::vector<ledger::StateRef> refs{ref};
    FOLIO_ASSIGN_OR_RETURN(std::vector<vault::VaultState> states,
                           services->vault->load(session, refs));
    if (states.at(0).metadata.status != vault::StateStatus::kUnconsumed)
      return make_error(ErrorCode::kConflict, "state " + ref.describe() + " is consumed");
    FOLIO_TRY(services->vault->lock(session, lock_id, refs, now));
    return ledger::StateAndRef{states[0].state, ref};
  };
  return ctx.record(load);
}

Flow<ledger::StateRef> AssetIssue::call(FlowContext& ctx) {
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, services->notary_entry(notary));
  AssetState asset{asset_id, services->me, services->me.owning_key};
  ledger::WireTransaction tx;
  tx.outputs.push_back(asset_output(asset, entry.identity));
  tx.commands.push_back(asset_issue(services->me.owning_key));
  tx.notary = entry.identity;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  Finality finality;
  finality.stx = stx;
  finality.services = services;
  FOLIO_CO_ASSIGN_OR_RETURN(TransactionMessage final_tx, co_await ctx.sub_flow(finality));
  co_return ledger::StateRef{final_tx.stx.id(), 0};
}

Status check_trade_proposal(FlowServices& services, const TradeOffer& offer,
                            const ledger::SignedTransaction& stx) {
  const ledger::StateRef& sold = offer.asset.ref;
  // Of this node's states, only the asset may be consumed.
  for (const ledger::StateRef& in : stx.tx.inputs) {
    if (in == sold) continue;
    auto state = services.transactions->load_state(in);
    if (!state.ok()) return state.error();
    auto described = services.vault->registry().describe(*state);
    if (!described.ok()) continue;
    for (const crypto::PublicKey& k : described->participants)
      if (services.keys->is_relevant(k))
        return make_error(ErrorCode::kVerification, "the proposal spends another of our states");
  }
  if (std::find(stx.tx.inputs.begin(), stx.tx.inputs.end(), sold) == stx.tx.inputs.end())
    return make_error(ErrorCode::kVerification, "the proposal does not take the asset");
  // A buyer could mint its own token in the proposal itself (an Issue it signs) and pay with it:
  // a trade never creates or destroys cash.
  for (const ledger::Command& command : stx.tx.commands) {
    if (command.contract != contracts::kCashContract) continue;
    if (command.name == "Issue" || command.name == "Exit")
      return make_error(ErrorCode::kVerification,
                        "the proposal has a cash " + command.name + " command");
  }
  // The seller's signature covers the whole transaction, and every command that names one of its
  // keys is one it consents to: only the Move of the offered asset may (a buyer could otherwise
  // add, say, an agreement naming the seller, or a cash move of the seller's, for it to co-sign).
  size_t ours = 0;
  for (const ledger::Command& command : stx.tx.commands) {
    bool names_us = std::any_of(command.signers.begin(), command.signers.end(),
                                [&](const crypto::PublicKey& k) { return services.keys->is_ours(k); });
    if (!names_us) continue;
    if (command.contract != kAssetContract || command.name != "Move")
      return make_error(ErrorCode::kVerification, "the proposal asks this node to sign a " +
                                                      command.contract + " " + command.name +
                                                      " command; it signs only the asset's Move");
    ++ours;
  }
  if (ours != 1)
    return make_error(ErrorCode::kVerification,
                      "the proposal has " + std::to_string(ours) +
                          " asset Move commands for this node to sign, not one");
  uint64_t paid = 0;
  for (const ledger::TransactionState& out : stx.tx.outputs) {
    if (out.contract != contracts::kCashContract) continue;
    auto cash = contracts::decode_cash(out);
    if (!cash.ok()) return cash.error();
    if (!(cash->owner == services.me.owning_key)) continue;
    if (!(cash->amount.token.currency == offer.currency)) continue;
    if (!(cash->amount.token.issuer == offer.issuer)) continue;
    if (cash->amount.quantity > std::numeric_limits<uint64_t>::max() - paid)
      return make_error(ErrorCode::kVerification, "the proposal's payment overflows");
    paid += cash->amount.quantity;
  }
  if (paid < offer.price)
    return make_error(ErrorCode::kVerification,
                      "the proposal pays " + std::to_string(paid) + " of " +
                          offer.issuer.party.name + "'s " + offer.currency + ", not the price " +
                          std::to_string(offer.price));
  return ok_status();
}

namespace {

// The seller's part up to its answer to the buyer's proposal: the outcome of its signing (an
// error: the buyer declined, or the session or a look-up failed). No signature has left the node
// unless the outcome says it signed.
Flow<SigningOutcome> offer_and_sign(FlowContext& ctx, const SellAsset& sell, Session session,
                                    const ledger::StateAndRef& offered) {
  FlowServices* services = sell.services;
  FOLIO_CO_ASSIGN_OR_RETURN(AssetState state, decode_asset(offered.state));
  if (!services->keys->is_ours(state.owner))
    co_return make_error(ErrorCode::kInvalidArgument, "the asset is not this node's to sell");
  FOLIO_CO_ASSIGN_OR_RETURN(StoredTransaction origin,
                            services->transactions->get(sell.asset.tx_id));
  const std::string issuer_name = sell.issuer;
  std::function<Result<ledger::Party>(storage::Session&)> find_issuer =
      [services, &issuer_name](storage::Session&) {
        return services->identities->party_by_name(issuer_name);
      };
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::Party issuer_party, ctx.record(find_issuer));
  TradeOffer offer{offered, sell.price, sell.currency,
                   contracts::PartyAndReference{issuer_party, sell.issuer_ref}};
  FOLIO_CO_TRY(co_await session.send(offer));
  TransactionMessage origin_message{origin.transaction, origin.certificate};
  // A buyer that declines says so here (a refusal of the asset's transaction).
  FOLIO_CO_TRY(co_await send_transaction(ctx, session, services, origin_message));
  ctx.step("Checking the proposal");
  TransactionCheck check = [services, offer](storage::Session&,
                                             const ledger::SignedTransaction& stx) -> Status {
    return check_trade_proposal(*services, offer, stx);
  };
  co_return co_await sign_or_refuse(ctx, session, services, check);
}

}  // namespace

Flow<TxId> SellAsset::call(FlowContext& ctx) {
  ctx.step("Offering");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef offered, load_own_state(ctx, services, asset));
  Session session = ctx.initiate(buyer);
  auto outcome = co_await offer_and_sign(ctx, *this, session, offered);
  if (!outcome.ok() || !outcome->signed_it) {
    // Nothing was signed: the asset can never move in this trade. The lock goes back in a step of
    // its own, which also commits a refusal sent to the buyer (a step that ends in an error loses
    // its messages).
    FOLIO_CO_TRY(co_await release_locks(ctx, services));
    if (!outcome.ok()) co_return outcome.error();
    co_return make_error(ErrorCode::kUnsupported,
                         "refused to sign " + buyer + "'s proposal: " + outcome->refusal);
  }
  const ledger::TxId signed_id = outcome->id;
  ctx.step("Waiting for finality");
  // Signed: the transaction may become final whatever happens now, so the asset stays locked
  // (until it is consumed, or Node::kill_flow releases it).
  FOLIO_CO_ASSIGN_OR_RETURN(TxId final_id, co_await session.receive<TxId>());
  if (!(final_id == signed_id))
    co_return make_error(ErrorCode::kVerification, "the buyer finalised another transaction");
  co_return final_id;
}

Flow<bool> release_locks(FlowContext& ctx, FlowServices* services) {
  std::string lock_id = ctx.id().hex();
  std::function<Result<int64_t>(storage::Session&)> release =
      [services, &lock_id](storage::Session& db) { return services->vault->release(db, lock_id); };
  FOLIO_CO_TRY(ctx.record(release));
  // Any suspension commits the step; the shortest sleep is one.
  FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(1)));
  co_return true;
}

namespace {

// The buyer's part from the resolution of the asset's transaction to the fully signed trade.
// REQUIRES: `coins` are locked by this flow and pay the price.
Flow<ledger::SignedTransaction> propose(FlowContext& ctx, FlowServices* services, Session session,
                                        const TradeOffer& offer, const CoinSelection& coins) {
  FOLIO_CO_ASSIGN_OR_RETURN(Resolved origin, co_await receive_transaction(ctx, session, services));
  FOLIO_CO_TRY(verify_message(*services, origin.top, origin.dependencies,
                              needs_notary(origin.top.stx.tx)));
  if (!(origin.top.stx.id() == offer.asset.ref.tx_id) ||
      offer.asset.ref.index >= origin.top.stx.tx.outputs.size() ||
      !(origin.top.stx.tx.outputs[offer.asset.ref.index] == offer.asset.state))
    co_return make_error(ErrorCode::kVerification, "the offered asset is not what its transaction made");
  FOLIO_CO_ASSIGN_OR_RETURN(AssetState asset, decode_asset(offer.asset.state));
  FOLIO_CO_TRY(record_transaction(ctx, services, origin.top));
  ctx.step("Proposing");
  ledger::WireTransaction tx;
  tx.inputs.push_back(offer.asset.ref);
  AssetState bought = asset;
  bought.owner = services->me.owning_key;
  tx.outputs.push_back(asset_output(bought, offer.asset.state.notary));
  FOLIO_CO_TRY(add_cash_spend(tx, coins, offer.price, asset.owner, services->me.owning_key));
  tx.commands.push_back(asset_move({asset.owner}));
  tx.commands.push_back(contracts::cash_move({services->me.owning_key}));
  tx.notary = offer.asset.state.notary;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  std::vector<Session> sessions{session};
  co_return co_await collect_signatures(ctx, services, stx, sessions);
}

}  // namespace

Flow<TradeOutcome> BuyAsset::call(FlowContext& ctx, Session session) {
  ctx.step("Receiving the offer");
  FOLIO_CO_ASSIGN_OR_RETURN(TradeOffer offer, co_await session.receive<TradeOffer>());
  // The policy's answer is journalled: a replay after a restart follows the first decision.
  std::string seller = session.party();
  std::function<Result<bool>(storage::Session&)> decide =
      [this, &seller, &offer](storage::Session&) -> Result<bool> {
    return services->accept_offer && services->accept_offer(seller, offer.price, offer.currency);
  };
  FOLIO_CO_ASSIGN_OR_RETURN(bool accepted, ctx.record(decide));
  std::string declined;
  CoinSelection coins;
  if (!accepted) {
    declined = "this node's trade policy declines the offer";
  } else {
    auto selected = select_coins(ctx, services, offer.currency, offer.price, offer.issuer);
    if (!selected.ok()) {
      declined = "this node cannot pay: " + selected.error().message();
    } else {
      coins = std::move(selected).value();
      for (const ledger::StateAndRef& coin : coins.coins)
        if (!(coin.state.notary == offer.asset.state.notary))
          declined = "this node's coins name another notary than the asset";
    }
  }
  TradeOutcome outcome;
  if (!declined.empty()) {
    // The seller learns why (a refusal of the asset's transaction) and releases its asset; the
    // refusal commits with release_locks' step. A decline is an answer: the flow completes.
    FOLIO_CO_TRY(co_await session.receive<TransactionMessage>());
    FetchRequest refusal;
    refusal.refusal = declined;
    FOLIO_CO_TRY(co_await session.send(refusal));
    FOLIO_CO_TRY(co_await release_locks(ctx, services));
    outcome.refusal = declined;
    co_return outcome;
  }
  auto signed_tx = co_await propose(ctx, services, session, offer, coins);
  if (!signed_tx.ok()) {
    // Nothing of ours was signed by the seller, or the origin did not verify: the coins go back.
    FOLIO_CO_TRY(co_await release_locks(ctx, services));
    // The seller's refusal (sent with its reason) is an answer; any other failure is an error.
    if (signed_tx.error().code == ErrorCode::kUnsupported) {
      outcome.refusal = signed_tx.error().message();
      co_return outcome;
    }
    co_return signed_tx.error();
  }
  ledger::SignedTransaction stx = std::move(signed_tx).value();
  ctx.step("Finalising");
  Finality finality;
  finality.stx = stx;
  finality.services = services;
  auto finalised = co_await ctx.sub_flow(finality);
  if (!finalised.ok()) {
    // Only a refusal proves the transaction will never be final; after any other failure it may
    // still be, and its coins stay locked (Node::kill_flow releases them).
    if (finalised.error().code == ErrorCode::kConflict)
      FOLIO_CO_TRY(co_await release_locks(ctx, services));
    co_return finalised.error();
  }
  TransactionMessage final_tx = std::move(finalised).value();
  TxId id = final_tx.stx.id();
  FOLIO_CO_TRY(co_await session.send(id));
  outcome.id = id;
  outcome.bought = true;
  co_return outcome;
}

}  // namespace folio::node::flows
