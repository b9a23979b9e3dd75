// A small in-memory ledger for the privacy contracts' tests and benchmark: it signs a
// WireTransaction with the given keys, runs the whole ledger::verify_transaction pipeline against
// its registry (SMet, SVote, CSCoin) and, when asked, records the outputs so that they can be
// consumed. Test and benchmark only; not thread-safe.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "contracts/cscoin.h"
#include "contracts/smet.h"
#include "contracts/svote.h"
#include "ledger/verify.h"

namespace folio::contracts {

class PrivacyTestLedger {
 public:
  PrivacyTestLedger();

  // Ed25519 keys derived from a name, so tests read as stories.
  static crypto::PrivateKey key(std::string_view name);
  const ledger::Party& notary() const { return notary_; }
  const crypto::PrivateKey& mint() const { return mint_; }

  ledger::SignedTransaction sign(const ledger::WireTransaction& tx,
                                 const std::vector<const crypto::PrivateKey*>& keys) const;
  ledger::Verdict verify(const ledger::WireTransaction& tx,
                         const std::vector<const crypto::PrivateKey*>& keys) const;
  // The whole pipeline on an already signed transaction.
  ledger::Verdict verify_signed(const ledger::SignedTransaction& stx) const;
  // Resolves `tx` against the recorded states (for timing a checker alone).
  Result<ledger::LedgerTransaction> resolve(const ledger::WireTransaction& tx) const;
  // Verifies and, if the verdict (stored in `verdict`) accepts, records the outputs and returns
  // them as consumable states; otherwise returns nothing.
  std::vector<ledger::StateAndRef> commit(const ledger::WireTransaction& tx,
                                          const std::vector<const crypto::PrivateKey*>& keys,
                                          ledger::Verdict* verdict);
  const ledger::ContractRegistry& registry() const { return registry_; }

 private:
  ledger::ContractRegistry registry_;
  ledger::MapStateLoader states_;
  ledger::MapAttachmentLoader attachments_;
  crypto::PrivateKey notary_key_;
  crypto::PrivateKey mint_;
  ledger::Party notary_;
};

}  // namespace folio::contracts
