// Failure ends between nodes running the real core flows, on SQLite and PostgreSQL: a buyer whose
// BuyAsset fails tells the seller at once (before, the seller waited on its session until an
// operator killed one of them) with a safe reason (docs/flows.md, "Failure ends").
#include <gtest/gtest.h>

#include <string>

#include "node/flows/cash_flows.h"
#include "node/flows/finality.h"
#include "node/flows/trade.h"
#include "node/mock_network.h"
#include "node/test_helpers.h"
#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

using testing::kAlice;
using testing::kBob;
using testing::kNotary;
using testing::locked_states;

// A seller that offers an output its transaction does not have. It borrows SellAsset's name, so
// Bob's real BuyAsset answers it, resolves the transaction, finds the mismatch and fails. The
// seller then waits for a proposal and reports whether its session ended by the buyer's failure.
struct MismatchedSeller {
  static constexpr std::string_view kName = flows::SellAsset::kName;
  std::string buyer;
  ledger::StateRef asset;
  flows::FlowServices* services = nullptr;
  flow::Flow<std::string> call(flow::FlowContext& ctx) {
    FOLIO_CO_ASSIGN_OR_RETURN(ledger::StateAndRef offered,
                              flows::load_own_state(ctx, services, asset));
    FOLIO_CO_ASSIGN_OR_RETURN(node::StoredTransaction origin,
                              services->transactions->get(asset.tx_id));
    offered.ref.index += 1;  // an output the transaction does not have
    flow::Session s = ctx.initiate(buyer);
    flows::TradeOffer offer{offered, 600, "USD", contracts::PartyAndReference{services->me, {}}};
    offer.issuer.party = services->identities->party_by_name(buyer).value();
    FOLIO_CO_TRY(co_await s.send(offer));
    flows::TransactionMessage origin_message{origin.transaction, origin.certificate};
    FOLIO_CO_TRY(co_await flows::send_transaction(ctx, s, services, origin_message));
    auto proposal = co_await s.receive<flows::TransactionMessage>();
    if (proposal.ok()) co_return make_error(ErrorCode::kInternal, "the buyer proposed");
    co_return std::string(flow::to_string(s.end())) + ": " + proposal.error().message();
  }
};
struct SellMismatched {
  static constexpr std::string_view kName = "test.SellMismatched";
  std::string buyer;
  ledger::StateRef asset;
  FOLIO_FIELDS(buyer, asset)
  flows::FlowServices* services = nullptr;
  flow::Flow<std::string> call(flow::FlowContext& ctx) {
    MismatchedSeller seller{buyer, asset, services};
    co_return co_await ctx.sub_flow(seller);
  }
};

class NodeSessionEndTest : public storage::testing::BothBackends {};

TEST_P(NodeSessionEndTest, ASellerLearnsAtOnceThatTheBuyerFailed) {
  MockNetworkOptions o = testing::mock_options(backend());
  o.register_flows = [](flow::FlowRegistry& r, flows::FlowServices* s) {
    return flows::add_flow<SellMismatched>(r, s);
  };
  MockNetwork net(o);
  for (const std::string& n : {kAlice, kBob}) net.add_node(n);
  net.add_notary(kNotary);
  ASSERT_TRUE(net.start_all().ok());
  flows::CashIssue cash;
  cash.amount = 1000;
  cash.currency = "USD";
  cash.notary = kNotary;
  auto issued = net.node(kBob).start_flow(cash);
  ASSERT_TRUE(issued.ok());
  ASSERT_TRUE(net.run_flow<ledger::TxId>(kBob, *issued).ok());
  flows::AssetIssue make;
  make.asset_id = "lamp";
  make.notary = kNotary;
  auto made = net.node(kAlice).start_flow(make);
  ASSERT_TRUE(made.ok());
  auto asset = net.run_flow<ledger::StateRef>(kAlice, *made);
  ASSERT_TRUE(asset.ok()) << asset.error().message();
  net.node(kBob).set_trade_policy(
      [](const std::string&, uint64_t, const std::string&) { return true; });

  auto h = net.node(kAlice).start_flow(SellMismatched{kBob, *asset});
  ASSERT_TRUE(h.ok());
  auto told = net.run_flow<std::string>(kAlice, *h);
  ASSERT_TRUE(told.ok()) << "the seller still waits: " << told.error().message();
  EXPECT_EQ(told->rfind("counterparty failed: " + std::string(to_string(ErrorCode::kIo)), 0), 0u)
      << *told;
  EXPECT_NE(told->find("flow '" + std::string(flows::BuyAsset::kName) + "' failed (verification"),
            std::string::npos)
      << *told;
  // The buyer's own reason stays with the buyer.
  EXPECT_EQ(told->find("not what its transaction made"), std::string::npos) << *told;
  auto sick = net.node(kBob).engine().hospitalised();
  ASSERT_EQ(sick.size(), 1u);
  EXPECT_NE(sick[0].error.find("not what its transaction made"), std::string::npos)
      << sick[0].error;
  EXPECT_EQ(locked_states(net, kBob), 0);
  EXPECT_EQ(net.node(kBob).engine().stats().failure_ends_sent, 1u);
  EXPECT_EQ(net.node(kAlice).engine().stats().failure_ends_received, 1u);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(NodeSessionEndTest);

}  // namespace
}  // namespace folio::node
