// A ledger DSL for tests, after Corda's: build transactions fluently against a small in-memory
// ledger and assert that they verify, or fail for an exact reason.
//
//   LedgerDsl ledger;
//   ledger.transaction()
//       .output("alice's cash", cash_output(gbp(100), ledger.key("alice").public_key(),
//       ledger.notary())) .command(cash_issue(ledger.key("bank").public_key())) .verifies();
//   ledger.transaction().input("alice's
//   cash").output(...).command(cash_move({...})).fails_with("not conserved");
//
// Every transaction runs the whole pipeline (ledger::verify_transaction). Keys are derived from
// their names, and transactions are signed automatically by every known key that a command names
// (a compound signer is signed by its known leaves), unless a test says otherwise. A transaction
// that verifies is recorded: its outputs become resolvable inputs, under their labels.
// Test-only; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "contracts/native.h"
#include "ledger/verify.h"

namespace folio::testing {

class LedgerDsl;

class TxDsl {
 public:
  explicit TxDsl(LedgerDsl& ledger);

  TxDsl& input(std::string_view label);
  TxDsl& input(const ledger::StateRef& ref);
  TxDsl& reference(std::string_view label);
  TxDsl& output(ledger::TransactionState state);
  TxDsl& output(std::string label, ledger::TransactionState state);
  TxDsl& command(ledger::Command command);
  // Adds the attachment to the ledger's attachment store and its id to the transaction.
  TxDsl& attachment(const ledger::Attachment& attachment);
  TxDsl& time_window(ledger::TimeWindow window);
  TxDsl& notary(std::optional<ledger::Party> notary);
  // Do not sign with this key even if a command names it.
  TxDsl& without_signature_of(std::string_view key_name);
  // Also sign with this key, whether or not a command names it.
  TxDsl& signed_by(std::string_view key_name);
  // Change the transaction freely before signing (for tampering tests).
  TxDsl& tweak(std::function<void(ledger::WireTransaction&)> change);
  TxDsl& allow_missing(const crypto::PublicKey& key);

  ledger::WireTransaction wire() const;
  ledger::SignedTransaction signed_transaction() const;
  ledger::Verdict verdict() const;

  // gtest assertions. verifies() also records the transaction in the ledger and returns its id.
  ledger::TxId verifies();
  void fails_with(std::string_view expected_substring);
  void fails_with(ledger::Rule rule, std::string_view expected_substring = "");

 private:
  LedgerDsl& ledger_;
  ledger::WireTransaction tx_;
  std::vector<std::string> output_labels_;
  std::vector<std::string> unsigned_by_;
  std::vector<std::string> extra_signers_;
  std::vector<std::function<void(ledger::WireTransaction&)>> tweaks_;
  std::vector<crypto::PublicKey> allowed_missing_;
};

class LedgerDsl {
 public:
  LedgerDsl();

  // A key derived from its name; the same name always gives the same key.
  const crypto::PrivateKey& key(std::string_view name);
  const crypto::PublicKey& public_key(std::string_view name) { return key(name).public_key(); }
  // A party named "O=<name>,L=London,C=GB" whose key is key(name).
  ledger::Party party(std::string_view name);
  const ledger::Party& notary() const { return notary_; }

  TxDsl transaction() { return TxDsl(*this); }
  // The labelled output of a recorded transaction.
  ledger::StateRef ref(std::string_view label) const;

  ledger::ContractRegistry& registry() { return registry_; }
  ledger::MapStateLoader& states() { return states_; }
  ledger::MapAttachmentLoader& attachments() { return attachments_; }
  // A private key for a known public key, or null.
  const crypto::PrivateKey* private_key_for(const crypto::PublicKey& key) const;
  // A fresh salt for each transaction, deterministic across runs.
  ledger::PrivacySalt next_salt();
  void record(const ledger::TxId& id, const ledger::WireTransaction& tx,
              const std::vector<std::string>& labels);

 private:
  std::map<std::string, crypto::PrivateKey, std::less<>> keys_;
  std::map<crypto::PublicKey, std::string> names_by_key_;
  std::map<std::string, ledger::StateRef, std::less<>> labels_;
  ledger::ContractRegistry registry_;
  ledger::MapStateLoader states_;
  ledger::MapAttachmentLoader attachments_;
  ledger::Party notary_;
  uint64_t salt_counter_ = 0;
};

}  // namespace folio::testing
