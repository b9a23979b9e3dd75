#include "ledger/ledger_transaction.h"

namespace folio::ledger {

std::vector<size_t> LedgerTransaction::input_indexes(std::string_view contract) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].state.contract == contract) out.push_back(i);
  return out;
}

std::vector<size_t> LedgerTransaction::output_indexes(std::string_view contract) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].contract == contract) out.push_back(i);
  return out;
}

std::vector<const Command*> LedgerTransaction::commands_of(std::string_view contract) const {
  std::vector<const Command*> out;
  for (const Command& c : commands)
    if (c.contract == contract) out.push_back(&c);
  return out;
}

void MapStateLoader::add_outputs(const TxId& id, const WireTransaction& tx) {
  for (uint32_t i = 0; i < tx.outputs.size(); ++i) states_[StateRef{id, i}] = tx.outputs[i];
}

Result<TransactionState> MapStateLoader::load(const StateRef& ref) const {
  auto it = states_.find(ref);
  if (it == states_.end())
    return make_error(ErrorCode::kNotFound, "unknown state " + ref.describe());
  return it->second;
}

Result<Attachment> MapAttachmentLoader::load(const AttachmentId& id) const {
  auto it = attachments_.find(id);
  if (it == attachments_.end())
    return make_error(ErrorCode::kNotFound, "unknown attachment " + id.value().short_hex());
  return it->second;
}

Result<LedgerTransaction> resolve(const WireTransaction& tx, const TxId& id,
                                  const StateLoader& states, const AttachmentLoader& attachments) {
  LedgerTransaction out;
  out.id = id;
  out.inputs.reserve(tx.inputs.size());
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    auto state = states.load(tx.inputs[i]);
    if (!state.ok())
      return make_error(state.error().code, "input " + std::to_string(i) + " (" +
                                                tx.inputs[i].describe() +
                                                "): " + state.error().context);
    out.inputs.push_back(StateAndRef{std::move(state).value(), tx.inputs[i]});
  }
  out.references.reserve(tx.references.size());
  for (size_t i = 0; i < tx.references.size(); ++i) {
    auto state = states.load(tx.references[i]);
    if (!state.ok())
      return make_error(state.error().code, "reference " + std::to_string(i) + " (" +
                                                tx.references[i].describe() +
                                                "): " + state.error().context);
    out.references.push_back(StateAndRef{std::move(state).value(), tx.references[i]});
  }
  for (size_t i = 0; i < tx.attachments.size(); ++i) {
    auto attachment = attachments.load(tx.attachments[i]);
    if (!attachment.ok())
      return make_error(attachment.error().code,
                        "attachment " + std::to_string(i) + ": " + attachment.error().context);
    out.attachments.push_back(std::move(attachment).value());
  }
  out.outputs = tx.outputs;
  out.commands = tx.commands;
  out.notary = tx.notary;
  out.time_window = tx.time_window;
  out.network_parameters_hash = tx.network_parameters_hash;
  return out;
}

}  // namespace folio::ledger
