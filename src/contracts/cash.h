// folio.Cash: fiat-style cash as fungible, issued assets (the Corda seed, "Assets and
// obligations").
//
// A CashState holds an Amount<Issued<Currency>>: an integer quantity of minor units (pennies) of a
// currency, issued by a party under an opaque reference, owned by a (possibly compound) key. Two
// states are fungible only if their whole Issued token matches.
//
// Rules, applied per issued token, over the inputs and outputs of folio.Cash:
//   Issue  no inputs of that token; outputs sum to more than zero; the issuer signs.
//   Move   inputs sum to outputs; every input's owner signs a Move command.
//   Exit   inputs sum to outputs plus the exited amount; the issuer and every input owner sign it.
// No zero-quantity states, no overflow, no unknown commands. Thread-safe (stateless).
#pragma once

#include "ledger/contract.h"

namespace folio::contracts {

constexpr std::string_view kCashContract = "folio.Cash";
constexpr size_t kIssuerReferenceBytesMax = 64;

struct PartyAndReference {
  ledger::Party party;
  Bytes reference;  // opaque to the platform: an account number, a vault location
  FOLIO_FIELDS(party, reference)
  friend bool operator==(const PartyAndReference&, const PartyAndReference&) = default;
  friend auto operator<=>(const PartyAndReference& a, const PartyAndReference& b) {
    return codec::encode_to_bytes(a) <=> codec::encode_to_bytes(b);
  }
};

struct IssuedCurrency {
  PartyAndReference issuer;
  std::string currency;  // ISO 4217 code, three capital letters
  FOLIO_FIELDS(issuer, currency)
  friend bool operator==(const IssuedCurrency&, const IssuedCurrency&) = default;
  Status check_canonical() const;
};

struct CashAmount {
  uint64_t quantity = 0;  // minor units
  IssuedCurrency token;
  FOLIO_FIELDS(quantity, token)
  friend bool operator==(const CashAmount&, const CashAmount&) = default;
};

struct CashState {
  CashAmount amount;
  crypto::PublicKey owner;
  FOLIO_FIELDS(amount, owner)
  friend bool operator==(const CashState&, const CashState&) = default;
};

struct CashExit {
  CashAmount amount;
  FOLIO_FIELDS(amount)
};

class Cash : public ledger::Contract {
 public:
  std::string_view name() const override { return kCashContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

// Builders for client code and tests.
ledger::TransactionState cash_output(const CashAmount& amount, const crypto::PublicKey& owner,
                                     const ledger::Party& notary);
ledger::Command cash_issue(const crypto::PublicKey& issuer);
ledger::Command cash_move(std::vector<crypto::PublicKey> owners);
ledger::Command cash_exit(const CashAmount& amount, std::vector<crypto::PublicKey> signers);
Result<CashState> decode_cash(const ledger::TransactionState& state);

}  // namespace folio::contracts
