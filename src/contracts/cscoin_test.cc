// folio.CSCoin, rule by rule, through the whole verification pipeline (the ledger DSL).
//
// The cases, so that a port (the WebAssembly CSCoin) can mirror them one for one. The mint
// authority is the key named "mint"; accounts are CsCoinAccount{owner, balance} outputs. Each
// line: the case, then "ok" or the substring the rejection must contain.
//
// createAccount
//   C1  new account, balance 0, signed by its owner        ok
//   C2  new account with balance 5                         "starts with balance 0, not 5"
//   C3  signed by someone other than the new owner         "not signed by the new account's owner"
//   C4  two new accounts                                   "creates exactly one account"
//   C5  consumes an account                                "consumes no CSCoin account"
//   C6  has parameters                                     "takes no parameters"
// issue
//   I1  balances sum to the supply, signed by the mint     ok
//   I2  signed by someone else                             "not signed by the mint authority"
//   I3  balances sum to 140, supply 150                    "sum to 140, not the supply 150"
//   I4  balances overflow                                  "issued balances overflow"
//   I5  consumes an account                                "issue consumes no CSCoin account"
//   I6  creates no account                                 "creates at least one account"
//   I7  parameters do not decode                           "issue parameters do not decode"
// transfer: inputs [from, to], outputs [from', to'], params = the value flow (public returns)
//   T1  signed by the sender; the value flow is readable   ok
//   T2  more than the sender's balance                     "exceeds the balance"
//   T3  the sender's new balance is wrong                  "the sender's new balance is"
//   T4  the receiver's new balance is wrong                "the receiver's new balance is"
//   T5  an account changes owner                           "changes an account's owner"
//   T6  not signed by the sender                           "not signed by the sender"
//   T7  the value flow names other owners                  "does not name the consumed accounts'"
//   T8  between two accounts of one owner                  "transfer from an account to itself"
//   T9  of zero                                            "transfer of zero"
//   T10 not two accounts in and two out                    "consumes two accounts [from, to]"
//   T11 the receiving balance would overflow               "the receiving balance overflows"
//   T12 parameters do not decode                           "transfer parameters do not decode"
// any command
//   G1  two CSCoin commands                                "exactly one CSCoin command, not 2"
//   G2  an account created without a command               "exactly one CSCoin command, not 0"
//   G3  an unknown command "mint"                          "unknown command mint"
//   G4  a CSCoin state that is not an account              "output 0 is not a CSCoin account"
//   G5  an account that is only referenced                 ok (no command needed)
//   G6  the participant of an account is its owner
// composition (Chainspace's dependency traces): test.Shop accepts an order only if the
// transaction's CSCoin value flows pay its merchant at least its price
//   X1  order paid in full by the transfer                 ok
//   X2  paid 29 of 30                                      "test.Shop: order 2 for 30 is unpaid"
//   X3  paid to someone else                               "test.Shop: order 2 for 30 is unpaid"
//   X4  no transfer at all                                 "test.Shop: order 0 for 30 is unpaid"
#include "contracts/cscoin.h"

#include <gtest/gtest.h>

#include "contracts/cash.h"
#include "testing/ledger_dsl.h"

namespace folio::contracts {
namespace {

using ledger::Rule;
using testing::LedgerDsl;

class CsCoinTest : public ::testing::Test {
 protected:
  crypto::PublicKey key(std::string_view name) { return ledger.public_key(name); }
  ledger::TransactionState account(std::string_view owner, uint64_t balance) {
    return cscoin_account(key(owner), balance, ledger.notary());
  }
  // Issues the initial supply: alice 100, bob 50.
  void issue_supply() {
    ledger.transaction()
        .output("alice", account("alice", 100))
        .output("bob", account("bob", 50))
        .command(cscoin_issue(150, key("mint")))
        .verifies();
  }
  CsCoinValueFlow flow(std::string_view from, std::string_view to, uint64_t amount) {
    return CsCoinValueFlow{key(from), key(to), amount};
  }
  // alice -> bob, with the given new balances.
  testing::TxDsl transfer(uint64_t amount, uint64_t alice_after, uint64_t bob_after) {
    testing::TxDsl t = ledger.transaction();
    t.input("alice")
        .input("bob")
        .output(account("alice", alice_after))
        .output(account("bob", bob_after))
        .command(cscoin_transfer(flow("alice", "bob", amount)));
    return t;
  }

