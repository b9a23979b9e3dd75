#include "ledger/verify.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

namespace folio::ledger {
namespace {

// A set of state refs for the membership checks below, sized when built: a linear scan for the few
// states most transactions hold, a hash set beyond that.
class RefSet {
 public:
  explicit RefSet(size_t size) : hashed_mode_(size > kLinearMax) {
    if (hashed_mode_) {
      hashed_.reserve(size);
    } else {
      small_.reserve(size);
    }
  }
  // False if already present.
  bool insert(const StateRef& ref) {
    if (hashed_mode_) return hashed_.insert(ref).second;
    if (contains(ref)) return false;
    small_.push_back(ref);
    return true;
  }
  bool contains(const StateRef& ref) const {
    if (hashed_mode_) return hashed_.count(ref) > 0;
    return std::find(small_.begin(), small_.end(), ref) != small_.end();
  }

 private:
  static constexpr size_t kLinearMax = 16;
  bool hashed_mode_;
  std::vector<StateRef> small_;
  std::unordered_set<StateRef> hashed_;
};

std::string input_name(const LedgerTransaction& tx, size_t i) {
  return "input " + std::to_string(i) + " (" + tx.inputs[i].ref.describe() + ")";
}

// What the decoder enforces (TransactionState / Command / Party check_canonical), checked again
// here because a transaction can also be built in memory.
Verdict check_well_formed(const LedgerTransaction& tx) {
  // The component's name is only built when it is needed for a message.
  auto malformed = [](std::string what, const Status& s) {
    return Verdict::fail(Rule::kMalformedComponent, what + ": " + s.error().context);
  };
  for (size_t i = 0; i < tx.outputs.size(); ++i) {
    Status s = tx.outputs[i].check_canonical();
    if (s.ok()) s = tx.outputs[i].notary.check_canonical();
    if (!s.ok()) return malformed("output " + std::to_string(i), s);
  }
  for (const Command& c : tx.commands) {
    Status s = c.check_canonical();
    if (!s.ok()) return malformed("command " + c.contract + "." + c.name, s);
  }
  if (tx.notary) {
    Status s = tx.notary->check_canonical();
    if (!s.ok()) return malformed("the notary", s);
  }
  return Verdict::accept();
}

Verdict check_structure(const LedgerTransaction& tx, bool notary_change) {
  if (tx.inputs.empty() && tx.outputs.empty())
    return Verdict::fail(Rule::kEmptyTransaction,
                         "the transaction neither consumes nor creates a state");
  if (!tx.notary) {
    if (!tx.inputs.empty())
      return Verdict::fail(Rule::kMissingNotary,
                           "the transaction consumes states but names no notary");
    if (!tx.references.empty())
      return Verdict::fail(Rule::kMissingNotary,
                           "the transaction references states but names no notary");
    if (tx.time_window)
      return Verdict::fail(Rule::kMissingNotary,
                           "the transaction has a time window but no notary to check it");
  }
  RefSet inputs(tx.inputs.size());
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    if (!inputs.insert(tx.inputs[i].ref))
      return Verdict::fail(Rule::kDuplicateInput, input_name(tx, i) + " is consumed twice");
    if (tx.inputs[i].state.notary != *tx.notary)
      return Verdict::fail(Rule::kInputNotaryMismatch,
                           input_name(tx, i) + " is governed by notary " +
                               tx.inputs[i].state.notary.name + ", not the transaction's notary " +
                               tx.notary->name);
  }
  RefSet references(tx.references.size());
  for (size_t i = 0; i < tx.references.size(); ++i) {
    const StateRef& ref = tx.references[i].ref;
    if (!references.insert(ref))
      return Verdict::fail(Rule::kDuplicateReference, "reference " + std::to_string(i) + " (" +
                                                          ref.describe() + ") is referenced twice");
    if (inputs.contains(ref))
      return Verdict::fail(Rule::kInputIsAlsoReference,
                           "state " + ref.describe() + " is both consumed and referenced");
  }
  if (tx.notary && !notary_change) {
    for (size_t i = 0; i < tx.outputs.size(); ++i)
      if (tx.outputs[i].notary != *tx.notary)
        return Verdict::fail(
            Rule::kOutputNotaryMismatch,
            "output " + std::to_string(i) + " names notary " + tx.outputs[i].notary.name +
                ", not the transaction's notary " + tx.notary->name +
                " (only a notary-change transaction moves states between notaries)");
  }
  // Sorted ids find a repeat in O(n log n): a hostile transaction may carry thousands.
  std::vector<AttachmentId> ids;
  ids.reserve(tx.attachments.size());
  for (const Attachment& a : tx.attachments) ids.push_back(a.id);
  std::sort(ids.begin(), ids.end());
  auto repeat = std::adjacent_find(ids.begin(), ids.end());
  if (repeat != ids.end())
    return Verdict::fail(Rule::kDuplicateAttachment,
                         "attachment " + repeat->value().short_hex() + " is attached twice");
  return Verdict::accept();
}

// The Corda seed, "Encumbrances"; encumbrances must be mutual (each encumbered output is also the
// encumbrance of exactly one other), so that consuming any of them forces consuming all of them.
Verdict check_encumbrances(const LedgerTransaction& tx) {
  std::vector<uint32_t> pointed_at(tx.outputs.size(), 0);
  for (size_t i = 0; i < tx.outputs.size(); ++i) {
    const auto& e = tx.outputs[i].encumbrance;
    if (!e) continue;
    std::string name = "output " + std::to_string(i);
    if (*e >= tx.outputs.size())
      return Verdict::fail(Rule::kEncumbranceOutOfRange,
                           name + " is encumbered by output " + std::to_string(*e) +
                               ", but the transaction has only " +
                               std::to_string(tx.outputs.size()) + " outputs");
    if (*e == i) return Verdict::fail(Rule::kEncumbranceSelf, name + " is encumbered by itself");
    if (tx.outputs[*e].notary != tx.outputs[i].notary)
      return Verdict::fail(Rule::kEncumbranceNotaryMismatch,
                           name + " and its encumbrance, output " + std::to_string(*e) +
                               ", name different notaries");
    if (!tx.outputs[*e].encumbrance)
      return Verdict::fail(Rule::kEncumbranceNotMutual, name + " is encumbered by output " +
                                                            std::to_string(*e) +
                                                            ", which is not itself encumbered");
    if (++pointed_at[*e] > 1)
      return Verdict::fail(
          Rule::kEncumbranceNotMutual,
          "output " + std::to_string(*e) + " is the encumbrance of more than one output");
  }
  RefSet consumed(tx.inputs.size());
  for (const StateAndRef& in : tx.inputs) consumed.insert(in.ref);
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    const auto& e = tx.inputs[i].state.encumbrance;
    if (!e) continue;
    StateRef needed{tx.inputs[i].ref.tx_id, *e};
    if (!consumed.contains(needed))
      return Verdict::fail(Rule::kEncumbranceNotConsumed,
                           input_name(tx, i) + " is encumbered by " + needed.describe() +
                               ", which this transaction does not consume");
  }
  return Verdict::accept();
}

