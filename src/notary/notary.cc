#include "notary/notary.h"

#include <set>

namespace folio::notary {
namespace {

constexpr std::string_view kRequestDomain = "folio/notary/request/v1";
constexpr std::string_view kBatchDomain = "folio/notary/batch/v1";
constexpr std::string_view kBatchLeafDomain = "folio/notary/batch-leaf/v1";

Error not_proved(std::string what) {
  return make_error(ErrorCode::kVerification, "notarisation certificate: " + std::move(what));
}

Status verify_batch(const TxId& tx_id, const BatchCertificate& certificate,
                    const NotaryEntry& notary) {
  if (notary.identity.owning_key.is_compound())
    return make_error(ErrorCode::kInvalidArgument,
                      "notary " + notary.identity.name +
                          " has a compound key; a batch certificate needs a single service key");
  if (certificate.notary_key != notary.identity.owning_key)
    return not_proved("signed by " + certificate.notary_key.describe() + ", not by notary " +
                      notary.identity.name);
  if (certificate.leaf_count == 0 || certificate.leaf_count > kBatchLeavesMax)
    return not_proved("batch size " + std::to_string(certificate.leaf_count) + " is out of range");
  if (certificate.branch.leaf_count != certificate.leaf_count)
    return not_proved("the branch is for a batch of " +
                      std::to_string(certificate.branch.leaf_count) + ", the signature for " +
                      std::to_string(certificate.leaf_count));
  if (!crypto::merkle_verify(certificate.root, batch_leaf(tx_id), certificate.branch))
    return not_proved("transaction " + tx_id.value().short_hex() +
                      " is not in the signed batch (the branch does not lead to its root)");
  if (!crypto::verify(certificate.notary_key,
                      batch_signature_payload(certificate.leaf_count, certificate.root),
                      certificate.signature))
    return not_proved("the notary's signature over the batch root is invalid");
  return ok_status();
}

Status verify_sharded(const TxId& tx_id, const sbac::NotarisationCertificate& certificate,
                      const NotaryEntry& notary, const TransactionFootprint* footprint) {
  if (!notary.shard_map)
    return make_error(ErrorCode::kInvalidArgument,
                      "notary " + notary.identity.name + " has no shard map in its entry");
  const sbac::ShardMap& map = *notary.shard_map;
  FOLIO_TRY(map.check_canonical());
  std::set<sbac::ShardId> concerned;
  if (notary.kind == NotaryKind::kBft) {
    if (map.shard_count() != 1)
      return make_error(ErrorCode::kInvalidArgument,
                        "a bft notary's shard map must have exactly one shard");
    concerned.insert(sbac::ShardId(0));
  } else {
    if (footprint == nullptr)
      return make_error(ErrorCode::kInvalidArgument,
                        "a sharded certificate is checked against the transaction's inputs, "
                        "references and outputs: no footprint given");
    concerned = sbac::concerned_shards(tx_id, footprint->inputs, footprint->references,
                                       footprint->output_count, map.shard_count());
  }
  Status s = sbac::verify_certificate(tx_id, certificate, concerned, map);
  if (!s.ok()) return not_proved(s.error().context);
  return ok_status();
}

}  // namespace

std::string_view to_string(NotaryKind kind) {
  switch (kind) {
    case NotaryKind::kSingle:
      return "single";
    case NotaryKind::kRaft:
      return "raft";
    case NotaryKind::kBft:
      return "bft";
    case NotaryKind::kSharded:
      return "sharded";
  }
  return "unknown notary kind";
}

std::string_view to_string(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kConflict:
      return "conflict";
    case RefusalReason::kTimeWindow:
      return "outside the time window";
    case RefusalReason::kWrongNotary:
      return "wrong notary";
    case RefusalReason::kBadRequester:
      return "bad requester";
    case RefusalReason::kInvalidTransaction:
      return "invalid transaction";
    case RefusalReason::kMalformedRequest:
      return "malformed request";
    case RefusalReason::kUnavailable:
      return "notary unavailable";
  }
  return "unknown refusal reason";
}

TxId NotarisationRequest::tx_id() const {
  if (const auto* nv = std::get_if<NonValidatingPayload>(&payload)) return nv->tx.id;
  return std::get<ValidatingPayload>(payload).tx.id();
}

NonValidatingPayload non_validating_payload(const ledger::WireTransaction& tx) {
  using ledger::ComponentGroup;
  return NonValidatingPayload{tx.filter([](ComponentGroup g, uint32_t) {
    return g == ComponentGroup::kInputs || g == ComponentGroup::kReferences ||
           g == ComponentGroup::kNotary || g == ComponentGroup::kTimeWindow ||
           g == ComponentGroup::kSigners;
  })};
}

