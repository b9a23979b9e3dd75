// Node and core flows over a MockNetwork: payments among three nodes, double spends refused with
// the conflicting transaction named, issue/exit, trade (delivery versus payment), notary change,
// resolution of back-chains, vault queries, paging and tracking through the node, the hospital.
#include <gtest/gtest.h>

#include <limits>

#include "contracts/cash.h"
#include "node/flows/asset.h"
#include "node/flows/cash_flows.h"
#include "node/flows/collect_signatures.h"
#include "node/flows/finality.h"
#include "node/flows/trade.h"
#include "node/mock_network.h"
#include "node/test_helpers.h"
#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

using testing::flow_result;
using testing::kAlice;
using testing::kBob;
using testing::kCharlie;
using testing::kNotary;
using testing::kNotary2;
using testing::locked_states;

using flows::CashExitFlow;
using flows::CashIssue;
using flows::CashPayment;

MockNetworkOptions options_for(storage::Backend backend) { return testing::mock_options(backend); }

template <class R, class F>
Result<R> run(MockNetwork& net, const std::string& node, const F& flow) {
  auto handle = net.node(node).start_flow(flow);
  if (!handle.ok()) return handle.error();
  return net.run_flow<R>(node, *handle);
}

ledger::TxId issue(MockNetwork& net, const std::string& node, uint64_t amount,
                   const std::string& owner = "") {
  CashIssue f;
  f.amount = amount;
  f.currency = "USD";
  f.owner = owner;
  f.notary = kNotary;
  auto id = run<ledger::TxId>(net, node, f);
  EXPECT_TRUE(id.ok()) << id.error().message();
  return id.ok() ? *id : ledger::TxId{};
}

Result<ledger::TxId> pay(MockNetwork& net, const std::string& from, const std::string& to,
                         uint64_t amount) {
  CashPayment f;
  f.amount = amount;
  f.currency = "USD";
  f.recipient = to;
  return run<ledger::TxId>(net, from, f);
}

uint64_t balance(MockNetwork& net, const std::string& node) {
  auto b = net.node(node).cash_balance("USD");
  EXPECT_TRUE(b.ok());
  return b.ok() ? *b : 0;
}

class NodeTest : public storage::testing::BothBackends {
 protected:
  void SetUp() override {
    storage::testing::BothBackends::SetUp();
    if (IsSkipped()) return;
    net_ = std::make_unique<MockNetwork>(options_for(backend()));
    for (const std::string& n : {kAlice, kBob, kCharlie}) net_->add_node(n);
    net_->add_notary(kNotary);
    ASSERT_TRUE(net_->start_all().ok());
  }
  void TearDown() override {
    net_.reset();
    storage::testing::BothBackends::TearDown();
  }
  std::unique_ptr<MockNetwork> net_;
};

TEST_P(NodeTest, PaymentsAmongThreeNodes) {
  MockNetwork& net = *net_;
  issue(net, kAlice, 1000);
  EXPECT_EQ(balance(net, kAlice), 1000u);
  auto p1 = pay(net, kAlice, kBob, 300);
  ASSERT_TRUE(p1.ok()) << p1.error().message();
  auto p2 = pay(net, kBob, kCharlie, 100);
  ASSERT_TRUE(p2.ok()) << p2.error().message();
  auto p3 = pay(net, kCharlie, kAlice, 50);
  ASSERT_TRUE(p3.ok()) << p3.error().message();
  EXPECT_EQ(balance(net, kAlice), 750u);
  EXPECT_EQ(balance(net, kBob), 200u);
  EXPECT_EQ(balance(net, kCharlie), 50u);
  // Charlie resolved the whole chain: the issue, Alice's payment, Bob's payment, and its own.
  auto charlie_txs = net.node(kCharlie).transactions().count();
  ASSERT_TRUE(charlie_txs.ok());
  EXPECT_EQ(*charlie_txs, 4);
  // Alice got Bob's payment to Charlie while resolving Charlie's payment to her.
  for (const ledger::TxId& id : {*p1, *p2, *p3}) {
    auto stored = net.node(kAlice).transactions().get(id);
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored->is_final());
  }
  // The notary consumed exactly the three payments' inputs.
  auto consumed =
      net.node(kNotary).notary_database().query("SELECT COUNT(*) FROM notary_consumed_states");
  ASSERT_TRUE(consumed.ok());
  EXPECT_EQ(consumed->at(0).integer(0), 3);
}

