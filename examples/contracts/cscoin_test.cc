// folio.CSCoin, native (src/contracts/cscoin.cc) and its C port (cscoin.c), through the same cases.
#include "contracts/cscoin.h"

#include "twin.h"

namespace folio::examples {
namespace {

using contracts::cscoin_account;
using contracts::cscoin_create_account;
using contracts::cscoin_issue;
using contracts::cscoin_transfer;
using contracts::CsCoinValueFlow;

class CsCoinTwinTest : public ::testing::Test {
 protected:
  CsCoinTwinTest()
      : twin(ledger, std::string(contracts::kCsCoinContract), FOLIO_CSCOIN_WASM,
             codec::encode_to_bytes(ledger.public_key("mint"))) {}

  ledger::TransactionState account(std::string_view owner, uint64_t balance) {
    return cscoin_account(ledger.public_key(owner), balance, ledger.notary());
  }
  CsCoinValueFlow flow(std::string_view from, std::string_view to, uint64_t amount) {
    return CsCoinValueFlow{ledger.public_key(from), ledger.public_key(to), amount};
  }
  // alice holds 100 ("a"), bob 50 ("b").
  void issue_two() {
    twin.verifies(ledger.transaction()
                      .output("a", account("alice", 100))
                      .output("b", account("bob", 50))
                      .command(cscoin_issue(150, ledger.public_key("mint"))));
  }
  testing::TxDsl transfer(uint64_t amount, uint64_t alice_after, uint64_t bob_after) {
    testing::TxDsl tx = ledger.transaction();
    tx.input("a").input("b").output(account("alice", alice_after)).output(account("bob", bob_after))
        .command(cscoin_transfer(flow("alice", "bob", amount)));
    return tx;
  }

  testing::LedgerDsl ledger;
  Twin twin;
};

TEST_F(CsCoinTwinTest, CreateAccountStartsEmptyAndNeedsItsOwner) {
  twin.verifies(ledger.transaction().output(account("alice", 0)).command(cscoin_create_account(ledger.public_key("alice"))));
  twin.fails_with(ledger.transaction().output(account("alice", 5)).command(cscoin_create_account(ledger.public_key("alice"))),
                  "a new account starts with balance 0, not 5");
  twin.fails_with(ledger.transaction().output(account("alice", 0)).command(cscoin_create_account(ledger.public_key("bob"))),
                  "createAccount is not signed by the new account's owner");
  twin.fails_with(ledger.transaction()
                      .output(account("alice", 0))
                      .output(account("bob", 0))
                      .command(cscoin_create_account(ledger.public_key("alice"))),
                  "createAccount creates exactly one account");
}

TEST_F(CsCoinTwinTest, IssueNeedsTheMintAndExactSupply) {
  twin.fails_with(ledger.transaction().output(account("alice", 100)).command(cscoin_issue(100, ledger.public_key("mallory"))),
                  "issue is not signed by the mint authority");
  twin.fails_with(ledger.transaction()
                      .output(account("alice", 60))
                      .output(account("bob", 30))
                      .command(cscoin_issue(100, ledger.public_key("mint"))),
                  "issued balances sum to 90, not the supply 100");
  twin.fails_with(ledger.transaction()
                      .output(account("alice", UINT64_MAX))
                      .output(account("bob", 1))
                      .command(cscoin_issue(0, ledger.public_key("mint"))),
                  "issued balances overflow");
  issue_two();
}

TEST_F(CsCoinTwinTest, TransferMovesValueBetweenTwoAccounts) {
  issue_two();
  twin.verifies(transfer(30, 70, 80));
}

TEST_F(CsCoinTwinTest, TransferRejectsEveryBrokenRule) {
  issue_two();
  twin.fails_with(transfer(0, 100, 50), "transfer of zero");
  twin.fails_with(transfer(101, 0, 151), "transfer of 101 exceeds the balance 100");
  twin.fails_with(transfer(30, 71, 80), "the sender's new balance is 71, expected 70");
  twin.fails_with(transfer(30, 70, 81), "the receiver's new balance is 81, expected 80");
  twin.fails_with(ledger.transaction().input("a").input("b").output(account("carol", 70)).output(account("bob", 80))
                      .command(cscoin_transfer(flow("alice", "bob", 30))),
                  "transfer changes an account's owner");
  twin.fails_with(ledger.transaction().input("a").input("b").output(account("alice", 70)).output(account("bob", 80))
                      .command(cscoin_transfer(flow("alice", "carol", 30))),
                  "does not name the consumed accounts' owners");
  ledger::Command unsigned_transfer = cscoin_transfer(flow("alice", "bob", 30));
  unsigned_transfer.signers = {ledger.public_key("bob")};
  twin.fails_with(ledger.transaction().input("a").input("b").output(account("alice", 70)).output(account("bob", 80))
                      .command(unsigned_transfer),
                  "transfer is not signed by the sender");
  twin.fails_with(ledger.transaction().input("a").output(account("alice", 70)).command(cscoin_transfer(flow("alice", "bob", 30))),
                  "transfer consumes two accounts [from, to]");
  ledger::Command garbled = cscoin_transfer(flow("alice", "bob", 30));
  garbled.params = Bytes{9, 9};
  twin.fails_with(ledger.transaction().input("a").input("b").output(account("alice", 70)).output(account("bob", 80))
                      .command(garbled),
                  "transfer parameters do not decode");
}

TEST_F(CsCoinTwinTest, TransferToSelfAndCommandCountAreChecked) {
  twin.verifies(ledger.transaction()
                    .output("a", account("alice", 100))
                    .output("a2", account("alice", 5))
                    .command(cscoin_issue(105, ledger.public_key("mint"))));
  twin.fails_with(ledger.transaction().input("a").input("a2").output(account("alice", 90)).output(account("alice", 15))
                      .command(cscoin_transfer(flow("alice", "alice", 10))),
                  "transfer from an account to itself");
  twin.fails_with(ledger.transaction()
                      .output(account("alice", 0))
                      .command(cscoin_create_account(ledger.public_key("alice")))
                      .command(cscoin_create_account(ledger.public_key("bob"))),
                  "a transaction carries exactly one CSCoin command, not 2");
  ledger::Command unknown = cscoin_create_account(ledger.public_key("alice"));
  unknown.name = "burn";
  twin.fails_with(ledger.transaction().output(account("alice", 0)).command(unknown), "unknown command burn");
}

TEST_F(CsCoinTwinTest, MalformedAccountIsRejectedByBoth) {
  ledger::TransactionState junk = account("alice", 0);
  junk.data.push_back(0);  // trailing byte: not canonical
  twin.fails_with(ledger.transaction().output(junk).command(cscoin_create_account(ledger.public_key("alice"))),
                  "output 0 is not a CSCoin account");
}

}  // namespace
}  // namespace folio::examples
