#include "sbac/binding.h"

#include <gtest/gtest.h>

#include "contracts/cash.h"
#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using ledger::StateRef;

crypto::PrivateKey key(uint8_t n) {
  FixedBytes<32> seed;
  seed.bytes[0] = n;
  seed.bytes[1] = 0xb1;
  return crypto::PrivateKey::ed25519(seed);
}

// A genesis issuing cash to alice, and a payment from alice to bob spending output 0 and
// referencing output 1; both signed as a client would.
class BindingTest : public ::testing::Test {
 protected:
  BindingTest() : alice_(key(1)), bob_(key(2)), bank_(key(3)) {
    notary_ = ledger::Party{"O=Notary, L=London, C=GB", key(4).public_key()};
    token_ = contracts::IssuedCurrency{
        contracts::PartyAndReference{ledger::Party{"O=Bank, L=London, C=GB", bank_.public_key()},
                                     Bytes{1}},
        "GBP"};
    genesis_.outputs.push_back(cash(100, alice_));
    genesis_.outputs.push_back(cash(50, alice_));
    genesis_.commands.push_back(contracts::cash_issue(bank_.public_key()));
    genesis_.notary = notary_;
    genesis_id_ = genesis_.id();
    payment_ = pay(100);
  }

  ledger::TransactionState cash(uint64_t quantity, const crypto::PrivateKey& owner) {
    return contracts::cash_output(contracts::CashAmount{quantity, token_}, owner.public_key(),
                                  notary_);
  }

  ledger::SignedTransaction pay(uint64_t quantity) {
    ledger::WireTransaction tx;
    tx.inputs.push_back(StateRef{genesis_id_, 0});
    tx.references.push_back(StateRef{genesis_id_, 1});
    tx.outputs.push_back(cash(quantity, bob_));
    tx.commands.push_back(contracts::cash_move({alice_.public_key()}));
    tx.notary = notary_;
    tx.time_window = ledger::TimeWindow{ledger::Timestamp(0), ledger::Timestamp(1'000'000)};
    tx.salt.bytes[0] = static_cast<uint8_t>(quantity);
    ledger::TxId id = tx.id();
    return ledger::SignedTransaction{tx, {ledger::sign_transaction(alice_, id)}};
  }

  std::vector<ledger::ProvedState> proved() const {
    return {ledger::prove_output(genesis_, genesis_id_, 0),
            ledger::prove_output(genesis_, genesis_id_, 1)};
  }

  PrepareCommand command_of(const ledger::SignedTransaction& stx) const {
    return prepare_command_for(stx.tx, stx.id(), Sequence(0), std::nullopt);
  }

  crypto::PrivateKey alice_, bob_, bank_;
  ledger::Party notary_;
  contracts::IssuedCurrency token_;
  ledger::WireTransaction genesis_;
  ledger::TxId genesis_id_;
  ledger::SignedTransaction payment_;
};

TEST_F(BindingTest, NonValidatingAcceptsATearOffThatMatchesTheCommand) {
  NonValidatingCheck check;
  PrepareBinding binding = bind_non_validating(payment_, proved());
  EXPECT_FALSE(binding.transaction.has_value());  // the shard never sees the outputs' content
  EXPECT_EQ(check.reject_bound(command_of(payment_), &binding, ShardId(0)), std::nullopt);
}

TEST_F(BindingTest, NonValidatingRefusesAnUnboundPrepare) {
  NonValidatingCheck check;
  EXPECT_NE(check.reject_bound(command_of(payment_), nullptr, ShardId(0)), std::nullopt);
  EXPECT_NE(check.reject(command_of(payment_), ShardId(0)), std::nullopt);
}

TEST_F(BindingTest, NonValidatingRefusesACommandThatDiffersFromTheTransaction) {
  NonValidatingCheck check;
  PrepareBinding binding = bind_non_validating(payment_, proved());
  PrepareCommand no_inputs = command_of(payment_);
  no_inputs.inputs.clear();  // a client hiding an input from this shard
  EXPECT_NE(check.reject_bound(no_inputs, &binding, ShardId(0)), std::nullopt);
  PrepareCommand fewer_outputs = command_of(payment_);
  fewer_outputs.output_count = 0;
  EXPECT_NE(check.reject_bound(fewer_outputs, &binding, ShardId(0)), std::nullopt);
  PrepareCommand other_window = command_of(payment_);
  other_window.time_window.reset();
  EXPECT_NE(check.reject_bound(other_window, &binding, ShardId(0)), std::nullopt);
  // The tear-off of another transaction.
  PrepareBinding other = bind_non_validating(pay(99), proved());
  EXPECT_NE(check.reject_bound(command_of(payment_), &other, ShardId(0)), std::nullopt);
}