TEST_P(NodeTest, InsufficientFundsIsAnError) {
  MockNetwork& net = *net_;
  issue(net, kAlice, 100);
  auto p = pay(net, kAlice, kBob, 101);
  ASSERT_FALSE(p.ok());
  // Hospitalised with the vault's reason.
  EXPECT_NE(p.error().message().find("insufficient funds"), std::string::npos)
      << p.error().message();
  EXPECT_EQ(balance(net, kAlice), 100u);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(NodeTest);

// SQLite only from here on (the budget): the node code paths do not depend on the backend.
class NodeSqliteTest : public ::testing::Test {
 protected:
  NodeSqliteTest() : net_(options_for(storage::Backend::kSqlite)) {}
  void SetUp() override {
    for (const std::string& n : {kAlice, kBob, kCharlie}) net_.add_node(n);
    net_.add_notary(kNotary);
    net_.add_notary(kNotary2);
    ASSERT_TRUE(net_.start_all().ok());
  }
  MockNetwork net_;
};

TEST_F(NodeSqliteTest, DoubleSpendIsRefusedNamingTheConflictingTransaction) {
  ledger::TxId issued = issue(net_, kAlice, 100);
  auto first = pay(net_, kAlice, kBob, 100);
  ASSERT_TRUE(first.ok()) << first.error().message();
  // Alice builds, by hand, a second spend of the same coin to Charlie.
  Node& alice = net_.node(kAlice);
  auto issue_tx = alice.transactions().get(issued);
  ASSERT_TRUE(issue_tx.ok());
  ledger::WireTransaction tx;
  tx.inputs.push_back(ledger::StateRef{issued, 0});
  auto cash = contracts::decode_cash(issue_tx->transaction.tx.outputs[0]);
  ASSERT_TRUE(cash.ok());
  tx.outputs.push_back(
      contracts::cash_output(cash->amount, net_.party(kCharlie).owning_key, net_.party(kNotary)));
  tx.commands.push_back(contracts::cash_move({alice.identity().owning_key}));
  tx.notary = net_.party(kNotary);
  tx.salt.bytes[0] = 7;
  auto stx = flows::sign_new(alice.services(), tx);
  ASSERT_TRUE(stx.ok());
  flows::Finality finality;
  finality.stx = *stx;
  auto second = run<flows::TransactionMessage>(net_, kAlice, finality);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("conflict"), std::string::npos);
  EXPECT_NE(second.error().message().find(first->value().short_hex()), std::string::npos)
      << second.error().message();
  EXPECT_EQ(balance(net_, kCharlie), 0u);
  EXPECT_EQ(balance(net_, kBob), 100u);
  // The refused flow is in Alice's hospital.
  EXPECT_EQ(alice.engine().hospitalised().size(), 1u);
}

TEST_F(NodeSqliteTest, IssueAndExit) {
  issue(net_, kAlice, 500);
  CashExitFlow exit;
  exit.amount = 120;
  exit.currency = "USD";
  auto id = run<ledger::TxId>(net_, kAlice, exit);
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(balance(net_, kAlice), 380u);
  // Exiting more than is left fails without changing anything.
  exit.amount = 1000;
  auto too_much = run<ledger::TxId>(net_, kAlice, exit);
  EXPECT_FALSE(too_much.ok());
  EXPECT_EQ(balance(net_, kAlice), 380u);
}

TEST_F(NodeSqliteTest, IssueToAnotherParty) {
  issue(net_, kAlice, 70, kBob);
  EXPECT_EQ(balance(net_, kBob), 70u);
  EXPECT_EQ(balance(net_, kAlice), 0u);
}

TEST_F(NodeSqliteTest, TradeDeliversTheAssetAgainstCashAtomically) {
  issue(net_, kBob, 1000);
  flows::AssetIssue make;
  make.asset_id = "painting-17";
  make.notary = kNotary;
  auto asset = run<ledger::StateRef>(net_, kAlice, make);
  ASSERT_TRUE(asset.ok()) << asset.error().message();
  net_.node(kBob).set_trade_policy(
      [](const std::string&, uint64_t price, const std::string&) { return price <= 800; });
  flows::SellAsset sell;
  sell.asset = *asset;
  sell.buyer = kBob;
  sell.price = 600;
  sell.currency = "USD";
  sell.issuer = kBob;
  auto traded = run<ledger::TxId>(net_, kAlice, sell);
  ASSERT_TRUE(traded.ok()) << traded.error().message();
  EXPECT_EQ(balance(net_, kAlice), 600u);
  EXPECT_EQ(balance(net_, kBob), 400u);
  vault::Query assets;
  assets.criteria = vault::QueryCriteria::unconsumed() &&
                    vault::QueryCriteria::contract_is(std::string(flows::kAssetContract));
  auto bob_assets = net_.node(kBob).query(assets);
  ASSERT_TRUE(bob_assets.ok());
  ASSERT_EQ(bob_assets->states.size(), 1u);
  auto a = flows::decode_asset(bob_assets->states[0].state);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->asset_id, "painting-17");
  EXPECT_EQ(a->owner, net_.party(kBob).owning_key);
  auto alice_assets = net_.node(kAlice).query(assets);
  ASSERT_TRUE(alice_assets.ok());
  EXPECT_TRUE(alice_assets->states.empty());
}

