#include "testing/ledger_dsl.h"

#include <gtest/gtest.h>

#include <set>

namespace folio::testing {

LedgerDsl::LedgerDsl() {
  notary_ = party("Notary");
  Status s = contracts::register_native_contracts(registry_, {public_key("mint")});
  FOLIO_ASSERT(s.ok());
}

const crypto::PrivateKey& LedgerDsl::key(std::string_view name) {
  auto it = keys_.find(name);
  if (it != keys_.end()) return it->second;
  crypto::Hash256 seed =
      crypto::Sha256().update(as_bytes("folio/test-key/")).update(as_bytes(name)).finish();
  crypto::PrivateKey k = crypto::PrivateKey::ed25519(seed);
  names_by_key_[k.public_key()] = std::string(name);
  return keys_.emplace(std::string(name), std::move(k)).first->second;
}

ledger::Party LedgerDsl::party(std::string_view name) {
  return ledger::Party{"O=" + std::string(name) + ",L=London,C=GB", public_key(name)};
}

ledger::StateRef LedgerDsl::ref(std::string_view label) const {
  auto it = labels_.find(label);
  FOLIO_ASSERT(it != labels_.end());
  return it->second;
}

const crypto::PrivateKey* LedgerDsl::private_key_for(const crypto::PublicKey& key) const {
  auto it = names_by_key_.find(key);
  if (it == names_by_key_.end()) return nullptr;
  return &keys_.find(it->second)->second;
}

ledger::PrivacySalt LedgerDsl::next_salt() {
  ++salt_counter_;
  return crypto::Sha256()
      .update(as_bytes("folio/test-salt/"))
      .update(as_bytes(std::to_string(salt_counter_)))
      .finish();
}

void LedgerDsl::record(const ledger::TxId& id, const ledger::WireTransaction& tx,
                       const std::vector<std::string>& labels) {
  states_.add_outputs(id, tx);
  for (uint32_t i = 0; i < labels.size(); ++i)
    if (!labels[i].empty()) labels_[labels[i]] = ledger::StateRef{id, i};
}

TxDsl::TxDsl(LedgerDsl& ledger) : ledger_(ledger) {
  tx_.notary = ledger.notary();
  tx_.salt = ledger.next_salt();
}

TxDsl& TxDsl::input(std::string_view label) { return input(ledger_.ref(label)); }
TxDsl& TxDsl::input(const ledger::StateRef& ref) {
  tx_.inputs.push_back(ref);
  return *this;
}
TxDsl& TxDsl::reference(std::string_view label) {
  tx_.references.push_back(ledger_.ref(label));
  return *this;
}
TxDsl& TxDsl::output(ledger::TransactionState state) { return output("", std::move(state)); }
TxDsl& TxDsl::output(std::string label, ledger::TransactionState state) {
  tx_.outputs.push_back(std::move(state));
  output_labels_.push_back(std::move(label));
  return *this;
}
TxDsl& TxDsl::command(ledger::Command command) {
  tx_.commands.push_back(std::move(command));
  return *this;
}
TxDsl& TxDsl::attachment(const ledger::Attachment& attachment) {
  ledger_.attachments().add(attachment);
  tx_.attachments.push_back(attachment.id);
  return *this;
}
TxDsl& TxDsl::time_window(ledger::TimeWindow window) {
  tx_.time_window = window;
  return *this;
}
TxDsl& TxDsl::notary(std::optional<ledger::Party> notary) {
  tx_.notary = std::move(notary);
  return *this;
}
TxDsl& TxDsl::without_signature_of(std::string_view key_name) {
  unsigned_by_.emplace_back(key_name);
  return *this;
}
TxDsl& TxDsl::signed_by(std::string_view key_name) {
  extra_signers_.emplace_back(key_name);
  return *this;
}
TxDsl& TxDsl::tweak(std::function<void(ledger::WireTransaction&)> change) {
  tweaks_.push_back(std::move(change));
  return *this;
}
TxDsl& TxDsl::allow_missing(const crypto::PublicKey& key) {
  allowed_missing_.push_back(key);
  return *this;
}

ledger::WireTransaction TxDsl::wire() const {
  ledger::WireTransaction tx = tx_;
  for (const auto& t : tweaks_) t(tx);
  return tx;
}

ledger::SignedTransaction TxDsl::signed_transaction() const {
  ledger::SignedTransaction stx;
  stx.tx = wire();
  ledger::TxId id = stx.tx.id();
  std::set<crypto::PublicKey> excluded;
  for (const std::string& name : unsigned_by_) excluded.insert(ledger_.public_key(name));
  std::set<crypto::PublicKey> leaves;
  for (const ledger::Command& c : stx.tx.commands)
    for (const crypto::PublicKey& k : c.signers)
      for (const crypto::PublicKey& leaf : k.leaf_keys()) leaves.insert(leaf);
  for (const std::string& name : extra_signers_) leaves.insert(ledger_.public_key(name));
  for (const crypto::PublicKey& leaf : leaves) {
    if (excluded.count(leaf) > 0) continue;
    if (const crypto::PrivateKey* k = ledger_.private_key_for(leaf))
      stx.signatures.push_back(ledger::sign_transaction(*k, id));
  }
  return stx;
}

ledger::Verdict TxDsl::verdict() const {
  ledger::VerifyOptions options;
  options.allowed_missing_signers = allowed_missing_;
  return ledger::verify_transaction(signed_transaction(), ledger_.states(), ledger_.attachments(),
                                    ledger_.registry(), options);
}

ledger::TxId TxDsl::verifies() {
  ledger::SignedTransaction stx = signed_transaction();
  ledger::VerifyOptions options;
  options.allowed_missing_signers = allowed_missing_;
  ledger::Verdict v = ledger::verify_transaction(stx, ledger_.states(), ledger_.attachments(),
                                                 ledger_.registry(), options);
  EXPECT_TRUE(v.ok()) << "expected the transaction to verify, but: " << v.describe();
  ledger::TxId id = stx.id();
  if (v.ok()) ledger_.record(id, stx.tx, output_labels_);
  return id;
}

void TxDsl::fails_with(std::string_view expected_substring) {
  ledger::Verdict v = verdict();
  EXPECT_FALSE(v.ok()) << "expected a failure mentioning '" << expected_substring
                       << "', but it verified";
  EXPECT_NE(v.describe().find(expected_substring), std::string::npos)
      << "expected a failure mentioning '" << expected_substring << "', got: " << v.describe();
}

void TxDsl::fails_with(ledger::Rule rule, std::string_view expected_substring) {
  ledger::Verdict v = verdict();
  EXPECT_EQ(v.rule, rule) << "expected rule '" << ledger::to_string(rule)
                          << "', got: " << v.describe();
  EXPECT_NE(v.describe().find(expected_substring), std::string::npos)
      << "expected a failure mentioning '" << expected_substring << "', got: " << v.describe();
}

}  // namespace folio::testing
