// Contract attachments and the wasm ContractProvider inside the full verification pipeline.
#include "wasm/provider.h"

#include <gtest/gtest.h>

#include "testing/ledger_dsl.h"
#include "wasm/wat.h"

namespace folio::wasm {
namespace {

Bytes wat(const std::string& text) {
  std::vector<uint8_t> out;
  std::string error;
  EXPECT_TRUE(wat_to_wasm(text, &out, &error)) << error;
  return out;
}

const std::string kAcceptAll = R"((module (memory (export "memory") 1 1)
    (func (export "folio_verify") (result i32) (i32.const 0))))";
const std::string kLoopForever = R"((module (memory (export "memory") 1 1)
    (func (export "folio_verify") (result i32) (loop $l (br $l)) (i32.const 0))))";

Bytes attachment_zip(const std::string& name, const std::string& module_text,
                     std::string_view legal = {}) {
  auto zip = build_contract_attachment({name, "1.0", kAbiVersion, {}}, wat(module_text), legal);
  EXPECT_TRUE(zip.ok()) << zip.error().message();
  return zip.ok() ? zip.value() : Bytes{};
}

TEST(Attachment, RoundTripsDeterministically) {
  ContractManifest manifest{"test.Thing", "2.1", kAbiVersion, Bytes{1, 2, 3}};
  Bytes wasm = wat(kAcceptAll);
  auto a = build_contract_attachment(manifest, wasm, "Governed by the laws of England.");
  auto b = build_contract_attachment(manifest, wasm, "Governed by the laws of England.");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a.value(), b.value());
  auto parsed = parse_contract_attachment(a.value());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  EXPECT_EQ(parsed->manifest, manifest);
  EXPECT_EQ(parsed->wasm, wasm);
  EXPECT_EQ(parsed->legal_prose, "Governed by the laws of England.");
  EXPECT_EQ(parsed->id.value(), crypto::sha256(a.value()));
}

TEST(Attachment, RejectsWhatIsNotAContractAttachment) {
  EXPECT_EQ(parse_contract_attachment(to_bytes("definitely not a zip")).error().code,
            ErrorCode::kMalformed);
  Bytes good = attachment_zip("test.Thing", kAcceptAll);
  for (size_t cut = 0; cut < good.size(); cut += 7) {
    Bytes truncated(good.begin(), good.begin() + cut);
    EXPECT_FALSE(parse_contract_attachment(truncated).ok()) << "cut at " << cut;
  }
  // Flipping a byte of the stored wasm breaks the entry's CRC.
  Bytes flipped = good;
  flipped[60] ^= 0x40;
  EXPECT_FALSE(parse_contract_attachment(flipped).ok());
  auto future = build_contract_attachment({"test.Thing", "1", 2, {}}, wat(kAcceptAll));
  ASSERT_TRUE(future.ok());
  auto parsed = parse_contract_attachment(future.value());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(parsed.error().context.find("ABI version 2"), std::string::npos);
}

class ProviderTest : public ::testing::Test {
 protected:
  ProviderTest() : provider(&ledger.registry()) {}

  ledger::TransactionState state(const std::string& contract, ledger::AttachmentConstraint c) {
    ledger::TransactionState s;
    s.data = Bytes{7};
    s.contract = contract;
    s.notary = ledger.notary();
    s.constraint = std::move(c);
    return s;
  }
  ledger::Command command(const std::string& contract) {
    return ledger::Command{contract, "act", {}, {ledger.public_key("alice")}};
  }
  ledger::Attachment import(const Bytes& zip, std::vector<std::string> signers = {}) {
    std::vector<ledger::TransactionSignature> signatures;
    auto parsed = parse_contract_attachment(zip);
    EXPECT_TRUE(parsed.ok());
    for (const auto& s : signers) signatures.push_back(sign_attachment(ledger.key(s), parsed->id));
    auto added = provider.add(zip, signatures);
    EXPECT_TRUE(added.ok()) << added.error().message();
    ledger.attachments().add(added.value());
    return added.value();
  }
  ledger::Verdict verdict(const testing::TxDsl& tx) {
    return ledger::verify_transaction(tx.signed_transaction(), ledger.states(),
                                      ledger.attachments(), provider);
  }

  testing::LedgerDsl ledger;
  WasmContractProvider provider;
};

TEST_F(ProviderTest, HashConstraintResolvesToTheAttachment) {
  ledger::Attachment a = import(attachment_zip("test.Thing", kAcceptAll));
  auto tx = ledger.transaction();
  tx.output(state("test.Thing", ledger::HashConstraint{a.id}))
      .command(command("test.Thing"))
      .attachment(a);
  EXPECT_TRUE(verdict(tx).ok()) << verdict(tx).describe();

  ledger::Attachment other = import(attachment_zip("test.Other", kAcceptAll));
  auto wrong = ledger.transaction();
  wrong.output(state("test.Thing", ledger::HashConstraint{other.id}))
      .command(command("test.Thing"))
      .attachment(a);
  EXPECT_EQ(verdict(wrong).rule, ledger::Rule::kConstraintHashMismatch)
      << verdict(wrong).describe();
}