TEST_F(NodeSqliteTest, TradeDeclinedByPolicyMovesNothing) {
  issue(net_, kBob, 1000);
  flows::AssetIssue make;
  make.asset_id = "vase";
  make.notary = kNotary;
  auto asset = run<ledger::StateRef>(net_, kAlice, make);
  ASSERT_TRUE(asset.ok());
  flows::SellAsset sell;
  sell.asset = *asset;
  sell.buyer = kBob;
  sell.price = 600;
  sell.currency = "USD";
  sell.issuer = kBob;
  auto traded = run<ledger::TxId>(net_, kAlice, sell);
  ASSERT_FALSE(traded.ok());
  EXPECT_EQ(balance(net_, kBob), 1000u);
  EXPECT_EQ(balance(net_, kAlice), 0u);
  // Regression: the buyer declined by failing, which told the seller nothing: the seller waited
  // for ever with its asset locked. The buyer now says why, and both flows end.
  EXPECT_NE(traded.error().message().find("declines the offer"), std::string::npos)
      << traded.error().message();
  auto bought = flow_result<flows::TradeOutcome>(net_, kBob, flows::BuyAsset::kName);
  ASSERT_TRUE(bought.has_value());
  ASSERT_TRUE(bought->ok()) << bought->error().message();
  EXPECT_FALSE((*bought)->bought);
  EXPECT_NE((*bought)->refusal.find("declines the offer"), std::string::npos);
  EXPECT_TRUE(net_.node(kBob).engine().hospitalised().empty());
  EXPECT_EQ(locked_states(net_, kAlice), 0);
  EXPECT_EQ(locked_states(net_, kBob), 0);
}

// Regression: the seller counted any cash to its key in the currency, whoever issued it, so a buyer
// could pay with a token it minted itself (an Issue command it signs) in the proposal itself.
class TradeCheckTest : public NodeSqliteTest {
 protected:
  void SetUp() override {
    NodeSqliteTest::SetUp();
    flows::AssetIssue make;
    make.asset_id = "painting-17";
    make.notary = kNotary;
    auto asset = run<ledger::StateRef>(net_, kAlice, make);
    ASSERT_TRUE(asset.ok()) << asset.error().message();
    auto stored = net_.node(kAlice).transactions().get(asset->tx_id);
    ASSERT_TRUE(stored.ok());
    offer_.asset = ledger::StateAndRef{stored->transaction.tx.outputs.at(asset->index), *asset};
    offer_.price = 600;
    offer_.currency = "USD";
    offer_.issuer = contracts::PartyAndReference{net_.party(kCharlie), {}};
  }
  // Bob's proposal: the asset to Bob, `payments` to Alice, `extra` commands.
  ledger::SignedTransaction proposal(const std::vector<contracts::CashAmount>& payments,
                                     std::vector<ledger::Command> extra) {
    ledger::WireTransaction tx;
    tx.inputs.push_back(offer_.asset.ref);
    auto asset = flows::decode_asset(offer_.asset.state);
    EXPECT_TRUE(asset.ok());
    flows::AssetState bought = *asset;
    bought.owner = net_.party(kBob).owning_key;
    tx.outputs.push_back(flows::asset_output(bought, net_.party(kNotary)));
    for (const contracts::CashAmount& p : payments)
      tx.outputs.push_back(
          contracts::cash_output(p, net_.party(kAlice).owning_key, net_.party(kNotary)));
    tx.commands.push_back(flows::asset_move({net_.party(kAlice).owning_key}));
    for (ledger::Command& c : extra) tx.commands.push_back(std::move(c));
    tx.notary = net_.party(kNotary);
    return ledger::SignedTransaction{tx, {}};
  }
  contracts::CashAmount cash(uint64_t quantity, const std::string& issuer) {
    return contracts::CashAmount{quantity, {{net_.party(issuer), {}}, "USD"}};
  }
  Status check(const ledger::SignedTransaction& stx) {
    return flows::check_trade_proposal(net_.node(kAlice).services(), offer_, stx);
  }
  flows::TradeOffer offer_;
};

TEST_F(TradeCheckTest, ProposalPayingWithTheOfferedIssuersCashIsAccepted) {
  Status s = check(proposal({cash(600, kCharlie)}, {contracts::cash_move({})}));
  EXPECT_TRUE(s.ok()) << s.error().message();
}

TEST_F(TradeCheckTest, ProposalPayingWithSelfIssuedCashIsRefused) {
  Status s =
      check(proposal({cash(600, kBob)}, {contracts::cash_issue(net_.party(kBob).owning_key)}));
  EXPECT_FALSE(s.ok());
}

TEST_F(TradeCheckTest, ProposalIssuingTheOfferedIssuersTokenIsRefused) {
  // Even with the right token, a proposal must not mint or destroy cash.
  Status s = check(
      proposal({cash(600, kCharlie)}, {contracts::cash_issue(net_.party(kCharlie).owning_key)}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("Issue"), std::string::npos) << s.error().message();
}

// Regression: the seller signed with its key for every command, so a buyer could add one that
// binds the seller (here a cash move of the seller's) to an otherwise fair proposal.
TEST_F(TradeCheckTest, ProposalWithAnotherCommandTheSellerMustSignIsRefused) {
  Status s = check(proposal(
      {cash(600, kCharlie)},
      {contracts::cash_move({net_.party(kBob).owning_key, net_.party(kAlice).owning_key})}));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("signs only the asset's Move"), std::string::npos)
      << s.error().message();
}