// Which attachments provide each contract: the first, and a second if another one does too (an
// ambiguity). Built once per transaction, so checking every state costs a lookup, not a scan.
struct Providers {
  const Attachment* first = nullptr;
  const Attachment* second = nullptr;
};
using ProviderIndex = std::map<std::string_view, Providers>;

ProviderIndex index_providers(const LedgerTransaction& tx) {
  ProviderIndex index;
  for (const Attachment& a : tx.attachments) {
    for (const std::string& c : a.contracts) {
      Providers& p = index[c];
      if (p.first == nullptr) {
        p.first = &a;
      } else if (p.second == nullptr) {
        p.second = &a;
      }
    }
  }
  return index;
}

// `name` is called only to word a failure.
template <class Name>
Verdict check_constraint(const ProviderIndex& providers, const TransactionState& state,
                         const Name& name) {
  auto it = providers.find(state.contract);
  if (it == providers.end())
    return Verdict::fail(Rule::kConstraintNoAttachment,
                         name() + " is constrained to " + describe(state.constraint) +
                             " but no attachment provides contract " + state.contract);
  const Attachment* provider = it->second.first;
  if (it->second.second != nullptr)
    return Verdict::fail(Rule::kConstraintAmbiguousAttachment,
                         name() + ": attachments " + provider->id.value().short_hex() + " and " +
                             it->second.second->id.value().short_hex() + " both provide contract " +
                             state.contract);
  if (const auto* hash = std::get_if<HashConstraint>(&state.constraint)) {
    if (hash->attachment != provider->id)
      return Verdict::fail(Rule::kConstraintHashMismatch,
                           name() + " requires contract " + state.contract + " from attachment " +
                               hash->attachment.value().short_hex() + ", but attachment " +
                               provider->id.value().short_hex() + " provides it");
    return Verdict::accept();
  }
  const auto& signature = std::get<SignatureConstraint>(state.constraint);
  std::set<PublicKey> signers(provider->signers.begin(), provider->signers.end());
  if (!signature.key.is_fulfilled_by(signers))
    return Verdict::fail(Rule::kConstraintSignatureUnfulfilled,
                         name() + " requires contract " + state.contract + " signed by " +
                             signature.key.describe() + ", but attachment " +
                             provider->id.value().short_hex() + " is not signed by enough of it");
  return Verdict::accept();
}

