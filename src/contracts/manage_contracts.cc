#include "contracts/manage_contracts.h"

namespace folio::contracts {
namespace {

Result<McObject> decode_object(const Bytes& data, const std::string& where) {
  auto object = codec::decode_from_bytes<McObject>(data);
  if (!object.ok()) return ledger::reject(where + " is not a ManageContracts object");
  return object;
}

}  // namespace

Status ManageContracts::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<McObject> ins, outs;
  for (size_t i : tx.input_indexes(kManageContracts)) {
    FOLIO_ASSIGN_OR_RETURN(McObject o,
                           decode_object(tx.inputs[i].state.data, "input " + std::to_string(i)));
    ins.push_back(std::move(o));
  }
  for (size_t i : tx.output_indexes(kManageContracts)) {
    FOLIO_ASSIGN_OR_RETURN(McObject o,
                           decode_object(tx.outputs[i].data, "output " + std::to_string(i)));
    outs.push_back(std::move(o));
  }
  std::vector<const ledger::Command*> commands = tx.commands_of(kManageContracts);
  if (commands.empty() && ins.empty() && outs.empty()) return ok_status();  // referenced only
  if (commands.size() != 1)
    return ledger::reject("exactly one ManageContracts command is required");
  const ledger::Command& command = *commands[0];
  auto signed_by = [&](const crypto::PublicKey& key) {
    return std::find(command.signers.begin(), command.signers.end(), key) != command.signers.end();
  };

  if (command.name == "init") {
    if (!ins.empty()) return ledger::reject("init consumes nothing");
    if (outs.size() != 1 || outs[0] != McObject(McToken{0}))
      return ledger::reject("init creates exactly one token with sequence 0");
    if (!signed_by(operator_)) return ledger::reject("init is not signed by the network operator");
    return ok_status();
  }
  if (command.name != "create")
    return ledger::reject("unknown ManageContracts command " + command.name);

  auto params = codec::decode_from_bytes<McCreate>(command.params);
  if (!params.ok()) return ledger::reject("create parameters do not decode");
  if (ins.size() != 1 || !std::holds_alternative<McToken>(ins[0]))
    return ledger::reject("create consumes the singleton token and nothing else");
  uint64_t sequence = std::get<McToken>(ins[0]).sequence;
  if (sequence == UINT64_MAX) return ledger::reject("the token's sequence is exhausted");
  if (params->name.empty() || params->name.size() > ledger::kContractNameBytesMax)
    return ledger::reject("a contract name is 1 to 128 bytes");
  if (params->name == kManageContracts)
    return ledger::reject("ManageContracts cannot be redeployed");
  if (params->shard_count == 0 || params->shard_count > kShardCountMax)
    return ledger::reject("shard_count must be 1 to " + std::to_string(kShardCountMax));
  McObject token{McToken{sequence + 1}};
  McObject contract{McContract{params->name, params->version, params->attachment}};
  McObject mapping{McMapping{params->name, params->shard_count}};
  if (outs.size() != 3 || outs[0] != token || outs[1] != contract || outs[2] != mapping) {
    return ledger::reject(
        "create outputs exactly [token with the next sequence, the Contract, its Mapping]");
  }
  const ledger::Attachment* attached = nullptr;
  for (const ledger::Attachment& a : tx.attachments)
    if (a.id == params->attachment) attached = &a;
  if (attached == nullptr) return ledger::reject("the checker's attachment is not attached");
  if (std::find(attached->contracts.begin(), attached->contracts.end(), params->name) ==
      attached->contracts.end()) {
    return ledger::reject("the attachment does not declare contract " + params->name);
  }
  if (code_ == nullptr || code_->attachment(params->attachment) == nullptr)
    return ledger::reject("the checker binary was not imported and validated by this node");
  return ok_status();
}

ledger::TransactionState mc_state(const McObject& object, const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(object);
  state.contract = std::string(kManageContracts);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

ledger::Command mc_init(const crypto::PublicKey& operator_key) {
  return ledger::Command{std::string(kManageContracts), "init", {}, {operator_key}};
}

ledger::Command mc_create(const McCreate& params, const crypto::PublicKey& creator) {
  return ledger::Command{
      std::string(kManageContracts), "create", codec::encode_to_bytes(params), {creator}};
}

}  // namespace folio::contracts