TEST_F(TradeCheckTest, ProposalWhosePaymentOverflowsIsRefused) {
  // UINT64_MAX + 601 wraps to 600, the price.
  Status s =
      check(proposal({cash(std::numeric_limits<uint64_t>::max(), kCharlie), cash(601, kCharlie)},
                     {contracts::cash_move({})}));
  EXPECT_FALSE(s.ok());
}

TEST_F(NodeSqliteTest, TradeForAnotherIssuersCashIsRefusedAndTheAssetStaysUnconsumed) {
  issue(net_, kBob, 1000);  // Bob's own token: not what Alice accepts
  flows::AssetIssue make;
  make.asset_id = "painting-18";
  make.notary = kNotary;
  auto asset = run<ledger::StateRef>(net_, kAlice, make);
  ASSERT_TRUE(asset.ok()) << asset.error().message();
  net_.node(kBob).set_trade_policy(
      [](const std::string&, uint64_t, const std::string&) { return true; });
  flows::SellAsset sell;
  sell.asset = *asset;
  sell.buyer = kBob;
  sell.price = 600;
  sell.currency = "USD";
  sell.issuer = kCharlie;
  auto traded = run<ledger::TxId>(net_, kAlice, sell);
  ASSERT_FALSE(traded.ok());
  EXPECT_EQ(balance(net_, kAlice), 0u);
  EXPECT_EQ(balance(net_, kBob), 1000u);
  // Both flows ended (the buyer, who has none of Charlie's cash, said so) and hold nothing.
  EXPECT_NE(traded.error().message().find("cannot pay"), std::string::npos)
      << traded.error().message();
  auto bought = flow_result<flows::TradeOutcome>(net_, kBob, flows::BuyAsset::kName);
  ASSERT_TRUE(bought.has_value()) << "the buyer's flow has not ended";
  ASSERT_TRUE(bought->ok()) << bought->error().message();
  EXPECT_FALSE((*bought)->bought);
  EXPECT_TRUE(net_.node(kBob).engine().hospitalised().empty());
  EXPECT_EQ(locked_states(net_, kBob), 0);
  EXPECT_EQ(locked_states(net_, kAlice), 0);
  vault::Query assets;
  assets.criteria = vault::QueryCriteria::unconsumed() &&
                    vault::QueryCriteria::contract_is(std::string(flows::kAssetContract));
  auto alice_assets = net_.node(kAlice).query(assets);
  ASSERT_TRUE(alice_assets.ok());
  EXPECT_EQ(alice_assets->states.size(), 1u);
}

// Regression: an unset seed was all zeros, and the node derived from it a key anyone can compute.
TEST(NodeIdentity, AllZeroSeedIsRefused) {
  MockNetwork net(options_for(storage::Backend::kSqlite));
  net.add_node(kAlice);
  net.config(kAlice).identity_seed = FixedBytes<32>{};
  Status s = net.start(kAlice);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << s.error().message();
}

TEST(NodeIdentity, WithoutASeedARandomKeyIsGeneratedAndKeptAcrossRestarts) {
  MockNetwork net(options_for(storage::Backend::kSqlite));
  net.add_node(kAlice);
  net.add_node(kBob);
  net.config(kAlice).identity_seed = std::nullopt;
  net.config(kBob).identity_seed = std::nullopt;
  ASSERT_TRUE(net.start(kAlice).ok());
  ASSERT_TRUE(net.start(kBob).ok());
  crypto::PublicKey alice = net.node(kAlice).identity().owning_key;
  EXPECT_FALSE(alice == net.node(kBob).identity().owning_key);
  EXPECT_FALSE(alice == crypto::PrivateKey::ed25519(FixedBytes<32>{}).public_key());
  EXPECT_TRUE(net.node(kAlice).keys().is_ours(alice));
  Status restarted = net.restart(kAlice);
  ASSERT_TRUE(restarted.ok()) << restarted.error().message();
  EXPECT_EQ(net.node(kAlice).identity().owning_key, alice);
}

TEST_F(NodeSqliteTest, NotaryChangeThenSpendUnderTheNewNotary) {
  ledger::TxId issued = issue(net_, kAlice, 100);
  flows::NotaryChange change;
  change.state = ledger::StateRef{issued, 0};
  change.new_notary = kNotary2;
  auto moved = run<ledger::StateRef>(net_, kAlice, change);
  ASSERT_TRUE(moved.ok()) << moved.error().message();
  vault::Query q;
  q.criteria = vault::QueryCriteria::unconsumed() && vault::QueryCriteria::notary_is(kNotary2);
  auto page = net_.node(kAlice).query(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->states.size(), 1u);
  EXPECT_EQ(page->states[0].ref, *moved);
  auto paid = pay(net_, kAlice, kBob, 40);
  ASSERT_TRUE(paid.ok()) << paid.error().message();
  EXPECT_EQ(balance(net_, kBob), 40u);
  // The payment was notarised by the new notary (Bob checked its certificate when resolving).
  auto by_new =
      net_.node(kNotary2).notary_database().query("SELECT COUNT(*) FROM notary_consumed_states");
  ASSERT_TRUE(by_new.ok());
  EXPECT_EQ(by_new->at(0).integer(0), 1);
}