Verdict check_constraints(const LedgerTransaction& tx) {
  auto always = [](const TransactionState& s) {
    return std::holds_alternative<AlwaysAcceptConstraint>(s.constraint);
  };
  std::optional<ProviderIndex> providers;  // built only if some state needs it
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    if (always(tx.inputs[i].state)) continue;
    if (!providers) providers = index_providers(tx);
    Verdict v = check_constraint(*providers, tx.inputs[i].state, [&] { return input_name(tx, i); });
    if (!v.ok()) return v;
  }
  for (size_t i = 0; i < tx.outputs.size(); ++i) {
    if (always(tx.outputs[i])) continue;
    if (!providers) providers = index_providers(tx);
    Verdict v =
        check_constraint(*providers, tx.outputs[i], [&] { return "output " + std::to_string(i); });
    if (!v.ok()) return v;
  }
  return Verdict::accept();
}

Verdict check_time_window(const LedgerTransaction& tx) {
  if (!tx.time_window) return Verdict::accept();
  if (auto why = tx.time_window->malformation())
    return Verdict::fail(Rule::kTimeWindowMalformed, *why);
  return Verdict::accept();
}

Verdict check_notary_change(const LedgerTransaction& tx, const ContractProvider& contracts) {
  auto malformed = [](std::string why) {
    return Verdict::fail(Rule::kNotaryChangeMalformed, std::move(why));
  };
  if (tx.commands.size() != 1)
    return malformed("a notary change must be the transaction's only command");
  const Command& command = tx.commands[0];
  if (command.name != kNotaryChangeCommand)
    return malformed("unknown notary-change command " + command.name);
  auto new_notary = codec::decode_from_bytes<Party>(command.params);
  if (!new_notary.ok())
    return malformed("the new notary does not decode: " + new_notary.error().context);
  if (tx.inputs.empty()) return malformed("a notary change consumes at least one state");
  if (*new_notary == *tx.notary)
    return malformed("the new notary is the current notary " + tx.notary->name);
  if (tx.outputs.size() != tx.inputs.size())
    return malformed("a notary change has " + std::to_string(tx.inputs.size()) + " inputs but " +
                     std::to_string(tx.outputs.size()) + " outputs");
  if (!tx.references.empty()) return malformed("a notary change has no references");
  std::set<PublicKey> signers(command.signers.begin(), command.signers.end());
  for (size_t i = 0; i < tx.inputs.size(); ++i) {
    TransactionState moved = tx.inputs[i].state;
    moved.notary = *new_notary;
    // An encumbrance names an output of the creating transaction; once moved, it must name the
    // output of this transaction that the encumbering state becomes (check_encumbrances has
    // already made sure that state is among the inputs).
    if (moved.encumbrance) {
      StateRef encumbering{tx.inputs[i].ref.tx_id, *moved.encumbrance};
      for (size_t j = 0; j < tx.inputs.size(); ++j)
        if (tx.inputs[j].ref == encumbering) moved.encumbrance = static_cast<uint32_t>(j);
    }
    if (tx.outputs[i] != moved)
      return malformed("output " + std::to_string(i) + " is not " + input_name(tx, i) +
                       " unchanged but for its notary (and its encumbrance's new index)");
    auto contract = contracts.find(moved.contract, tx);
    if (!contract.ok()) return Verdict::fail(Rule::kUnknownContract, contract.error().context);
    auto participants = (*contract)->participants(tx.inputs[i].state);
    if (!participants.ok())
      return malformed(input_name(tx, i) + ": " + participants.error().context);
    for (const PublicKey& p : *participants)
      if (signers.count(p) == 0)
        return malformed(input_name(tx, i) + ": participant " + p.describe() +
                         " is not a signer of the change");
  }
  return Verdict::accept();
}

