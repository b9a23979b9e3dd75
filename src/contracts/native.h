// Registration of the platform's native contracts into a registry, with the network-level settings
// some of them need. Later issues add their contracts here (SMet, SVote, ManageContracts).
#pragma once

#include "ledger/contract.h"

namespace folio::contracts {

struct NativeContractsConfig {
  crypto::PublicKey cscoin_mint_authority;
};

Status register_native_contracts(ledger::ContractRegistry& registry,
                                 const NativeContractsConfig& config);

}  // namespace folio::contracts
