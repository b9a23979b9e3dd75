#include "contracts/cash.h"

#include <gtest/gtest.h>

#include "testing/ledger_dsl.h"

namespace folio::contracts {
namespace {

using testing::LedgerDsl;

class CashTest : public ::testing::Test {
 protected:
  CashAmount gbp(uint64_t pennies, std::string_view issuer = "bank") {
    return CashAmount{pennies, IssuedCurrency{PartyAndReference{ledger.party(issuer), Bytes{1}}, "GBP"}};
  }
  ledger::TransactionState cash(uint64_t pennies, std::string_view owner, std::string_view issuer = "bank") {
    return cash_output(gbp(pennies, issuer), ledger.public_key(owner), ledger.notary());
  }
  void issue(std::string label, uint64_t pennies, std::string_view owner) {
    ledger.transaction().output(std::move(label), cash(pennies, owner)).command(cash_issue(ledger.public_key("bank"))).verifies();
  }
  LedgerDsl ledger;
};

TEST_F(CashTest, IssueRequiresTheIssuersSignature) {
  ledger.transaction().output(cash(100, "alice")).command(cash_issue(ledger.public_key("bank"))).verifies();
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

}  // namespace
}  // namespace folio::contracts
