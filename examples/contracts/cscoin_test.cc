// folio.CSCoin, native (src/contracts/cscoin.cc) and its C port (cscoin.c), through the cases of
// src/contracts/cscoin_test.cc one for one (same ids, same expected reasons). Each case runs the
// same signed transaction through the native registry and through the wasm provider, and checks
// that both accept, or both reject with the expected reason; G6 compares the participants that
// each reports for an account.
#include "contracts/cscoin.h"

#include "contracts/cash.h"
#include "twin.h"

namespace folio::examples {
namespace {

using contracts::cscoin_account;
using contracts::cscoin_create_account;
using contracts::cscoin_issue;
using contracts::cscoin_transfer;
using contracts::CsCoinValueFlow;
using contracts::kCsCoinContract;

class CsCoinTwinTest : public ::testing::Test {
 protected:
  CsCoinTwinTest()
      : twin(ledger, std::string(kCsCoinContract), FOLIO_CSCOIN_WASM,
             codec::encode_to_bytes(ledger.public_key("mint"))) {}

  crypto::PublicKey key(std::string_view name) { return ledger.public_key(name); }
  ledger::TransactionState account(std::string_view owner, uint64_t balance) {
    return cscoin_account(key(owner), balance, ledger.notary());
  }
  CsCoinValueFlow flow(std::string_view from, std::string_view to, uint64_t amount) {
    return CsCoinValueFlow{key(from), key(to), amount};
  }
  void issue_supply() {  // alice 100, bob 50
    twin.verifies(ledger.transaction()
                      .output("alice", account("alice", 100))
                      .output("bob", account("bob", 50))
                      .command(cscoin_issue(150, key("mint"))));
  }
  testing::TxDsl transfer(uint64_t amount, uint64_t alice_after, uint64_t bob_after) {
    testing::TxDsl t = ledger.transaction();
    t.input("alice")
        .input("bob")
        .output(account("alice", alice_after))
        .output(account("bob", bob_after))
        .command(cscoin_transfer(flow("alice", "bob", amount)));
    return t;
  }
  contracts::CashAmount pounds() {
    return contracts::CashAmount{
        100,
        contracts::IssuedCurrency{contracts::PartyAndReference{ledger.party("bank"), {}}, "GBP"}};
  }

  testing::LedgerDsl ledger;
  Twin twin;
};

// ---- createAccount ----

TEST_F(CsCoinTwinTest, C1_NewAccountWithZeroBalanceSignedByItsOwner) {
  twin.verifies(ledger.transaction()
                    .output(account("carol", 0))
                    .command(cscoin_create_account(key("carol"))));
}

TEST_F(CsCoinTwinTest, C2_NewAccountWithABalanceIsRefused) {
  twin.fails_with(
      ledger.transaction().output(account("carol", 5)).command(cscoin_create_account(key("carol"))),
      "a new account starts with balance 0, not 5");
}

TEST_F(CsCoinTwinTest, C3_NewAccountNotSignedByItsOwnerIsRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("carol", 0))
                      .command(cscoin_create_account(key("mallory"))),
                  "createAccount is not signed by the new account's owner");
}

TEST_F(CsCoinTwinTest, C4_CreatingTwoAccountsAtOnceIsRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("carol", 0))
                      .output(account("dave", 0))
                      .command(cscoin_create_account(key("carol"))),
                  "createAccount creates exactly one account");
}

TEST_F(CsCoinTwinTest, C5_CreateAccountConsumingAnAccountIsRefused) {
  issue_supply();
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .output(account("carol", 0))
                      .command(cscoin_create_account(key("carol"))),
                  "createAccount consumes no CSCoin account");
}

TEST_F(CsCoinTwinTest, C6_CreateAccountWithParametersIsRefused) {
  ledger::Command c = cscoin_create_account(key("carol"));
  c.params = Bytes{0};
  twin.fails_with(ledger.transaction().output(account("carol", 0)).command(c),
                  "createAccount takes no parameters");
}

// ---- issue ----

TEST_F(CsCoinTwinTest, I1_MintIssuesTheSupply) { issue_supply(); }

TEST_F(CsCoinTwinTest, I2_IssueNotSignedByTheMintIsRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("alice", 100))
                      .output(account("bob", 50))
                      .command(cscoin_issue(150, key("mallory"))),
                  "issue is not signed by the mint authority");
}

TEST_F(CsCoinTwinTest, I3_BalancesThatDoNotSumToTheSupplyAreRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("alice", 100))
                      .output(account("bob", 40))
                      .command(cscoin_issue(150, key("mint"))),
                  "issued balances sum to 140, not the supply 150");
}

TEST_F(CsCoinTwinTest, I4_BalancesThatOverflowAreRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("alice", UINT64_MAX))
                      .output(account("bob", 1))
                      .command(cscoin_issue(0, key("mint"))),
                  "issued balances overflow");
}

TEST_F(CsCoinTwinTest, I5_IssueConsumingAnAccountIsRefused) {
  issue_supply();
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .output(account("alice", 200))
                      .command(cscoin_issue(200, key("mint"))),
                  "issue consumes no CSCoin account");
}