Verdict run_contracts(const LedgerTransaction& tx, const ContractProvider& contracts) {
  // Ordered, so that the first rejection reported is the same on every verifier.
  std::set<std::string_view> names;
  for (const StateAndRef& in : tx.inputs) names.insert(in.state.contract);
  for (const StateAndRef& ref : tx.references) names.insert(ref.state.contract);
  for (const TransactionState& out : tx.outputs) names.insert(out.contract);
  for (const Command& c : tx.commands) names.insert(c.contract);
  for (std::string_view name : names) {
    auto contract = contracts.find(name, tx);
    if (!contract.ok()) return Verdict::fail(Rule::kUnknownContract, contract.error().context);
    Status s = (*contract)->verify(tx);
    if (!s.ok())
      return Verdict::fail(Rule::kContractRejected, std::string(name) + ": " + s.error().context);
  }
  return Verdict::accept();
}

Verdict verify_resolved(const LedgerTransaction& tx, const ContractProvider& contracts,
                        const SignedTransaction* stx, const VerifyOptions* options) {
  bool notary_change = is_notary_change(tx);
  // In order, stopping at the first failure: later checks may rely on earlier ones.
  Verdict v = check_well_formed(tx);
  if (v.ok()) v = check_structure(tx, notary_change);
  if (v.ok()) v = check_encumbrances(tx);
  if (v.ok()) v = check_constraints(tx);
  if (v.ok()) v = check_time_window(tx);
  if (!v.ok()) return v;
  if (stx != nullptr) {
    v = verify_signatures(*stx, tx.id, options->allowed_missing_signers);
    if (!v.ok()) return v;
  }
  return notary_change ? check_notary_change(tx, contracts) : run_contracts(tx, contracts);
}

}  // namespace