  LedgerDsl ledger;
};

// ---- createAccount ----

TEST_F(CsCoinTest, C1_NewAccountWithZeroBalanceSignedByItsOwner) {
  ledger.transaction()
      .output(account("carol", 0))
      .command(cscoin_create_account(key("carol")))
      .verifies();
}

TEST_F(CsCoinTest, C2_NewAccountWithABalanceIsRefused) {
  ledger.transaction()
      .output(account("carol", 5))
      .command(cscoin_create_account(key("carol")))
      .fails_with(Rule::kContractRejected, "a new account starts with balance 0, not 5");
}

TEST_F(CsCoinTest, C3_NewAccountNotSignedByItsOwnerIsRefused) {
  ledger.transaction()
      .output(account("carol", 0))
      .command(cscoin_create_account(key("mallory")))
      .fails_with(Rule::kContractRejected,
                  "createAccount is not signed by the new account's owner");
}

TEST_F(CsCoinTest, C4_CreatingTwoAccountsAtOnceIsRefused) {
  ledger.transaction()
      .output(account("carol", 0))
      .output(account("dave", 0))
      .command(cscoin_create_account(key("carol")))
      .fails_with(Rule::kContractRejected, "createAccount creates exactly one account");
}

TEST_F(CsCoinTest, C5_CreateAccountConsumingAnAccountIsRefused) {
  issue_supply();
  ledger.transaction()
      .input("alice")
      .output(account("carol", 0))
      .command(cscoin_create_account(key("carol")))
      .fails_with(Rule::kContractRejected, "createAccount consumes no CSCoin account");
}

TEST_F(CsCoinTest, C6_CreateAccountWithParametersIsRefused) {
  ledger::Command c = cscoin_create_account(key("carol"));
  c.params = Bytes{0};
  ledger.transaction()
      .output(account("carol", 0))
      .command(c)
      .fails_with(Rule::kContractRejected, "createAccount takes no parameters");
}

// ---- issue ----

TEST_F(CsCoinTest, I1_MintIssuesTheSupply) { issue_supply(); }

TEST_F(CsCoinTest, I2_IssueNotSignedByTheMintIsRefused) {
  ledger.transaction()
      .output(account("alice", 100))
      .output(account("bob", 50))
      .command(cscoin_issue(150, key("mallory")))
      .fails_with(Rule::kContractRejected, "issue is not signed by the mint authority");
}

TEST_F(CsCoinTest, I3_BalancesThatDoNotSumToTheSupplyAreRefused) {
  ledger.transaction()
      .output(account("alice", 100))
      .output(account("bob", 40))
      .command(cscoin_issue(150, key("mint")))
      .fails_with(Rule::kContractRejected, "issued balances sum to 140, not the supply 150");
}

TEST_F(CsCoinTest, I4_BalancesThatOverflowAreRefused) {
  ledger.transaction()
      .output(account("alice", UINT64_MAX))
      .output(account("bob", 1))
      .command(cscoin_issue(0, key("mint")))
      .fails_with(Rule::kContractRejected, "issued balances overflow");
}

TEST_F(CsCoinTest, I5_IssueConsumingAnAccountIsRefused) {
  issue_supply();
  ledger.transaction()
      .input("alice")
      .output(account("alice", 200))
      .command(cscoin_issue(200, key("mint")))
      .fails_with(Rule::kContractRejected, "issue consumes no CSCoin account");
}

TEST_F(CsCoinTest, I6_IssueCreatingNoAccountIsRefused) {
  // Some other state keeps the transaction from being empty.
  CashAmount pounds{100, IssuedCurrency{PartyAndReference{ledger.party("bank"), {}}, "GBP"}};
  ledger.transaction()
      .output(cash_output(pounds, key("alice"), ledger.notary()))
      .command(cash_issue(key("bank")))
      .command(cscoin_issue(0, key("mint")))
      .fails_with(Rule::kContractRejected, "issue creates at least one account");
}

TEST_F(CsCoinTest, I7_IssueParametersThatDoNotDecodeAreRefused) {
  ledger::Command c = cscoin_issue(150, key("mint"));
  c.params.pop_back();
  ledger.transaction()
      .output(account("alice", 150))
      .command(c)
      .fails_with(Rule::kContractRejected, "issue parameters do not decode");
}

// ---- transfer ----

TEST_F(CsCoinTest, T1_TransferSignedByTheSenderMovesValueAndReturnsTheFlow) {
  issue_supply();
  testing::TxDsl t = transfer(30, 70, 80);
  ledger::WireTransaction wire = t.wire();
  auto ltx = ledger::resolve(wire, wire.id(), ledger.states(), ledger.attachments());
  ASSERT_TRUE(ltx.ok()) << ltx.error().message();
  EXPECT_EQ(cscoin_value_flows(*ltx), std::vector<CsCoinValueFlow>{flow("alice", "bob", 30)});
  t.verifies();
}

TEST_F(CsCoinTest, T2_TransferBeyondTheBalanceIsRefused) {
  issue_supply();
  transfer(101, 0, 151)
      .fails_with(Rule::kContractRejected, "transfer of 101 exceeds the balance 100");
  transfer(100, 0, 150).verifies();  // the whole balance is fine
}

TEST_F(CsCoinTest, T3_WrongSenderBalanceIsRefused) {
  issue_supply();
  transfer(30, 71, 80)
      .fails_with(Rule::kContractRejected, "the sender's new balance is 71, expected 70");
}

TEST_F(CsCoinTest, T4_WrongReceiverBalanceIsRefused) {
  issue_supply();
  transfer(30, 70, 81)
      .fails_with(Rule::kContractRejected, "the receiver's new balance is 81, expected 80");
}

TEST_F(CsCoinTest, T5_TransferThatChangesAnOwnerIsRefused) {
  issue_supply();
  ledger.transaction()
      .input("alice")
      .input("bob")
      .output(account("alice", 70))
      .output(account("carol", 80))
      .command(cscoin_transfer(flow("alice", "bob", 30)))
      .fails_with(Rule::kContractRejected, "transfer changes an account's owner");
}

TEST_F(CsCoinTest, T6_TransferNotSignedByTheSenderIsRefused) {
  issue_supply();
  ledger::Command c = cscoin_transfer(flow("alice", "bob", 30));
  c.signers = {key("bob")};
  ledger.transaction()
      .input("alice")
      .input("bob")
      .output(account("alice", 70))
      .output(account("bob", 80))
      .command(c)
      .fails_with(Rule::kContractRejected,
                  "transfer is not signed by the sender " + key("alice").describe());
}

TEST_F(CsCoinTest, T7_ValueFlowNamingOtherOwnersIsRefused) {
  issue_supply();
  ledger.transaction()
      .input("alice")
      .input("bob")
      .output(account("alice", 70))
      .output(account("bob", 80))
      .command(cscoin_transfer(flow("alice", "carol", 30)))
      .fails_with(Rule::kContractRejected,
                  "the declared value flow does not name the consumed accounts' owners");
}

TEST_F(CsCoinTest, T8_TransferBetweenAccountsOfOneOwnerIsRefused) {
  issue_supply();
  ledger.transaction()
      .output("alice's second", account("alice", 0))
      .command(cscoin_create_account(key("alice")))
      .verifies();
  ledger.transaction()
      .input("alice")
      .input("alice's second")
      .output(account("alice", 70))
      .output(account("alice", 30))
      .command(cscoin_transfer(flow("alice", "alice", 30)))
      .fails_with(Rule::kContractRejected, "transfer from an account to itself");
}

TEST_F(CsCoinTest, T9_TransferOfZeroIsRefused) {
  issue_supply();
  transfer(0, 100, 50).fails_with(Rule::kContractRejected, "transfer of zero");
}

TEST_F(CsCoinTest, T10_TransferNotOfTwoAccountsIsRefused) {
  issue_supply();
  ledger.transaction()
      .input("alice")
      .output(account("alice", 70))
      .output(account("bob", 30))
      .command(cscoin_transfer(flow("alice", "bob", 30)))
      .fails_with(Rule::kContractRejected, "transfer consumes two accounts [from, to]");
}

TEST_F(CsCoinTest, T11_ReceivingBalanceThatWouldOverflowIsRefused) {
  ledger.transaction()
      .output("alice", account("alice", 10))
      .command(cscoin_issue(10, key("mint")))
      .verifies();
  ledger.transaction()
      .output("bob", account("bob", UINT64_MAX))
      .command(cscoin_issue(UINT64_MAX, key("mint")))
      .verifies();
  transfer(1, 9, 0).fails_with(Rule::kContractRejected, "the receiving balance overflows");
}

TEST_F(CsCoinTest, T12_TransferParametersThatDoNotDecodeAreRefused) {
  issue_supply();
  ledger::Command c = cscoin_transfer(flow("alice", "bob", 30));
  c.params.push_back(0);
  ledger.transaction()
      .input("alice")
      .input("bob")
      .output(account("alice", 70))
      .output(account("bob", 80))
      .command(c)
      .fails_with(Rule::kContractRejected, "transfer parameters do not decode");
}

// ---- any command ----

TEST_F(CsCoinTest, G1_TwoCsCoinCommandsAreRefused) {
  ledger.transaction()
      .output(account("carol", 0))
      .command(cscoin_create_account(key("carol")))
      .command(cscoin_issue(0, key("mint")))
      .fails_with(Rule::kContractRejected,
                  "a transaction carries exactly one CSCoin command, not 2");
}

TEST_F(CsCoinTest, G2_AccountWithoutACommandIsRefused) {
  ledger.transaction()
      .output(account("carol", 0))
      .fails_with(Rule::kContractRejected, "exactly one CSCoin command, not 0");
}

TEST_F(CsCoinTest, G3_UnknownCommandIsRefused) {
  ledger.transaction()
      .output(account("carol", 0))
      .command(ledger::Command{std::string(kCsCoinContract), "mint", {}, {key("carol")}})
      .fails_with(Rule::kContractRejected, "unknown command mint");
}

TEST_F(CsCoinTest, G4_StateThatIsNotAnAccountIsRefused) {
  ledger::TransactionState garbage = account("carol", 0);
  garbage.data = Bytes{1, 2};
  ledger.transaction()
      .output(garbage)
      .command(cscoin_create_account(key("carol")))
      .fails_with(Rule::kContractRejected, "output 0 is not a CSCoin account");
}

TEST_F(CsCoinTest, G5_ReferencedAccountNeedsNoCommand) {
  issue_supply();
  CashAmount pounds{100, IssuedCurrency{PartyAndReference{ledger.party("bank"), {}}, "GBP"}};
  ledger.transaction()
      .reference("alice")
      .output(cash_output(pounds, key("alice"), ledger.notary()))
      .command(cash_issue(key("bank")))
      .verifies();
}

TEST_F(CsCoinTest, G6_ParticipantIsTheOwner) {
  CsCoin contract(key("mint"));
  auto participants = contract.participants(account("alice", 3));
  ASSERT_TRUE(participants.ok());
  EXPECT_EQ(*participants, std::vector<crypto::PublicKey>{key("alice")});
  ledger::TransactionState garbage = account("alice", 3);
  garbage.data.pop_back();
  EXPECT_FALSE(contract.participants(garbage).ok());
}

// ---- composition ----

// test.Shop: an order for goods is valid only if the same transaction pays its merchant at least
// its price in CSCoin. It reads CSCoin's public returns (the value flows) and nothing else of
// CSCoin: Chainspace's composition of contracts through dependency traces.
constexpr std::string_view kShopContract = "test.Shop";

struct ShopOrder {
  crypto::PublicKey merchant;
  uint64_t price = 0;
  FOLIO_FIELDS(merchant, price)
};

class Shop : public ledger::Contract {
 public:
  std::string_view name() const override { return kShopContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override {
    std::vector<CsCoinValueFlow> flows = cscoin_value_flows(tx);
    for (size_t i : tx.output_indexes(kShopContract)) {
      auto order = codec::decode_from_bytes<ShopOrder>(tx.outputs[i].data);
      if (!order.ok()) return ledger::reject("output " + std::to_string(i) + " is not an order");
      bool paid = std::any_of(flows.begin(), flows.end(), [&](const CsCoinValueFlow& f) {
        return f.to == order->merchant && f.amount >= order->price;
      });
      if (!paid)
        return ledger::reject("order " + std::to_string(i) + " for " +
                              std::to_string(order->price) + " is unpaid");
    }
    return ok_status();
  }
};

class CsCoinCompositionTest : public CsCoinTest {
 protected:
  CsCoinCompositionTest() { EXPECT_TRUE(ledger.registry().add(std::make_unique<Shop>()).ok()); }
  // An order of bob's goods for 30.
  ledger::TransactionState order() {
    return ledger::TransactionState{codec::encode_to_bytes(ShopOrder{key("bob"), 30}),
                                    std::string(kShopContract), ledger.notary(), std::nullopt,
                                    ledger::AlwaysAcceptConstraint{}};
  }
};

TEST_F(CsCoinCompositionTest, X1_OrderPaidInTheSameTransactionVerifies) {
  issue_supply();
  transfer(30, 70, 80).output(order()).verifies();
}

TEST_F(CsCoinCompositionTest, X2_OrderPaidTooLittleIsRefused) {
  issue_supply();
  transfer(29, 71, 79)
      .output(order())
      .fails_with(Rule::kContractRejected, "test.Shop: order 2 for 30 is unpaid");
}

TEST_F(CsCoinCompositionTest, X3_OrderPaidToSomeoneElseIsRefused) {
  issue_supply();
  ledger.transaction()
      .output("carol", account("carol", 0))
      .command(cscoin_create_account(key("carol")))
      .verifies();
  ledger.transaction()
      .input("alice")
      .input("carol")
      .output(account("alice", 70))
      .output(account("carol", 30))
      .output(order())
      .command(cscoin_transfer(flow("alice", "carol", 30)))
      .fails_with(Rule::kContractRejected, "test.Shop: order 2 for 30 is unpaid");
}

TEST_F(CsCoinCompositionTest, X4_OrderWithoutAnyPaymentIsRefused) {
  ledger.transaction().output(order()).fails_with(Rule::kContractRejected,
                                                  "test.Shop: order 0 for 30 is unpaid");
}

}  // namespace
}  // namespace folio::contracts
