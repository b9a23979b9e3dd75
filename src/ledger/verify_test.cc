// The verification pipeline, rule by rule: for every ledger::Rule a transaction that fails for
// exactly that rule (asserting the rule and a message naming the component) beside a neighbouring
// transaction that passes. Transactions are built with the ledger DSL and run through the whole
// pipeline (ledger::verify_transaction), so each test also shows that no earlier rule fires first.
#include "ledger/verify.h"

#include <gtest/gtest.h>

#include "contracts/cash.h"
#include "testing/ledger_dsl.h"

namespace folio::ledger {
namespace {

using crypto::PublicKey;
using folio::testing::LedgerDsl;
using folio::testing::TxDsl;

// ---- A test-only contract ----------------------------------------------------------------------

// test.Dummy accepts every transaction unless one of its commands is named "Reject"; its state is
// just an owner, whom it declares as the state's participant (so it can change notary).
constexpr std::string_view kDummyContract = "test.Dummy";

struct DummyState {
  PublicKey owner;
  FOLIO_FIELDS(owner)
};

class DummyContract : public Contract {
 public:
  std::string_view name() const override { return kDummyContract; }
  Status verify(const LedgerTransaction& tx) const override {
    for (const Command* c : tx.commands_of(kDummyContract))
      if (c->name == "Reject") return reject("command Reject says no");
    return ok_status();
  }
  Result<std::vector<PublicKey>> participants(const TransactionState& state) const override {
    auto s = codec::decode_from_bytes<DummyState>(state.data);
    if (!s.ok()) return s.error();
    return std::vector<PublicKey>{s->owner};
  }
};

// test.Silent accepts everything and does not declare participants.
constexpr std::string_view kSilentContract = "test.Silent";

class SilentContract : public Contract {
 public:
  std::string_view name() const override { return kSilentContract; }
  Status verify(const LedgerTransaction&) const override { return ok_status(); }
};

class VerifyTest : public ::testing::Test {
 protected:
  VerifyTest() {
    EXPECT_TRUE(ledger.registry().add(std::make_unique<DummyContract>()).ok());
    EXPECT_TRUE(ledger.registry().add(std::make_unique<SilentContract>()).ok());
  }

  TransactionState dummy(std::string_view owner,
                         std::optional<uint32_t> encumbrance = std::nullopt) {
    return TransactionState{codec::encode_to_bytes(DummyState{ledger.public_key(owner)}),
                            std::string(kDummyContract), ledger.notary(), encumbrance,
                            AlwaysAcceptConstraint{}};
  }
  TransactionState dummy_with(AttachmentConstraint constraint) {
    TransactionState s = dummy("alice");
    s.constraint = std::move(constraint);
    return s;
  }
  Command act(std::vector<PublicKey> signers, std::string name = "Act") {
    return Command{std::string(kDummyContract), std::move(name), {}, std::move(signers)};
  }
  Command act_by(std::string_view signer) { return act({ledger.public_key(signer)}); }
  // Records a dummy state owned by `owner` under `label`.
  void create(std::string label, std::string_view owner = "alice") {
    ledger.transaction().output(std::move(label), dummy(owner)).command(act_by(owner)).verifies();
  }
  Verdict verdict_of(const SignedTransaction& stx, const VerifyOptions& options = {}) {
    return verify_transaction(stx, ledger.states(), ledger.attachments(), ledger.registry(),
                              options);
  }
  Attachment code(std::string_view name, std::vector<std::string> contracts,
                  std::vector<PublicKey> signers = {}) {
    return Attachment{AttachmentId(crypto::sha256(as_bytes(name))), std::move(contracts),
                      std::move(signers)};
  }
  Party other_notary() { return ledger.party("OtherNotary"); }

