// folio.TimeLock: an encumbrance that freezes an asset until a time (the Corda seed,
// "Encumbrances").
//
// A lock state names a time and an owner. It is created as the mutual encumbrance of the asset it
// freezes (Lock, signed by the owner), so the asset can only be consumed together with the lock,
// and the lock can only be consumed (Release, signed by the owner) by a transaction whose time
// window starts at or after the lock's time; the notary guarantees that window. Thread-safe
// (stateless).
#pragma once

#include "ledger/contract.h"

namespace folio::contracts {

constexpr std::string_view kTimeLockContract = "folio.TimeLock";

struct TimeLockState {
  ledger::Timestamp until;
  crypto::PublicKey owner;
  FOLIO_FIELDS(until, owner)
  friend bool operator==(const TimeLockState&, const TimeLockState&) = default;
};

class TimeLock : public ledger::Contract {
 public:
  std::string_view name() const override { return kTimeLockContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

// A lock output; the caller sets the mutual encumbrance indexes on it and on the asset.
ledger::TransactionState timelock_output(const TimeLockState& lock, const ledger::Party& notary);
ledger::Command timelock_lock(const crypto::PublicKey& owner);
ledger::Command timelock_release(const crypto::PublicKey& owner);

}  // namespace folio::contracts
