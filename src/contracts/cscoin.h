// folio.CSCoin: Chainspace's value-tracking contract (the Chainspace seed §VI-A).
//
// Accounts are objects that only the holder of the key named in them can spend from. Commands:
//   createAccount  no CSCoin inputs; one output, a new account with balance 0; its owner signs
//                  (proving possession of the key).
//   issue          the fixed initial supply: no CSCoin inputs; outputs are accounts whose balances
//                  sum to the supply named in the params; the mint authority given to the contract
//                  at registration (a network parameter) signs.
//   transfer       inputs [from, to], outputs [from', to'] with the same owners; balances move by
//                  `amount`; the from-account's owner signs (over the whole transaction, so over
//                  the inputs and the amount). The params are the transfer's public returns: the
//                  value flow {from, to, amount}, which other contracts in the same transaction
//                  read to act on payments (Chainspace's composition through dependency traces).
// One CSCoin command per transaction. Thread-safe (no mutable state).
#pragma once

#include "ledger/contract.h"

namespace folio::contracts {

constexpr std::string_view kCsCoinContract = "folio.CSCoin";

struct CsCoinAccount {
  crypto::PublicKey owner;
  uint64_t balance = 0;
  FOLIO_FIELDS(owner, balance)
  friend bool operator==(const CsCoinAccount&, const CsCoinAccount&) = default;
};

// The params (and public returns) of transfer.
struct CsCoinValueFlow {
  crypto::PublicKey from;
  crypto::PublicKey to;
  uint64_t amount = 0;
  FOLIO_FIELDS(from, to, amount)
  friend bool operator==(const CsCoinValueFlow&, const CsCoinValueFlow&) = default;
};

struct CsCoinIssue {
  uint64_t supply = 0;
  FOLIO_FIELDS(supply)
};

class CsCoin : public ledger::Contract {
 public:
  explicit CsCoin(crypto::PublicKey mint_authority) : mint_authority_(std::move(mint_authority)) {}
  std::string_view name() const override { return kCsCoinContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;

 private:
  crypto::PublicKey mint_authority_;
};

ledger::TransactionState cscoin_account(const crypto::PublicKey& owner, uint64_t balance,
                                        const ledger::Party& notary);
ledger::Command cscoin_create_account(const crypto::PublicKey& owner);
ledger::Command cscoin_issue(uint64_t supply, const crypto::PublicKey& mint_authority);
ledger::Command cscoin_transfer(const CsCoinValueFlow& flow);
// The value flows that CSCoin transfers in `tx` declare, for composing contracts.
std::vector<CsCoinValueFlow> cscoin_value_flows(const ledger::LedgerTransaction& tx);

}  // namespace folio::contracts
