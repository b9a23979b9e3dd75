// register_core_flows: every core flow and responder of this directory, registered by name.
#include "node/flows/agreement.h"
#include "node/flows/cash_flows.h"
#include "node/flows/collect_signatures.h"
#include "node/flows/finality.h"
#include "node/flows/notary_change.h"
#include "node/flows/trade.h"

namespace folio::node::flows {

Status register_core_flows(flow::FlowRegistry& registry, FlowServices* services) {
  FOLIO_TRY(add_flow<CashIssue>(registry, services));
  FOLIO_TRY(add_flow<CashPayment>(registry, services));
  FOLIO_TRY(add_flow<CashExitFlow>(registry, services));
  FOLIO_TRY(add_flow<AssetIssue>(registry, services));
  FOLIO_TRY(add_flow<SellAsset>(registry, services));
  FOLIO_TRY(add_flow<NotaryChange>(registry, services));
  // Finality and NotaryClient also run as root flows (an app finalising its own transaction).
  FOLIO_TRY(add_flow<Finality>(registry, services));
  FOLIO_TRY(add_flow<NotaryClient>(registry, services));
  FOLIO_TRY(add_responder<ReceiveFinality>(registry, Finality::kName, services));
  FOLIO_TRY(add_responder<NotaryServiceResponder>(registry, NotaryClient::kName, services));
  FOLIO_TRY(add_responder<BuyAsset>(registry, SellAsset::kName, services));
  FOLIO_TRY(add_responder<NotaryChangeResponder>(registry, NotaryChange::kName, services));
  // CollectSignatures also runs as a root flow; its generic responder signs by the node's policy.
  FOLIO_TRY(add_flow<CollectSignatures>(registry, services));
  FOLIO_TRY(add_responder<SignTransactionResponder>(registry, CollectSignatures::kName, services));
  FOLIO_TRY(add_flow<AgreementCreate>(registry, services));
  return ok_status();
}

}  // namespace folio::node::flows