TEST_F(NodeSqliteTest, BackChainIsResolvedInFewRoundTrips) {
  issue(net_, kAlice, 1000);
  // 30 payments back and forth make a chain of depth 30 behind Bob's last coin.
  for (int i = 0; i < 15; ++i) {
    ASSERT_TRUE(pay(net_, kAlice, kBob, 1000).ok());
    ASSERT_TRUE(pay(net_, kBob, kAlice, 1000).ok());
  }
  net_.network().clear_deliveries();
  ASSERT_TRUE(pay(net_, kAlice, kCharlie, 1000).ok());
  EXPECT_EQ(balance(net_, kCharlie), 1000u);
  auto count = net_.node(kCharlie).transactions().count();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 32);
  // Charlie fetched the whole chain in one round trip (the sender adds ancestors to a level):
  // from Alice to Charlie: the transaction, one fetch response, the end; from Charlie: the
  // first fetch, the done, and the end.
  size_t alice_to_charlie = 0;
  for (const net::DeliveryRecord& d : net_.network().deliveries())
    if (d.sender == kAlice && d.recipient == kCharlie) ++alice_to_charlie;
  EXPECT_LE(alice_to_charlie, 3u);
}

TEST_F(NodeSqliteTest, DrainingRefusesNewFlowsAndPeersSessions) {
  issue(net_, kAlice, 100);
  net_.node(kBob).drain();
  EXPECT_TRUE(net_.node(kBob).drained());
  CashIssue more;
  more.amount = 5;
  more.currency = "USD";
  more.notary = kNotary;
  auto refused = net_.node(kBob).start_flow(more);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
  // Alice's payment to a draining Bob is refused at Bob's session, after notarisation: Alice's copy
  // is final and recorded; Bob has not got his, and Alice's Finality waits to resend it
  // (core_flows_test follows it until Bob records it).
  auto paid = pay(net_, kAlice, kBob, 40);
  ASSERT_FALSE(paid.ok());
  EXPECT_EQ(paid.error().code, ErrorCode::kTimeout) << paid.error().message();
  EXPECT_EQ(balance(net_, kAlice), 60u);
  EXPECT_EQ(balance(net_, kBob), 0u);
}

TEST_F(NodeSqliteTest, VaultQueriesPagingAndTrackingThroughTheNode) {
  std::vector<vault::VaultUpdate> seen;
  vault::Query q;
  q.criteria = vault::QueryCriteria::unconsumed();
  auto tracked = net_.node(kBob).track(q, [&](const vault::VaultUpdate& u) { seen.push_back(u); });
  ASSERT_TRUE(tracked.ok());
  EXPECT_TRUE(tracked->snapshot.states.empty());
  issue(net_, kAlice, 1000);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pay(net_, kAlice, kBob, 10 + i).ok());
  EXPECT_EQ(seen.size(), 5u);
  for (const vault::VaultUpdate& u : seen) EXPECT_EQ(u.produced.size(), 1u);
  vault::Query paged;
  paged.criteria = vault::QueryCriteria::unconsumed() &&
                   vault::QueryCriteria::column_matches(
                       "cash", "quantity", vault::ColumnOp::kGreaterOrEqual, int64_t{11});
  paged.page.size = 2;
  paged.sort = {vault::Sort{vault::CustomColumn{"cash", "quantity"}, true}};
  auto p1 = net_.node(kBob).query(paged);
  ASSERT_TRUE(p1.ok()) << p1.error().message();
  EXPECT_EQ(p1->total_states, 4);
  ASSERT_EQ(p1->states.size(), 2u);
  EXPECT_EQ(contracts::decode_cash(p1->states[0].state)->amount.quantity, 14u);
  paged.page.number = 2;
  auto p2 = net_.node(kBob).query(paged);
  ASSERT_TRUE(p2.ok());
  ASSERT_EQ(p2->states.size(), 2u);
  EXPECT_EQ(contracts::decode_cash(p2->states[1].state)->amount.quantity, 11u);
  auto count = net_.node(kBob).count(vault::QueryCriteria::unconsumed());
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 5);
  // Spending one: the tracker sees it consumed.
  seen.clear();
  ASSERT_TRUE(pay(net_, kBob, kCharlie, 14).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].consumed.size(), 1u);
}

