// The node's notary client for a bft or sharded notary (docs/network.md, "Node processes"): the
// NotaryClient flow (finality.cc) hands a transaction whose notary is replicated to
// `sharded_notarise`, which runs the S-BAC transaction manager (notary::ShardedNotaryClient, on the
// node's transport) as a durable EXTERNAL OPERATION of the flow:
//
//   - flow::await_external: the operation's id is derived from the flow id and the transaction
//     id, so a replayed or retried flow names the same operation, started at most once per
//     process; the outcome, once seen, is in the flow's journal, so a replay after a crash uses
//     it; a crash before it was seen starts the operation again (S-BAC notarisation of one
//     transaction is idempotent while the shards hold its session);
//   - the outcome is the notary's certificate, checked against the notary's entry, or an error: an
//     abort by the shards is kConflict ("refused by the notary's shards"). The shards do not name
//     the transaction that consumed an input, so a sharded refusal names none.
//
// A replicated notary also notarises issuances (`sharded_notarises`): the shards create a
// transaction's outputs only when they commit it, so cash issued without the notary could never be
// spent through it.
//
// This file is built into folio_node and needs only the notary model and the flow engine.
#pragma once

#include <optional>
#include <vector>

#include "flow/context.h"
#include "node/flows/flow_services.h"
#include "notary/notary.h"

namespace folio::node::flows {

// The external operation (flow/external.h) a flow awaits: kind kShardedNotarisation, keyed by the
// transaction id, request ShardedNotarisationRequest, outcome a codec NotarisationCertificate or an
// error (an abort by the shards: kConflict). The node process registers its starter (which runs
// notary::ShardedNotaryClient) in the engine's ExternalOperations service.
inline constexpr std::string_view kShardedNotarisation = "folio.notary.sbac";
struct ShardedNotarisationRequest {
  ledger::SignedTransaction stx;
  // Inputs then references, proved against the transactions that created them.
  std::vector<ledger::ProvedState> proved;
  std::string notary;  // the notary's name: a starter serves one notary
  FOLIO_FIELDS(stx, proved, notary)
};

// Whether `tx` goes to its replicated notary even without inputs, references or a time window.
bool sharded_notarises(const FlowServices& services, const ledger::WireTransaction& tx);

// The replicated-notary path of NotaryClient. REQUIRES: entry.kind is bft or sharded; the node's
// engine's ExternalOperations have a starter for kShardedNotarisation (else kUnsupported or
// kNotFound).
flow::Flow<notary::NotarisationCertificate> sharded_notarise(flow::FlowContext& ctx,
                                                             FlowServices* services,
                                                             ledger::SignedTransaction stx,
                                                             notary::NotaryEntry entry);

}  // namespace folio::node::flows
