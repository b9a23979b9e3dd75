#include "vault/cash.h"

#include <limits>

namespace folio::vault {

using storage::Value;

VaultSchema cash_schema() {
  VaultSchema schema;
  schema.name = std::string(kCashSchema);
  schema.version = 1;
  schema.table = "cash_states";
  schema.columns = {{"owner_key", ColumnType::kText, true},
                    {"currency", ColumnType::kText, true},
                    {"issuer", ColumnType::kText, false},
                    {"issuer_key", ColumnType::kText, true},
                    {"issuer_ref", ColumnType::kBlob, false},
                    {"quantity", ColumnType::kInteger, true}};
  schema.map = [](const ledger::TransactionState& state) -> std::optional<std::vector<Value>> {
    if (state.contract != contracts::kCashContract) return std::nullopt;
    Result<contracts::CashState> cash = contracts::decode_cash(state);
    if (!cash.ok()) return std::nullopt;
    if (cash->amount.quantity > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return std::nullopt;
    const contracts::IssuedCurrency& token = cash->amount.token;
    return std::vector<Value>{cash->owner.hex(),
                              token.currency,
                              token.issuer.party.name,
                              token.issuer.party.owning_key.hex(),
                              token.issuer.reference,
                              static_cast<int64_t>(cash->amount.quantity)};
  };
  return schema;
}

ContractDescription cash_description() {
  ContractDescription description;
  description.contract = std::string(contracts::kCashContract);
  description.state_type = std::string(kCashStateType);
  description.participants =
      [](const ledger::TransactionState& state) -> Result<std::vector<crypto::PublicKey>> {
    FOLIO_ASSIGN_OR_RETURN(contracts::CashState cash, contracts::decode_cash(state));
    return std::vector<crypto::PublicKey>{cash.owner};
  };
  return description;
}

Status register_cash(VaultRegistry& registry) {
  FOLIO_TRY(registry.add_contract(cash_description()));
  return registry.add_schema(cash_schema());
}

namespace {

constexpr int64_t kSelectionPageSize = 100;

QueryCriteria spendable(const CashSelection& selection) {
  std::vector<QueryCriteria> all = {
      QueryCriteria::unconsumed(), QueryCriteria::unlocked(),
      QueryCriteria::contract_is(std::string(contracts::kCashContract)),
      QueryCriteria::column_matches(std::string(kCashSchema), "currency", ColumnOp::kEqual,
                                    selection.currency)};
  if (selection.issuer) {
    all.push_back(QueryCriteria::column_matches(std::string(kCashSchema), "issuer_key",
                                                ColumnOp::kEqual,
                                                selection.issuer->party.owning_key.hex()));
    all.push_back(QueryCriteria::column_matches(std::string(kCashSchema), "issuer_ref",
                                                ColumnOp::kEqual, selection.issuer->reference));
  }
  if (!selection.owners.empty()) {
    std::vector<Value> owners;
    for (const crypto::PublicKey& owner : selection.owners) owners.emplace_back(owner.hex());
    all.push_back(
        QueryCriteria::column_in(std::string(kCashSchema), "owner_key", std::move(owners)));
  }
  return QueryCriteria::and_(std::move(all));
}

Result<uint64_t> quantity_of(const VaultState& coin) {
  FOLIO_ASSIGN_OR_RETURN(contracts::CashState cash, contracts::decode_cash(coin.state));
  return cash.amount.quantity;
}

}  // namespace

Result<SelectedCash> select_cash(Vault& vault, storage::Session& session,
                                 const CashSelection& selection) {
  if (selection.amount == 0)
    return make_error(ErrorCode::kInvalidArgument, "select cash: amount must be more than zero");
  if (selection.lock_id.empty())
    return make_error(ErrorCode::kInvalidArgument, "select cash: empty lock id");
  const QueryCriteria candidates = spendable(selection);
  const CustomColumn quantity{std::string(kCashSchema), "quantity"};
  SelectedCash out;

  // One coin if one suffices: the smallest that does, for the least change.
  if (selection.amount <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    Query single;
    single.criteria = candidates && QueryCriteria::column_matches(
                                        std::string(kCashSchema), "quantity",
                                        ColumnOp::kGreaterOrEqual,
                                        static_cast<int64_t>(selection.amount));
    single.page = {1, 1};
    single.sort = {Sort{quantity, false}};
    single.count_total = false;
    FOLIO_ASSIGN_OR_RETURN(Page page, vault.query(session, single));
    if (!page.states.empty()) {
      FOLIO_ASSIGN_OR_RETURN(out.total, quantity_of(page.states[0]));
      out.coins.push_back(std::move(page.states[0]));
    }
  }
  // Otherwise the largest coins first, so as few as possible.
  for (int64_t number = 1; out.coins.empty() || out.total < selection.amount; ++number) {
    Query largest;
    largest.criteria = candidates;
    largest.page = {number, kSelectionPageSize};
    largest.sort = {Sort{quantity, true}};
    largest.count_total = false;
    FOLIO_ASSIGN_OR_RETURN(Page page, vault.query(session, largest));
    for (VaultState& coin : page.states) {
      if (out.total >= selection.amount) break;
      if (out.coins.size() >= kSelectedCoinsMax)
        return make_error(ErrorCode::kLimitExceeded,
                          "select cash: more than " + std::to_string(kSelectedCoinsMax) +
                              " coins would be needed");
      FOLIO_ASSIGN_OR_RETURN(uint64_t q, quantity_of(coin));
      if (q > std::numeric_limits<uint64_t>::max() - out.total)
        return make_error(ErrorCode::kLimitExceeded, "select cash: sum overflows");
      out.total += q;
      out.coins.push_back(std::move(coin));
    }
    if (out.total >= selection.amount) break;
    if (static_cast<int64_t>(page.states.size()) < kSelectionPageSize)
      return make_error(ErrorCode::kNotFound,
                        "select cash: insufficient funds: " + std::to_string(out.total) + " " +
                            selection.currency + " spendable of " +
                            std::to_string(selection.amount) + " asked");
  }
  std::vector<ledger::StateRef> refs;
  for (const VaultState& coin : out.coins) refs.push_back(coin.ref);
  FOLIO_TRY(vault.lock(session, selection.lock_id, refs, selection.lock_time));
  for (VaultState& coin : out.coins) {
    coin.metadata.lock_id = selection.lock_id;
    coin.metadata.lock_time = selection.lock_time;
  }
  out.change = out.total - selection.amount;
  return out;
}

}  // namespace folio::vault
