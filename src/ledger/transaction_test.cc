// Transaction ids, tear-offs and proved components (transaction.h): the id is a deterministic
// Merkle root over every component and the salt, signatures sit outside it, and every part of a
// FilteredTransaction, ComponentProof and ProvedState is bound to the id, so tampering with any of
// them is detected.
#include "ledger/transaction.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace folio::ledger {
namespace {

using crypto::PublicKey;

crypto::PrivateKey key_of(std::string_view name) {
  return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
}
PublicKey public_key_of(std::string_view name) { return key_of(name).public_key(); }
Hash256 hash_of(std::string_view text) { return crypto::sha256(as_bytes(text)); }
Party party_of(std::string_view name) {
  return Party{"O=" + std::string(name) + ",L=London,C=GB", public_key_of(name)};
}

TransactionState state_of(std::string_view owner,
                          std::optional<uint32_t> encumbrance = std::nullopt) {
  return TransactionState{to_bytes(owner), "test.Dummy", party_of("Notary"), encumbrance,
                          AlwaysAcceptConstraint{}};
}

// A transaction with every component group populated.
WireTransaction full_transaction() {
  WireTransaction tx;
  tx.inputs = {StateRef{TxId(hash_of("earlier")), 0}, StateRef{TxId(hash_of("earlier")), 1}};
  tx.references = {StateRef{TxId(hash_of("rates")), 2}};
  tx.outputs = {state_of("alice", 1), state_of("bob", 0), state_of("carol")};
  tx.commands = {Command{"test.Dummy", "Pay", Bytes{1, 2, 3}, {public_key_of("alice")}},
                 Command{"test.Dummy", "Note", {}, {public_key_of("bob"), public_key_of("carol")}}};
  tx.attachments = {AttachmentId(hash_of("dummy code")), AttachmentId(hash_of("library"))};
  tx.notary = party_of("Notary");
  tx.time_window = TimeWindow{Timestamp(1000), Timestamp(2000)};
  tx.network_parameters_hash = NetworkParametersHash(hash_of("parameters v1"));
  tx.salt = hash_of("salt");
  return tx;
}

std::vector<ComponentGroup> all_groups() {
  std::vector<ComponentGroup> out;
  for (uint32_t g = 0; g < kComponentGroupCount; ++g) out.push_back(static_cast<ComponentGroup>(g));
  return out;
}

TEST(TimeWindow, ContainsFromItsStartUpToButExcludingItsEnd) {
  TimeWindow window{Timestamp(10), Timestamp(20)};
  EXPECT_FALSE(window.contains(Timestamp(9)));
  EXPECT_TRUE(window.contains(Timestamp(10)));
  EXPECT_TRUE(window.contains(Timestamp(19)));
  EXPECT_FALSE(window.contains(Timestamp(20)));
  EXPECT_TRUE((TimeWindow{std::nullopt, Timestamp(20)}).contains(Timestamp(INT64_MIN)));
  EXPECT_TRUE((TimeWindow{Timestamp(10), std::nullopt}).contains(Timestamp(INT64_MAX)));
  EXPECT_FALSE(window.malformation().has_value());
  EXPECT_TRUE((TimeWindow{}).malformation().has_value());
}

// ---- Ids ---------------------------------------------------------------------------------------

TEST(TransactionId, IsDeterministic) {
  WireTransaction a = full_transaction();
  WireTransaction b = full_transaction();
  EXPECT_EQ(a.id(), a.id());
  EXPECT_EQ(a.id(), b.id());
  auto decoded = codec::decode_from_bytes<WireTransaction>(codec::encode_to_bytes(a));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(decoded->id(), a.id());
}

// The construction documented in transaction.h, computed here independently of transaction.cc.
TEST(TransactionId, FollowsTheDocumentedConstruction) {
  WireTransaction tx = full_transaction();
  std::vector<Hash256> roots;
  for (ComponentGroup group : all_groups()) {
    std::vector<Bytes> parts = tx.components(group);
    std::vector<Hash256> leaves;
    for (uint32_t i = 0; i < parts.size(); ++i) {
      Bytes nonce_input = {0x04};
      nonce_input.insert(nonce_input.end(), tx.salt.bytes.begin(), tx.salt.bytes.end());
      nonce_input.push_back(static_cast<uint8_t>(group));
      for (int b = 0; b < 4; ++b) nonce_input.push_back(static_cast<uint8_t>(i >> (8 * b)));
      Hash256 nonce = crypto::sha256(nonce_input);
      Bytes leaf_input = {0x00};
      leaf_input.insert(leaf_input.end(), nonce.bytes.begin(), nonce.bytes.end());
      leaf_input.insert(leaf_input.end(), parts[i].begin(), parts[i].end());
      leaves.push_back(crypto::sha256(leaf_input));
    }
    Bytes root_input = {0x03};
    for (int b = 0; b < 4; ++b) root_input.push_back(static_cast<uint8_t>(parts.size() >> (8 * b)));
    Hash256 inner = crypto::merkle_root(leaves);
    root_input.insert(root_input.end(), inner.bytes.begin(), inner.bytes.end());
    roots.push_back(crypto::sha256(root_input));
  }
  EXPECT_EQ(tx.id(), TxId(crypto::merkle_root(roots)));
  // The commands group holds contract, name and params; the signers group holds the signers.
  codec::Writer w;
  w.string("test.Dummy");
  w.string("Pay");
  w.bytes(Bytes{1, 2, 3});
  EXPECT_EQ(tx.components(ComponentGroup::kCommands)[0], w.take());
  EXPECT_EQ(tx.components(ComponentGroup::kSigners)[1],
            codec::encode_to_bytes(tx.commands[1].signers));
}

struct Change {
  std::string what;
  std::set<ComponentGroup> groups;  // the group roots the change must move; empty means all
  std::function<void(WireTransaction&)> apply;
};

std::vector<Change> single_changes() {
  using G = ComponentGroup;
  return {
      {"an input's transaction",
       {G::kInputs},
       [](auto& tx) { tx.inputs[1].tx_id = TxId(hash_of("other")); }},
      {"an input's index", {G::kInputs}, [](auto& tx) { tx.inputs[0].index = 7; }},
      {"the order of inputs",
       {G::kInputs},
       [](auto& tx) { std::swap(tx.inputs[0], tx.inputs[1]); }},
      {"one more input",
       {G::kInputs},
       [](auto& tx) {
         tx.inputs.push_back(StateRef{TxId(hash_of("x")), 0});
       }},
      {"one input fewer", {G::kInputs}, [](auto& tx) { tx.inputs.pop_back(); }},
      {"an output's data", {G::kOutputs}, [](auto& tx) { tx.outputs[2].data.push_back(0); }},
      {"an output's contract",
       {G::kOutputs},
       [](auto& tx) { tx.outputs[0].contract = "test.Other"; }},
      {"an output's notary",
       {G::kOutputs},
       [](auto& tx) { tx.outputs[1].notary = party_of("Other"); }},
      {"an output's encumbrance", {G::kOutputs}, [](auto& tx) { tx.outputs[2].encumbrance = 0; }},
      {"an output's constraint",
       {G::kOutputs},
       [](auto& tx) {
         tx.outputs[2].constraint = HashConstraint{AttachmentId(hash_of("dummy code"))};
       }},
      {"one output fewer", {G::kOutputs}, [](auto& tx) { tx.outputs.pop_back(); }},
      {"a command's name", {G::kCommands}, [](auto& tx) { tx.commands[0].name = "Steal"; }},
      {"a command's contract",
       {G::kCommands},
       [](auto& tx) { tx.commands[1].contract = "test.Other"; }},
      {"a command's params", {G::kCommands}, [](auto& tx) { tx.commands[0].params[2] = 4; }},
      {"a command's signer",
       {G::kSigners},
       [](auto& tx) { tx.commands[0].signers[0] = public_key_of("mallory"); }},
      {"the order of a command's signers",
       {G::kSigners},
       [](auto& tx) { std::swap(tx.commands[1].signers[0], tx.commands[1].signers[1]); }},
      {"one more command",
       {G::kCommands, G::kSigners},
       [](auto& tx) {
         tx.commands.push_back(Command{"test.Dummy", "Pay", {}, {public_key_of("dave")}});
       }},
      {"an attachment",
       {G::kAttachments},
       [](auto& tx) { tx.attachments[1] = AttachmentId(hash_of("library v2")); }},
      {"one attachment fewer", {G::kAttachments}, [](auto& tx) { tx.attachments.pop_back(); }},
      {"the notary's name",
       {G::kNotary},
       [](auto& tx) { tx.notary->name = "O=Notary,L=Paris,C=FR"; }},
      {"the notary's key",
       {G::kNotary},
       [](auto& tx) { tx.notary->owning_key = public_key_of("other"); }},
      {"no notary", {G::kNotary}, [](auto& tx) { tx.notary.reset(); }},
      {"the window's start",
       {G::kTimeWindow},
       [](auto& tx) { tx.time_window->from = Timestamp(999); }},
      {"the window's end", {G::kTimeWindow}, [](auto& tx) { tx.time_window->until.reset(); }},
      {"no time window", {G::kTimeWindow}, [](auto& tx) { tx.time_window.reset(); }},
      {"a reference", {G::kReferences}, [](auto& tx) { tx.references[0].index = 3; }},
      {"one more reference",
       {G::kReferences},
       [](auto& tx) {
         tx.references.push_back(StateRef{TxId(hash_of("rates")), 3});
       }},
      {"the network parameters",
       {G::kNetworkParameters},
       [](auto& tx) {
         tx.network_parameters_hash = NetworkParametersHash(hash_of("parameters v2"));
       }},
      {"no network parameters",
       {G::kNetworkParameters},
       [](auto& tx) { tx.network_parameters_hash.reset(); }},
      {"the salt", {}, [](auto& tx) { tx.salt.bytes[31] ^= 1; }},
  };
}

TEST(TransactionId, AnySingleChangeChangesTheIdAndOnlyItsOwnGroupRoots) {
  WireTransaction original = full_transaction();
  auto original_roots = original.group_roots();
  std::set<ComponentGroup> touched;
  for (const Change& change : single_changes()) {
    WireTransaction changed = original;
    change.apply(changed);
    ASSERT_NE(changed, original) << change.what;
    EXPECT_NE(changed.id(), original.id()) << "changing " << change.what << " kept the id";
    auto roots = changed.group_roots();
    for (ComponentGroup g : all_groups()) {
      bool expected = change.groups.empty() || change.groups.count(g) > 0;
      EXPECT_EQ(roots[static_cast<size_t>(g)] != original_roots[static_cast<size_t>(g)], expected)
          << "changing " << change.what << ": " << to_string(g) << " group root";
    }
    touched.insert(change.groups.begin(), change.groups.end());
  }
  EXPECT_EQ(touched.size(), kComponentGroupCount) << "every group has a change of its own";
}

TEST(TransactionId, FillingAnEmptyGroupChangesTheId) {
  WireTransaction tx;
  tx.outputs = {state_of("alice")};
  TxId before = tx.id();
  tx.references.push_back(StateRef{TxId(hash_of("rates")), 0});
  EXPECT_NE(tx.id(), before);
}

TEST(TransactionId, SignaturesSitOutsideTheId) {
  SignedTransaction stx{full_transaction(), {}};
  TxId unsigned_id = stx.id();
  stx.signatures.push_back(sign_transaction(key_of("alice"), unsigned_id));
  stx.signatures.push_back(sign_transaction(key_of("bob"), unsigned_id));
  EXPECT_EQ(stx.id(), unsigned_id);
  EXPECT_TRUE(crypto::verify(public_key_of("alice"), signature_payload(unsigned_id),
                             stx.signatures[0].signature));
  // The signature is over the domain-tagged id, not the bare id.
  EXPECT_FALSE(crypto::verify(public_key_of("alice"), unsigned_id.value().view(),
                              stx.signatures[0].signature));
  Bytes payload = to_bytes("folio/tx-signature/v1");
  payload.insert(payload.end(), unsigned_id.value().bytes.begin(), unsigned_id.value().bytes.end());
  EXPECT_EQ(signature_payload(unsigned_id), payload);
}

TEST(SignedTransaction, RequiredSignersAreEveryCommandsSignersOnce) {
  SignedTransaction stx{full_transaction(), {}};
  stx.tx.commands.push_back(
      Command{"test.Dummy", "Again", {}, {public_key_of("alice"), public_key_of("bob")}});
  std::vector<PublicKey> required = stx.required_signers();
  std::set<PublicKey> expected = {public_key_of("alice"), public_key_of("bob"),
                                  public_key_of("carol")};
  EXPECT_EQ(std::set<PublicKey>(required.begin(), required.end()), expected);
  EXPECT_EQ(required.size(), 3u);
}

// ---- Tear-offs ---------------------------------------------------------------------------------

// What a non-validating notary sees: the second input, every output, the notary and the signers.
FilteredTransaction notary_view(const WireTransaction& tx) {
  return tx.filter([](ComponentGroup g, uint32_t i) {
    return (g == ComponentGroup::kInputs && i == 1) || g == ComponentGroup::kOutputs ||
           g == ComponentGroup::kNotary || g == ComponentGroup::kSigners;
  });
}

TEST(FilteredTransaction, KeepsOnlyTheChosenComponents) {
  WireTransaction tx = full_transaction();
  FilteredTransaction ftx = notary_view(tx);
  EXPECT_EQ(ftx.id, tx.id());
  ASSERT_TRUE(ftx.verify().ok()) << ftx.verify().error().message();
  ASSERT_EQ(ftx.groups.size(), 4u);
  const FilteredGroup* inputs = ftx.find(ComponentGroup::kInputs);
  ASSERT_NE(inputs, nullptr);
  EXPECT_EQ(inputs->count, 2u);
  ASSERT_EQ(inputs->components.size(), 1u);
  EXPECT_EQ(inputs->components[0].index, 1u);
  EXPECT_EQ(inputs->components[0].data, tx.components(ComponentGroup::kInputs)[1]);
  EXPECT_EQ(ftx.find(ComponentGroup::kOutputs)->components.size(), 3u);
  for (ComponentGroup hidden :
       {ComponentGroup::kCommands, ComponentGroup::kAttachments, ComponentGroup::kTimeWindow,
        ComponentGroup::kReferences, ComponentGroup::kNetworkParameters})
    EXPECT_EQ(ftx.find(hidden), nullptr) << to_string(hidden);
  // Nothing hidden leaks through the encoding: no hidden component's bytes appear in it.
  Bytes encoded = codec::encode_to_bytes(ftx);
  Bytes hidden_input = tx.components(ComponentGroup::kInputs)[0];
  EXPECT_EQ(std::search(encoded.begin(), encoded.end(), hidden_input.begin(), hidden_input.end()),
            encoded.end());
}

TEST(FilteredTransaction, ChecksThatAGroupIsWhollyVisible) {
  WireTransaction tx = full_transaction();
  tx.references.clear();
  FilteredTransaction ftx = tx.filter([](ComponentGroup g, uint32_t i) {
    return g == ComponentGroup::kOutputs || (g == ComponentGroup::kInputs && i == 0) ||
           g == ComponentGroup::kReferences;
  });
  ASSERT_TRUE(ftx.verify().ok()) << ftx.verify().error().message();
  EXPECT_TRUE(ftx.check_all_visible(ComponentGroup::kOutputs).ok());
  // An empty group is visible when the tear-off proves it empty.
  EXPECT_TRUE(ftx.check_all_visible(ComponentGroup::kReferences).ok());
  auto partial = ftx.check_all_visible(ComponentGroup::kInputs);
  ASSERT_FALSE(partial.ok());
  EXPECT_EQ(partial.error().context, "inputs group reveals 1 of its 2 components");
  auto hidden = ftx.check_all_visible(ComponentGroup::kCommands);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().context, "commands group is not revealed");
  // An empty group that was not asked for is not proved empty.
  FilteredTransaction without =
      tx.filter([](ComponentGroup g, uint32_t) { return g == ComponentGroup::kOutputs; });
  EXPECT_FALSE(without.check_all_visible(ComponentGroup::kReferences).ok());
  // Dropping a revealed component leaves a valid tear-off that no longer shows the whole group.
  FilteredTransaction dropped = ftx;
  for (FilteredGroup& g : dropped.groups)
    if (g.group == ComponentGroup::kOutputs) g.components.erase(g.components.begin() + 1);
  EXPECT_TRUE(dropped.verify().ok());
  EXPECT_FALSE(dropped.check_all_visible(ComponentGroup::kOutputs).ok());
}

