// The two PrepareChecks a shard runs (ARCHITECTURE.md §3), both over a command's PrepareBinding:
//
//  - NonValidatingCheck: uniqueness and time window only (the object table does those), but the
//    command must be bound to T: a FilteredTransaction whose branches verify against T's id reveals
//    exactly the command's inputs, references, time window and output count, its signer lists are
//    fulfilled by valid signatures over the id, and every input and reference arrives as a
//    ProvedState whose branch reaches the id of the transaction that produced it.
//  - ValidatingCheck: the whole transaction, whose id is T, matching the command, with the proved
//    inputs and references resolved into a LedgerTransaction and run through src/ledger's pipeline
//    (structure, constraints, signatures, every contract; Chainspace §V Theorem 3: a shard checks
//    the contracts of the objects it manages, and here every shard checks all of them). The
//    notary's own signature may be missing: it is what the certificate replaces.
//
// Both refuse an unbound PrepareCommand. Untrusted input: every failure is a reason string, never
// an assertion. Stateless apart from the references given at construction; thread-safe for
// concurrent const use if the providers are.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/contract.h"
#include "sbac/object_table.h"

namespace folio::sbac {

// Binding checks shared by both modes: proved states for every input and reference, in order.
std::optional<std::string> check_proved_states(const PrepareCommand& command,
                                               const PrepareBinding& binding);

class NonValidatingCheck final : public PrepareCheck {
 public:
  std::optional<std::string> reject(const PrepareCommand& command, ShardId shard) const override;
  std::optional<std::string> reject_bound(const PrepareCommand& command,
                                          const PrepareBinding* binding,
                                          ShardId shard) const override;
};

class ValidatingCheck final : public PrepareCheck {
 public:
  // REQUIRES: contracts and attachments outlive the check.
  ValidatingCheck(const ledger::ContractProvider& contracts,
                  const ledger::AttachmentLoader& attachments)
      : contracts_(contracts), attachments_(attachments) {}
  std::optional<std::string> reject(const PrepareCommand& command, ShardId shard) const override;
  std::optional<std::string> reject_bound(const PrepareCommand& command,
                                          const PrepareBinding* binding,
                                          ShardId shard) const override;

 private:
  const ledger::ContractProvider& contracts_;
  const ledger::AttachmentLoader& attachments_;
};

// Client side: the binding for each mode, from the signed transaction and the transactions that
// produced its inputs and references (looked up by id; each must be there).
PrepareBinding bind_non_validating(const ledger::SignedTransaction& stx,
                                   const std::vector<ledger::ProvedState>& proved);
PrepareBinding bind_validating(const ledger::SignedTransaction& stx,
                               const std::vector<ledger::ProvedState>& proved);
// The PrepareCommand naming T's inputs, references, outputs and time window (sorted as required).
PrepareCommand prepare_command_for(const ledger::WireTransaction& tx, const ledger::TxId& id,
                                   Sequence session, std::optional<uint32_t> dummy_slot);

}  // namespace folio::sbac