TEST_F(BindingTest, NonValidatingNeedsTheRequiredSignersSignatures) {
  NonValidatingCheck check;
  PrepareBinding unsigned_binding = bind_non_validating(payment_, proved());
  unsigned_binding.signatures.clear();
  EXPECT_NE(check.reject_bound(command_of(payment_), &unsigned_binding, ShardId(0)), std::nullopt);
  PrepareBinding wrong_signer = bind_non_validating(payment_, proved());
  wrong_signer.signatures = {ledger::sign_transaction(bob_, payment_.id())};
  EXPECT_NE(check.reject_bound(command_of(payment_), &wrong_signer, ShardId(0)), std::nullopt);
}

TEST_F(BindingTest, ProvedStatesMustCoverInputsAndReferencesAndVerify) {
  NonValidatingCheck check;
  PrepareBinding missing = bind_non_validating(payment_, {proved()[0]});
  EXPECT_NE(check.reject_bound(command_of(payment_), &missing, ShardId(0)), std::nullopt);
  PrepareBinding forged = bind_non_validating(payment_, proved());
  forged.proved[0].state = cash(1'000'000, alice_);  // content the producing tx never had
  auto why = check.reject_bound(command_of(payment_), &forged, ShardId(0));
  ASSERT_NE(why, std::nullopt);
  EXPECT_NE(why->find("proved state"), std::string::npos) << *why;
}

TEST_F(BindingTest, ValidatingRunsTheContracts) {
  ledger::ContractRegistry contracts;
  ASSERT_TRUE(contracts.add(std::make_unique<contracts::Cash>()).ok());
  ledger::MapAttachmentLoader attachments;
  ValidatingCheck check(contracts, attachments);
  PrepareBinding good = bind_validating(payment_, proved());
  EXPECT_EQ(check.reject_bound(command_of(payment_), &good, ShardId(0)), std::nullopt);
  // Money from nowhere: a valid signature and matching command, but Cash refuses it.
  ledger::SignedTransaction inflating = pay(101);
  PrepareBinding bad = bind_validating(inflating, proved());
  auto why = check.reject_bound(command_of(inflating), &bad, ShardId(0));
  ASSERT_NE(why, std::nullopt);
  EXPECT_NE(why->find("folio.Cash"), std::string::npos) << *why;
  // The non-validating check cannot see that: it is not its job.
  NonValidatingCheck blind;
  PrepareBinding torn = bind_non_validating(inflating, proved());
  EXPECT_EQ(blind.reject_bound(command_of(inflating), &torn, ShardId(0)), std::nullopt);
  // And a validating shard refuses a tear-off: it needs the transaction.
  EXPECT_NE(check.reject_bound(command_of(payment_), &torn, ShardId(0)), std::nullopt);
}

TEST_F(BindingTest, AValidatingShardAbortsWhatItsContractsRefuse) {
  ledger::ContractRegistry contracts;
  ASSERT_TRUE(contracts.add(std::make_unique<contracts::Cash>()).ok());
  ledger::MapAttachmentLoader attachments;
  ValidatingCheck check(contracts, attachments);
  ShardMap map = testing::make_network(1, 4).map;
  ObjectTable table(ShardId(0), map, 1);
  ASSERT_TRUE(table.add_genesis(StateRef{genesis_id_, 0}).ok());
  ASSERT_TRUE(table.add_genesis(StateRef{genesis_id_, 1}).ok());
  ledger::SignedTransaction inflating = pay(101);
  Outcome o = table.execute(
      BoundPrepareCommand{command_of(inflating), bind_validating(inflating, proved()), true},
      ledger::Timestamp(10), check);
  ASSERT_TRUE(std::holds_alternative<AcceptDecision>(o));
  EXPECT_EQ(std::get<AcceptDecision>(o).verdict, Verdict::kAbort);
  // The abort bumped the states' sequence numbers past session 0 (Byzcuit): the honest payment
  // runs as session 1.
  PrepareCommand honest = command_of(payment_);
  honest.session = Sequence(1);
  Outcome ok = table.execute(BoundPrepareCommand{honest, bind_validating(payment_, proved()), true},
                             ledger::Timestamp(10), check);
  ASSERT_TRUE(std::holds_alternative<AcceptDecision>(ok));
  EXPECT_EQ(std::get<AcceptDecision>(ok).verdict, Verdict::kCommit);
  EXPECT_FALSE(table.find(StateRef{genesis_id_, 0})->active);
  EXPECT_TRUE(table.find(StateRef{genesis_id_, 1})->active);  // a reference stays active
}

}  // namespace
}  // namespace folio::sbac