TEST(NodeMockNetwork, PaymentsSurviveLatencyLossAndReorderingAndAreRecorded) {
  MockNetworkOptions o = options_for(storage::Backend::kSqlite);
  o.network.seed = 7;
  o.network.reorder = true;
  o.network.default_link = net::LinkConfig{5, 80, 200'000};  // 5-80 ms, a fifth of attempts lost
  MockNetwork net(o);
  for (const std::string& n : {kAlice, kBob, kCharlie}) net.add_node(n);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  // Three coins: concurrent payments each lock one (a single coin would serve only one of them).
  for (int i = 0; i < 3; ++i) issue(net, kAlice, 400);
  std::vector<flow::FlowHandle> handles;
  for (const std::string& to : {kBob, kCharlie, kBob}) {
    CashPayment p;
    p.amount = 100;
    p.currency = "USD";
    p.recipient = to;
    auto h = net.node(kAlice).start_flow(p);
    ASSERT_TRUE(h.ok());
    handles.push_back(*h);
  }
  net.run();
  for (const flow::FlowHandle& h : handles) {
    auto r = net.node(kAlice).result<ledger::TxId>(h.id);
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->ok()) << r->error().message();
  }
  EXPECT_EQ(balance(net, kAlice), 900u);
  EXPECT_EQ(balance(net, kBob), 200u);
  EXPECT_EQ(balance(net, kCharlie), 100u);
  // The three concurrent requests reached the notary; every delivery was recorded, some retried.
  EXPECT_GT(net.network().lost_attempts(), 0u);
  size_t to_notary = 0;
  for (const net::DeliveryRecord& d : net.network().deliveries())
    if (d.recipient == kNotary && d.disposition == net::Disposition::kAccepted) ++to_notary;
  EXPECT_GE(to_notary, 3u);
}

TEST(NodeValidatingNotary, PaymentsWithProvedInputs) {
  MockNetwork net(options_for(storage::Backend::kSqlite));
  net.add_node(kAlice);
  net.add_node(kBob);
  net.add_notary(kNotary, /*validating=*/true);
  ASSERT_TRUE(net.start_all().ok());
  issue(net, kAlice, 100);
  auto paid = pay(net, kAlice, kBob, 30);
  ASSERT_TRUE(paid.ok()) << paid.error().message();
  auto again = pay(net, kBob, kAlice, 10);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(balance(net, kAlice), 80u);
  EXPECT_EQ(balance(net, kBob), 20u);
}

// A peer speaking the core flows' protocols with garbage: the sub-flows below borrow the names of
// Finality and NotaryClient, so Bob's ReceiveFinality and the notary's service answer them.
struct GarbageToFinality {
  static constexpr std::string_view kName = flows::Finality::kName;
  std::string peer;
  flow::Flow<bool> call(flow::FlowContext& ctx) {
    flow::Session s = ctx.initiate(peer);
    Bytes junk(40, 0xee);
    FOLIO_CO_TRY(co_await s.send_encoded(junk));
    // No answer comes: the victim's responder goes to its hospital, which keeps the session open
    // for a retry rather than telling the peer.
    co_return true;
  }
};
struct GarbageToNotary {
  static constexpr std::string_view kName = flows::NotaryClient::kName;
  std::string notary;
  flow::Flow<Bytes> call(flow::FlowContext& ctx) {
    flow::Session s = ctx.initiate(notary);
    Bytes junk(64, 0x5a);
    FOLIO_CO_TRY(co_await s.send(junk));  // a Bytes that is no NotarisationRequest
    co_return co_await s.receive<Bytes>();
  }
};
struct Attack {
  static constexpr std::string_view kName = "test.Attack";
  std::string victim;
  std::string notary;
  FOLIO_FIELDS(victim, notary)
  flows::FlowServices* services = nullptr;
  flow::Flow<uint8_t> call(flow::FlowContext& ctx) {
    GarbageToNotary to_notary{notary};
    FOLIO_CO_ASSIGN_OR_RETURN(Bytes answer, co_await ctx.sub_flow(to_notary));
    auto response = notary::decode_response(answer);
    if (!response.ok() || response->notarised()) co_return uint8_t{0};
    GarbageToFinality to_victim{victim};
    FOLIO_CO_TRY(co_await ctx.sub_flow(to_victim));
    co_return static_cast<uint8_t>(response->refusal().reason);
  }
};

TEST(NodeHostilePeer, GarbageIsRefusedAndTheNodesKeepWorking) {
  MockNetworkOptions o = options_for(storage::Backend::kSqlite);
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<Attack>(r, s);
  };
  MockNetwork net(o);
  for (const std::string& n : {kAlice, kBob, kCharlie}) net.add_node(n);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  auto h = net.node(kCharlie).start_flow(Attack{kBob, kNotary});
  ASSERT_TRUE(h.ok());
  auto r = net.run_flow<uint8_t>(kCharlie, *h);
  ASSERT_TRUE(r.ok()) << r.error().message();
  // The notary refused the undecodable request as malformed; Bob's responder refused the garbage
  // and completed with the refusal (nothing in his hospital: any peer could fill it).
  EXPECT_EQ(*r, static_cast<uint8_t>(notary::RefusalReason::kMalformedRequest));
  EXPECT_TRUE(net.node(kBob).engine().hospitalised().empty());
  auto refused = flow_result<flows::FinalityOutcome>(net, kBob, flows::ReceiveFinality::kName);
  ASSERT_TRUE(refused.has_value() && refused->ok());
  EXPECT_FALSE((*refused)->recorded);
  EXPECT_FALSE((*refused)->refusal.empty());
  issue(net, kAlice, 100);
  auto paid = pay(net, kAlice, kBob, 25);
  ASSERT_TRUE(paid.ok()) << paid.error().message();
  EXPECT_EQ(balance(net, kBob), 25u);
}

