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

Flow<TxId> SellAsset::call(FlowContext& ctx) {
  ctx.step("Offering");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef offered, load_own_state(ctx, services, asset));
  FOLIO_CO_ASSIGN_OR_RETURN(AssetState state, decode_asset(offered.state));
  if (!services->keys->is_ours(state.owner))
    co_return make_error(ErrorCode::kInvalidArgument, "the asset is not this node's to sell");
  FOLIO_CO_ASSIGN_OR_RETURN(StoredTransaction origin, services->transactions->get(asset.tx_id));
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::Party issuer_party,
                            services->identities->party_by_name(issuer));
  TradeOffer offer{offered, price, currency, contracts::PartyAndReference{issuer_party, issuer_ref}};
  Session session = ctx.initiate(buyer);
  FOLIO_CO_TRY(co_await session.send(offer));
  TransactionMessage origin_message{origin.transaction, origin.certificate};
  FOLIO_CO_TRY(co_await send_transaction(ctx, session, services, origin_message));
  ctx.step("Checking the proposal");
  FlowServices* s = services;
  std::function<Status(const ledger::SignedTransaction&)> check =
      [s, offer](const ledger::SignedTransaction& stx) -> Status {
    return check_trade_proposal(*s, offer, stx);
  };
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction signed_tx,
                            co_await sign_transaction(ctx, session, services, check));
  ctx.step("Waiting for finality");
  FOLIO_CO_ASSIGN_OR_RETURN(TxId final_id, co_await session.receive<TxId>());
  if (!(final_id == signed_tx.id()))
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

Flow<TxId> BuyAsset::call(FlowContext& ctx, Session session) {
  ctx.step("Receiving the offer");
  FOLIO_CO_ASSIGN_OR_RETURN(TradeOffer offer, co_await session.receive<TradeOffer>());
  // The policy's answer is journalled: a replay after a restart follows the first decision.
  std::string seller = session.party();
  std::function<Result<bool>(storage::Session&)> decide =
      [this, &seller, &offer](storage::Session&) -> Result<bool> {
    return services->accept_offer && services->accept_offer(seller, offer.price, offer.currency);
  };
  FOLIO_CO_ASSIGN_OR_RETURN(bool accepted, ctx.record(decide));
  if (!accepted)
    co_return make_error(ErrorCode::kUnsupported, "this node's trade policy declines the offer");
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
  FOLIO_CO_ASSIGN_OR_RETURN(CoinSelection coins,
                            select_coins(ctx, services, offer.currency, offer.price, offer.issuer));
  for (const ledger::StateAndRef& coin : coins.coins)
    if (!(coin.state.notary == offer.asset.state.notary))
      co_return make_error(ErrorCode::kUnsupported, "our coins name another notary than the asset");
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
  // The seller refused or never signed, or the notary refused the transaction: nothing of ours
  // was spent, so the coins (and the asset's lock) go back before the error.
  std::vector<Session> sessions{session};
  auto signed_tx = co_await collect_signatures(ctx, services, stx, sessions);
  if (!signed_tx.ok()) {
    FOLIO_CO_TRY(co_await release_locks(ctx, services));
    co_return signed_tx.error();
  }
  stx = std::move(signed_tx).value();
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
  co_return id;
}

}  // namespace folio::node::flows
