// LedgerTransaction: a transaction with its inputs and references resolved to the states they point
// at and its attachments to what they provide. This is what contracts verify; its canonical
// encoding is what a WebAssembly contract receives (ARCHITECTURE.md §2).
//
// Resolution reads through the StateLoader and AttachmentLoader interfaces, so the same code serves
// a node's database, a notary shard's proved states and a test's map. Value types; thread-safe for
// concurrent const use.
#pragma once

#include <map>

#include "ledger/transaction.h"

namespace folio::ledger {

struct StateAndRef {
  TransactionState state;
  StateRef ref;
  FOLIO_FIELDS(state, ref)
  friend bool operator==(const StateAndRef&, const StateAndRef&) = default;
};

// An attachment as a verifier sees it: its id, the contracts it declares it provides, and the keys
// whose signatures over its id were checked when it was imported.
struct Attachment {
  AttachmentId id;
  std::vector<std::string> contracts;
  std::vector<PublicKey> signers;
  FOLIO_FIELDS(id, contracts, signers)
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct LedgerTransaction {
  TxId id;
  std::vector<StateAndRef> inputs;
  std::vector<StateAndRef> references;
  std::vector<TransactionState> outputs;
  std::vector<Command> commands;
  std::vector<Attachment> attachments;
  std::optional<Party> notary;
  std::optional<TimeWindow> time_window;
  std::optional<NetworkParametersHash> network_parameters_hash;
  FOLIO_FIELDS(id, inputs, references, outputs, commands, attachments, notary, time_window,
               network_parameters_hash)
  friend bool operator==(const LedgerTransaction&, const LedgerTransaction&) = default;

  // Indexes of the inputs / outputs / commands that belong to one contract, in order.
  std::vector<size_t> input_indexes(std::string_view contract) const;
  std::vector<size_t> output_indexes(std::string_view contract) const;
  std::vector<const Command*> commands_of(std::string_view contract) const;
};

// Where resolution finds the states that inputs and references point at.
class StateLoader {
 public:
  virtual ~StateLoader() = default;
  // The output `ref` of a known transaction, or kNotFound.
  virtual Result<TransactionState> load(const StateRef& ref) const = 0;
};

class AttachmentLoader {
 public:
  virtual ~AttachmentLoader() = default;
  virtual Result<Attachment> load(const AttachmentId& id) const = 0;
};

// A StateLoader over a map, for tests, tools and shards holding proved states.
class MapStateLoader : public StateLoader {
 public:
  void add(const StateRef& ref, TransactionState state) { states_[ref] = std::move(state); }
  // Adds every output of a transaction.
  void add_outputs(const TxId& id, const WireTransaction& tx);
  Result<TransactionState> load(const StateRef& ref) const override;
  size_t size() const { return states_.size(); }

 private:
  std::map<StateRef, TransactionState> states_;
};

class MapAttachmentLoader : public AttachmentLoader {
 public:
  void add(Attachment attachment) { attachments_[attachment.id] = std::move(attachment); }
  Result<Attachment> load(const AttachmentId& id) const override;

 private:
  std::map<AttachmentId, Attachment> attachments_;
};

// Resolves `tx` (whose id the caller computed). Fails with kNotFound naming the first input,
// reference or attachment that cannot be loaded.
Result<LedgerTransaction> resolve(const WireTransaction& tx, const TxId& id,
                                  const StateLoader& states, const AttachmentLoader& attachments);

}  // namespace folio::ledger
