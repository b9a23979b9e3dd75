#include "node/flows/asset.h"

namespace folio::node::flows {

Result<AssetState> decode_asset(const ledger::TransactionState& state) {
  auto asset = codec::decode_from_bytes<AssetState>(state.data);
  if (!asset.ok()) return asset.error();
  if (asset->asset_id.empty() || asset->asset_id.size() > kAssetIdBytesMax)
    return make_error(ErrorCode::kMalformed, "asset id must be 1.." +
                                                 std::to_string(kAssetIdBytesMax) + " bytes");
  return asset;
}

Status AssetContract::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<AssetState> ins, outs;
  for (size_t i : tx.input_indexes(kAssetContract)) {
    auto a = decode_asset(tx.inputs[i].state);
    if (!a.ok()) return ledger::reject("input " + std::to_string(i) + ": " + a.error().context);
    ins.push_back(std::move(a).value());
  }
  for (size_t i : tx.output_indexes(kAssetContract)) {
    auto a = decode_asset(tx.outputs[i]);
    if (!a.ok()) return ledger::reject("output " + std::to_string(i) + ": " + a.error().context);
    outs.push_back(std::move(a).value());
  }
  std::vector<const ledger::Command*> commands = tx.commands_of(kAssetContract);
  if (ins.empty() && outs.empty()) {
    if (!commands.empty()) return ledger::reject("an Asset command but no asset state");
    return ok_status();
  }
  if (commands.size() != 1) return ledger::reject("exactly one Asset command is required");
  const ledger::Command& command = *commands[0];
  if (!command.params.empty()) return ledger::reject(command.name + " takes no parameters");
  if (command.name == "Issue") {
    if (!ins.empty()) return ledger::reject("Issue consumes no asset");
    for (size_t i = 0; i < outs.size(); ++i)
      if (!command.has_signer(outs[i].issuer.owning_key))
        return ledger::reject("issued asset " + std::to_string(i) + " (" + outs[i].asset_id +
                              ") is not signed by its issuer " + outs[i].issuer.name);
    return ok_status();
  }
  if (command.name == "Move") {
    if (ins.size() != outs.size())
      return ledger::reject("Move has " + std::to_string(ins.size()) + " asset inputs but " +
                            std::to_string(outs.size()) + " outputs");
    for (size_t i = 0; i < ins.size(); ++i) {
      if (ins[i].asset_id != outs[i].asset_id || !(ins[i].issuer == outs[i].issuer))
        return ledger::reject("asset output " + std::to_string(i) +
                              " is not asset input " + std::to_string(i) + " with a new owner");
      if (!command.has_signer(ins[i].owner))
        return ledger::reject("asset input " + std::to_string(i) + " (" + ins[i].asset_id +
                              ") is moved without its owner's signature");
    }
    return ok_status();
  }
  return ledger::reject("unknown command " + command.name);
}

Result<std::vector<crypto::PublicKey>> AssetContract::participants(
    const ledger::TransactionState& state) const {
  auto a = decode_asset(state);
  if (!a.ok()) return a.error();
  return std::vector<crypto::PublicKey>{a->owner};
}

ledger::TransactionState asset_output(const AssetState& asset, const ledger::Party& notary) {
  ledger::TransactionState s;
  s.data = codec::encode_to_bytes(asset);
  s.contract = std::string(kAssetContract);
  s.notary = notary;
  s.constraint = ledger::AlwaysAcceptConstraint{};
  return s;
}

ledger::Command asset_issue(const crypto::PublicKey& issuer) {
  return ledger::Command{std::string(kAssetContract), "Issue", {}, {issuer}};
}

ledger::Command asset_move(std::vector<crypto::PublicKey> owners) {
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  return ledger::Command{std::string(kAssetContract), "Move", {}, std::move(owners)};
}

vault::VaultSchema asset_schema() {
  vault::VaultSchema schema;
  schema.name = std::string(kAssetSchema);
  schema.table = "asset_states";
  schema.columns = {{"asset_id", vault::ColumnType::kText, true},
                    {"issuer", vault::ColumnType::kText, false},
                    {"owner_key", vault::ColumnType::kText, true}};
  schema.map = [](const ledger::TransactionState& state)
      -> std::optional<std::vector<storage::Value>> {
    if (state.contract != kAssetContract) return std::nullopt;
    auto a = decode_asset(state);
    if (!a.ok()) return std::nullopt;
    return std::vector<storage::Value>{a->asset_id, a->issuer.name, a->owner.hex()};
  };
  return schema;
}

vault::ContractDescription asset_description() {
  vault::ContractDescription d;
  d.contract = std::string(kAssetContract);
  d.state_type = std::string(kAssetStateType);
  d.participants = [](const ledger::TransactionState& state)
      -> Result<std::vector<crypto::PublicKey>> {
    auto a = decode_asset(state);
    if (!a.ok()) return a.error();
    return std::vector<crypto::PublicKey>{a->owner};
  };
  return d;
}

Status register_asset(ledger::ContractRegistry& contracts, vault::VaultRegistry& vault) {
  FOLIO_TRY(contracts.add(std::make_unique<AssetContract>()));
  FOLIO_TRY(vault.add_schema(asset_schema()));
  return vault.add_contract(asset_description());
}

}  // namespace folio::node::flows
