// What the vault knows about the apps' states: per-contract descriptions (who participates, what
// the state's type is called) and the relational schemas that contracts declare for their states.
//
// A VaultSchema is a table of typed columns, filled from each relevant state by the schema's own
// function (nullopt when the state is not of that schema), so states can be queried by their
// content. The node fills one VaultRegistry at start, from every app it loads (the platform's cash
// app is registered the same way as a user's; nothing here assumes a fixed list). Not thread-safe
// while adding; safe for concurrent const use afterwards.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/contract.h"
#include "storage/database.h"

namespace folio::vault {

enum class ColumnType : uint8_t { kInteger, kReal, kText, kBlob };
std::string_view sql_type(ColumnType type);

struct ColumnSpec {
  std::string name;  // lower-case identifier: [a-z][a-z0-9_]*, at most 48 characters
  ColumnType type = ColumnType::kText;
  bool indexed = false;
};

struct VaultSchema {
  std::string name;   // e.g. "cash"; its migrations run under the component "vault.schema.<name>"
  int64_t version = 1;
  std::string table;  // lower-case identifier, not one of the vault's own tables
  std::vector<ColumnSpec> columns;
  // The state's column values in the order of `columns` (NULL allowed), or nullopt when the state
  // does not belong to this schema. Must be deterministic and must not throw.
  std::function<std::optional<std::vector<storage::Value>>(const ledger::TransactionState&)> map;
  // Version 1 creates the table from `columns` (with tx_id, output_index and the indexes). A schema
  // at version n > 1 supplies migrations 2..n here that bring an older table to `columns`.
  std::vector<storage::Migration> upgrades;

  const ColumnSpec* find_column(std::string_view column) const;
  // The migrations 1..version of this schema.
  std::vector<storage::Migration> migrations() const;
};

// How the vault reads one contract's states.
struct ContractDescription {
  std::string contract;  // e.g. "folio.Cash"
  // The keys with an interest in the state; a state is relevant to a node holding one of them.
  std::function<Result<std::vector<crypto::PublicKey>>(const ledger::TransactionState&)>
      participants;
  // The state type's name, e.g. "folio.CashState".
  std::string state_type;
};

class VaultRegistry {
 public:
  // Fails (kInvalidArgument) on a bad or reserved identifier, a duplicate name or table, a column
  // named twice, an upgrade list that does not match the version, or a missing map function.
  Status add_schema(VaultSchema schema);
  // Fails on a duplicate contract or a missing participants function.
  Status add_contract(ContractDescription description);
  // Contracts without a description are asked through this registry's Contract::participants (the
  // state type is then the contract name). May be null. The registry must outlive this one.
  void set_fallback(const ledger::ContractRegistry* contracts) { fallback_ = contracts; }

  const std::vector<VaultSchema>& schemas() const { return schemas_; }
  const VaultSchema* find_schema(std::string_view name) const;

  // The participants and state type of a state; kNotFound for a contract nobody described.
  struct Described {
    std::vector<crypto::PublicKey> participants;
    std::string state_type;
  };
  Result<Described> describe(const ledger::TransactionState& state) const;

 private:
  std::vector<VaultSchema> schemas_;
  std::map<std::string, ContractDescription, std::less<>> contracts_;
  const ledger::ContractRegistry* fallback_ = nullptr;
};

// Whether `name` is a lower-case SQL identifier the vault accepts for tables and columns.
bool is_valid_identifier(std::string_view name);

}  // namespace folio::vault
