// Transactions on the wire: WireTransaction (the content), its id as a Merkle root,
// SignedTransaction (content plus signatures over the id), FilteredTransaction (a tear-off) and
// ComponentProof (one component with the branch linking it to the id, e.g. a proved input state).
//
// Id construction (ARCHITECTURE.md §1, the Corda seed "Oracles and tearoffs"):
//   nonce(g, i)     = SHA-256(0x04 || salt || u8 g || u32 i)       per-component, from the salt
//   leaf(g, i)      = SHA-256(0x00 || nonce(g, i) || component)    the component's canonical bytes
//   group_root(g)   = SHA-256(0x03 || u32 count || merkle_root(leaves of g))
//   id              = merkle_root(group_root(0..kComponentGroupCount-1))
// Merkle interior nodes are SHA-256(0x01 || left || right) (crypto/merkle.h). Binding the count
// into each group root makes a component's index (and a group's completeness) provable. Revealing
// one component's nonce reveals nothing about its neighbours, so hidden components cannot be
// guessed. Signatures are over "folio/tx-signature/v1" || id and sit outside the id.
//
// Value types; pure functions; thread-safe for concurrent const use.
#pragma once

#include <array>
#include <functional>

#include "crypto/merkle.h"
#include "ledger/state.h"

namespace folio::ledger {

struct FilteredTransaction;
struct ComponentProof;

enum class ComponentGroup : uint8_t {
  kInputs = 0,
  kOutputs = 1,
  kCommands = 2,  // contract, name and params of each command
  kAttachments = 3,
  kNotary = 4,
  kTimeWindow = 5,
  kSigners = 6,  // the signers of each command, apart so a non-validating notary sees them
  kReferences = 7,
  kNetworkParameters = 8,
};
constexpr uint32_t kComponentGroupCount = 9;
constexpr uint32_t enum_count(ComponentGroup) { return kComponentGroupCount; }
constexpr std::string_view enum_name(ComponentGroup) { return "ComponentGroup"; }
std::string_view to_string(ComponentGroup group);

struct WireTransaction {
  std::vector<StateRef> inputs;
  std::vector<StateRef> references;
  std::vector<TransactionState> outputs;
  std::vector<Command> commands;
  std::vector<AttachmentId> attachments;
  std::optional<Party> notary;
  std::optional<TimeWindow> time_window;
  std::optional<NetworkParametersHash> network_parameters_hash;
  PrivacySalt salt;
  FOLIO_FIELDS(inputs, references, outputs, commands, attachments, notary, time_window,
               network_parameters_hash, salt)
  friend bool operator==(const WireTransaction&, const WireTransaction&) = default;
  Status check_canonical() const;  // per-group component bounds

  // The canonical bytes of each component of a group, in order.
  std::vector<Bytes> components(ComponentGroup group) const;
  // The root of one group, and all of them.
  std::array<Hash256, kComponentGroupCount> group_roots() const;
  TxId id() const;