Result<ValidatingPayload> validating_payload(const ledger::SignedTransaction& stx,
                                             const TransactionLookup& lookup) {
  ValidatingPayload out;
  out.tx = stx;
  auto prove = [&](const ledger::StateRef& ref) -> Result<ledger::ProvedState> {
    FOLIO_ASSIGN_OR_RETURN(ledger::WireTransaction creator, lookup(ref.tx_id));
    if (ref.index >= creator.outputs.size())
      return make_error(ErrorCode::kNotFound,
                        "state " + ref.describe() + ": its transaction has only " +
                            std::to_string(creator.outputs.size()) + " outputs");
    // The id is the one the caller asked for; a lookup that returned another transaction fails
    // the proof's own check at the notary, but is caught here first.
    if (creator.id() != ref.tx_id)
      return make_error(ErrorCode::kInvalidArgument, "lookup of " + ref.tx_id.value().short_hex() +
                                                         " returned another transaction");
    return ledger::prove_output(creator, ref.tx_id, ref.index);
  };
  for (const ledger::StateRef& ref : stx.tx.inputs) {
    FOLIO_ASSIGN_OR_RETURN(ledger::ProvedState proved, prove(ref));
    out.inputs.push_back(std::move(proved));
  }
  for (const ledger::StateRef& ref : stx.tx.references) {
    FOLIO_ASSIGN_OR_RETURN(ledger::ProvedState proved, prove(ref));
    out.references.push_back(std::move(proved));
  }
  return out;
}

Bytes request_signature_payload(const TxId& id) {
  Bytes out = to_bytes(kRequestDomain);
  ByteView hash = id.value().view();
  out.insert(out.end(), hash.begin(), hash.end());
  return out;
}

NotarisationRequest make_request(RequestPayload payload, const crypto::PrivateKey& requester) {
  NotarisationRequest request;
  request.payload = std::move(payload);
  TxId id = request.tx_id();
  request.requester = ledger::TransactionSignature{requester.public_key(),
                                                   requester.sign(request_signature_payload(id))};
  return request;
}

crypto::Hash256 batch_leaf(const TxId& id) {
  crypto::Sha256 h;
  h.update(uint8_t{0x00});
  h.update(as_bytes(kBatchLeafDomain));
  h.update(id.value().view());
  return h.finish();
}

Bytes batch_signature_payload(uint32_t leaf_count, const crypto::Hash256& root) {
  codec::Writer w;
  w.fixed(as_bytes(kBatchDomain));
  w.u32(leaf_count);
  w.fixed(root.view());
  return w.take();
}

TransactionFootprint TransactionFootprint::of(const ledger::WireTransaction& tx) {
  return TransactionFootprint{tx.inputs, tx.references, static_cast<uint32_t>(tx.outputs.size())};
}

Status verify_notarisation(const TxId& tx_id, const NotarisationCertificate& certificate,
                           const NotaryEntry& notary, const TransactionFootprint* footprint) {
  switch (notary.kind) {
    case NotaryKind::kSingle:
    case NotaryKind::kRaft: {
      const auto* batch = std::get_if<BatchCertificate>(&certificate);
      if (batch == nullptr)
        return make_error(ErrorCode::kInvalidArgument,
                          "notary " + notary.identity.name + " is " +
                              std::string(to_string(notary.kind)) +
                              ": it issues batch certificates, not shard certificates");
      return verify_batch(tx_id, *batch, notary);
    }
    case NotaryKind::kBft:
    case NotaryKind::kSharded: {
      const auto* sharded = std::get_if<sbac::NotarisationCertificate>(&certificate);
      if (sharded == nullptr)
        return make_error(ErrorCode::kInvalidArgument,
                          "notary " + notary.identity.name + " is " +
                              std::string(to_string(notary.kind)) +
                              ": it issues shard certificates, not batch certificates");
      return verify_sharded(tx_id, *sharded, notary, footprint);
    }
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown notary kind");
}

Status Refusal::check_canonical() const {
  if (message.size() > kRefusalMessageBytesMax)
    return make_error(ErrorCode::kMalformed, "refusal message is too long");
  if (conflicts.size() > kConflictsPerRefusalMax)
    return make_error(ErrorCode::kMalformed, "refusal lists too many conflicts");
  if (!conflicts.empty() && reason != RefusalReason::kConflict)
    return make_error(ErrorCode::kMalformed, "only a conflict refusal lists conflicts");
  return ok_status();
}

std::string Refusal::describe() const {
  std::string out(to_string(reason));
  if (!message.empty()) out += ": " + message;
  for (const Conflict& c : conflicts) {
    out += std::string("; ") + (c.is_reference ? "reference " : "input ") + c.state.describe() +
           " consumed by " + c.consumed_by.value().short_hex();
  }
  return out;
}

Result<NotarisationRequest> decode_request(ByteView bytes) {
  if (bytes.size() > kRequestBytesMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "notarisation request of " + std::to_string(bytes.size()) + " bytes");
  auto request = codec::decode_from_bytes<NotarisationRequest>(bytes);
  if (!request.ok()) return request.error();
  if (const auto* v = std::get_if<ValidatingPayload>(&request->payload)) {
    if (v->inputs.size() + v->references.size() > kProvedStatesPerRequestMax)
      return make_error(ErrorCode::kLimitExceeded, "notarisation request: too many proved states");
  }
  return request;
}

Result<NotarisationResponse> decode_response(ByteView bytes) {
  if (bytes.size() > kRequestBytesMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "notarisation response of " + std::to_string(bytes.size()) + " bytes");
  return codec::decode_from_bytes<NotarisationResponse>(bytes);
}

}  // namespace folio::notary