  LedgerDsl ledger;
};

void expect_rule(const Verdict& v, Rule rule, std::string_view substring) {
  EXPECT_EQ(v.rule, rule) << "expected '" << to_string(rule) << "', got: " << v.describe();
  EXPECT_NE(v.message.find(substring), std::string::npos)
      << "expected a message mentioning '" << substring << "', got: " << v.describe();
}

// ---- Structure ---------------------------------------------------------------------------------

TEST_F(VerifyTest, TransactionThatNeitherConsumesNorCreatesIsEmpty) {
  ledger.transaction()
      .command(act_by("alice"))
      .fails_with(Rule::kEmptyTransaction, "neither consumes nor creates");
  ledger.transaction().output(dummy("alice")).command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, IssuanceNeedsNoNotaryButConsumingReferencingAndTimingDo) {
  ledger.transaction()
      .notary(std::nullopt)
      .output(dummy("alice"))
      .command(act_by("alice"))
      .verifies();
  create("d");
  ledger.transaction()
      .notary(std::nullopt)
      .input("d")
      .command(act_by("alice"))
      .fails_with(Rule::kMissingNotary, "consumes states but names no notary");
  ledger.transaction()
      .notary(std::nullopt)
      .reference("d")
      .output(dummy("bob"))
      .command(act_by("bob"))
      .fails_with(Rule::kMissingNotary, "references states but names no notary");
  ledger.transaction()
      .notary(std::nullopt)
      .output(dummy("bob"))
      .time_window(TimeWindow{Timestamp(10), Timestamp(20)})
      .command(act_by("bob"))
      .fails_with(Rule::kMissingNotary, "time window but no notary");
}

TEST_F(VerifyTest, StateConsumedTwiceInOneTransactionIsRefused) {
  create("d1");
  create("d2");
  ledger.transaction()
      .input("d1")
      .input("d1")
      .command(act_by("alice"))
      .fails_with(Rule::kDuplicateInput, "input 1 (");
  ledger.transaction().input("d1").input("d2").command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, InputGovernedByAnotherNotaryIsRefused) {
  ledger.transaction()
      .notary(other_notary())
      .output("elsewhere",
              [&] {
                TransactionState s = dummy("alice");
                s.notary = other_notary();
                return s;
              }())
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .input("elsewhere")
      .command(act_by("alice"))
      .fails_with(Rule::kInputNotaryMismatch,
                  "input 0 (" + ledger.ref("elsewhere").describe() + ") is governed by notary");
  ledger.transaction()
      .notary(other_notary())
      .input("elsewhere")
      .command(act_by("alice"))
      .verifies();
}

TEST_F(VerifyTest, OutputNamingAnotherNotaryIsRefused) {
  TransactionState elsewhere = dummy("alice");
  elsewhere.notary = other_notary();
  ledger.transaction()
      .output(dummy("alice"))
      .output(elsewhere)
      .command(act_by("alice"))
      .fails_with(Rule::kOutputNotaryMismatch, "output 1 names notary O=OtherNotary");
  ledger.transaction().notary(other_notary()).output(elsewhere).command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, SameAttachmentTwiceIsRefused) {
  Attachment lib = code("library", {});
  ledger.transaction()
      .output(dummy("alice"))
      .attachment(lib)
      .attachment(lib)
      .command(act_by("alice"))
      .fails_with(Rule::kDuplicateAttachment,
                  "attachment " + lib.id.value().short_hex() + " is attached twice");
  ledger.transaction()
      .output(dummy("alice"))
      .attachment(lib)
      .attachment(code("another library", {}))
      .command(act_by("alice"))
      .verifies();
}

// Past a handful of states the membership checks switch to a hash set: the rules hold there too.
class ManyStatesTest : public VerifyTest {
 protected:
  static constexpr int kStates = 20;
  ManyStatesTest() {
    TxDsl t = ledger.transaction();
    for (int i = 0; i < kStates; ++i) t.output("d" + std::to_string(i), dummy("alice"));
    t.command(act_by("alice")).verifies();
  }
  TxDsl consuming_all() {
    TxDsl t = ledger.transaction();
    for (int i = 0; i < kStates; ++i) t.input("d" + std::to_string(i));
    t.command(act_by("alice"));
    return t;
  }
};

TEST_F(ManyStatesTest, DuplicateAmongManyInputsIsFound) {
  consuming_all().verifies();
  consuming_all().input("d3").fails_with(Rule::kDuplicateInput,
                                         "input 20 (" + ledger.ref("d3").describe());
}

TEST_F(ManyStatesTest, InputAlsoReferencedAmongManyIsFound) {
  create("rate");
  consuming_all().reference("rate").verifies();
  consuming_all().reference("rate").reference("d17").fails_with(
      Rule::kInputIsAlsoReference,
      "state " + ledger.ref("d17").describe() + " is both consumed and referenced");
}

TEST_F(ManyStatesTest, DuplicateAmongManyReferencesIsFound) {
  TxDsl reading = ledger.transaction();
  for (int i = 0; i < kStates; ++i) reading.reference("d" + std::to_string(i));
  reading.output(dummy("bob")).command(act_by("bob"));
  TxDsl again = reading;
  reading.verifies();
  again.reference("d19").fails_with(Rule::kDuplicateReference,
                                    "reference 20 (" + ledger.ref("d19").describe());
}

TEST_F(ManyStatesTest, EncumbranceAmongManyInputsMustBeConsumed) {
  ledger.transaction()
      .output("asset", dummy("alice", 1))
      .output("lock", dummy("alice", 0))
      .command(act_by("alice"))
      .verifies();
  consuming_all().input("asset").input("lock").verifies();
  consuming_all().input("asset").fails_with(
      Rule::kEncumbranceNotConsumed,
      "input 20 (" + ledger.ref("asset").describe() + ") is encumbered by");
}

// ---- Resolution --------------------------------------------------------------------------------

TEST_F(VerifyTest, InputOfAnUnknownTransactionIsUnresolved) {
  StateRef nowhere{TxId(crypto::sha256(as_bytes("never happened"))), 0};
  ledger.transaction()
      .input(nowhere)
      .command(act_by("alice"))
      .fails_with(Rule::kUnresolvedDependency,
                  "input 0 (" + nowhere.describe() + "): unknown state");
  create("d");
  StateRef beyond{ledger.ref("d").tx_id, 1};  // the transaction exists but has one output
  ledger.transaction()
      .input(beyond)
      .command(act_by("alice"))
      .fails_with(Rule::kUnresolvedDependency, "input 0 (" + beyond.describe());
  ledger.transaction().input("d").command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, UnknownReferenceAndUnknownAttachmentAreUnresolved) {
  StateRef nowhere{TxId(crypto::sha256(as_bytes("never happened"))), 3};
  ledger.transaction()
      .output(dummy("alice"))
      .tweak([&](WireTransaction& tx) { tx.references.push_back(nowhere); })
      .command(act_by("alice"))
      .fails_with(Rule::kUnresolvedDependency, "reference 0 (" + nowhere.describe());
  AttachmentId unknown(crypto::sha256(as_bytes("not in the store")));
  ledger.transaction()
      .output(dummy("alice"))
      .tweak([&](WireTransaction& tx) { tx.attachments.push_back(unknown); })
      .command(act_by("alice"))
      .fails_with(Rule::kUnresolvedDependency,
                  "attachment 0: unknown attachment " + unknown.value().short_hex());
}

// ---- References --------------------------------------------------------------------------------

TEST_F(VerifyTest, ReferenceStateResolvesAndStaysUnconsumed) {
  create("rate");
  TxDsl reading = ledger.transaction();
  reading.reference("rate").output(dummy("bob")).command(act_by("bob"));
  WireTransaction wire = reading.wire();
  auto resolved = resolve(wire, wire.id(), ledger.states(), ledger.attachments());
  ASSERT_TRUE(resolved.ok()) << resolved.error().message();
  ASSERT_EQ(resolved->references.size(), 1u);
  EXPECT_EQ(resolved->references[0].ref, ledger.ref("rate"));
  EXPECT_EQ(resolved->references[0].state, dummy("alice"));
  EXPECT_TRUE(resolved->inputs.empty());
  reading.verifies();
  // Reading did not consume it: it can be read again, then consumed.
  ledger.transaction().reference("rate").output(dummy("carol")).command(act_by("carol")).verifies();
  ledger.transaction().input("rate").command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, StateReferencedTwiceIsRefused) {
  create("rate");
  create("other rate");
  ledger.transaction()
      .reference("rate")
      .reference("rate")
      .output(dummy("bob"))
      .command(act_by("bob"))
      .fails_with(Rule::kDuplicateReference,
                  "reference 1 (" + ledger.ref("rate").describe() + ") is referenced twice");
  ledger.transaction()
      .reference("rate")
      .reference("other rate")
      .output(dummy("bob"))
      .command(act_by("bob"))
      .verifies();
}

TEST_F(VerifyTest, StateBothConsumedAndReferencedIsRefused) {
  create("d");
  create("e");
  ledger.transaction()
      .input("d")
      .reference("d")
      .command(act_by("alice"))
      .fails_with(Rule::kInputIsAlsoReference,
                  "state " + ledger.ref("d").describe() + " is both consumed and referenced");
  ledger.transaction().input("d").reference("e").command(act_by("alice")).verifies();
}

// ---- Encumbrances ------------------------------------------------------------------------------

TEST_F(VerifyTest, EncumbranceBeyondTheOutputsIsRefused) {
  ledger.transaction()
      .output(dummy("alice"))
      .output(dummy("alice", 5))
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceOutOfRange,
                  "output 1 is encumbered by output 5, but the transaction has only 2");
  ledger.transaction()
      .output(dummy("alice", 1))
      .output(dummy("alice", 0))
      .command(act_by("alice"))
      .verifies();
}

TEST_F(VerifyTest, OutputEncumberedByItselfIsRefused) {
  ledger.transaction()
      .output(dummy("alice"))
      .output(dummy("alice", 1))
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceSelf, "output 1 is encumbered by itself");
}

