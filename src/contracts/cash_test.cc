#include "contracts/cash.h"

#include <gtest/gtest.h>

#include "contracts/cscoin.h"
#include "testing/ledger_dsl.h"

namespace folio::contracts {
namespace {

using testing::LedgerDsl;
using testing::TxDsl;

class CashTest : public ::testing::Test {
 protected:
  CashAmount gbp(uint64_t pennies, std::string_view issuer = "bank") {
    return CashAmount{pennies,
                      IssuedCurrency{PartyAndReference{ledger.party(issuer), Bytes{1}}, "GBP"}};
  }
  ledger::TransactionState cash(uint64_t pennies, std::string_view owner,
                                std::string_view issuer = "bank") {
    return cash_output(gbp(pennies, issuer), ledger.public_key(owner), ledger.notary());
  }
  CashAmount dollars(uint64_t cents, std::string_view issuer = "bank") {
    return CashAmount{cents,
                      IssuedCurrency{PartyAndReference{ledger.party(issuer), Bytes{1}}, "USD"}};
  }
  ledger::TransactionState usd(uint64_t cents, std::string_view owner,
                               std::string_view issuer = "bank") {
    return cash_output(dollars(cents, issuer), ledger.public_key(owner), ledger.notary());
  }
  void issue(std::string label, uint64_t pennies, std::string_view owner) {
    ledger.transaction()
        .output(std::move(label), cash(pennies, owner))
        .command(cash_issue(ledger.public_key("bank")))
        .verifies();
  }
  LedgerDsl ledger;
};

TEST_F(CashTest, IssueRequiresTheIssuersSignature) {
  ledger.transaction()
      .output(cash(100, "alice"))
      .command(cash_issue(ledger.public_key("bank")))
      .verifies();
  ledger.transaction()
      .output(cash(100, "alice"))
      .command(cash_issue(ledger.public_key("mallory")))
      .fails_with("not signed by the issuer");
}

TEST_F(CashTest, MoveConservesAmountsAndNeedsTheOwner) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(60, "bob"))
      .output(cash(40, "alice"))
      .command(cash_move({ledger.public_key("alice")}))
      .verifies();
}

TEST_F(CashTest, MoveThatCreatesMoneyFails) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(101, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with("not conserved");
}

TEST_F(CashTest, MoveWithoutOwnerSignatureFails) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .command(cash_move({ledger.public_key("bob")}))
      .fails_with("has not signed a Move");
  // Naming the owner but withholding its signature fails at the signature check instead.
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .without_signature_of("alice")
      .fails_with(ledger::Rule::kMissingSignature, "has not signed");
}