// A peer that answers every fetch request with the transaction it sent at first (no progress):
// it borrows Finality's name, so Bob's ReceiveFinality resolves from it. Counts its answers.
size_t g_stalling_answers = 0;
struct StallingFinality {
  static constexpr std::string_view kName = flows::Finality::kName;
  std::string peer;
  ledger::SignedTransaction top;
  flow::Flow<bool> call(flow::FlowContext& ctx) {
    flow::Session s = ctx.initiate(peer);
    flows::TransactionMessage message{top, std::nullopt};
    FOLIO_CO_TRY(co_await s.send(message));
    for (int i = 0; i < 50; ++i) {
      FOLIO_CO_ASSIGN_OR_RETURN(flows::FetchRequest request,
                                co_await s.receive<flows::FetchRequest>());
      if (request.ids.empty()) co_return true;
      flows::FetchResponse response;
      response.transactions.push_back(message);
      ++g_stalling_answers;
      FOLIO_CO_TRY(co_await s.send(response));
    }
    co_return false;
  }
};
struct Stall {
  static constexpr std::string_view kName = "test.Stall";
  std::string victim;
  ledger::SignedTransaction top;
  FOLIO_FIELDS(victim, top)
  flows::FlowServices* services = nullptr;
  flow::Flow<bool> call(flow::FlowContext& ctx) {
    StallingFinality stalling{victim, top};
    co_return co_await ctx.sub_flow(stalling);
  }
};

// Regression: resolution asked again and again while the peer answered with transactions the
// receiver already had, growing its journal forever.
TEST(NodeHostilePeer, ResolutionWithoutProgressFails) {
  MockNetworkOptions o = options_for(storage::Backend::kSqlite);
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<Stall>(r, s);
  };
  MockNetwork net(o);
  for (const std::string& n : {kAlice, kBob}) net.add_node(n);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  ledger::TxId issued = issue(net, kAlice, 100);
  // A spend of Alice's coin: Bob must fetch the issue, which Alice never sends.
  Node& alice = net.node(kAlice);
  auto issue_tx = alice.transactions().get(issued);
  ASSERT_TRUE(issue_tx.ok());
  auto cash = contracts::decode_cash(issue_tx->transaction.tx.outputs[0]);
  ASSERT_TRUE(cash.ok());
  ledger::WireTransaction tx;
  tx.inputs.push_back(ledger::StateRef{issued, 0});
  tx.outputs.push_back(
      contracts::cash_output(cash->amount, net.party(kBob).owning_key, net.party(kNotary)));
  tx.commands.push_back(contracts::cash_move({alice.identity().owning_key}));
  tx.notary = net.party(kNotary);
  auto stx = flows::sign_new(alice.services(), tx);
  ASSERT_TRUE(stx.ok());
  g_stalling_answers = 0;
  auto h = alice.start_flow(Stall{kBob, *stx});
  ASSERT_TRUE(h.ok());
  net.run();
  EXPECT_EQ(g_stalling_answers, 1u);
  // Bob's responder refused (and completed with its refusal) instead of asking on.
  EXPECT_TRUE(net.node(kBob).engine().hospitalised().empty());
  auto refused = flow_result<flows::FinalityOutcome>(net, kBob, flows::ReceiveFinality::kName);
  ASSERT_TRUE(refused.has_value() && refused->ok());
  EXPECT_FALSE((*refused)->recorded);
  EXPECT_FALSE((*refused)->refusal.empty());
  EXPECT_EQ(balance(net, kBob), 0u);
}

// A seller that takes the buyer's proposal and answers with a signature over something else. It
// borrows SellAsset's name, so Bob's BuyAsset answers it.
struct BogusSignatureSeller {
  static constexpr std::string_view kName = flows::SellAsset::kName;
  std::string buyer;
  ledger::StateRef asset;
  flows::FlowServices* services = nullptr;
  flow::Flow<bool> call(flow::FlowContext& ctx) {
    FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef offered,
                              flows::load_own_state(ctx, services, asset));
    FOLIO_CO_ASSIGN_OR_RETURN(node::StoredTransaction origin,
                              services->transactions->get(asset.tx_id));
    flow::Session s = ctx.initiate(buyer);
    flows::TradeOffer offer{offered, 600, "USD", contracts::PartyAndReference{services->me, {}}};
    offer.issuer.party = services->identities->party_by_name(buyer).value();
    FOLIO_CO_TRY(co_await s.send(offer));
    flows::TransactionMessage origin_message{origin.transaction, origin.certificate};
    FOLIO_CO_TRY(co_await flows::send_transaction(ctx, s, services, origin_message));
    // The buyer's collect_signatures: the proposal (nothing to fetch), then the request.
    FOLIO_CO_TRY(co_await s.receive<flows::TransactionMessage>());
    flows::FetchRequest done;
    FOLIO_CO_TRY(co_await s.send(done));
    FOLIO_CO_ASSIGN_OR_RETURN(flows::SignatureRequest request,
                              co_await s.receive<flows::SignatureRequest>());
    if (request.keys.size() != 1 || !(request.keys[0] == services->me.owning_key))
      co_return make_error(ErrorCode::kInternal, "not asked for exactly this node's key");
    Bytes junk(32, 0x42);
    FOLIO_CO_ASSIGN_OR_RETURN(crypto::Signature sig,
                              services->keys->sign(services->me.owning_key, junk));
    flows::SignatureReply reply;
    reply.signatures.push_back(ledger::TransactionSignature{services->me.owning_key, sig});
    FOLIO_CO_TRY(co_await s.send(reply));
    co_return true;
  }
};
struct RefuseToSign {
  static constexpr std::string_view kName = "test.RefuseToSign";
  std::string buyer;
  ledger::StateRef asset;
  FOLIO_FIELDS(buyer, asset)
  flows::FlowServices* services = nullptr;
  flow::Flow<bool> call(flow::FlowContext& ctx) {
    BogusSignatureSeller seller{buyer, asset, services};
    co_return co_await ctx.sub_flow(seller);
  }
};