TEST_F(VerifyTest, EncumbranceUnderAnotherNotaryIsRefused) {
  // Only a transaction without a notary can create outputs under two notaries at all; the
  // encumbrance rule still refuses to bind states that two different notaries would guard.
  TransactionState elsewhere = dummy("alice", 0);
  elsewhere.notary = other_notary();
  ledger.transaction()
      .notary(std::nullopt)
      .output(dummy("alice", 1))
      .output(elsewhere)
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceNotaryMismatch,
                  "output 0 and its encumbrance, output 1, name different notaries");
  ledger.transaction()
      .notary(std::nullopt)
      .output(dummy("alice", 1))
      .output(dummy("alice", 0))
      .command(act_by("alice"))
      .verifies();
}

TEST_F(VerifyTest, EncumbranceThatIsNotMutualIsRefused) {
  // One way: the encumbrance is not encumbered back.
  ledger.transaction()
      .output(dummy("alice", 1))
      .output(dummy("alice"))
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceNotMutual,
                  "output 0 is encumbered by output 1, which is not itself encumbered");
  // The other way: two outputs share one encumbrance.
  ledger.transaction()
      .output(dummy("alice", 2))
      .output(dummy("alice", 2))
      .output(dummy("alice", 0))
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceNotMutual,
                  "output 2 is the encumbrance of more than one output");
}

