#include "ledger/transaction.h"

#include <algorithm>
#include <set>

namespace folio::ledger {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kGroupRootPrefix = 0x03;
constexpr uint8_t kNoncePrefix = 0x04;
constexpr std::string_view kSignatureDomain = "folio/tx-signature/v1";

void put_u32(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::vector<Hash256> leaves_of(const PrivacySalt& salt, ComponentGroup group,
                               const std::vector<Bytes>& components) {
  std::vector<Hash256> leaves;
  leaves.reserve(components.size());
  for (uint32_t i = 0; i < components.size(); ++i)
    leaves.push_back(component_leaf(component_nonce(salt, group, i), components[i]));
  return leaves;
}

}  // namespace

std::string_view to_string(ComponentGroup group) {
  switch (group) {
    case ComponentGroup::kInputs:
      return "inputs";
    case ComponentGroup::kOutputs:
      return "outputs";
    case ComponentGroup::kCommands:
      return "commands";
    case ComponentGroup::kAttachments:
      return "attachments";
    case ComponentGroup::kNotary:
      return "notary";
    case ComponentGroup::kTimeWindow:
      return "time window";
    case ComponentGroup::kSigners:
      return "signers";
    case ComponentGroup::kReferences:
      return "references";
    case ComponentGroup::kNetworkParameters:
      return "network parameters";
  }
  return "unknown group";
}

Hash256 component_nonce(const PrivacySalt& salt, ComponentGroup group, uint32_t index) {
  uint8_t buffer[1 + 32 + 1 + 4];
  buffer[0] = kNoncePrefix;
  std::memcpy(buffer + 1, salt.data(), 32);
  buffer[33] = static_cast<uint8_t>(group);
  put_u32(buffer + 34, index);
  return crypto::sha256(ByteView(buffer, sizeof(buffer)));
}

Hash256 component_leaf(const Hash256& nonce, ByteView component) {
  // Small components (the common case) are hashed from one stack buffer.
  uint8_t buffer[256];
  if (component.size() <= sizeof(buffer) - 33) {
    buffer[0] = kLeafPrefix;
    std::memcpy(buffer + 1, nonce.data(), 32);
    if (!component.empty()) std::memcpy(buffer + 33, component.data(), component.size());
    return crypto::sha256(ByteView(buffer, 33 + component.size()));
  }
  return crypto::Sha256().update(kLeafPrefix).update(nonce.view()).update(component).finish();
}

Hash256 group_root(uint32_t count, const Hash256& inner_root) {
  uint8_t buffer[1 + 4 + 32];
  buffer[0] = kGroupRootPrefix;
  put_u32(buffer + 1, count);
  std::memcpy(buffer + 5, inner_root.data(), 32);
  return crypto::sha256(ByteView(buffer, sizeof(buffer)));
}

Status WireTransaction::check_canonical() const {
  auto check = [](ComponentGroup g, size_t n) -> Status {
    if (n > kComponentsPerGroupMax)
      return make_error(ErrorCode::kMalformed, std::string(to_string(g)) + " group has " +
                                                   std::to_string(n) + " components, more than " +
                                                   std::to_string(kComponentsPerGroupMax));
    return ok_status();
  };
  FOLIO_TRY(check(ComponentGroup::kInputs, inputs.size()));
  FOLIO_TRY(check(ComponentGroup::kReferences, references.size()));
  FOLIO_TRY(check(ComponentGroup::kOutputs, outputs.size()));
  FOLIO_TRY(check(ComponentGroup::kCommands, commands.size()));
  FOLIO_TRY(check(ComponentGroup::kAttachments, attachments.size()));
  return ok_status();
}

namespace {

// Calls leaf(i, bytes) for each component of a group, encoding into one reused buffer: the id is
// computed for every transaction a verifier sees, so it avoids a buffer per component.
template <class Leaf>
void for_each_component(const WireTransaction& tx, ComponentGroup group, codec::Writer& w,
                        Leaf&& leaf) {
  auto each = [&](const auto& items, auto&& encode_one) {
    for (uint32_t i = 0; i < items.size(); ++i) {
      w.clear();
      encode_one(items[i]);
      leaf(i, ByteView(w.data()));
    }
  };
  auto plain = [&](const auto& item) { codec::encode(w, item); };
  auto one = [&](const auto& optional) {
    if (!optional) return;
    w.clear();
    codec::encode(w, *optional);
    leaf(0, ByteView(w.data()));
  };
  switch (group) {
    case ComponentGroup::kInputs:
      each(tx.inputs, plain);
      break;
    case ComponentGroup::kOutputs:
      each(tx.outputs, plain);
      break;
    case ComponentGroup::kCommands:
      each(tx.commands, [&](const Command& c) {
        w.string(c.contract);
        w.string(c.name);
        w.bytes(c.params);
      });
      break;
    case ComponentGroup::kAttachments:
      each(tx.attachments, plain);
      break;
    case ComponentGroup::kNotary:
      one(tx.notary);
      break;
    case ComponentGroup::kTimeWindow:
      one(tx.time_window);
      break;
    case ComponentGroup::kSigners:
      each(tx.commands, [&](const Command& c) { codec::encode(w, c.signers); });
      break;
    case ComponentGroup::kReferences:
      each(tx.references, plain);
      break;
    case ComponentGroup::kNetworkParameters:
      one(tx.network_parameters_hash);
      break;
  }
}

}  // namespace

std::vector<Bytes> WireTransaction::components(ComponentGroup group) const {
  std::vector<Bytes> out;
  codec::Writer w;
  for_each_component(*this, group, w, [&](uint32_t, ByteView component) {
    out.emplace_back(component.begin(), component.end());
  });
  return out;
}

std::array<Hash256, kComponentGroupCount> WireTransaction::group_roots() const {
  // The root of an empty group is a constant: compute it once.
  static const Hash256 kEmptyGroupRoot = group_root(0, Hash256{});
  std::array<Hash256, kComponentGroupCount> roots;
  codec::Writer w(512);
  std::vector<Hash256> leaves;
  for (uint32_t g = 0; g < kComponentGroupCount; ++g) {
    auto group = static_cast<ComponentGroup>(g);
    leaves.clear();
    for_each_component(*this, group, w, [&](uint32_t i, ByteView component) {
      leaves.push_back(component_leaf(component_nonce(salt, group, i), component));
    });
    roots[g] = leaves.empty()
                   ? kEmptyGroupRoot
                   : group_root(static_cast<uint32_t>(leaves.size()), crypto::merkle_root(leaves));
  }
  return roots;
}

TxId WireTransaction::id() const {
  auto roots = group_roots();
  return TxId(crypto::merkle_root(roots));
}

FilteredTransaction WireTransaction::filter(
    const std::function<bool(ComponentGroup, uint32_t)>& keep) const {
  FilteredTransaction out;
  auto roots = group_roots();
  out.group_roots.assign(roots.begin(), roots.end());
  out.id = TxId(crypto::merkle_root(roots));
  for (uint32_t g = 0; g < kComponentGroupCount; ++g) {
    auto group = static_cast<ComponentGroup>(g);
    std::vector<Bytes> parts = components(group);
    std::vector<Hash256> leaves = leaves_of(salt, group, parts);
    FilteredGroup fg;
    fg.group = group;
    fg.count = static_cast<uint32_t>(parts.size());
    fg.inner_root = crypto::merkle_root(leaves);
    for (uint32_t i = 0; i < parts.size(); ++i) {
      if (!keep(group, i)) continue;
      fg.components.push_back(FilteredComponent{i, component_nonce(salt, group, i), parts[i],
                                                crypto::merkle_prove(leaves, i)});
    }
    // A kept empty group proves emptiness: keep(group, 0) asks for it.
    if (!fg.components.empty() || (parts.empty() && keep(group, 0)))
      out.groups.push_back(std::move(fg));
  }
  return out;
}

ComponentProof WireTransaction::prove(ComponentGroup group, uint32_t index) const {
  std::vector<Bytes> parts = components(group);
  FOLIO_ASSERT(index < parts.size());
  std::vector<Hash256> leaves = leaves_of(salt, group, parts);
  auto roots = group_roots();
  ComponentProof proof;
  proof.group = group;
  proof.count = static_cast<uint32_t>(parts.size());
  proof.inner_root = crypto::merkle_root(leaves);
  proof.component = FilteredComponent{index, component_nonce(salt, group, index), parts[index],
                                      crypto::merkle_prove(leaves, index)};
  proof.group_proof = crypto::merkle_prove(roots, static_cast<uint32_t>(group));
  return proof;
}

Bytes signature_payload(const TxId& id) {
  Bytes out(kSignatureDomain.size() + 32);
  std::memcpy(out.data(), kSignatureDomain.data(), kSignatureDomain.size());
  std::memcpy(out.data() + kSignatureDomain.size(), id.value().data(), 32);
  return out;
}

TransactionSignature sign_transaction(const crypto::PrivateKey& key, const TxId& id) {
  return TransactionSignature{key.public_key(), key.sign(signature_payload(id))};
}

std::vector<PublicKey> SignedTransaction::required_signers() const {
  std::set<PublicKey> keys;
  for (const Command& c : tx.commands) keys.insert(c.signers.begin(), c.signers.end());
  return std::vector<PublicKey>(keys.begin(), keys.end());
}

// ---- Tear-offs ----

namespace {

Status check_component(ComponentGroup group, uint32_t count, const Hash256& inner_root,
                       const FilteredComponent& c) {
  // Built only for a failure: every shard replica checks several components per transaction.
  auto where = [&] {
    return std::string(to_string(group)) + " component " + std::to_string(c.index);
  };
  if (c.index >= count)
    return make_error(ErrorCode::kVerification,
                      where() + " is beyond the group's " + std::to_string(count) + " components");
  if (c.proof.index != c.index || c.proof.leaf_count != count)
    return make_error(ErrorCode::kVerification, where() + ": its branch is for another position");
  if (!crypto::merkle_verify(inner_root, component_leaf(c.nonce, c.data), c.proof))
    return make_error(ErrorCode::kVerification, where() + " does not match the transaction id");
  return ok_status();
}

}  // namespace

const FilteredGroup* FilteredTransaction::find(ComponentGroup group) const {
  for (const FilteredGroup& g : groups)
    if (g.group == group) return &g;
  return nullptr;
}

Status FilteredTransaction::verify() const {
  if (group_roots.size() != kComponentGroupCount)
    return make_error(ErrorCode::kVerification,
                      "a filtered transaction must carry " + std::to_string(kComponentGroupCount) +
                          " group roots, not " + std::to_string(group_roots.size()));
  if (TxId(crypto::merkle_root(group_roots)) != id)
    return make_error(ErrorCode::kVerification,
                      "the group roots do not hash to transaction id " + id.value().short_hex());
  int previous = -1;
  for (const FilteredGroup& g : groups) {
    if (static_cast<int>(g.group) <= previous)
      return make_error(ErrorCode::kVerification,
                        "filtered groups are not in strictly ascending order");
    previous = static_cast<int>(g.group);
    if (group_root(g.count, g.inner_root) != group_roots[static_cast<size_t>(g.group)])
      return make_error(ErrorCode::kVerification,
                        std::string(to_string(g.group)) +
                            " group: its count or root does not match the transaction id");
    int64_t previous_index = -1;
    for (const FilteredComponent& c : g.components) {
      if (static_cast<int64_t>(c.index) <= previous_index)
        return make_error(
            ErrorCode::kVerification,
            std::string(to_string(g.group)) + " components are not in strictly ascending order");
      previous_index = c.index;
      FOLIO_TRY(check_component(g.group, g.count, g.inner_root, c));
    }
  }
  return ok_status();
}

Status FilteredTransaction::check_all_visible(ComponentGroup group) const {
  const FilteredGroup* g = find(group);
  if (g == nullptr)
    return make_error(ErrorCode::kVerification,
                      std::string(to_string(group)) + " group is not revealed");
  if (g->components.size() != g->count)
    return make_error(ErrorCode::kVerification, std::string(to_string(group)) + " group reveals " +
                                                    std::to_string(g->components.size()) +
                                                    " of its " + std::to_string(g->count) +
                                                    " components");
  return ok_status();
}

Status ComponentProof::verify(const TxId& id) const {
  FOLIO_TRY(check_component(group, count, inner_root, component));
  if (group_proof.index != static_cast<uint32_t>(group) ||
      group_proof.leaf_count != kComponentGroupCount)
    return make_error(ErrorCode::kVerification, "the group branch is for another group");
  if (!crypto::merkle_verify(id.value(), group_root(count, inner_root), group_proof))
    return make_error(ErrorCode::kVerification, std::string(to_string(group)) + " component " +
                                                    std::to_string(component.index) +
                                                    " is not part of transaction " +
                                                    id.value().short_hex());
  return ok_status();
}

ProvedState prove_output(const WireTransaction& tx, const TxId& id, uint32_t index) {
  FOLIO_ASSERT(index < tx.outputs.size());
  return ProvedState{StateRef{id, index}, tx.outputs[index],
                     tx.prove(ComponentGroup::kOutputs, index)};
}

Status ProvedState::verify() const {
  if (proof.group != ComponentGroup::kOutputs)
    return make_error(ErrorCode::kVerification,
                      "state " + ref.describe() + ": the proof is not of an output");
  if (proof.component.index != ref.index)
    return make_error(ErrorCode::kVerification, "state " + ref.describe() +
                                                    ": the proof is for output " +
                                                    std::to_string(proof.component.index));
  if (proof.component.data != codec::encode_to_bytes(state))
    return make_error(ErrorCode::kVerification,
                      "state " + ref.describe() + ": the content differs from the proved one");
  return proof.verify(ref.tx_id);
}

}  // namespace folio::ledger
