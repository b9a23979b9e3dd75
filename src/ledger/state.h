// The ledger's data model (ARCHITECTURE.md §1): states, references to them, commands, time windows
// and contract constraints. A Chainspace object is a Corda state.
//
// A TransactionState carries its contract-specific data as canonical bytes that the named contract
// decodes, so the platform never needs to know a state's type, and WebAssembly contracts see the
// same bytes as native ones. All types are plain values with canonical encodings (FOLIO_FIELDS).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace folio::ledger {

using crypto::Hash256;
using crypto::PublicKey;

// Bounds that every verifier applies (the network parameters can only lower them).
constexpr size_t kComponentsPerGroupMax = 4096;
constexpr size_t kTransactionBytesMax = 4u << 20;
constexpr size_t kStateDataBytesMax = 1u << 20;
constexpr size_t kCommandParamsBytesMax = 1u << 20;
constexpr size_t kContractNameBytesMax = 128;
constexpr size_t kCommandNameBytesMax = 64;
constexpr size_t kPartyNameBytesMax = 256;
constexpr size_t kSignersPerCommandMax = 64;

struct TxIdTag {};
using TxId = Strong<TxIdTag, Hash256>;
struct AttachmentIdTag {};
using AttachmentId = Strong<AttachmentIdTag, Hash256>;
struct NetworkParametersHashTag {};
using NetworkParametersHash = Strong<NetworkParametersHashTag, Hash256>;

// Microseconds since the Unix epoch, UTC with leap seconds smeared (the Corda seed, "Timestamps").
struct TimestampTag {};
using Timestamp = Strong<TimestampTag, int64_t>;

using PrivacySalt = FixedBytes<32>;

// A state's identity: the transaction that created it and its index among that one's outputs.
struct StateRef {
  TxId tx_id;
  uint32_t index = 0;
  FOLIO_FIELDS(tx_id, index)
  friend auto operator<=>(const StateRef&, const StateRef&) = default;
  friend bool operator==(const StateRef&, const StateRef&) = default;
  std::string describe() const;  // "3fa1c2d0:1"
};

// A well-known identity: an X.500 name and the key that speaks for it (possibly compound, as for a
// notary cluster).
struct Party {
  std::string name;
  PublicKey owning_key;
  FOLIO_FIELDS(name, owning_key)
  friend bool operator==(const Party&, const Party&) = default;
  Status check_canonical() const;
};

// Which contract code may govern a state (the Corda seed, "Contract constraints").
struct AlwaysAcceptConstraint {  // for tests and native platform contracts only
  FOLIO_FIELDS()
  friend bool operator==(const AlwaysAcceptConstraint&, const AlwaysAcceptConstraint&) = default;
};
struct HashConstraint {  // the attachment providing the contract must have exactly this id
  AttachmentId attachment;
  FOLIO_FIELDS(attachment)
  friend bool operator==(const HashConstraint&, const HashConstraint&) = default;
};
struct SignatureConstraint {  // the attachment's signers must fulfil this (possibly compound) key
  PublicKey key;
  FOLIO_FIELDS(key)
  friend bool operator==(const SignatureConstraint&, const SignatureConstraint&) = default;
};
using AttachmentConstraint =
    std::variant<AlwaysAcceptConstraint, HashConstraint, SignatureConstraint>;
std::string describe(const AttachmentConstraint& constraint);

struct TransactionState {
  Bytes data;                           // canonical encoding of the contract's state type
  std::string contract;                 // e.g. "folio.Cash"
  Party notary;                         // who prevents this state's double spend
  std::optional<uint32_t> encumbrance;  // index of another output of the same transaction
  AttachmentConstraint constraint;
  FOLIO_FIELDS(data, contract, notary, encumbrance, constraint)
  friend bool operator==(const TransactionState&, const TransactionState&) = default;
  Status check_canonical() const;
};

// A call of a contract: Chainspace's procedure with its public parameters and returns (params), and
// Corda's command with the keys that must sign.
struct Command {
  std::string contract;
  std::string name;
  Bytes params;
  std::vector<PublicKey> signers;
  FOLIO_FIELDS(contract, name, params, signers)
  friend bool operator==(const Command&, const Command&) = default;
  Status check_canonical() const;
  // Whether `key` itself is among the signers (a contract's "did the owner sign this command").
  bool has_signer(const PublicKey& key) const {
    for (const PublicKey& k : signers)
      if (k == key) return true;
    return false;
  }
};

// [from, until): from inclusive, until exclusive; at least one bound (the Corda seed,
// "Timestamps").
struct TimeWindow {
  std::optional<Timestamp> from;
  std::optional<Timestamp> until;
  FOLIO_FIELDS(from, until)
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
  bool contains(Timestamp t) const { return (!from || t >= *from) && (!until || t < *until); }
  // Empty if well formed, else why not.
  std::optional<std::string> malformation() const;
};

}  // namespace folio::ledger

template <>
struct std::hash<folio::ledger::StateRef> {
  size_t operator()(const folio::ledger::StateRef& r) const noexcept {
    return std::hash<folio::FixedBytes<32>>()(r.tx_id.value()) ^
           (static_cast<size_t>(r.index) * 0x9e3779b97f4a7c15ull);
  }
};