struct Tamper {
  std::string what;
  std::string expected;  // a substring of the verification failure
  std::function<void(FilteredTransaction&)> apply;
};

FilteredGroup& group_of(FilteredTransaction& ftx, ComponentGroup group) {
  for (FilteredGroup& g : ftx.groups)
    if (g.group == group) return g;
  FOLIO_ASSERT(false);
  return ftx.groups[0];
}

std::vector<Tamper> tampers() {
  using G = ComponentGroup;
  auto input = [](FilteredTransaction& f) -> FilteredComponent& {
    return group_of(f, G::kInputs).components[0];
  };
  return {
      {"component data", "inputs component 1 does not match the transaction id",
       [=](auto& f) { input(f).data.back() ^= 1; }},
      {"component nonce", "inputs component 1 does not match",
       [=](auto& f) { input(f).nonce.bytes[0] ^= 1; }},
      {"component index", "inputs component 0: its branch is for another position",
       [=](auto& f) { input(f).index = 0; }},
      {"component and branch index", "inputs component 0 does not match",
       [=](auto& f) {
         input(f).index = 0;
         input(f).proof.index = 0;
       }},
      {"index beyond the group", "inputs component 2 is beyond the group's 2 components",
       [=](auto& f) { input(f).index = 2; }},
      {"a proof sibling", "inputs component 1 does not match",
       [=](auto& f) { input(f).proof.siblings[0].bytes[0] ^= 1; }},
      {"a proof without siblings", "inputs component 1 does not match",
       [=](auto& f) { input(f).proof.siblings.clear(); }},
      {"a proof's leaf count", "inputs component 1: its branch is for another position",
       [=](auto& f) { input(f).proof.leaf_count = 3; }},
      {"a group's count", "inputs group: its count or root does not match",
       [](auto& f) { group_of(f, G::kInputs).count = 3; }},
      {"a group's count and every branch", "inputs group: its count or root does not match",
       [=](auto& f) {
         group_of(f, G::kInputs).count = 1;
         input(f).proof.leaf_count = 1;
       }},
      {"a group's inner root", "outputs group: its count or root does not match",
       [](auto& f) { group_of(f, G::kOutputs).inner_root.bytes[0] ^= 1; }},
      {"a group root", "the group roots do not hash to transaction id",
       [](auto& f) { f.group_roots[3].bytes[0] ^= 1; }},
      {"a missing group root", "must carry 9 group roots, not 8",
       [](auto& f) { f.group_roots.pop_back(); }},
      {"the id", "the group roots do not hash to transaction id",
       [](auto& f) { f.id.mutable_value().bytes[0] ^= 1; }},
      {"a group passed off as another", "references group: its count or root does not match",
       [](auto& f) { group_of(f, G::kInputs).group = G::kReferences; }},
      {"the order of groups", "filtered groups are not in strictly ascending order",
       [](auto& f) { std::swap(f.groups[0], f.groups[1]); }},
      {"a repeated group", "filtered groups are not in strictly ascending order",
       [](auto& f) { f.groups.push_back(f.groups.back()); }},
      {"the order of components", "outputs components are not in strictly ascending order",
       [](auto& f) {
         auto& c = group_of(f, G::kOutputs).components;
         std::swap(c[0], c[1]);
       }},
      {"a repeated component", "outputs components are not in strictly ascending order",
       [](auto& f) {
         auto& c = group_of(f, G::kOutputs).components;
         c.push_back(c.back());
       }},
  };
}

