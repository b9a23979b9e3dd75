// Cash flows (the Corda seed's cash examples; ARCHITECTURE.md section 4, "Core flows"):
//
//   CashIssue    the issuer creates cash for an owner (itself by default); recorded, sent to the
//                owner. No notarisation: nothing is consumed.
//   CashPayment  coin selection in the payer's vault (soft-locked under the flow's id, journalled),
//                a Move paying the recipient with change back to the payer (per issuer token),
//                signed, then Finality: notarised, recorded, sent to the recipient, who resolves
//                its back-chain.
//   CashExit     the issuer takes its own cash out of circulation (an Exit command), with change.
//
// A failed payment goes to the hospital with its coins soft-locked under its flow id (a retry
// continues with them); killing it (Node::kill_flow) releases them. Coins that name different notaries
// cannot be spent together (run a NotaryChange first).
#pragma once

#include <string>

#include "contracts/cash.h"
#include "flow/context.h"
#include "node/flows/flow_services.h"

namespace folio::node::flows {

struct CashIssue {
  static constexpr std::string_view kName = "folio.CashIssue";
  uint64_t amount = 0;  // minor units
  std::string currency;
  Bytes issuer_ref;
  std::string owner;   // party name; empty: this node
  std::string notary;  // the notary the new states name
  FOLIO_FIELDS(amount, currency, issuer_ref, owner, notary)
  FlowServices* services = nullptr;
  flow::Flow<ledger::TxId> call(flow::FlowContext& ctx);
};

struct CashPayment {
  static constexpr std::string_view kName = "folio.CashPayment";
  uint64_t amount = 0;
  std::string currency;
  std::string recipient;
  FOLIO_FIELDS(amount, currency, recipient)
  FlowServices* services = nullptr;
  flow::Flow<ledger::TxId> call(flow::FlowContext& ctx);
};

struct CashExitFlow {
  static constexpr std::string_view kName = "folio.CashExit";
  uint64_t amount = 0;
  std::string currency;
  Bytes issuer_ref;
  FOLIO_FIELDS(amount, currency, issuer_ref)
  FlowServices* services = nullptr;
  flow::Flow<ledger::TxId> call(flow::FlowContext& ctx);
};

// Coins picked and soft-locked by select_coins (journalled as this value).
struct CoinSelection {
  std::vector<ledger::StateAndRef> coins;
  uint64_t total = 0;
  FOLIO_FIELDS(coins, total)
};

// Selects and locks coins of `currency` owned by this node worth at least `amount` (issued by
// `issuer` when given), under the flow's id. Journalled.
Result<CoinSelection> select_coins(flow::FlowContext& ctx, FlowServices* services,
                                   const std::string& currency, uint64_t amount,
                                   const std::optional<contracts::PartyAndReference>& issuer);

// Adds the coins as inputs and outputs paying `amount` to `payee` with change to `change_owner`,
// per issued token in order of first appearance. REQUIRES: selection.total >= amount.
Status add_cash_spend(ledger::WireTransaction& tx, const CoinSelection& selection, uint64_t amount,
                      const crypto::PublicKey& payee, const crypto::PublicKey& change_owner);

// Four journalled random words.
ledger::PrivacySalt fresh_salt(flow::FlowContext& ctx);

}  // namespace folio::node::flows
