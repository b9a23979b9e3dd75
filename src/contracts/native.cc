#include "contracts/native.h"

#include "contracts/cash.h"
#include "contracts/cscoin.h"
#include "contracts/timelock.h"

namespace folio::contracts {

Status register_native_contracts(ledger::ContractRegistry& registry,
                                 const NativeContractsConfig& config) {
  FOLIO_TRY(registry.add(std::make_unique<Cash>()));
  FOLIO_TRY(registry.add(std::make_unique<CsCoin>(config.cscoin_mint_authority)));
  FOLIO_TRY(registry.add(std::make_unique<TimeLock>()));
  return ok_status();
}

}  // namespace folio::contracts