TEST(FilteredTransaction, TamperingWithAnyFieldIsDetected) {
  FilteredTransaction original = notary_view(full_transaction());
  ASSERT_TRUE(original.verify().ok());
  for (const Tamper& t : tampers()) {
    FilteredTransaction tampered = original;
    t.apply(tampered);
    ASSERT_NE(tampered, original) << t.what;
    Status s = tampered.verify();
    ASSERT_FALSE(s.ok()) << "tampering with " << t.what << " went unnoticed";
    EXPECT_EQ(s.error().code, ErrorCode::kVerification) << t.what;
    EXPECT_NE(s.error().context.find(t.expected), std::string::npos)
        << "tampering with " << t.what << ": expected '" << t.expected
        << "', got: " << s.error().context;
  }
}

TEST(FilteredTransaction, RevealedComponentsDecode) {
  WireTransaction tx = full_transaction();
  FilteredTransaction ftx = tx.filter([](ComponentGroup g, uint32_t i) {
    return g != ComponentGroup::kInputs && g != ComponentGroup::kCommands &&
           !(g == ComponentGroup::kOutputs && i == 1);
  });
  ASSERT_TRUE(ftx.verify().ok());
  auto outputs = ftx.revealed<TransactionState>(ComponentGroup::kOutputs);
  ASSERT_TRUE(outputs.ok()) << outputs.error().message();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0], std::make_pair(uint32_t{0}, tx.outputs[0]));
  EXPECT_EQ((*outputs)[1], std::make_pair(uint32_t{2}, tx.outputs[2]));
  auto notary = ftx.revealed<Party>(ComponentGroup::kNotary);
  ASSERT_TRUE(notary.ok());
  ASSERT_EQ(notary->size(), 1u);
  EXPECT_EQ((*notary)[0].second, *tx.notary);
  auto signers = ftx.revealed<std::vector<PublicKey>>(ComponentGroup::kSigners);
  ASSERT_TRUE(signers.ok());
  ASSERT_EQ(signers->size(), 2u);
  EXPECT_EQ((*signers)[1].second, tx.commands[1].signers);
  auto window = ftx.revealed<TimeWindow>(ComponentGroup::kTimeWindow);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->at(0).second, *tx.time_window);
  auto references = ftx.revealed<StateRef>(ComponentGroup::kReferences);
  ASSERT_TRUE(references.ok());
  EXPECT_EQ(references->at(0).second, tx.references[0]);
  auto parameters = ftx.revealed<NetworkParametersHash>(ComponentGroup::kNetworkParameters);
  ASSERT_TRUE(parameters.ok());
  EXPECT_EQ(parameters->at(0).second, *tx.network_parameters_hash);
  // A hidden group reveals nothing; a component read as the wrong type fails, naming it.
  auto inputs = ftx.revealed<StateRef>(ComponentGroup::kInputs);
  ASSERT_TRUE(inputs.ok());
  EXPECT_TRUE(inputs->empty());
  auto wrong = ftx.revealed<Party>(ComponentGroup::kAttachments);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().context.find("attachments component 0"), std::string::npos)
      << wrong.error().context;
}