TEST_F(VerifyTest, MutualPairIsCreatedAndConsumedTogether) {
  ledger.transaction()
      .output("asset", dummy("alice", 1))
      .output("lock", dummy("alice", 0))
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .input("lock")
      .input("asset")
      .output(dummy("bob"))
      .command(act_by("alice"))
      .verifies();
}

TEST_F(VerifyTest, EncumberedStateConsumedWithoutItsEncumbranceIsRefused) {
  ledger.transaction()
      .output("asset", dummy("alice", 1))
      .output("lock", dummy("alice", 0))
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .input("asset")
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceNotConsumed,
                  "input 0 (" + ledger.ref("asset").describe() + ") is encumbered by " +
                      ledger.ref("lock").describe() + ", which this transaction does not consume");
  ledger.transaction()
      .input("lock")
      .command(act_by("alice"))
      .fails_with(Rule::kEncumbranceNotConsumed,
                  "is encumbered by " + ledger.ref("asset").describe());
}

// ---- Contract constraints ----------------------------------------------------------------------

TEST_F(VerifyTest, HashConstraintAcceptsOnlyItsAttachment) {
  Attachment v1 = code("dummy v1", {std::string(kDummyContract)});
  Attachment v2 = code("dummy v2", {std::string(kDummyContract)});
  ledger.transaction()
      .output(dummy_with(HashConstraint{v1.id}))
      .attachment(v1)
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .output(dummy_with(HashConstraint{v1.id}))
      .attachment(v2)
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintHashMismatch,
                  "output 0 requires contract test.Dummy from attachment " +
                      v1.id.value().short_hex() + ", but attachment " + v2.id.value().short_hex() +
                      " provides it");
}

TEST_F(VerifyTest, ConstrainedInputIsCheckedWhenConsumed) {
  Attachment v1 = code("dummy v1", {std::string(kDummyContract)});
  Attachment v2 = code("dummy v2", {std::string(kDummyContract)});
  ledger.transaction()
      .output("pinned", dummy_with(HashConstraint{v1.id}))
      .attachment(v1)
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .input("pinned")
      .attachment(v2)
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintHashMismatch,
                  "input 0 (" + ledger.ref("pinned").describe() + ") requires contract");
  ledger.transaction()
      .input("pinned")
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintNoAttachment, "input 0");
  ledger.transaction().input("pinned").attachment(v1).command(act_by("alice")).verifies();
}

TEST_F(VerifyTest, SignatureConstraintNeedsTheWholeCompoundKey) {
  auto developers =
      PublicKey::compound(2, {{ledger.public_key("dev1"), 1}, {ledger.public_key("dev2"), 1}});
  ASSERT_TRUE(developers.ok());
  Attachment both = code("dummy signed by both", {std::string(kDummyContract)},
                         {ledger.public_key("dev1"), ledger.public_key("dev2")});
  Attachment one =
      code("dummy signed by one", {std::string(kDummyContract)}, {ledger.public_key("dev1")});
  ledger.transaction()
      .output(dummy_with(SignatureConstraint{*developers}))
      .attachment(both)
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .output(dummy_with(SignatureConstraint{*developers}))
      .attachment(one)
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintSignatureUnfulfilled,
                  "output 0 requires contract test.Dummy signed by compound(threshold 2");
}

TEST_F(VerifyTest, ConstraintWithoutAnAttachmentProvidingTheContractIsRefused) {
  Attachment v1 = code("dummy v1", {std::string(kDummyContract)});
  Attachment unrelated = code("cash v1", {std::string(contracts::kCashContract)});
  ledger.transaction()
      .output(dummy_with(HashConstraint{v1.id}))
      .attachment(unrelated)
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintNoAttachment,
                  "output 0 is constrained to hash " + v1.id.value().short_hex() +
                      " but no attachment provides contract test.Dummy");
  // Always-accept states need no attachment at all.
  ledger.transaction()
      .output(dummy_with(AlwaysAcceptConstraint{}))
      .command(act_by("alice"))
      .verifies();
}

TEST_F(VerifyTest, TwoAttachmentsProvidingOneContractAreAmbiguous) {
  Attachment v1 = code("dummy v1", {std::string(kDummyContract)});
  Attachment v2 = code("dummy v2", {std::string(kDummyContract), "test.Other"});
  ledger.transaction()
      .output(dummy_with(HashConstraint{v1.id}))
      .attachment(v1)
      .attachment(v2)
      .command(act_by("alice"))
      .fails_with(Rule::kConstraintAmbiguousAttachment,
                  "output 0: attachments " + v1.id.value().short_hex() + " and " +
                      v2.id.value().short_hex() + " both provide contract test.Dummy");
}

