#include "contracts/privacy_test_ledger.h"

#include "base/assert.h"

namespace folio::contracts {

crypto::PrivateKey PrivacyTestLedger::key(std::string_view name) {
  crypto::Hash256 seed = crypto::sha256(as_bytes(name));
  return crypto::PrivateKey::ed25519(seed);
}

PrivacyTestLedger::PrivacyTestLedger() : notary_key_(key("notary")), mint_(key("mint")) {
  notary_ = ledger::Party{"O=Notary,L=London,C=GB", notary_key_.public_key()};
  Status s = registry_.add(std::make_unique<SMet>());
  FOLIO_ASSERT(s.ok());
  s = registry_.add(std::make_unique<SVote>());
  FOLIO_ASSERT(s.ok());
  s = registry_.add(std::make_unique<CsCoin>(mint_.public_key()));
  FOLIO_ASSERT(s.ok());
}

ledger::SignedTransaction PrivacyTestLedger::sign(
    const ledger::WireTransaction& tx, const std::vector<const crypto::PrivateKey*>& keys) const {
  ledger::SignedTransaction stx{tx, {}};
  const ledger::TxId id = tx.id();
  for (const crypto::PrivateKey* k : keys)
    stx.signatures.push_back(ledger::sign_transaction(*k, id));
  return stx;
}

ledger::Verdict PrivacyTestLedger::verify(
    const ledger::WireTransaction& tx, const std::vector<const crypto::PrivateKey*>& keys) const {
  return ledger::verify_transaction(sign(tx, keys), states_, attachments_, registry_);
}

ledger::Verdict PrivacyTestLedger::verify_signed(const ledger::SignedTransaction& stx) const {
  return ledger::verify_transaction(stx, states_, attachments_, registry_);
}

Result<ledger::LedgerTransaction> PrivacyTestLedger::resolve(
    const ledger::WireTransaction& tx) const {
  return ledger::resolve(tx, tx.id(), states_, attachments_);
}

std::vector<ledger::StateAndRef> PrivacyTestLedger::commit(
    const ledger::WireTransaction& tx, const std::vector<const crypto::PrivateKey*>& keys,
    ledger::Verdict* verdict) {
  *verdict = verify(tx, keys);
  std::vector<ledger::StateAndRef> out;
  if (!verdict->ok()) return out;
  const ledger::TxId id = tx.id();
  states_.add_outputs(id, tx);
  for (uint32_t i = 0; i < tx.outputs.size(); ++i)
    out.push_back(ledger::StateAndRef{tx.outputs[i], {id, i}});
  return out;
}

}  // namespace folio::contracts