// ---- Component proofs and proved states --------------------------------------------------------

TEST(ComponentProof, EveryComponentOfEveryGroupProves) {
  WireTransaction tx = full_transaction();
  TxId id = tx.id();
  for (ComponentGroup group : all_groups()) {
    std::vector<Bytes> parts = tx.components(group);
    ASSERT_FALSE(parts.empty()) << to_string(group);
    for (uint32_t i = 0; i < parts.size(); ++i) {
      ComponentProof proof = tx.prove(group, i);
      EXPECT_EQ(proof.component.data, parts[i]);
      Status s = proof.verify(id);
      EXPECT_TRUE(s.ok()) << to_string(group) << " " << i << ": " << s.error().message();
    }
  }
}

TEST(ComponentProof, TamperingIsDetected) {
  WireTransaction tx = full_transaction();
  TxId id = tx.id();
  ComponentProof original = tx.prove(ComponentGroup::kOutputs, 1);
  auto expect_fails = [&](std::string_view what, const std::function<void(ComponentProof&)>& change,
                          std::string_view expected, const TxId& against) {
    ComponentProof p = original;
    change(p);
    Status s = p.verify(against);
    ASSERT_FALSE(s.ok()) << what;
    EXPECT_NE(s.error().context.find(expected), std::string::npos)
        << what << ": " << s.error().context;
  };
  expect_fails(
      "content", [](auto& p) { p.component.data[0] ^= 1; }, "outputs component 1 does not match",
      id);
  expect_fails(
      "index", [](auto& p) { p.component.index = 2; }, "its branch is for another position", id);
  expect_fails(
      "count", [](auto& p) { p.count = 4; }, "its branch is for another position", id);
  expect_fails(
      "group", [](auto& p) { p.group = ComponentGroup::kReferences; },
      "the group branch is for another group", id);
  expect_fails(
      "group branch", [](auto& p) { p.group_proof.siblings[0].bytes[0] ^= 1; },
      "outputs component 1 is not part of transaction", id);
  WireTransaction other = tx;
  other.salt.bytes[0] ^= 1;
  expect_fails(
      "another transaction's id", [](auto&) {},
      "is not part of transaction " + other.id().value().short_hex(), other.id());
  // The same component proved in another transaction does not prove it in this one.
  ComponentProof foreign = other.prove(ComponentGroup::kOutputs, 1);
  EXPECT_EQ(foreign.component.data, original.component.data);
  EXPECT_FALSE(foreign.verify(id).ok());
}

