#include "vault/schema.h"

#include <set>

namespace folio::vault {
namespace {

constexpr size_t kIdentifierCharsMax = 48;

// Words that cannot name a column or table on either backend without quoting, and the vault's own
// column and table names.
const std::set<std::string, std::less<>>& reserved_words() {
  static const std::set<std::string, std::less<>> words = {
      "all", "and", "any", "as", "asc", "between", "by", "case", "check", "collate", "column",
      "constraint", "create", "cross", "current_date", "current_time", "current_timestamp",
      "default", "delete", "desc", "distinct", "drop", "else", "end", "except", "exists", "false",
      "for", "foreign", "from", "full", "group", "having", "in", "index", "inner", "insert",
      "intersect", "into", "is", "join", "key", "left", "like", "limit", "natural", "not", "null",
      "offset", "on", "or", "order", "outer", "primary", "references", "right", "select", "set",
      "table", "then", "to", "true", "union", "unique", "update", "user", "using", "values",
      "when", "where", "with", "tx_id", "output_index", "vault_states", "vault_participants",
      "schema_migrations"};
  return words;
}

}  // namespace

std::string_view sql_type(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return "INTEGER";
    case ColumnType::kReal:
      return "REAL";
    case ColumnType::kText:
      return "TEXT";
    case ColumnType::kBlob:
      return "BLOB";
  }
  return "TEXT";
}

bool is_valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > kIdentifierCharsMax) return false;
  if (!(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return !reserved_words().contains(name);
}

const ColumnSpec* VaultSchema::find_column(std::string_view column) const {
  for (const ColumnSpec& spec : columns)
    if (spec.name == column) return &spec;
  return nullptr;
}

std::vector<storage::Migration> VaultSchema::migrations() const {
  std::string create = "CREATE TABLE " + table +
                       " (tx_id TEXT NOT NULL, output_index INTEGER NOT NULL";
  for (const ColumnSpec& column : columns)
    create += ", " + column.name + " " + std::string(sql_type(column.type));
  create += ", PRIMARY KEY (tx_id, output_index), FOREIGN KEY (tx_id, output_index) REFERENCES "
            "vault_states (tx_id, output_index))";
  storage::Migration first{1, "create " + table + " for vault schema " + name, {create}};
  for (const ColumnSpec& column : columns)
    if (column.indexed)
      first.statements.push_back("CREATE INDEX " + table + "_" + column.name + " ON " + table +
                                 " (" + column.name + ")");
  std::vector<storage::Migration> out = {std::move(first)};
  out.insert(out.end(), upgrades.begin(), upgrades.end());
  return out;
}

Status VaultRegistry::add_schema(VaultSchema schema) {
  auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "vault schema " + schema.name + ": " + why);
  };
  if (!is_valid_identifier(schema.name)) return invalid("bad schema name");
  if (!is_valid_identifier(schema.table)) return invalid("bad table name '" + schema.table + "'");
  if (schema.version < 1) return invalid("version must be at least 1");
  if (static_cast<int64_t>(schema.upgrades.size()) != schema.version - 1)
    return invalid("a schema at version n needs upgrades 2..n");
  for (size_t i = 0; i < schema.upgrades.size(); ++i)
    if (schema.upgrades[i].version != static_cast<int64_t>(i + 2))
      return invalid("upgrades must be numbered 2, 3, ...");
  if (!schema.map) return invalid("no map function");
  if (schema.columns.empty()) return invalid("no columns");
  std::set<std::string, std::less<>> names;
  for (const ColumnSpec& column : schema.columns) {
    if (!is_valid_identifier(column.name)) return invalid("bad column name '" + column.name + "'");
    if (!names.insert(column.name).second) return invalid("column " + column.name + " twice");
  }
  for (const VaultSchema& existing : schemas_) {
    if (existing.name == schema.name) return invalid("registered twice");
    if (existing.table == schema.table)
      return invalid("table " + schema.table + " already used by schema " + existing.name);
  }
  schemas_.push_back(std::move(schema));
  return ok_status();
}

Status VaultRegistry::add_contract(ContractDescription description) {
  if (description.contract.empty() || !description.participants)
    return make_error(ErrorCode::kInvalidArgument,
                      "vault: a contract description needs a name and a participants function");
  if (description.state_type.empty()) description.state_type = description.contract;
  std::string name = description.contract;
  if (!contracts_.emplace(std::move(name), std::move(description)).second)
    return make_error(ErrorCode::kInvalidArgument, "vault: contract described twice");
  return ok_status();
}

const VaultSchema* VaultRegistry::find_schema(std::string_view name) const {
  for (const VaultSchema& schema : schemas_)
    if (schema.name == name) return &schema;
  return nullptr;
}

Result<VaultRegistry::Described> VaultRegistry::describe(
    const ledger::TransactionState& state) const {
  auto it = contracts_.find(state.contract);
  if (it != contracts_.end()) {
    FOLIO_ASSIGN_OR_RETURN(std::vector<crypto::PublicKey> keys, it->second.participants(state));
    return Described{std::move(keys), it->second.state_type};
  }
  if (fallback_ != nullptr) {
    if (const ledger::Contract* contract = fallback_->find(state.contract)) {
      FOLIO_ASSIGN_OR_RETURN(std::vector<crypto::PublicKey> keys, contract->participants(state));
      return Described{std::move(keys), state.contract};
    }
  }
  return make_error(ErrorCode::kNotFound, "vault: no description of contract " + state.contract);
}

}  // namespace folio::vault