TEST_F(ProviderTest, CompoundKeyConstraintNeedsEnoughSigners) {
  auto compound = crypto::PublicKey::compound(
      2, {{ledger.public_key("alice"), 1}, {ledger.public_key("bob"), 1}});
  ASSERT_TRUE(compound.ok());
  Bytes zip = attachment_zip("test.Thing", kAcceptAll, "signed by both");
  ledger::Attachment both = import(zip, {"alice", "bob"});
  auto tx = ledger.transaction();
  tx.output(state("test.Thing", ledger::SignatureConstraint{compound.value()}))
      .command(command("test.Thing"))
      .attachment(both);
  EXPECT_TRUE(verdict(tx).ok()) << verdict(tx).describe();

  WasmContractProvider alone(&ledger.registry());
  auto parsed = parse_contract_attachment(zip);
  auto only_alice = alone.add(zip, {sign_attachment(ledger.key("alice"), parsed->id)});
  ASSERT_TRUE(only_alice.ok());
  EXPECT_EQ(only_alice->signers.size(), 1u);
  ledger::MapAttachmentLoader loader;
  loader.add(only_alice.value());
  auto ltx = ledger::verify_transaction(tx.signed_transaction(), ledger.states(), loader, alone);
  EXPECT_EQ(ltx.rule, ledger::Rule::kConstraintSignatureUnfulfilled) << ltx.describe();
}

TEST_F(ProviderTest, ImportingTwiceKeepsContractsValid) {
  Bytes zip = attachment_zip("test.Thing", kAcceptAll);
  ledger::Attachment first = import(zip);
  ledger::LedgerTransaction ltx;
  ltx.attachments = {first};
  auto before = provider.find("test.Thing", ltx);
  ASSERT_TRUE(before.ok());
  auto parsed = parse_contract_attachment(zip);
  auto again = provider.add(zip, {sign_attachment(ledger.key("alice"), parsed->id)});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->signers, std::vector<crypto::PublicKey>{ledger.public_key("alice")});
  auto after = provider.find("test.Thing", ltx);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
  EXPECT_TRUE((*before)->verify(ltx).ok());
}

TEST_F(ProviderTest, ForgedAttachmentSignatureIsRefused) {
  Bytes zip = attachment_zip("test.Thing", kAcceptAll);
  auto parsed = parse_contract_attachment(zip);
  ledger::TransactionSignature forged = sign_attachment(ledger.key("mallory"), parsed->id);
  forged.by = ledger.public_key("alice");
  auto added = provider.add(zip, {forged});
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().code, ErrorCode::kVerification);
}

TEST_F(ProviderTest, HostileModuleIsRefusedAtImportWithItsReason) {
  auto zip = build_contract_attachment({"test.Evil", "1", kAbiVersion, {}},
                                       wat(R"((module (import "env" "clock" (func (result i64)))
      (memory (export "memory") 1 1)
      (func (export "folio_verify") (result i32) (i32.const 0))))"));
  ASSERT_TRUE(zip.ok());
  auto added = provider.add(zip.value());
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().context.find("forbidden import"), std::string::npos)
      << added.error().context;
}

TEST_F(ProviderTest, GasBudgetComesFromTheTransactionAndExhaustionIsAVerdict) {
  ledger::Attachment loop = import(attachment_zip("test.Loop", kLoopForever));
  auto tx = ledger.transaction();
  tx.output(state("test.Loop", ledger::HashConstraint{loop.id}))
      .command(command("test.Loop"))
      .command(gas_budget_command(50'000, ledger.public_key("alice")))
      .attachment(loop);
  ledger::Verdict first = verdict(tx);
  EXPECT_EQ(first.rule, ledger::Rule::kContractRejected);
  EXPECT_NE(first.message.find("out of gas (gas 50000)"), std::string::npos) << first.describe();
  EXPECT_EQ(verdict(tx).message, first.message);

  auto greedy = ledger.transaction();
  greedy.output(state("test.Loop", ledger::HashConstraint{loop.id}))
      .command(command("test.Loop"))
      .command(gas_budget_command(kGasBudgetMax + 1, ledger.public_key("alice")))
      .attachment(loop);
  EXPECT_NE(verdict(greedy).message.find("above the maximum"), std::string::npos)
      << verdict(greedy).describe();

  // The verifier is healthy afterwards: a good contract in the next transaction verifies.
  ledger::Attachment good = import(attachment_zip("test.Thing", kAcceptAll));
  auto next = ledger.transaction();
  next.output(state("test.Thing", ledger::HashConstraint{good.id}))
      .command(command("test.Thing"))
      .attachment(good);
  EXPECT_TRUE(verdict(next).ok()) << verdict(next).describe();
}

TEST_F(ProviderTest, ExecuteReportsGasAndUnknownContractsFallBack) {
  ledger::Attachment a = import(attachment_zip("test.Thing", kAcceptAll));
  ledger::LedgerTransaction ltx;
  auto e = provider.execute(a.id, "test.Thing", ltx, 1000);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->accepted());
  EXPECT_EQ(e->gas_used, 1u);
  EXPECT_FALSE(provider.execute(a.id, "test.Other", ltx, 1000).ok());
  EXPECT_EQ(provider.find("test.Unknown", ltx).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(provider.find("folio.CSCoin", ltx).ok());  // the native registry behind it
}

}  // namespace
}  // namespace folio::wasm
