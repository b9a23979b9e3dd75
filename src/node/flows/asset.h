// folio.Asset: a small non-fungible asset (a bond, a painting, a warehouse receipt) for the
// two-party trade flow (delivery versus payment against folio.Cash), with its vault schema.
//
// An AssetState is a description (the asset's identifier, unique per issuer by convention), the
// issuing party and the owner's key. Rules over the folio.Asset inputs and outputs:
//   Issue  no asset inputs; every output is signed for by its issuer in an Issue command.
//   Move   outputs are the inputs in the same order with only the owner changed; every input's
//          owner signs a Move command.
// One command per transaction. participants(state) = {owner}, so notary changes work.
// Registered through ledger::ContractRegistry like any app's contract (register_asset). Stateless
// and thread-safe.
#pragma once

#include <string>

#include "ledger/contract.h"
#include "vault/schema.h"

namespace folio::node::flows {

constexpr std::string_view kAssetContract = "folio.Asset";
constexpr std::string_view kAssetStateType = "folio.AssetState";
constexpr std::string_view kAssetSchema = "asset";
constexpr size_t kAssetIdBytesMax = 128;

struct AssetState {
  std::string asset_id;
  ledger::Party issuer;
  crypto::PublicKey owner;
  FOLIO_FIELDS(asset_id, issuer, owner)
  friend bool operator==(const AssetState&, const AssetState&) = default;
};

class AssetContract : public ledger::Contract {
 public:
  std::string_view name() const override { return kAssetContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

Result<AssetState> decode_asset(const ledger::TransactionState& state);
ledger::TransactionState asset_output(const AssetState& asset, const ledger::Party& notary);
ledger::Command asset_issue(const crypto::PublicKey& issuer);
ledger::Command asset_move(std::vector<crypto::PublicKey> owners);

// Table asset_states(asset_id TEXT, issuer TEXT, owner_key TEXT hex).
vault::VaultSchema asset_schema();
vault::ContractDescription asset_description();
// The contract into `contracts`, the schema and description into `vault`.
Status register_asset(ledger::ContractRegistry& contracts, vault::VaultRegistry& vault);

}  // namespace folio::node::flows
