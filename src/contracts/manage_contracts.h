// folio.ManageContracts: the system contract through which anyone deploys a WebAssembly contract
// (the Chainspace seed §VI-A, "Smart-contract management"; ARCHITECTURE.md §2).
//
// Objects (the state data is the canonical encoding of McObject):
//   McToken     the singleton that serialises deployments; created once by the network operator.
//   McContract  a deployed contract: its name, version and the attachment carrying its checker.
//   McMapping   how the contract's objects map to shards: phi(ref) = H(ref) mod shard_count.
// Commands:
//   init    no MC inputs; one output, a token with sequence 0; the operator signs.
//   create  params McCreate{name, attachment, shard_count}; the only MC input is the token; the MC
//           outputs are exactly [token with sequence + 1, McContract, McMapping] matching the
//           params; the attachment is attached to the transaction, declares `name`, and its checker
//           was imported and validated by this node's wasm runtime (so a binary the sandbox
//           refuses can never be deployed). Anyone may create (Chainspace is open).
// The seed's simple version has no update procedure; neither has this one. It cannot see earlier
// deployments, so name uniqueness is a matter for the vault that tracks McContract objects.
// Thread-safe for concurrent verify once constructed; `code` must outlive the contract.
#pragma once

#include <variant>

#include "ledger/contract.h"
#include "wasm/provider.h"

namespace folio::contracts {

constexpr std::string_view kManageContracts = "folio.ManageContracts";
constexpr uint32_t kShardCountMax = 1024;

struct McToken {
  uint64_t sequence = 0;
  FOLIO_FIELDS(sequence)
  friend bool operator==(const McToken&, const McToken&) = default;
};
struct McContract {
  std::string name;
  std::string version;
  ledger::AttachmentId attachment;
  FOLIO_FIELDS(name, version, attachment)
  friend bool operator==(const McContract&, const McContract&) = default;
};
struct McMapping {
  std::string contract;
  uint32_t shard_count = 1;
  FOLIO_FIELDS(contract, shard_count)
  friend bool operator==(const McMapping&, const McMapping&) = default;
};
using McObject = std::variant<McToken, McContract, McMapping>;

struct McCreate {
  std::string name;
  std::string version;
  ledger::AttachmentId attachment;
  uint32_t shard_count = 1;
  FOLIO_FIELDS(name, version, attachment, shard_count)
};

class ManageContracts : public ledger::Contract {
 public:
  ManageContracts(crypto::PublicKey operator_key, const wasm::WasmContractProvider* code)
      : operator_(std::move(operator_key)), code_(code) {}
  std::string_view name() const override { return kManageContracts; }
  Status verify(const ledger::LedgerTransaction& tx) const override;

 private:
  crypto::PublicKey operator_;
  const wasm::WasmContractProvider* code_;
};

ledger::TransactionState mc_state(const McObject& object, const ledger::Party& notary);
ledger::Command mc_init(const crypto::PublicKey& operator_key);
// `creator` signs (anyone may create; every command needs a signer).
ledger::Command mc_create(const McCreate& params, const crypto::PublicKey& creator);

}  // namespace folio::contracts
