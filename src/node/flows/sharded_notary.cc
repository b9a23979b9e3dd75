// The replicated-notary path of the node's notary client (see the header).
#include "node/flows/sharded_notary.h"

#include "flow/external.h"

namespace folio::node::flows {

using flow::Flow;
using flow::FlowContext;

bool sharded_notarises(const FlowServices& services, const ledger::WireTransaction& tx) {
  if (!tx.notary || tx.outputs.empty()) return false;
  auto entry = services.notary_entry(tx.notary->name);
  return entry.ok() && (entry->kind == notary::NotaryKind::kBft ||
                        entry->kind == notary::NotaryKind::kSharded);
}

Flow<notary::NotarisationCertificate> sharded_notarise(FlowContext& ctx, FlowServices* services,
                                                       ledger::SignedTransaction stx,
                                                       notary::NotaryEntry entry) {
  ledger::TxId id = stx.id();
  ctx.step("Notarising with the shards");
  ShardedNotarisationRequest request;
  request.stx = stx;
  request.notary = entry.identity.name;
  if (!stx.tx.inputs.empty() || !stx.tx.references.empty()) {
    FOLIO_CO_ASSIGN_OR_RETURN(notary::ValidatingPayload payload,
                              notary::validating_payload(stx, services->transactions->lookup()));
    request.proved = std::move(payload.inputs);
    request.proved.insert(request.proved.end(), payload.references.begin(),
                          payload.references.end());
  }
  Bytes key(id.value().bytes.begin(), id.value().bytes.end());
  Bytes encoded = codec::encode_to_bytes(request);
  Result<notary::NotarisationCertificate> outcome =
      co_await flow::await_external<notary::NotarisationCertificate>(
          ctx, std::string(kShardedNotarisation), key, encoded);
  if (!outcome.ok())
    co_return make_error(outcome.error().code, "notary " + entry.identity.name + " refused " +
                                                   id.value().short_hex() + ": " +
                                                   outcome.error().context);
  notary::TransactionFootprint footprint = notary::TransactionFootprint::of(stx.tx);
  Status certified = notary::verify_notarisation(id, *outcome, entry, &footprint);
  if (!certified.ok())
    co_return make_error(ErrorCode::kVerification, "the shards' certificate does not verify: " +
                                                       certified.error().message());
  ctx.step("Notarised");
  co_return std::move(outcome).value();
}

}  // namespace folio::node::flows