// ---- Time windows ------------------------------------------------------------------------------

TEST_F(VerifyTest, MalformedTimeWindowIsRefused) {
  ledger.transaction()
      .output(dummy("alice"))
      .time_window(TimeWindow{})
      .command(act_by("alice"))
      .fails_with(Rule::kTimeWindowMalformed, "neither a start nor an end");
  ledger.transaction()
      .output(dummy("alice"))
      .time_window(TimeWindow{Timestamp(20), Timestamp(20)})
      .command(act_by("alice"))
      .fails_with(Rule::kTimeWindowMalformed, "starts at 20 but ends at 20");
  ledger.transaction()
      .output(dummy("alice"))
      .time_window(TimeWindow{Timestamp(21), Timestamp(20)})
      .command(act_by("alice"))
      .fails_with(Rule::kTimeWindowMalformed, "starts at 21 but ends at 20");
  ledger.transaction()
      .output(dummy("alice"))
      .time_window(TimeWindow{Timestamp(19), Timestamp(20)})
      .command(act_by("alice"))
      .verifies();
  ledger.transaction()
      .output(dummy("alice"))
      .time_window(TimeWindow{std::nullopt, Timestamp(20)})
      .command(act_by("alice"))
      .verifies();
}

// ---- Signatures --------------------------------------------------------------------------------

TEST_F(VerifyTest, CorruptedSignatureIsInvalid) {
  TxDsl t = ledger.transaction();
  t.output(dummy("alice")).command(act_by("alice"));
  SignedTransaction stx = t.signed_transaction();
  ASSERT_EQ(stx.signatures.size(), 1u);
  EXPECT_TRUE(verdict_of(stx).ok());
  stx.signatures[0].signature.bytes.bytes[5] ^= 0x40;
  expect_rule(verdict_of(stx), Rule::kInvalidSignature, "signature 0 by ed25519:");
  expect_rule(verdict_of(stx), Rule::kInvalidSignature, "does not verify for transaction");
}

TEST_F(VerifyTest, SignatureOverAnotherTransactionIsInvalid) {
  TxDsl first = ledger.transaction();
  first.output(dummy("alice")).command(act_by("alice"));
  TxDsl second = ledger.transaction();
  second.output(dummy("alice")).output(dummy("alice")).command(act_by("alice"));
  SignedTransaction stx = second.signed_transaction();
  stx.signatures = first.signed_transaction().signatures;
  expect_rule(verdict_of(stx), Rule::kInvalidSignature, "signature 0");
}

TEST_F(VerifyTest, SignatureClaimingACompoundKeyIsInvalid) {
  auto pair =
      PublicKey::compound(1, {{ledger.public_key("alice"), 1}, {ledger.public_key("bob"), 1}});
  ASSERT_TRUE(pair.ok());
  TxDsl t = ledger.transaction();
  t.output(dummy("alice")).command(act_by("alice"));
  SignedTransaction stx = t.signed_transaction();
  TransactionSignature claimed = stx.signatures[0];
  claimed.by = *pair;
  stx.signatures.push_back(claimed);
  expect_rule(verdict_of(stx), Rule::kInvalidSignature, "signature 1 by compound(");
}

TEST_F(VerifyTest, RepeatedSignatureIsRefused) {
  TxDsl t = ledger.transaction();
  t.output(dummy("alice")).command(act({ledger.public_key("alice"), ledger.public_key("bob")}));
  SignedTransaction stx = t.signed_transaction();
  ASSERT_EQ(stx.signatures.size(), 2u);
  EXPECT_TRUE(verdict_of(stx).ok());
  stx.signatures.push_back(stx.signatures[0]);
  expect_rule(verdict_of(stx), Rule::kDuplicateSignature,
              "signature 2 by " + stx.signatures[0].by.describe() + " repeats");
}

TEST_F(VerifyTest, MissingSignatureIsRefusedUnlessAllowed) {
  ledger.transaction()
      .output(dummy("alice"))
      .command(act({ledger.public_key("alice"), ledger.public_key("Notary")}))
      .without_signature_of("Notary")
      .fails_with(Rule::kMissingSignature, "signer " + ledger.public_key("Notary").describe() +
                                               " of command test.Dummy.Act has not signed");
  // Before notarisation the notary's signature is allowed to be missing, and only the notary's.
  ledger.transaction()
      .output(dummy("alice"))
      .command(act({ledger.public_key("alice"), ledger.public_key("Notary")}))
      .without_signature_of("Notary")
      .allow_missing(ledger.public_key("Notary"))
      .verifies();
  ledger.transaction()
      .output(dummy("alice"))
      .command(act({ledger.public_key("alice"), ledger.public_key("Notary")}))
      .without_signature_of("Notary")
      .without_signature_of("alice")
      .allow_missing(ledger.public_key("Notary"))
      .fails_with(Rule::kMissingSignature, "signer " + ledger.public_key("alice").describe());
}

