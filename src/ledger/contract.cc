#include "ledger/contract.h"

namespace folio::ledger {

Status ContractRegistry::add(std::unique_ptr<Contract> contract) {
  FOLIO_ASSERT(contract != nullptr);
  std::string name(contract->name());
  if (contracts_.count(name) > 0)
    return make_error(ErrorCode::kConflict, "contract " + name + " is already registered");
  contracts_.emplace(std::move(name), std::move(contract));
  return ok_status();
}

const Contract* ContractRegistry::find(std::string_view contract) const {
  auto it = contracts_.find(contract);
  return it == contracts_.end() ? nullptr : it->second.get();
}

Result<const Contract*> ContractRegistry::find(std::string_view contract,
                                               const LedgerTransaction&) const {
  const Contract* c = find(contract);
  if (c == nullptr)
    return make_error(ErrorCode::kNotFound, "no code for contract " + std::string(contract));
  return c;
}

}  // namespace folio::ledger