// Regression: a buyer whose seller did not sign kept its coins soft-locked by the failed flow.
TEST(NodeTrade, BuyerReleasesItsCoinsWhenTheSellerDoesNotSign) {
  MockNetworkOptions o = options_for(storage::Backend::kSqlite);
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<RefuseToSign>(r, s);
  };
  MockNetwork net(o);
  for (const std::string& n : {kAlice, kBob, kCharlie}) net.add_node(n);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  issue(net, kBob, 1000);
  flows::AssetIssue make;
  make.asset_id = "lamp";
  make.notary = kNotary;
  auto asset = run<ledger::StateRef>(net, kAlice, make);
  ASSERT_TRUE(asset.ok()) << asset.error().message();
  net.node(kBob).set_trade_policy(
      [](const std::string&, uint64_t, const std::string&) { return true; });
  auto h = net.node(kAlice).start_flow(RefuseToSign{kBob, *asset});
  ASSERT_TRUE(h.ok());
  net.run();
  // Bob's buyer checked the signature (not a message that failed to decode) and failed.
  auto sick = net.node(kBob).engine().hospitalised();
  ASSERT_EQ(sick.size(), 1u);
  EXPECT_NE(sick[0].error.find("is not valid for transaction"), std::string::npos) << sick[0].error;
  EXPECT_EQ(locked_states(net, kBob), 0);
  // Bob's coin is free again: he can spend all of it.
  auto paid = pay(net, kBob, kCharlie, 1000);
  EXPECT_TRUE(paid.ok()) << paid.error().message();
}

// A flow that fails until a file-less switch is flipped, for the hospital.
bool g_fail_switch = true;
struct Flaky {
  static constexpr std::string_view kName = "test.Flaky";
  std::string peer;
  FOLIO_FIELDS(peer)
  flows::FlowServices* services = nullptr;
  flow::Flow<uint64_t> call(flow::FlowContext& ctx) {
    uint64_t r = ctx.random_u64();
    if (g_fail_switch) co_return make_error(ErrorCode::kIo, "the switch is on");
    co_return r | 1;
  }
};

TEST(NodeHospital, RetryAfterTheCauseIsGoneAndKillReleasesLocks) {
  MockNetworkOptions o = options_for(storage::Backend::kSqlite);
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<Flaky>(r, s);
  };
  MockNetwork net(o);
  net.add_node(kAlice);
  net.add_node(kBob);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  g_fail_switch = true;
  auto h = net.node(kAlice).start_flow(Flaky{kBob});
  ASSERT_TRUE(h.ok());
  net.run();
  ASSERT_EQ(net.node(kAlice).engine().hospitalised().size(), 1u);
  g_fail_switch = false;
  ASSERT_TRUE(net.node(kAlice).retry_flow(h->id).ok());
  net.run();
  auto r = net.node(kAlice).result<uint64_t>(h->id);
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(**r & 1, 1u);

  // A payment stuck waiting for an unreachable notary holds its coins: killing it frees them.
  issue(net, kAlice, 100);
  net.network().set_up(kNotary, false);  // the notary is unreachable: the payment waits
  CashPayment p;
  p.amount = 60;
  p.currency = "USD";
  p.recipient = kBob;
  auto stuck = net.node(kAlice).start_flow(p);
  ASSERT_TRUE(stuck.ok());
  net.run(50);
  EXPECT_FALSE(net.node(kAlice).result<ledger::TxId>(stuck->id).has_value());
  vault::Query locked;
  locked.criteria = vault::QueryCriteria::locked_by(stuck->id.hex());
  EXPECT_EQ(net.node(kAlice).query(locked)->states.size(), 1u);
  ASSERT_TRUE(net.node(kAlice).kill_flow(stuck->id).ok());
  EXPECT_EQ(net.node(kAlice).query(locked)->states.size(), 0u);
  // A request already on its way would still reach the notary and consume the coin (killing a
  // flow cannot recall a message); here it is lost with Alice's endpoint queue.
  net.network().drop_queued_from(kAlice);
  net.network().set_up(kNotary, true);
  auto paid = pay(net, kAlice, kBob, 60);
  ASSERT_TRUE(paid.ok()) << paid.error().message();
  EXPECT_EQ(balance(net, kBob), 60u);
}

}  // namespace
}  // namespace folio::node