TEST_F(CashTest, ZeroAmountIsRefused) {
  ledger.transaction()
      .output(cash(0, "alice"))
      .command(cash_issue(ledger.public_key("bank")))
      .fails_with(ledger::Rule::kContractRejected, "output 0 has a zero amount");
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .output(cash(0, "alice"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "output 1 has a zero amount");
}

TEST_F(CashTest, StateThatIsNotCashIsRefused) {
  ledger::TransactionState garbage = cash(100, "alice");
  garbage.data = Bytes{1, 2, 3};
  ledger.transaction()
      .output(garbage)
      .command(cash_issue(ledger.public_key("bank")))
      .fails_with(ledger::Rule::kContractRejected, "output 0 is not a cash state");
  ledger::StateRef planted{ledger::TxId(crypto::sha256(as_bytes("planted"))), 0};
  ledger.states().add(planted, garbage);
  ledger.transaction()
      .input(planted)
      .output(cash(100, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "input 0 is not a cash state");
}

TEST_F(CashTest, DifferentCurrenciesDoNotOffsetEachOther) {
  issue("pounds", 100, "alice");
  ledger.transaction()
      .output("dollars", usd(100, "alice"))
      .command(cash_issue(ledger.public_key("bank")))
      .verifies();
  ledger.transaction()
      .input("pounds")
      .input("dollars")
      .output(cash(150, "bob"))
      .output(usd(50, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "not conserved");
  ledger.transaction()
      .input("pounds")
      .input("dollars")
      .output(cash(100, "bob"))
      .output(usd(100, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .verifies();
}

TEST_F(CashTest, SameCurrencyFromAnotherIssuerOrReferenceIsAnotherToken) {
  issue("bank's", 100, "alice");
  ledger.transaction()
      .output("bank2's", cash(100, "alice", "bank2"))
      .command(cash_issue(ledger.public_key("bank2")))
      .verifies();
  ledger.transaction()
      .input("bank's")
      .input("bank2's")
      .output(cash(200, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "not conserved");
  ledger::TransactionState other_reference = cash(100, "bob");
  CashState s = *decode_cash(other_reference);
  s.amount.token.issuer.reference = Bytes{2};
  other_reference.data = codec::encode_to_bytes(s);
  // Bank's pounds under reference 2 are new money, which only the bank can issue.
  ledger.transaction()
      .input("bank's")
      .output(other_reference)
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "not conserved: inputs 100, outputs 0");
}

TEST_F(CashTest, MovingCashCannotIssueAnotherIssuersToken) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .output(cash(50, "bob", "bank2"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "issuance of GBP issued by O=bank2,L=London,C=GB is not signed by the issuer in "
                  "an Issue command");
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .output(cash(50, "bob", "bank2"))
      .command(cash_move({ledger.public_key("alice")}))
      .command(cash_issue(ledger.public_key("bank2")))
      .verifies();
}

TEST_F(CashTest, EveryOwnerOfConsumedCashSignsTheMove) {
  issue("alice's", 100, "alice");
  issue("bob's", 50, "bob");
  ledger.transaction()
      .input("alice's")
      .input("bob's")
      .output(cash(150, "carol"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "owner " + ledger.public_key("bob").describe() +
                                                       " of consumed GBP issued by O=bank");
  ledger.transaction()
      .input("alice's")
      .input("bob's")
      .output(cash(150, "carol"))
      .command(cash_move({ledger.public_key("alice"), ledger.public_key("bob")}))
      .verifies();
}

TEST_F(CashTest, ExitRemovesCashSignedByIssuerAndOwner) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(60, "alice"))
      .command(cash_exit(gbp(40), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .verifies();
}

TEST_F(CashTest, ExitOfEverythingLeavesNoOutput) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .command(cash_exit(gbp(100), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .verifies();
}

TEST_F(CashTest, ExitNeedsTheIssuersSignature) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(60, "alice"))
      .command(cash_exit(gbp(40), {ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "Exit of GBP issued by O=bank,L=London,C=GB is not signed by its issuer");
}

TEST_F(CashTest, ExitNeedsTheOwnersSignature) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(60, "alice"))
      .command(cash_exit(gbp(40), {ledger.public_key("bank")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "owner " + ledger.public_key("alice").describe() +
                      " of consumed GBP issued by O=bank,L=London,C=GB "
                      "has not signed a Exit command");
}

TEST_F(CashTest, ExitMustConserveAmounts) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(60, "alice"))
      .command(cash_exit(gbp(50), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "not conserved: inputs 100, outputs 60, exited 50");
}

// Regression: outputs plus the exited amount were summed without an overflow check, so an exit of
// nearly 2^64 wrapped around and let the outputs exceed the inputs.
TEST_F(CashTest, ExitSoLargeItWrapsAroundDoesNotCreateMoney) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(101, "alice"))
      .command(cash_exit(gbp(UINT64_MAX), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "not conserved");
  ledger.transaction()
      .input("a")
      .output(cash(1ull << 63, "alice"))
      .command(cash_exit(gbp((1ull << 63) + 100),
                         {ledger.public_key("bank"), ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "not conserved");
}

TEST_F(CashTest, ExitOfZeroIsRefused) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "alice"))
      .command(cash_exit(gbp(0), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "Exit of a zero amount");
}

TEST_F(CashTest, ExitOfCashThatIsNotConsumedIsRefused) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "alice"))
      .command(cash_exit(dollars(40), {ledger.public_key("bank"), ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "Exit of USD issued by O=bank,L=London,C=GB but no such cash is consumed");
}

TEST_F(CashTest, ExitParametersThatDoNotDecodeAreRefused) {
  issue("a", 100, "alice");
  ledger::Command exit =
      cash_exit(gbp(40), {ledger.public_key("bank"), ledger.public_key("alice")});
  exit.params.pop_back();
  ledger.transaction()
      .input("a")
      .output(cash(60, "alice"))
      .command(exit)
      .fails_with(ledger::Rule::kContractRejected, "Exit parameters do not decode");
}

TEST_F(CashTest, ExitedAmountsThatOverflowAreRefused) {
  issue("a", 100, "alice");
  std::vector<crypto::PublicKey> signers = {ledger.public_key("bank"), ledger.public_key("alice")};
  ledger.transaction()
      .input("a")
      .command(cash_exit(gbp(1ull << 63), signers))
      .command(cash_exit(gbp((1ull << 63) + 1), signers))
      .fails_with(ledger::Rule::kContractRejected, "exited amounts overflow");
}

TEST_F(CashTest, AmountsThatOverflowAreRefused) {
  ledger.transaction()
      .output(cash(1ull << 63, "alice"))
      .output(cash(1ull << 63, "alice"))
      .command(cash_issue(ledger.public_key("bank")))
      .fails_with(ledger::Rule::kContractRejected,
                  "output amounts of GBP issued by O=bank,L=London,C=GB overflow");
  issue("half", 1ull << 63, "alice");
  issue("other half", 1ull << 63, "alice");
  ledger.transaction()
      .input("half")
      .input("other half")
      .output(cash(1, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected,
                  "input amounts of GBP issued by O=bank,L=London,C=GB overflow");
}

TEST_F(CashTest, UnknownCommandIsRefused) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .command(
          ledger::Command{std::string(kCashContract), "Burn", {}, {ledger.public_key("alice")}})
      .fails_with(ledger::Rule::kContractRejected, "unknown command Burn");
}

TEST_F(CashTest, IssueAndMoveTakeNoParameters) {
  ledger::Command issue_with_params = cash_issue(ledger.public_key("bank"));
  issue_with_params.params = Bytes{1};
  ledger.transaction()
      .output(cash(100, "alice"))
      .command(issue_with_params)
      .fails_with(ledger::Rule::kContractRejected, "Issue takes no parameters");
  issue("a", 100, "alice");
  ledger::Command move_with_params = cash_move({ledger.public_key("alice")});
  move_with_params.params = Bytes{1};
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .command(move_with_params)
      .fails_with(ledger::Rule::kContractRejected, "Move takes no parameters");
}

TEST_F(CashTest, CashWithoutACashCommandIsRefused) {
  // Something else in the transaction needs a signature, so only the Cash rule can refuse it.
  ledger.transaction()
      .output(cash(100, "alice"))
      .output(cscoin_account(ledger.public_key("alice"), 0, ledger.notary()))
      .command(cscoin_create_account(ledger.public_key("alice")))
      .fails_with(ledger::Rule::kContractRejected,
                  "cash is consumed or created but no Cash command is given");
}

TEST_F(CashTest, CashCommandWithoutCashIsRefused) {
  ledger.transaction()
      .output(cscoin_account(ledger.public_key("alice"), 0, ledger.notary()))
      .command(cscoin_create_account(ledger.public_key("alice")))
      .command(cash_issue(ledger.public_key("bank")))
      .fails_with(ledger::Rule::kContractRejected,
                  "a Cash command but no cash is consumed or created");
}

TEST_F(CashTest, IssueCommandThatIssuesNothingIsRefused) {
  issue("a", 100, "alice");
  ledger.transaction()
      .input("a")
      .output(cash(100, "bob"))
      .command(cash_move({ledger.public_key("alice")}))
      .command(cash_issue(ledger.public_key("bank")))
      .fails_with(ledger::Rule::kContractRejected, "an Issue command but no cash is issued");
}

TEST_F(CashTest, MoveCommandThatConsumesNothingIsRefused) {
  ledger.transaction()
      .output(cash(100, "alice"))
      .command(cash_issue(ledger.public_key("bank")))
      .command(cash_move({ledger.public_key("alice")}))
      .fails_with(ledger::Rule::kContractRejected, "a Move command but no cash is consumed");
}

TEST_F(CashTest, ReferencedCashNeedsNoCommand) {
  issue("a", 100, "alice");
  ledger.transaction()
      .reference("a")
      .output(cscoin_account(ledger.public_key("bob"), 0, ledger.notary()))
      .command(cscoin_create_account(ledger.public_key("bob")))
      .verifies();
}

TEST_F(CashTest, ParticipantIsTheOwner) {
  Cash contract;
  auto participants = contract.participants(cash(100, "alice"));
  ASSERT_TRUE(participants.ok());
  EXPECT_EQ(*participants, std::vector<crypto::PublicKey>{ledger.public_key("alice")});
  ledger::TransactionState garbage = cash(100, "alice");
  garbage.data = Bytes{9};
  EXPECT_FALSE(contract.participants(garbage).ok());
}

TEST_F(CashTest, ManyTokensEachConserveOnTheirOwn) {
  // Forty issued tokens (more than the linear search handles), each moved whole; one is inflated.
  auto token_cash = [&](uint8_t reference, uint64_t pennies, std::string_view owner) {
    CashAmount amount{
        pennies, IssuedCurrency{PartyAndReference{ledger.party("bank"), Bytes{reference}}, "GBP"}};
    return cash_output(amount, ledger.public_key(owner), ledger.notary());
  };
  for (uint8_t r = 0; r < 40; ++r)
    ledger.transaction()
        .output("t" + std::to_string(r), token_cash(r, 100 + r, "alice"))
        .command(cash_issue(ledger.public_key("bank")))
        .verifies();
  auto move_all = [&](uint8_t inflated) {
    TxDsl tx = ledger.transaction();
    for (uint8_t r = 0; r < 40; ++r)
      tx.input("t" + std::to_string(r))
          .output(token_cash(r, 100 + r + (r == inflated ? 1 : 0), "bob"));
    tx.command(cash_move({ledger.public_key("alice")}));
    return tx;
  };
  move_all(255).verifies();
  move_all(33).fails_with("amounts of GBP issued by O=bank,L=London,C=GB are not conserved");
}

}  // namespace
}  // namespace folio::contracts
