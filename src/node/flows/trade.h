// Two-party trade (delivery versus payment) and notary change (ARCHITECTURE.md section 4, "Core
// flows"; the Corda seed's trade example and "Notaries").
//
//   AssetIssue   an issuer creates a folio.Asset state owned by itself.
//   SellAsset    the seller offers one of its assets to a buyer for a price in cash. Sequence:
//                  -> TradeOffer  -> (the asset's creating transaction, resolved by the buyer)
//                  <- (the buyer's proposal: asset to the buyer, cash to the seller, change; the
//                     seller resolves the buyer's coins) -> signature
//                  <- TxId once the buyer has finalised (Finality sends the seller its copy)
//                One transaction moves both, so either both legs happen or neither.
//   BuyAsset     the buyer's responder; it takes offers only if the node's trade policy accepts.
//                The signature is collected with collect_signatures / sign_or_refuse
//                (collect_signatures.h) on the trade's session.
// Refusals travel in the protocol, so neither side waits for an answer that never comes: a buyer
// that declines (its policy, no coins of the issuer) answers the asset's transaction with a
// FetchRequest refusal; a seller that refuses the proposal answers with a SignatureReply refusal
// (committed in a step of its own before its flow fails). Each side releases its soft locks on
// every failure before the seller's signature left (after it, the trade may still become final).
// The seller signs only a proposal whose one command naming its keys is the asset's Move.
// NotaryChange moved to notary_change.h (included here for its users).
#pragma once

#include <string>

#include "contracts/cash.h"
#include "flow/context.h"
#include "node/flows/flow_services.h"
#include "node/flows/notary_change.h"

namespace folio::node::flows {

// The price is payable only in cash of `issuer` (party and reference): folio.Cash lets anyone
// issue a token of their own, so a currency code alone says nothing about what the cash is worth.
struct TradeOffer {
  ledger::StateAndRef asset;
  uint64_t price = 0;
  std::string currency;
  contracts::PartyAndReference issuer;
  FOLIO_FIELDS(asset, price, currency, issuer)
};

struct AssetIssue {
  static constexpr std::string_view kName = "folio.AssetIssue";
  std::string asset_id;
  std::string notary;
  FOLIO_FIELDS(asset_id, notary)
  FlowServices* services = nullptr;
  flow::Flow<ledger::StateRef> call(flow::FlowContext& ctx);
};

struct SellAsset {
  static constexpr std::string_view kName = "folio.SellAsset";
  ledger::StateRef asset;
  std::string buyer;
  uint64_t price = 0;
  std::string currency;
  std::string issuer;  // the well-known party whose cash this node accepts as payment
  Bytes issuer_ref;    // that issuer's reference on the accepted cash
  FOLIO_FIELDS(asset, buyer, price, currency, issuer, issuer_ref)
  FlowServices* services = nullptr;
  flow::Flow<ledger::TxId> call(flow::FlowContext& ctx);
};

// What the buyer's responder did: bought (the final transaction's id), or declined or was
// refused, and why. A decline or the seller's refusal is an answer, not a failure of the
// responder: it completes (no hospital entry, no journal kept for it).
struct TradeOutcome {
  ledger::TxId id;
  bool bought = false;
  std::string refusal;
  FOLIO_FIELDS(id, bought, refusal)
};

struct BuyAsset {
  static constexpr std::string_view kName = "folio.BuyAsset";
  FlowServices* services = nullptr;
  flow::Flow<TradeOutcome> call(flow::FlowContext& ctx, flow::Session session);
};

// The seller's check of a buyer's proposal for `offer`: of this node's states it consumes the
// asset and nothing else; it issues or exits no cash; the only command that any of this node's
// keys must sign is one asset Move; and it pays this node at least the price in cash of the
// offer's issuer (only that issuer's cash counts; the sum is overflow-checked).
Status check_trade_proposal(FlowServices& services, const TradeOffer& offer,
                            const ledger::SignedTransaction& stx);

// Journalled: the vault's unconsumed state `ref`, soft-locked under the flow's id.
Result<ledger::StateAndRef> load_own_state(flow::FlowContext& ctx, FlowServices* services,
                                           const ledger::StateRef& ref);

// Releases the vault soft locks the flow holds, committed in a step of their own: a flow that ends
// with an error has its last step rolled back (it goes to the hospital, to be retried from its
// journal), so a release in that step would be lost.
flow::Flow<bool> release_locks(flow::FlowContext& ctx, FlowServices* services);

}  // namespace folio::node::flows