TEST_F(CsCoinTwinTest, I6_IssueCreatingNoAccountIsRefused) {
  twin.fails_with(ledger.transaction()
                      .output(contracts::cash_output(pounds(), key("alice"), ledger.notary()))
                      .command(contracts::cash_issue(key("bank")))
                      .command(cscoin_issue(0, key("mint"))),
                  "issue creates at least one account");
}

TEST_F(CsCoinTwinTest, I7_IssueParametersThatDoNotDecodeAreRefused) {
  ledger::Command c = cscoin_issue(150, key("mint"));
  c.params.pop_back();
  twin.fails_with(ledger.transaction().output(account("alice", 150)).command(c),
                  "issue parameters do not decode");
}

// ---- transfer ----

TEST_F(CsCoinTwinTest, T1_TransferSignedByTheSenderMovesValue) {
  issue_supply();
  twin.verifies(transfer(30, 70, 80));
}

TEST_F(CsCoinTwinTest, T2_TransferBeyondTheBalanceIsRefused) {
  issue_supply();
  twin.fails_with(transfer(101, 0, 151), "transfer of 101 exceeds the balance 100");
  twin.verifies(transfer(100, 0, 150));
}

TEST_F(CsCoinTwinTest, T3_WrongSenderBalanceIsRefused) {
  issue_supply();
  twin.fails_with(transfer(30, 71, 80), "the sender's new balance is 71, expected 70");
}

TEST_F(CsCoinTwinTest, T4_WrongReceiverBalanceIsRefused) {
  issue_supply();
  twin.fails_with(transfer(30, 70, 81), "the receiver's new balance is 81, expected 80");
}

TEST_F(CsCoinTwinTest, T5_TransferThatChangesAnOwnerIsRefused) {
  issue_supply();
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("bob")
                      .output(account("alice", 70))
                      .output(account("carol", 80))
                      .command(cscoin_transfer(flow("alice", "bob", 30))),
                  "transfer changes an account's owner");
}

TEST_F(CsCoinTwinTest, T6_TransferNotSignedByTheSenderIsRefused) {
  issue_supply();
  ledger::Command c = cscoin_transfer(flow("alice", "bob", 30));
  c.signers = {key("bob")};
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("bob")
                      .output(account("alice", 70))
                      .output(account("bob", 80))
                      .command(c),
                  "transfer is not signed by the sender " + key("alice").describe());
}

TEST_F(CsCoinTwinTest, T7_ValueFlowNamingOtherOwnersIsRefused) {
  issue_supply();
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("bob")
                      .output(account("alice", 70))
                      .output(account("bob", 80))
                      .command(cscoin_transfer(flow("alice", "carol", 30))),
                  "the declared value flow does not name the consumed accounts' owners");
}

TEST_F(CsCoinTwinTest, T8_TransferBetweenAccountsOfOneOwnerIsRefused) {
  issue_supply();
  twin.verifies(ledger.transaction()
                    .output("alice's second", account("alice", 0))
                    .command(cscoin_create_account(key("alice"))));
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("alice's second")
                      .output(account("alice", 70))
                      .output(account("alice", 30))
                      .command(cscoin_transfer(flow("alice", "alice", 30))),
                  "transfer from an account to itself");
}

TEST_F(CsCoinTwinTest, T9_TransferOfZeroIsRefused) {
  issue_supply();
  twin.fails_with(transfer(0, 100, 50), "transfer of zero");
}

TEST_F(CsCoinTwinTest, T10_TransferNotOfTwoAccountsIsRefused) {
  issue_supply();
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .output(account("alice", 70))
                      .output(account("bob", 30))
                      .command(cscoin_transfer(flow("alice", "bob", 30))),
                  "transfer consumes two accounts [from, to]");
}

TEST_F(CsCoinTwinTest, T11_ReceivingBalanceThatWouldOverflowIsRefused) {
  twin.verifies(ledger.transaction()
                    .output("alice", account("alice", 10))
                    .command(cscoin_issue(10, key("mint"))));
  twin.verifies(ledger.transaction()
                    .output("bob", account("bob", UINT64_MAX))
                    .command(cscoin_issue(UINT64_MAX, key("mint"))));
  twin.fails_with(transfer(1, 9, 0), "the receiving balance overflows");
}

TEST_F(CsCoinTwinTest, T12_TransferParametersThatDoNotDecodeAreRefused) {
  issue_supply();
  ledger::Command c = cscoin_transfer(flow("alice", "bob", 30));
  c.params.push_back(0);
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("bob")
                      .output(account("alice", 70))
                      .output(account("bob", 80))
                      .command(c),
                  "transfer parameters do not decode");
}

// ---- any command ----

TEST_F(CsCoinTwinTest, G1_TwoCsCoinCommandsAreRefused) {
  twin.fails_with(ledger.transaction()
                      .output(account("carol", 0))
                      .command(cscoin_create_account(key("carol")))
                      .command(cscoin_issue(0, key("mint"))),
                  "a transaction carries exactly one CSCoin command, not 2");
}

