// The cash app's part of the vault: the folio.Cash description and schema, and coin selection.
//
// Schema "cash", table cash_states: owner_key (hex of the owner's key encoding), currency, issuer
// (the issuing party's name), issuer_key (hex), issuer_ref (the issuer's opaque reference) and
// quantity (minor units). A quantity above 2^63-1 does not fit the INTEGER column: such a state is
// recorded in vault_states but gets no cash_states row, so coin selection never picks it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "contracts/cash.h"
#include "vault/vault.h"

namespace folio::vault {

constexpr std::string_view kCashSchema = "cash";
constexpr std::string_view kCashStateType = "folio.CashState";
// Coin selection gives up past this many coins (kLimitExceeded) rather than build a huge move.
constexpr size_t kSelectedCoinsMax = 500;

VaultSchema cash_schema();
ContractDescription cash_description();
// Adds both to the registry.
Status register_cash(VaultRegistry& registry);

struct CashSelection {
  std::string currency;
  uint64_t amount = 0;  // minor units; more than zero
  // Only coins of this issuer (party key and reference), if given.
  std::optional<contracts::PartyAndReference> issuer;
  // Only coins owned by one of these keys, if any are given.
  std::vector<crypto::PublicKey> owners;
  std::string lock_id;  // the flow that will spend them
  ledger::Timestamp lock_time;
};

struct SelectedCash {
  std::vector<VaultState> coins;
  uint64_t total = 0;   // at least the amount asked for
  uint64_t change = 0;  // total - amount
};

// Picks unconsumed, unlocked folio.Cash coins of the currency that reach the amount, preferring few
// coins (the smallest single coin that covers it, else the largest coins first), and soft-locks
// them under the lock id in the session's transaction. kNotFound (insufficient funds) locks
// nothing; kConflict if another transaction locked a picked coin meanwhile (roll back and retry).
Result<SelectedCash> select_cash(Vault& vault, storage::Session& session,
                                 const CashSelection& selection);

}  // namespace folio::vault
