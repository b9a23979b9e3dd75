// The contract interface (ARCHITECTURE.md §2) and the registry of native contracts.
//
// A contract is a pure, deterministic checker: given the whole LedgerTransaction it accepts, or
// rejects with a reason that names the rule and the component. It must not throw, read the clock,
// the disk or the network, or keep state between calls. `verify` may be called concurrently.
//
// ContractProvider answers "which code runs contract X for this transaction?"; the registry of
// native contracts is one provider, and the WebAssembly runtime (attachments carrying code)
// another.
#pragma once

#include <map>
#include <memory>
#include <string_view>

#include "ledger/ledger_transaction.h"

namespace folio::ledger {

class Contract {
 public:
  virtual ~Contract() = default;
  virtual std::string_view name() const = 0;
  // OK to accept; an Error with ErrorCode::kVerification and a reason to reject.
  [[nodiscard]] virtual Status verify(const LedgerTransaction& tx) const = 0;
  // The keys that must agree to any change to `state` that its contract does not check itself (a
  // notary change). Contracts that do not say are never moved to another notary.
  [[nodiscard]] virtual Result<std::vector<PublicKey>> participants(
      const TransactionState& state) const {
    (void)state;
    return make_error(ErrorCode::kUnsupported,
                      "contract " + std::string(name()) + " does not declare participants");
  }
};

// Rejection helper for contracts: Error{kVerification, reason}.
inline Error reject(std::string reason) {
  return make_error(ErrorCode::kVerification, std::move(reason));
}

class ContractProvider {
 public:
  virtual ~ContractProvider() = default;
  // The code that governs `contract` in `tx`, or kNotFound.
  virtual Result<const Contract*> find(std::string_view contract,
                                       const LedgerTransaction& tx) const = 0;
};

// Native contracts by name. Not thread-safe while adding; safe for concurrent lookups after.
class ContractRegistry : public ContractProvider {
 public:
  // Fails if a contract of that name is already registered.
  Status add(std::unique_ptr<Contract> contract);
  const Contract* find(std::string_view contract) const;
  Result<const Contract*> find(std::string_view contract,
                               const LedgerTransaction& tx) const override;

 private:
  std::map<std::string, std::unique_ptr<Contract>, std::less<>> contracts_;
};

}  // namespace folio::ledger
