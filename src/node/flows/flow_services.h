// FlowServices: what the core flows see of their node (its identity, keys, stores, vault, the
// network's notaries and, on a notary node, the notary service), and the registration helpers that
// hand it to flows the engine re-creates from their arguments.
//
// The engine builds flows from their encoded fields (FOLIO_FIELDS); the `services` pointer of a
// core flow is not one of them: the node's registry factories (add_flow, add_responder below) set
// it, and a flow passes it on to the sub-flows it builds. Owned by the Node, which outlives its
// flow engine. Single-threaded, like the engine.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flow/registry.h"
#include "ledger/contract.h"
#include "node/attachment_store.h"
#include "node/identity_service.h"
#include "node/key_store.h"
#include "node/tx_store.h"
#include "notary/single_notary.h"
#include "vault/vault.h"

namespace folio::node::flows {

// The notary hosted by a notary node, fed by its notary-service responders. Requests from
// concurrent responders wait here until the node's loop calls flush(), which notarises all of them
// as ONE batch (one database transaction, one signature). In memory only: after a restart the
// responders, replayed from their journals, submit again (the notary answers a transaction it
// already notarised with a fresh certificate, so nothing is decided twice).
class NotaryBatcher {
 public:
  explicit NotaryBatcher(notary::SingleNotary& notary, size_t batch_max)
      : notary_(notary), batch_max_(batch_max) {}
  // Idempotent per flow.
  void submit(const crypto::Hash256& flow, Bytes request);
  // The encoded response for the flow's request, once its batch was processed; removes it.
  std::optional<Bytes> take(const crypto::Hash256& flow);
  size_t pending() const { return pending_.size(); }
  // Notarises up to batch_max pending requests as one batch; the number processed.
  Result<size_t> flush();
  notary::SingleNotary& notary() { return notary_; }
  uint64_t batches() const { return batches_; }

 private:
  notary::SingleNotary& notary_;
  size_t batch_max_;
  std::map<crypto::Hash256, Bytes> pending_;
  std::map<crypto::Hash256, Bytes> answered_;
  uint64_t batches_ = 0;
};

struct FlowServices {
  ledger::Party me;  // the node's well-known identity; its key signs everything the node signs
  KeyStore* keys = nullptr;
  IdentityService* identities = nullptr;
  TransactionStore* transactions = nullptr;
  AttachmentStore* attachments = nullptr;
  vault::Vault* vault = nullptr;
  const ledger::ContractRegistry* contracts = nullptr;
  // The network parameters' notaries, by name.
  std::map<std::string, notary::NotaryEntry> notaries;
  NotaryBatcher* notary = nullptr;  // set on a notary node
  // Vault updates made inside flow steps, published by the node once the step has committed.
  std::vector<vault::VaultUpdate> pending_updates;
  bool tracking = false;  // some tracked query listens: keep pending_updates
  // The buyer's side of a trade asks this whether to take an offer (seller, price, currency);
  // unset: every offer is declined.
  std::function<bool(const std::string&, uint64_t, const std::string&)> accept_offer;
  // The generic signing responder (SignTransactionResponder, answering CollectSignatures) asks this
  // whether to sign what a peer (by name) asks it to; an error refuses, with its text as the
  // reason. Unset: every request is refused.
  std::function<Status(const std::string&, const ledger::SignedTransaction&)> sign_policy;
  // The notary-change responder asks this whether to agree to move states to a new notary
  // (initiator, new notary's name). Unset: any notary of the network parameters is accepted.
  std::function<bool(const std::string&, const std::string&)> accept_notary_change;

  vault::Relevance relevance() const {
    return vault::Relevance([k = keys](const crypto::PublicKey& key) { return k->is_relevant(key); });
  }
  Result<notary::NotaryEntry> notary_entry(const std::string& name) const;
};

namespace internal {
template <class R>
class BoundResponder final : public flow::FlowLogic {
 public:
  explicit BoundResponder(FlowServices* services) { flow_.services = services; }
  flow::Flow<Bytes> run(flow::FlowContext& ctx) override {
    auto result = co_await flow_.call(ctx, ctx.initiating_session());
    if (!result.ok()) co_return result.error();
    co_return flow::internal::encode_result(result);
  }

 private:
  R flow_{};
};
}  // namespace internal

// Registers initiating flow F (a struct with a `FlowServices* services` member) so that the
// engine's re-created instances get `services`.
template <class F>
Status add_flow(flow::FlowRegistry& registry, FlowServices* services) {
  return registry.add(std::string(F::kName),
                      [services](ByteView args) -> Result<std::unique_ptr<flow::FlowLogic>> {
                        auto f = codec::decode_from_bytes<F>(args);
                        if (!f.ok()) return f.error();
                        f->services = services;
                        return std::unique_ptr<flow::FlowLogic>(
                            new flow::internal::InitiatingLogic<F>(std::move(f).value()));
                      });
}

// Registers responder R for sessions initiated by the (sub-)flow named `initiating_flow`.
template <class R>
Status add_responder(flow::FlowRegistry& registry, std::string_view initiating_flow,
                     FlowServices* services) {
  return registry.add_responder(std::string(initiating_flow), std::string(R::kName), [services] {
    return std::unique_ptr<flow::FlowLogic>(new internal::BoundResponder<R>(services));
  });
}

// Every core flow and responder of this directory.
Status register_core_flows(flow::FlowRegistry& registry, FlowServices* services);

}  // namespace folio::node::flows