  // A tear-off keeping the components for which keep(group, index) is true. An empty group is
  // included (proving it empty) when keep(group, 0) is true.
  FilteredTransaction filter(const std::function<bool(ComponentGroup, uint32_t)>& keep) const;
  // One component with the branch that links it to id(). REQUIRES: index < count of that group.
  ComponentProof prove(ComponentGroup group, uint32_t index) const;
};

Hash256 component_nonce(const PrivacySalt& salt, ComponentGroup group, uint32_t index);
Hash256 component_leaf(const Hash256& nonce, ByteView component);
Hash256 group_root(uint32_t count, const Hash256& inner_root);

struct TransactionSignature {
  PublicKey by;  // a leaf key
  crypto::Signature signature;
  FOLIO_FIELDS(by, signature)
  friend bool operator==(const TransactionSignature&, const TransactionSignature&) = default;
};

// What a transaction signature signs: a domain tag and the id.
Bytes signature_payload(const TxId& id);
TransactionSignature sign_transaction(const crypto::PrivateKey& key, const TxId& id);

struct SignedTransaction {
  WireTransaction tx;
  std::vector<TransactionSignature> signatures;
  FOLIO_FIELDS(tx, signatures)
  friend bool operator==(const SignedTransaction&, const SignedTransaction&) = default;
  TxId id() const { return tx.id(); }
  // The union of every command's signers, each once, in encoding order.
  std::vector<PublicKey> required_signers() const;
};

// One revealed component and its branch inside its group.
struct FilteredComponent {
  uint32_t index = 0;
  Hash256 nonce;
  Bytes data;
  crypto::MerkleProof proof;  // proof.index == index, proof.leaf_count == the group's count
  FOLIO_FIELDS(index, nonce, data, proof)
  friend bool operator==(const FilteredComponent&, const FilteredComponent&) = default;
};

struct FilteredGroup {
  ComponentGroup group = ComponentGroup::kInputs;
  uint32_t count = 0;  // how many components the group has in the full transaction
  Hash256 inner_root;  // merkle_root of its leaves; group_root(count, inner_root) is in the id
  std::vector<FilteredComponent> components;  // ascending index
  FOLIO_FIELDS(group, count, inner_root, components)
  friend bool operator==(const FilteredGroup&, const FilteredGroup&) = default;
};

struct FilteredTransaction {
  TxId id;
  std::vector<Hash256> group_roots;   // all kComponentGroupCount of them
  std::vector<FilteredGroup> groups;  // ascending group, each at most once
  FOLIO_FIELDS(id, group_roots, groups)
  friend bool operator==(const FilteredTransaction&, const FilteredTransaction&) = default;

  // Checks every branch against the id: group roots against the id, each revealed component's leaf
  // against its group. Fails with a message naming the first component that does not match.
  Status verify() const;
  // REQUIRES: verify() succeeded. Fails unless every component of `group` is revealed (an empty
  // group counts as visible when its root proves it empty).
  Status check_all_visible(ComponentGroup group) const;
  // The revealed components of a group, decoded, with their indexes.
  template <class T>
  Result<std::vector<std::pair<uint32_t, T>>> revealed(ComponentGroup group) const;
  const FilteredGroup* find(ComponentGroup group) const;
};

// One component with everything needed to check it against a transaction id (a proved state).
struct ComponentProof {
  ComponentGroup group = ComponentGroup::kOutputs;
  uint32_t count = 0;
  Hash256 inner_root;
  FilteredComponent component;
  crypto::MerkleProof group_proof;  // group_root(count, inner_root) among the group roots
  FOLIO_FIELDS(group, count, inner_root, component, group_proof)
  friend bool operator==(const ComponentProof&, const ComponentProof&) = default;
  Status verify(const TxId& id) const;
};

// The output `ref` of its transaction, proved against ref.tx_id: what a shard receives instead of
// trusting a client's word about an input's content (ARCHITECTURE.md §3).
struct ProvedState {
  StateRef ref;
  TransactionState state;
  ComponentProof proof;
  FOLIO_FIELDS(ref, state, proof)
  friend bool operator==(const ProvedState&, const ProvedState&) = default;
  Status verify() const;
};
ProvedState prove_output(const WireTransaction& tx, const TxId& id, uint32_t index);

template <class T>
Result<std::vector<std::pair<uint32_t, T>>> FilteredTransaction::revealed(
    ComponentGroup group) const {
  std::vector<std::pair<uint32_t, T>> out;
  const FilteredGroup* g = find(group);
  if (g == nullptr) return out;
  for (const FilteredComponent& c : g->components) {
    auto decoded = codec::decode_from_bytes<T>(c.data);
    if (!decoded.ok())
      return make_error(ErrorCode::kMalformed, std::string(to_string(group)) + " component " +
                                                   std::to_string(c.index) + ": " +
                                                   decoded.error().context);
    out.emplace_back(c.index, std::move(decoded).value());
  }
  return out;
}

}  // namespace folio::ledger
