// The node's notary client for a bft or sharded notary (docs/network.md, "Node processes"): the
// NotaryClient flow (finality.cc) hands a transaction whose notary is replicated to
// `sharded_notarise`, which runs the S-BAC transaction manager (notary::ShardedNotaryClient, on the
// node's transport) as a durable EXTERNAL OPERATION of the flow:
//
//   - the operation's id is derived from the transaction id, so a replayed or retried flow names
//     the same operation, and the service starts each transaction at most once per process
//     (a second start of a running or finished operation only attaches to it);
//   - the flow polls the service with journalled reads (ctx.record) between journalled sleeps of
//     growing length (5 ms doubling up to 100 ms): the outcome, once seen, is in the journal, so a
//     replay after a crash uses it; a crash before it was seen replays the polls and, live again,
//     starts the operation again (S-BAC notarisation of one transaction is idempotent as long as
//     the shards still hold its session);
//   - the outcome is the notary's certificate, checked against the notary's entry, or an error: an
//     abort by the shards is kConflict ("refused by the notary's shards"). The shards do not name
//     the transaction that consumed an input, so a sharded refusal names none.
//
// A replicated notary also notarises issuances (`sharded_notarises`): the shards create a
// transaction's outputs only when they commit it, so cash issued without the notary could never be
// spent through it.
//
// Threading: the service's start/take are thread-safe (the client's callbacks arrive on its worker
// threads and only store the outcome). The flow side runs on the node's loop. This file is built
// into folio_node (src/node/process.cmake adds it) and needs only the notary model.
#pragma once

#include <optional>
#include <vector>

#include "flow/context.h"
#include "node/flows/flow_services.h"
#include "notary/notary.h"

namespace folio::node::flows {

// What the flow needs of the node's S-BAC client, as an engine service (FlowEngineOptions::
// services; the node process registers its ShardedNotaryService, src/node/node_process.h, which
// wraps notary::ShardedNotaryClient). Thread-safe.
class ReplicatedNotaryService {
 public:
  virtual ~ReplicatedNotaryService() = default;
  virtual const notary::NotaryEntry& entry() const = 0;
  // Starts notarising `stx` unless this transaction is running or finished here.
  virtual void start(const ledger::SignedTransaction& stx,
                     std::vector<ledger::ProvedState> proved) = 0;
  // The outcome for transaction `id`, once there (kept: a later take sees it too).
  virtual std::optional<Result<notary::NotarisationCertificate>> take(
      const ledger::TxId& id) const = 0;
};

// Whether `tx` goes to its replicated notary even without inputs, references or a time window.
bool sharded_notarises(const FlowServices& services, const ledger::WireTransaction& tx);

// The replicated-notary path of NotaryClient. REQUIRES: entry.kind is bft or sharded; the node's
// engine services hold a ReplicatedNotaryService for this notary (else kUnsupported).
flow::Flow<notary::NotarisationCertificate> sharded_notarise(flow::FlowContext& ctx,
                                                             FlowServices* services,
                                                             ledger::SignedTransaction stx,
                                                             notary::NotaryEntry entry);

}  // namespace folio::node::flows
