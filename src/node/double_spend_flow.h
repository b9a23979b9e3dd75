// CashDoubleSpend: a deliberate double spend, for demos and tests (docs/rpc.md, the double-spend
// endpoint). The flow selects (and soft-locks) coins of the node's own cash worth `amount`, builds
// two payments that both spend them, A to `to_a` and B to `to_b` (each with change back to the
// node, distinct salts), finalises A (notarised, recorded, sent to `to_a`), then asks the notary
// to notarise B. It completes when the notary refused B (a kConflict from the notary client),
// with both ids; the notary accepting both, or refusing A, is an error (the flow is hospitalised).
//
// Registered by the node process (NodeConfig::register_flows, register_double_spend_flow).
#pragma once

#include <string>

#include "node/flows/flow_services.h"

namespace folio::node {

struct DoubleSpendResult {
  ledger::TxId committed;
  ledger::TxId refused;
  std::string refusal;  // the notary's words
  FOLIO_FIELDS(committed, refused, refusal)
};

struct CashDoubleSpend {
  static constexpr std::string_view kName = "folio.CashDoubleSpend";
  std::string to_a;
  std::string to_b;
  uint64_t amount = 0;
  std::string currency;
  FOLIO_FIELDS(to_a, to_b, amount, currency)
  flows::FlowServices* services = nullptr;
  flow::Flow<DoubleSpendResult> call(flow::FlowContext& ctx);
};

Status register_double_spend_flow(flow::FlowRegistry& registry, flows::FlowServices* services);

}  // namespace folio::node