std::string_view to_string(Rule rule) {
  switch (rule) {
    case Rule::kOk:
      return "ok";
    case Rule::kMalformedComponent:
      return "malformed component";
    case Rule::kEmptyTransaction:
      return "empty transaction";
    case Rule::kMissingNotary:
      return "missing notary";
    case Rule::kDuplicateInput:
      return "duplicate input";
    case Rule::kDuplicateReference:
      return "duplicate reference";
    case Rule::kInputIsAlsoReference:
      return "input is also a reference";
    case Rule::kInputNotaryMismatch:
      return "input notary mismatch";
    case Rule::kOutputNotaryMismatch:
      return "output notary mismatch";
    case Rule::kDuplicateAttachment:
      return "duplicate attachment";
    case Rule::kUnresolvedDependency:
      return "unresolved dependency";
    case Rule::kEncumbranceOutOfRange:
      return "encumbrance out of range";
    case Rule::kEncumbranceSelf:
      return "self encumbrance";
    case Rule::kEncumbranceNotaryMismatch:
      return "encumbrance notary mismatch";
    case Rule::kEncumbranceNotMutual:
      return "encumbrance not mutual";
    case Rule::kEncumbranceNotConsumed:
      return "encumbrance not consumed";
    case Rule::kConstraintNoAttachment:
      return "no attachment for constraint";
    case Rule::kConstraintAmbiguousAttachment:
      return "ambiguous contract attachment";
    case Rule::kConstraintHashMismatch:
      return "hash constraint violated";
    case Rule::kConstraintSignatureUnfulfilled:
      return "signature constraint violated";
    case Rule::kTimeWindowMalformed:
      return "malformed time window";
    case Rule::kInvalidSignature:
      return "invalid signature";
    case Rule::kDuplicateSignature:
      return "duplicate signature";
    case Rule::kMissingSignature:
      return "missing signature";
    case Rule::kUnknownContract:
      return "unknown contract";
    case Rule::kContractRejected:
      return "contract rejected";
    case Rule::kNotaryChangeMalformed:
      return "malformed notary change";
  }
  return "unknown rule";
}

std::string Verdict::describe() const {
  if (ok()) return "verified";
  return std::string(to_string(rule)) + ": " + message;
}

bool is_notary_change(const LedgerTransaction& tx) {
  for (const Command& c : tx.commands)
    if (c.contract == kNotaryChangeContract) return true;
  return false;
}

Verdict verify_ledger(const LedgerTransaction& tx, const ContractProvider& contracts) {
  return verify_resolved(tx, contracts, nullptr, nullptr);
}

Verdict verify_signatures(const SignedTransaction& stx, const TxId& id,
                          std::span<const PublicKey> allowed_missing) {
  Bytes payload = signature_payload(id);
  std::set<PublicKey> signed_leaves;
  for (size_t i = 0; i < stx.signatures.size(); ++i) {
    const TransactionSignature& sig = stx.signatures[i];
    std::string name = "signature " + std::to_string(i) + " by " + sig.by.describe();
    if (sig.by.is_compound())
      return Verdict::fail(Rule::kInvalidSignature,
                           name + " is by a compound key; each leaf signs for itself");
    if (!signed_leaves.insert(sig.by).second)
      return Verdict::fail(Rule::kDuplicateSignature, name + " repeats");
    if (!crypto::verify(sig.by, payload, sig.signature))
      return Verdict::fail(Rule::kInvalidSignature,
                           name + " does not verify for transaction " + id.value().short_hex());
  }
  for (const Command& command : stx.tx.commands) {
    for (const PublicKey& key : command.signers) {
      if (key.is_fulfilled_by(signed_leaves)) continue;
      bool excused = false;
      for (const PublicKey& k : allowed_missing) excused = excused || k == key;
      if (excused) continue;
      return Verdict::fail(Rule::kMissingSignature, "signer " + key.describe() + " of command " +
                                                        command.contract + "." + command.name +
                                                        " has not signed");
    }
  }
  return Verdict::accept();
}

Verdict verify_transaction(const SignedTransaction& stx, const StateLoader& states,
                           const AttachmentLoader& attachments, const ContractProvider& contracts,
                           const VerifyOptions& options) {
  TxId id = stx.id();
  auto ltx = resolve(stx.tx, id, states, attachments);
  if (!ltx.ok()) return Verdict::fail(Rule::kUnresolvedDependency, ltx.error().context);
  return verify_resolved(*ltx, contracts, &stx, &options);
}

}  // namespace folio::ledger