TEST_F(VerifyTest, SignatureOfSomeoneWhoIsNotRequiredIsHarmless) {
  ledger.transaction()
      .output(dummy("alice"))
      .command(act_by("alice"))
      .signed_by("carol")
      .verifies();
}

class CompoundSignerTest : public VerifyTest {
 protected:
  // Two of {a, b, one of {c1, c2}}.
  PublicKey board() {
    auto either =
        PublicKey::compound(1, {{ledger.public_key("c1"), 1}, {ledger.public_key("c2"), 1}});
    EXPECT_TRUE(either.ok());
    auto key = PublicKey::compound(
        2, {{ledger.public_key("a"), 1}, {ledger.public_key("b"), 1}, {*either, 1}});
    EXPECT_TRUE(key.ok());
    return *key;
  }
  TxDsl board_transaction() {
    TxDsl t = ledger.transaction();
    t.output(dummy("alice")).command(act({board()}));
    return t;
  }
};

TEST_F(CompoundSignerTest, FulfilledByEnoughLeaves) {
  board_transaction().verifies();  // every leaf signs
  board_transaction().without_signature_of("c1").without_signature_of("c2").verifies();  // a and b
  board_transaction().without_signature_of("b").without_signature_of("c2").verifies();   // a and c1
  board_transaction().without_signature_of("a").without_signature_of("c1").verifies();   // b and c2
}

TEST_F(CompoundSignerTest, NotFulfilledByTooFewLeaves) {
  board_transaction()
      .without_signature_of("b")
      .without_signature_of("c1")
      .without_signature_of("c2")
      .fails_with(Rule::kMissingSignature, "signer compound(threshold 2 over 3 members, 4 leaves)");
  // Both leaves of the nested 1-of-2 count once.
  board_transaction().without_signature_of("a").without_signature_of("b").fails_with(
      Rule::kMissingSignature, "signer compound(threshold 2");
}

// ---- Contracts ---------------------------------------------------------------------------------

TEST_F(VerifyTest, StateOfAnUnknownContractIsRefused) {
  TransactionState orphan = dummy("alice");
  orphan.contract = "test.Nobody";
  ledger.transaction()
      .output(orphan)
      .command(act_by("alice"))
      .fails_with(Rule::kUnknownContract, "no code for contract test.Nobody");
  // A command alone names a contract that must exist, as does a referenced state.
  Command stray = act_by("alice");
  stray.contract = "test.Nobody";
  ledger.transaction()
      .output(dummy("alice"))
      .command(stray)
      .fails_with(Rule::kUnknownContract, "test.Nobody");
  StateRef planted{TxId(crypto::sha256(as_bytes("planted"))), 0};
  ledger.states().add(planted, orphan);
  ledger.transaction()
      .tweak([&](WireTransaction& tx) { tx.references.push_back(planted); })
      .output(dummy("alice"))
      .command(act_by("alice"))
      .fails_with(Rule::kUnknownContract, "test.Nobody");
}

TEST_F(VerifyTest, ContractRejectionNamesTheContract) {
  ledger.transaction()
      .output(dummy("alice"))
      .command(act({ledger.public_key("alice")}, "Reject"))
      .fails_with(Rule::kContractRejected, "test.Dummy: command Reject says no");
  // The Cash contract runs because of its command even though no cash is in the transaction.
  ledger.transaction()
      .output(dummy("alice"))
      .command(act_by("alice"))
      .command(contracts::cash_move({ledger.public_key("alice")}))
      .fails_with(Rule::kContractRejected, "folio.Cash: a Cash command but no cash");
}

// ---- Notary change -----------------------------------------------------------------------------

class NotaryChangeTest : public VerifyTest {
 protected:
  Command change(const Party& to, std::vector<PublicKey> signers) {
    return Command{std::string(kNotaryChangeContract), std::string(kNotaryChangeCommand),
                   codec::encode_to_bytes(to), std::move(signers)};
  }
  Command change_by_alice() { return change(other_notary(), {ledger.public_key("alice")}); }
  TransactionState moved(TransactionState state) {
    state.notary = other_notary();
    return state;
  }
};

TEST_F(NotaryChangeTest, ValidChangeMovesStatesToTheNewNotary) {
  create("d");
  ledger.transaction()
      .input("d")
      .output("moved", moved(dummy("alice")))
      .command(change_by_alice())
      .verifies();
  // The new notary now governs the state; the old one no longer can.
  ledger.transaction()
      .input("moved")
      .command(act_by("alice"))
      .fails_with(Rule::kInputNotaryMismatch, "input 0");
  ledger.transaction().notary(other_notary()).input("moved").command(act_by("alice")).verifies();
}