TEST(ProvedState, ProvesAnOutputAgainstItsStateRef) {
  WireTransaction tx = full_transaction();
  TxId id = tx.id();
  for (uint32_t i = 0; i < tx.outputs.size(); ++i) {
    ProvedState proved = prove_output(tx, id, i);
    EXPECT_EQ(proved.ref, (StateRef{id, i}));
    EXPECT_EQ(proved.state, tx.outputs[i]);
    EXPECT_TRUE(proved.verify().ok()) << i;
  }
}

TEST(ProvedState, TamperingIsDetected) {
  WireTransaction tx = full_transaction();
  TxId id = tx.id();
  ProvedState original = prove_output(tx, id, 1);
  auto failure = [](const ProvedState& p) {
    Status s = p.verify();
    return s.ok() ? std::string("verified") : s.error().context;
  };
  ProvedState content = original;
  content.state.data.push_back(9);
  EXPECT_NE(failure(content).find("the content differs from the proved one"), std::string::npos)
      << failure(content);

  ProvedState index = original;
  index.ref.index = 2;
  EXPECT_NE(failure(index).find("the proof is for output 1"), std::string::npos) << failure(index);

  // Claiming another output's content and index, with this output's proof.
  ProvedState swapped = original;
  swapped.ref.index = 0;
  swapped.state = tx.outputs[0];
  swapped.proof.component.index = 0;
  swapped.proof.component.data = codec::encode_to_bytes(tx.outputs[0]);
  EXPECT_NE(failure(swapped).find("outputs component 0"), std::string::npos) << failure(swapped);

  ProvedState elsewhere = original;
  elsewhere.ref.tx_id = TxId(hash_of("another transaction"));
  EXPECT_NE(failure(elsewhere).find("is not part of transaction"), std::string::npos)
      << failure(elsewhere);

  // The same state, proved inside another transaction, does not prove the output of this one.
  WireTransaction other = tx;
  other.salt.bytes[5] ^= 1;
  ProvedState foreign = original;
  foreign.proof = prove_output(other, other.id(), 1).proof;
  EXPECT_NE(failure(foreign).find("is not part of transaction " + id.value().short_hex()),
            std::string::npos)
      << failure(foreign);

  ProvedState not_an_output = original;
  not_an_output.proof = tx.prove(ComponentGroup::kReferences, 0);
  EXPECT_NE(failure(not_an_output).find("the proof is not of an output"), std::string::npos)
      << failure(not_an_output);
}

}  // namespace
}  // namespace folio::ledger
