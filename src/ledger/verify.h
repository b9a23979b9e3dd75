// The verification pipeline (ARCHITECTURE.md §1): structure, encumbrances, constraints, time
// window, signatures against the union of command signers, then every contract that any input,
// reference, output or command names. Notary-change transactions follow their own rules instead of
// contracts.
//
// Every function here is pure: it never throws and never reads the clock, the disk or the network.
// The result is a Verdict naming the rule that failed and, in its message, the component.
#pragma once

#include <span>
#include <string>

#include "ledger/contract.h"

namespace folio::ledger {

enum class Rule : uint8_t {
  kOk = 0,
  // structure
  kMalformedComponent,  // what the decoder would refuse, in a transaction built in memory
  kEmptyTransaction,
  kMissingNotary,
  kDuplicateInput,
  kDuplicateReference,
  kInputIsAlsoReference,
  kInputNotaryMismatch,
  kOutputNotaryMismatch,
  kDuplicateAttachment,
  kUnresolvedDependency,
  // encumbrances
  kEncumbranceOutOfRange,
  kEncumbranceSelf,
  kEncumbranceNotaryMismatch,
  kEncumbranceNotMutual,
  kEncumbranceNotConsumed,
  // constraints
  kConstraintNoAttachment,
  kConstraintAmbiguousAttachment,
  kConstraintHashMismatch,
  kConstraintSignatureUnfulfilled,
  // time
  kTimeWindowMalformed,
  // signatures
  kInvalidSignature,
  kDuplicateSignature,
  kMissingSignature,
  // contracts
  kUnknownContract,
  kContractRejected,
  kNotaryChangeMalformed,
};
std::string_view to_string(Rule rule);

struct [[nodiscard]] Verdict {
  Rule rule = Rule::kOk;
  std::string message;  // which rule failed on which component, for a user

  bool ok() const { return rule == Rule::kOk; }
  static Verdict accept() { return {}; }
  static Verdict fail(Rule rule, std::string message) { return Verdict{rule, std::move(message)}; }
  // "contract rejected: folio.Cash: input 0: ..."
  std::string describe() const;
};

// The platform's notary-change command: the only command of a notary-change transaction. Its params
// are the canonical encoding of the new notary Party; its signers must include every participant of
// every input, as each input's contract declares them (Contract::participants).
constexpr std::string_view kNotaryChangeContract = "folio.NotaryChange";
constexpr std::string_view kNotaryChangeCommand = "Change";
bool is_notary_change(const LedgerTransaction& tx);

// Structure, encumbrances, constraints, time window and contracts (no signatures).
Verdict verify_ledger(const LedgerTransaction& tx, const ContractProvider& contracts);

// Every signature is valid for the id, none repeats, and every required signer's key is fulfilled,
// except the keys in `allowed_missing` (for example the notary's, before notarisation).
Verdict verify_signatures(const SignedTransaction& stx, const TxId& id,
                          std::span<const PublicKey> allowed_missing = {});

struct VerifyOptions {
  std::vector<PublicKey> allowed_missing_signers;
};

// The whole pipeline on a signed transaction: id, resolution, structure, encumbrances, constraints,
// time window, signatures, contracts. Resolution failures are reported as kUnresolvedDependency.
Verdict verify_transaction(const SignedTransaction& stx, const StateLoader& states,
                           const AttachmentLoader& attachments, const ContractProvider& contracts,
                           const VerifyOptions& options = {});

}  // namespace folio::ledger