TEST_F(NotaryChangeTest, MovesCashWhoseOwnerSigns) {
  contracts::CashAmount pounds{100,
                               contracts::IssuedCurrency{{ledger.party("bank"), Bytes{1}}, "GBP"}};
  TransactionState cash =
      contracts::cash_output(pounds, ledger.public_key("alice"), ledger.notary());
  ledger.transaction()
      .output("cash", cash)
      .command(contracts::cash_issue(ledger.public_key("bank")))
      .verifies();
  ledger.transaction()
      .input("cash")
      .output(moved(cash))
      .command(change(other_notary(), {ledger.public_key("bob")}))
      .fails_with(Rule::kNotaryChangeMalformed, "participant " +
                                                    ledger.public_key("alice").describe() +
                                                    " is not a signer of the change");
  ledger.transaction().input("cash").output(moved(cash)).command(change_by_alice()).verifies();
}

TEST_F(NotaryChangeTest, ChangeMustBeTheOnlyCommand) {
  create("d");
  ledger.transaction()
      .input("d")
      .output(moved(dummy("alice")))
      .command(change_by_alice())
      .command(act_by("alice"))
      .fails_with(Rule::kNotaryChangeMalformed, "must be the transaction's only command");
}

TEST_F(NotaryChangeTest, UnknownChangeCommandIsMalformed) {
  create("d");
  Command c = change_by_alice();
  c.name = "Swap";
  ledger.transaction()
      .input("d")
      .output(moved(dummy("alice")))
      .command(c)
      .fails_with(Rule::kNotaryChangeMalformed, "unknown notary-change command Swap");
}

TEST_F(NotaryChangeTest, NewNotaryThatDoesNotDecodeIsMalformed) {
  create("d");
  Command c = change_by_alice();
  c.params.push_back(0);  // a trailing byte
  ledger.transaction()
      .input("d")
      .output(moved(dummy("alice")))
      .command(c)
      .fails_with(Rule::kNotaryChangeMalformed, "the new notary does not decode");
}

TEST_F(NotaryChangeTest, ChangeWithoutInputsIsMalformed) {
  ledger.transaction()
      .output(moved(dummy("alice")))
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed, "consumes at least one state");
}

TEST_F(NotaryChangeTest, ChangeToTheCurrentNotaryIsMalformed) {
  create("d");
  ledger.transaction()
      .input("d")
      .output(dummy("alice"))
      .command(change(ledger.notary(), {ledger.public_key("alice")}))
      .fails_with(Rule::kNotaryChangeMalformed, "is the current notary O=Notary");
}

TEST_F(NotaryChangeTest, ChangeMustKeepOneOutputPerInput) {
  create("d");
  ledger.transaction()
      .input("d")
      .output(moved(dummy("alice")))
      .output(moved(dummy("alice")))
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed, "has 1 inputs but 2 outputs");
}

TEST_F(NotaryChangeTest, ChangeWithReferencesIsMalformed) {
  create("d");
  create("rate");
  ledger.transaction()
      .input("d")
      .reference("rate")
      .output(moved(dummy("alice")))
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed, "has no references");
}

TEST_F(NotaryChangeTest, ChangeThatAltersMoreThanTheNotaryIsMalformed) {
  create("d");
  ledger.transaction()
      .input("d")
      .output(moved(dummy("bob")))  // a new owner as well
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed, "output 0 is not input 0 (" +
                                                    ledger.ref("d").describe() +
                                                    ") unchanged but for its notary");
}

TEST_F(NotaryChangeTest, StateWhoseContractDeclaresNoParticipantsCannotMove) {
  TransactionState silent = dummy("alice");
  silent.contract = std::string(kSilentContract);
  ledger.transaction().output("s", silent).command(act_by("alice")).verifies();
  ledger.transaction()
      .input("s")
      .output(moved(silent))
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed,
                  "contract test.Silent does not declare participants");
}

TEST_F(NotaryChangeTest, StateOfAnUnknownContractCannotMove) {
  create("d");
  TxDsl t = ledger.transaction();
  t.input("d").output(moved(dummy("alice"))).command(change_by_alice());
  ContractRegistry empty;
  Verdict v =
      verify_transaction(t.signed_transaction(), ledger.states(), ledger.attachments(), empty);
  expect_rule(v, Rule::kUnknownContract, "no code for contract test.Dummy");
}

TEST_F(NotaryChangeTest, EveryParticipantMustSign) {
  create("d1", "alice");
  create("d2", "bob");
  ledger.transaction()
      .input("d1")
      .input("d2")
      .output(moved(dummy("alice")))
      .output(moved(dummy("bob")))
      .command(change_by_alice())
      .fails_with(Rule::kNotaryChangeMalformed, "input 1 (" + ledger.ref("d2").describe() +
                                                    "): participant " +
                                                    ledger.public_key("bob").describe());
  ledger.transaction()
      .input("d1")
      .input("d2")
      .output(moved(dummy("alice")))
      .output(moved(dummy("bob")))
      .command(change(other_notary(), {ledger.public_key("alice"), ledger.public_key("bob")}))
      .verifies();
}