TEST_F(CsCoinTwinTest, G2_AccountWithoutACommandIsRefused) {
  twin.fails_with(ledger.transaction().output(account("carol", 0)),
                  "exactly one CSCoin command, not 0");
}

TEST_F(CsCoinTwinTest, G3_UnknownCommandIsRefused) {
  twin.fails_with(
      ledger.transaction()
          .output(account("carol", 0))
          .command(ledger::Command{std::string(kCsCoinContract), "mint", {}, {key("carol")}}),
      "unknown command mint");
}

TEST_F(CsCoinTwinTest, G4_StateThatIsNotAnAccountIsRefused) {
  ledger::TransactionState garbage = account("carol", 0);
  garbage.data = Bytes{1, 2};
  twin.fails_with(ledger.transaction().output(garbage).command(cscoin_create_account(key("carol"))),
                  "output 0 is not a CSCoin account");
}

TEST_F(CsCoinTwinTest, G5_ReferencedAccountNeedsNoCommand) {
  issue_supply();
  twin.verifies(ledger.transaction()
                    .reference("alice")
                    .output(contracts::cash_output(pounds(), key("alice"), ledger.notary()))
                    .command(contracts::cash_issue(key("bank"))));
}

TEST_F(CsCoinTwinTest, G6_ParticipantIsTheOwner) {
  contracts::CsCoin native(key("mint"));
  ledger::LedgerTransaction ltx;
  ltx.attachments = {twin.attachment()};
  auto wasm = twin.provider().find(kCsCoinContract, ltx);
  ASSERT_TRUE(wasm.ok());
  auto native_keys = native.participants(account("alice", 3));
  auto wasm_keys = (*wasm)->participants(account("alice", 3));
  ASSERT_TRUE(native_keys.ok());
  ASSERT_TRUE(wasm_keys.ok()) << wasm_keys.error().message();
  EXPECT_EQ(*wasm_keys, std::vector<crypto::PublicKey>{key("alice")});
  EXPECT_EQ(*wasm_keys, *native_keys);
  ledger::TransactionState garbage = account("alice", 3);
  garbage.data.pop_back();
  EXPECT_FALSE(native.participants(garbage).ok());
  auto wasm_garbage = (*wasm)->participants(garbage);
  ASSERT_FALSE(wasm_garbage.ok());
  EXPECT_NE(wasm_garbage.error().context.find("not a CSCoin account"), std::string::npos);
}

// ---- composition: test.Shop (native) reads the wasm CSCoin's public returns ----

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
    std::vector<CsCoinValueFlow> flows = contracts::cscoin_value_flows(tx);
    for (size_t i : tx.output_indexes(kShopContract)) {
      auto order = codec::decode_from_bytes<ShopOrder>(tx.outputs[i].data);
      if (!order.ok()) return ledger::reject("output " + std::to_string(i) + " is not an order");
      bool paid = std::any_of(flows.begin(), flows.end(), [&](const CsCoinValueFlow& f) {
        return f.to == order->merchant && f.amount >= order->price;
      });
      if (!paid) {
        return ledger::reject("order " + std::to_string(i) + " for " +
                              std::to_string(order->price) + " is unpaid");
      }
    }
    return ok_status();
  }
};

class CsCoinTwinCompositionTest : public CsCoinTwinTest {
 protected:
  CsCoinTwinCompositionTest() { EXPECT_TRUE(ledger.registry().add(std::make_unique<Shop>()).ok()); }
  ledger::TransactionState order() {
    return ledger::TransactionState{codec::encode_to_bytes(ShopOrder{key("bob"), 30}),
                                    std::string(kShopContract), ledger.notary(), std::nullopt,
                                    ledger::AlwaysAcceptConstraint{}};
  }
};

TEST_F(CsCoinTwinCompositionTest, X1_OrderPaidInTheSameTransactionVerifies) {
  issue_supply();
  twin.verifies(transfer(30, 70, 80).output(order()));
}

TEST_F(CsCoinTwinCompositionTest, X2_OrderPaidTooLittleIsRefused) {
  issue_supply();
  twin.fails_with(transfer(29, 71, 79).output(order()), "test.Shop: order 2 for 30 is unpaid",
                  false);
}

TEST_F(CsCoinTwinCompositionTest, X3_OrderPaidToSomeoneElseIsRefused) {
  issue_supply();
  twin.verifies(ledger.transaction()
                    .output("carol", account("carol", 0))
                    .command(cscoin_create_account(key("carol"))));
  twin.fails_with(ledger.transaction()
                      .input("alice")
                      .input("carol")
                      .output(account("alice", 70))
                      .output(account("carol", 30))
                      .output(order())
                      .command(cscoin_transfer(flow("alice", "carol", 30))),
                  "test.Shop: order 2 for 30 is unpaid", false);
}

TEST_F(CsCoinTwinCompositionTest, X4_OrderWithoutAnyPaymentIsRefused) {
  twin.fails_with(ledger.transaction().output(order()), "test.Shop: order 0 for 30 is unpaid",
                  false);
}

}  // namespace
}  // namespace folio::examples
