#include "sbac/binding.h"

#include <algorithm>
#include <set>

#include "ledger/verify.h"

namespace folio::sbac {
namespace {

using ledger::ComponentGroup;

std::vector<ledger::StateRef> sorted(std::vector<ledger::StateRef> refs) {
  std::sort(refs.begin(), refs.end());
  return refs;
}

// The refs of a revealed group, each component decoded, sorted; or why not.
Result<std::vector<ledger::StateRef>> revealed_refs(const ledger::FilteredTransaction& ftx,
                                                    ComponentGroup group) {
  FOLIO_TRY(ftx.check_all_visible(group));
  FOLIO_ASSIGN_OR_RETURN(auto items, ftx.revealed<ledger::StateRef>(group));
  std::vector<ledger::StateRef> refs;
  for (auto& [index, ref] : items) refs.push_back(ref);
  return sorted(std::move(refs));
}

// Every required signer of T (the union of the revealed signer lists) is fulfilled by valid
// signatures over T's id (the requester's consent, as a non-validating notary checks it).
std::optional<std::string> check_signatures(
    const std::vector<std::vector<crypto::PublicKey>>& lists, const ledger::TxId& id,
    const std::vector<ledger::TransactionSignature>& sigs) {
  Bytes payload = ledger::signature_payload(id);
  std::set<crypto::PublicKey> signed_leaves;
  for (const ledger::TransactionSignature& s : sigs) {
    if (s.by.is_compound() || !crypto::verify(s.by, payload, s.signature))
      return "a transaction signature does not verify";
    signed_leaves.insert(s.by);
  }
  for (const auto& list : lists)
    for (const crypto::PublicKey& key : list)
      if (!key.is_fulfilled_by(signed_leaves)) return "a required signer has not signed";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_proved_states(const PrepareCommand& command,
                                               const PrepareBinding& binding) {
  std::vector<ledger::StateRef> wanted = command.inputs;
  wanted.insert(wanted.end(), command.references.begin(), command.references.end());
  std::sort(wanted.begin(), wanted.end());
  if (binding.proved.size() != wanted.size())
    return "proved states do not match the inputs and references";
  for (size_t i = 0; i < wanted.size(); ++i) {
    const ledger::ProvedState& p = binding.proved[i];
    if (p.ref != wanted[i]) return "proved states do not match the inputs and references";
    if (Status s = p.verify(); !s.ok())
      return "proved state " + p.ref.describe() + ": " + s.error().context;
  }
  return std::nullopt;
}

std::optional<std::string> NonValidatingCheck::reject(const PrepareCommand&, ShardId) const {
  return "prepare not bound to its transaction";
}

std::optional<std::string> NonValidatingCheck::reject_bound(const PrepareCommand& command,
                                                            const PrepareBinding* binding,
                                                            ShardId) const {
  if (binding == nullptr || !binding->filtered) return "prepare not bound to its transaction";
  const ledger::FilteredTransaction& ftx = *binding->filtered;
  if (ftx.id != command.tx_id) return "the tear-off is of another transaction";
  if (Status s = ftx.verify(); !s.ok()) return "tear-off: " + s.error().context;
  auto inputs = revealed_refs(ftx, ComponentGroup::kInputs);
  if (!inputs.ok()) return "inputs: " + inputs.error().context;
  if (*inputs != command.inputs) return "the command's inputs are not the transaction's";
  auto references = revealed_refs(ftx, ComponentGroup::kReferences);
  if (!references.ok()) return "references: " + references.error().context;
  if (*references != command.references)
    return "the command's references are not the transaction's";
  // The outputs group's count is bound in its group root.
  const ledger::FilteredGroup* outputs = ftx.find(ComponentGroup::kOutputs);
  if (outputs == nullptr) return "the outputs group is not revealed";
  if (ledger::group_root(outputs->count, outputs->inner_root) !=
      ftx.group_roots[static_cast<size_t>(ComponentGroup::kOutputs)])
    return "the outputs group's count is not the transaction's";
  if (outputs->count != command.output_count) return "the command's output count is wrong";
  if (Status s = ftx.check_all_visible(ComponentGroup::kTimeWindow); !s.ok())
    return "time window: " + s.error().context;
  auto windows = ftx.revealed<ledger::TimeWindow>(ComponentGroup::kTimeWindow);
  if (!windows.ok()) return "time window: " + windows.error().context;
  std::optional<ledger::TimeWindow> window;
  if (!windows->empty()) window = windows->front().second;
  if (windows->size() > 1 || window != command.time_window)
    return "the command's time window is not the transaction's";
  if (Status s = ftx.check_all_visible(ComponentGroup::kSigners); !s.ok())
    return "signers: " + s.error().context;
  auto signers = ftx.revealed<std::vector<crypto::PublicKey>>(ComponentGroup::kSigners);
  if (!signers.ok()) return "signers: " + signers.error().context;
  std::vector<std::vector<crypto::PublicKey>> lists;
  for (auto& [index, list] : *signers) lists.push_back(std::move(list));
  if (auto why = check_signatures(lists, command.tx_id, binding->signatures)) return why;
  return check_proved_states(command, *binding);
}

std::optional<std::string> ValidatingCheck::reject(const PrepareCommand&, ShardId) const {
  return "prepare not bound to its transaction";
}

std::optional<std::string> ValidatingCheck::reject_bound(const PrepareCommand& command,
                                                         const PrepareBinding* binding,
                                                         ShardId) const {
  if (binding == nullptr || !binding->transaction) return "prepare not bound to its transaction";
  const ledger::WireTransaction& tx = *binding->transaction;
  if (Status s = tx.check_canonical(); !s.ok()) return "transaction: " + s.error().context;
  if (tx.id() != command.tx_id) return "the transaction's id is not the command's";
  if (sorted(tx.inputs) != command.inputs) return "the command's inputs are not the transaction's";
  if (sorted(tx.references) != command.references)
    return "the command's references are not the transaction's";
  if (tx.outputs.size() != command.output_count) return "the command's output count is wrong";
  if (tx.time_window != command.time_window)
    return "the command's time window is not the transaction's";
  if (auto why = check_proved_states(command, *binding)) return why;
  ledger::MapStateLoader states;
  for (const ledger::ProvedState& p : binding->proved) states.add(p.ref, p.state);
  ledger::SignedTransaction stx{tx, binding->signatures};
  ledger::VerifyOptions options;
  if (tx.notary) options.allowed_missing_signers.push_back(tx.notary->owning_key);
  ledger::Verdict verdict =
      ledger::verify_transaction(stx, states, attachments_, contracts_, options);
  if (!verdict.ok()) return verdict.describe();
  return std::nullopt;
}

PrepareBinding bind_non_validating(const ledger::SignedTransaction& stx,
                                   const std::vector<ledger::ProvedState>& proved) {
  PrepareBinding b;
  b.filtered = stx.tx.filter([](ComponentGroup group, uint32_t index) {
    switch (group) {
      case ComponentGroup::kInputs:
      case ComponentGroup::kReferences:
      case ComponentGroup::kTimeWindow:
      case ComponentGroup::kSigners:
        return true;
      case ComponentGroup::kOutputs:
        return index == 0;  // one output (or the empty group) reveals the count
      default:
        return false;
    }
  });
  b.signatures = stx.signatures;
  b.proved = proved;
  std::sort(b.proved.begin(), b.proved.end(),
            [](const auto& x, const auto& y) { return x.ref < y.ref; });
  return b;
}

PrepareBinding bind_validating(const ledger::SignedTransaction& stx,
                               const std::vector<ledger::ProvedState>& proved) {
  PrepareBinding b;
  b.transaction = stx.tx;
  b.signatures = stx.signatures;
  b.proved = proved;
  std::sort(b.proved.begin(), b.proved.end(),
            [](const auto& x, const auto& y) { return x.ref < y.ref; });
  return b;
}

PrepareCommand prepare_command_for(const ledger::WireTransaction& tx, const ledger::TxId& id,
                                   Sequence session, std::optional<uint32_t> dummy_slot) {
  PrepareCommand c;
  c.tx_id = id;
  c.session = session;
  c.inputs = sorted(tx.inputs);
  c.references = sorted(tx.references);
  c.output_count = static_cast<uint32_t>(tx.outputs.size());
  c.time_window = tx.time_window;
  c.dummy_slot = dummy_slot;
  return c;
}

}  // namespace folio::sbac