TEST_F(NotaryChangeTest, EncumberedPairsFromDifferentTransactionsMoveWithRemappedIndexes) {
  // Two asset/lock pairs, each at outputs [0, 1] of its own transaction.
  for (const char* n : {"1", "2"}) {
    ledger.transaction()
        .output(std::string("asset") + n, dummy("alice", 1))
        .output(std::string("lock") + n, dummy("alice", 0))
        .command(act_by("alice"))
        .verifies();
  }
  // Moved together as inputs [asset1, asset2, lock1, lock2]: each moved encumbrance must name the
  // index its partner has in this transaction, not the one it had where it was created.
  ledger.transaction()
      .input("asset1")
      .input("asset2")
      .input("lock1")
      .input("lock2")
      .output("m-asset1", moved(dummy("alice", 2)))
      .output("m-asset2", moved(dummy("alice", 3)))
      .output("m-lock1", moved(dummy("alice", 0)))
      .output("m-lock2", moved(dummy("alice", 1)))
      .command(change_by_alice())
      .verifies();
  // The moved pairs are still mutual and are spent together under the new notary.
  ledger.transaction()
      .notary(other_notary())
      .input("m-asset2")
      .input("m-lock2")
      .output(moved(dummy("bob")))
      .command(act_by("alice"))
      .verifies();
}

TEST_F(NotaryChangeTest, CopyingTheOldEncumbranceIndexesIsMalformed) {
  for (const char* n : {"1", "2"}) {
    ledger.transaction()
        .output(std::string("asset") + n, dummy("alice", 1))
        .output(std::string("lock") + n, dummy("alice", 0))
        .command(act_by("alice"))
        .verifies();
  }
  ledger.transaction()
      .input("asset1")
      .input("asset2")
      .input("lock1")
      .input("lock2")
      .output(moved(dummy("alice", 1)))
      .output(moved(dummy("alice", 1)))
      .output(moved(dummy("alice", 0)))
      .output(moved(dummy("alice", 0)))
      .command(change_by_alice())
      .fails_with(Rule::kEncumbranceSelf, "output 1 is encumbered by itself");
}

// ---- Components built in memory ----------------------------------------------------------------

TEST_F(VerifyTest, CommandWithoutSignersBuiltInMemoryIsMalformed) {
  // The decoder refuses such a command; the pipeline must refuse it too when it was never decoded.
  ledger.transaction()
      .output(dummy("alice"))
      .command(Command{std::string(kDummyContract), "Act", {}, {}})
      .fails_with(Rule::kMalformedComponent, "command test.Dummy.Act: command Act has no signers");
  ledger.transaction()
      .output(dummy("alice"))
      .command(Command{std::string(kDummyContract),
                       "Act",
                       {},
                       {ledger.public_key("alice"), ledger.public_key("alice")}})
      .fails_with(Rule::kMalformedComponent, "twice");
}

TEST_F(VerifyTest, OutputWithAnInvalidNameBuiltInMemoryIsMalformed) {
  TransactionState bad = dummy("alice");
  bad.contract = "";
  ledger.transaction()
      .output(bad)
      .command(act_by("alice"))
      .fails_with(Rule::kMalformedComponent, "output 0: contract name is empty");
  TransactionState bad_notary = dummy("alice");
  bad_notary.notary.name = "O=\xff";
  ledger.transaction()
      .notary(bad_notary.notary)
      .output(bad_notary)
      .command(act_by("alice"))
      .fails_with(Rule::kMalformedComponent, "not valid UTF-8");
}

// ---- The verdict itself ------------------------------------------------------------------------

TEST(Verdict, DescribesTheRuleAndTheMessage) {
  EXPECT_EQ(Verdict::accept().describe(), "verified");
  EXPECT_EQ(Verdict::fail(Rule::kDuplicateInput, "input 1 (ab:0) is consumed twice").describe(),
            "duplicate input: input 1 (ab:0) is consumed twice");
  // Every rule has a name of its own.
  std::set<std::string_view> names;
  for (int r = 0; r <= static_cast<int>(Rule::kNotaryChangeMalformed); ++r) {
    std::string_view name = to_string(static_cast<Rule>(r));
    EXPECT_NE(name, "unknown rule");
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

TEST_F(VerifyTest, VerifyLedgerChecksEverythingButSignatures) {
  TxDsl t = ledger.transaction();
  t.output(dummy("alice")).command(act_by("alice")).without_signature_of("alice");
  WireTransaction wire = t.wire();
  auto ltx = resolve(wire, wire.id(), ledger.states(), ledger.attachments());
  ASSERT_TRUE(ltx.ok());
  EXPECT_TRUE(verify_ledger(*ltx, ledger.registry()).ok());
  expect_rule(verdict_of(t.signed_transaction()), Rule::kMissingSignature, "has not signed");
  ltx->outputs[0].encumbrance = 0;
  expect_rule(verify_ledger(*ltx, ledger.registry()), Rule::kEncumbranceSelf, "output 0");
}

}  // namespace
}  // namespace folio::ledger
