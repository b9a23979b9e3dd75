// Crash recovery of the core flows: a payment (Alice pays Bob) and a trade (Alice sells Bob an
// asset for cash), with the sender, the receiver or the notary crashed at EVERY one of its step
// commits, either before that commit's messages reached the transport or just after, and restarted
// from its database. Each run must complete exactly once: the flow's result, both vaults'
// balances and states, both transaction stores, and the notary's consumed set are what one clean
// run gives, and no outbox keeps a message.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "node/flows/asset.h"
#include "node/flows/cash_flows.h"
#include "node/flows/trade.h"
#include "node/mock_network.h"
#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

const std::string kAlice = "O=Alice,L=London,C=GB";
const std::string kBob = "O=Bob,L=Paris,C=FR";
const std::string kNotary = "O=Notary,L=Zurich,C=CH";

enum class Scenario { kPayment, kTrade };
enum class CrashMode { kBeforeSend, kAfterSend };

struct Plan {
  std::string victim;  // empty: a clean run
  int commit = 0;      // 1-based, counted from the start of the scenario's flow
  CrashMode mode = CrashMode::kBeforeSend;
};

struct Outcome {
  std::map<std::string, int> commits;
  bool crashed = false;
};

MockNetworkOptions options_for(storage::Backend backend) {
  MockNetworkOptions o;
  if (std::filesystem::is_directory("/dev/shm")) o.temporary_parent = "/dev/shm";
  if (backend == storage::Backend::kPostgres) {
    o.new_postgres_database = []() -> Result<std::string> {
      FOLIO_ASSIGN_OR_RETURN(storage::testing::PgServer * server,
                             storage::testing::shared_pg_server());
      FOLIO_ASSIGN_OR_RETURN(std::string conninfo, server->create_database());
      return conninfo + " options='-c synchronous_commit=off'";
    };
  }
  return o;
}

int64_t scalar(storage::Database& db, const std::string& sql) {
  auto rows = db.query(sql);
  EXPECT_TRUE(rows.ok()) << sql;
  return rows.ok() ? rows->at(0).integer(0) : -1;
}

template <class R, class F>
R run_ok(MockNetwork& net, const std::string& node, const F& flow) {
  auto handle = net.node(node).start_flow(flow);
  EXPECT_TRUE(handle.ok());
  auto r = net.run_flow<R>(node, *handle);
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : R{};
}

Outcome run_scenario(storage::Backend backend, Scenario scenario, const Plan& plan, bool evict) {
  MockNetworkOptions options = options_for(backend);
  options.engine.evict_suspended = evict;
  MockNetwork net(options);
  Outcome out;
  bool armed = false;
  bool pending = false;
  for (const std::string& name : {kAlice, kBob, kNotary}) {
    net.faults[name] = [&, name](flow::FaultPoint) {
      if (!armed) return false;
      int& commits = out.commits[name];
      ++commits;
      if (name != plan.victim || commits != plan.commit || out.crashed) return false;
      out.crashed = true;
      if (plan.mode == CrashMode::kBeforeSend) return true;  // dies before handing messages over
      pending = true;                                        // dies once this step returns
      return false;
    };
  }
  net.add_node(kAlice);
  net.add_node(kBob);
  net.add_notary(kNotary);
  EXPECT_TRUE(net.start_all().ok());
  bool restarted = false;
  net.after_delivery = [&] {
    if (!out.crashed || restarted) return;
    bool dead = plan.mode == CrashMode::kBeforeSend ? net.node(plan.victim).engine().crashed()
                                                    : pending;
    if (!dead) return;
    restarted = true;
    Status s = net.restart(plan.victim);
    EXPECT_TRUE(s.ok()) << s.error().message();
  };

  // Setup, not counted: Bob holds 1000 (trade) or Alice does (payment); Alice owns an asset.
  flows::CashIssue cash;
  cash.amount = 1000;
  cash.currency = "USD";
  cash.notary = kNotary;
  ledger::TxId issued = run_ok<ledger::TxId>(net, scenario == Scenario::kTrade ? kBob : kAlice,
                                             cash);
  ledger::StateRef asset;
  if (scenario == Scenario::kTrade) {
    net.set_trade_policy(kBob, [](const std::string&, uint64_t, const std::string&) {
      return true;
    });
    flows::AssetIssue make;
    make.asset_id = "bond-42";
    make.notary = kNotary;
    asset = run_ok<ledger::StateRef>(net, kAlice, make);
  }

  armed = true;
  Result<flow::FlowHandle> handle = make_error(ErrorCode::kInternal, "not started");
  if (scenario == Scenario::kPayment) {
    flows::CashPayment pay;
    pay.amount = 300;
    pay.currency = "USD";
    pay.recipient = kBob;
    handle = net.node(kAlice).start_flow(pay);
  } else {
    flows::SellAsset sell;
    sell.asset = asset;
    sell.buyer = kBob;
    sell.price = 600;
    sell.currency = "USD";
    sell.issuer = kBob;
    handle = net.node(kAlice).start_flow(sell);
  }
  EXPECT_TRUE(handle.ok());
  if (!handle.ok()) return out;
  net.run();
  // A crash at the very last commit of a node can leave it dead after the network went quiet.
  if (net.after_delivery) net.after_delivery();
  net.run();

  std::string where = std::string(scenario == Scenario::kPayment ? "payment" : "trade") +
                      ": victim " + plan.victim + " at commit " + std::to_string(plan.commit) +
                      (plan.mode == CrashMode::kBeforeSend ? " before send" : " after send");
  auto result = net.node(kAlice).result<ledger::TxId>(handle->id);
  EXPECT_TRUE(result.has_value() && result->ok())
      << where << ": " << (result && !result->ok() ? result->error().message() : "running");
  if (!result || !result->ok()) return out;
  ledger::TxId done = **result;

  uint64_t alice_cash = scenario == Scenario::kPayment ? 700 : 600;
  uint64_t bob_cash = scenario == Scenario::kPayment ? 300 : 400;
  EXPECT_EQ(*net.node(kAlice).cash_balance("USD"), alice_cash) << where;
  EXPECT_EQ(*net.node(kBob).cash_balance("USD"), bob_cash) << where;
  // Unconsumed states: payment: Alice's change, Bob's coin; trade: Alice's coin, Bob's change and
  // the asset.
  auto unconsumed = [&](const std::string& n) {
    return *net.node(n).count(vault::QueryCriteria::unconsumed());
  };
  EXPECT_EQ(unconsumed(kAlice), 1) << where;
  EXPECT_EQ(unconsumed(kBob), scenario == Scenario::kPayment ? 1 : 2) << where;
  // Transaction stores: the issue(s) and the one new transaction, each once and final.
  int64_t expected_txs = scenario == Scenario::kPayment ? 2 : 3;
  EXPECT_EQ(*net.node(kAlice).transactions().count(), expected_txs) << where;
  EXPECT_EQ(*net.node(kBob).transactions().count(), expected_txs) << where;
  for (const std::string& n : {kAlice, kBob}) {
    auto stored = net.node(n).transactions().get(done);
    EXPECT_TRUE(stored.ok() && stored->is_final()) << where << " on " << n;
  }
  // The notary consumed exactly the inputs of the one transaction.
  storage::Database& ndb = net.node(kNotary).notary_database();
  EXPECT_EQ(scalar(ndb, "SELECT COUNT(*) FROM notary_consumed_states"),
            scenario == Scenario::kPayment ? 1 : 2)
      << where;
  auto consumer = net.node(kNotary).notary()->notary().consumed_by(
      scenario == Scenario::kPayment ? ledger::StateRef{issued, 0} : asset);
  EXPECT_TRUE(consumer.ok() && consumer->has_value() && **consumer == done) << where;
  for (const std::string& n : {kAlice, kBob, kNotary}) {
    EXPECT_EQ(scalar(net.node(n).database(), "SELECT COUNT(*) FROM flow_outbox"), 0)
        << where << " on " << n;
    EXPECT_TRUE(net.node(n).engine().hospitalised().empty()) << where << " on " << n;
  }
  return out;
}

class NodeCrashTest
    : public ::testing::TestWithParam<std::tuple<storage::Backend, Scenario, CrashMode, bool>> {
 protected:
  void SetUp() override {
    if (std::get<0>(GetParam()) == storage::Backend::kPostgres &&
        !storage::testing::PgServer::binaries_available())
      GTEST_SKIP() << "PostgreSQL server binaries not found";
  }
};

TEST_P(NodeCrashTest, EverySuspensionPointOfSenderReceiverAndNotary) {
  auto [backend, scenario, mode, evict] = GetParam();
  Outcome clean = run_scenario(backend, scenario, Plan{}, evict);
  ASSERT_FALSE(clean.crashed);
  // Every party commits at least once per message it takes part in.
  ASSERT_GE(clean.commits[kAlice], 3);
  ASSERT_GE(clean.commits[kBob], 2);
  ASSERT_GE(clean.commits[kNotary], 2);
  for (const std::string& victim : {kAlice, kBob, kNotary}) {
    for (int k = 1; k <= clean.commits[victim]; ++k) {
      Outcome o = run_scenario(backend, scenario, Plan{victim, k, mode}, evict);
      EXPECT_TRUE(o.crashed) << victim << " " << k;
    }
  }
}

std::string crash_name(
    const ::testing::TestParamInfo<std::tuple<storage::Backend, Scenario, CrashMode, bool>>& info) {
  auto [backend, scenario, mode, evict] = info.param;
  return std::string(backend == storage::Backend::kSqlite ? "Sqlite" : "Postgres") +
         (scenario == Scenario::kPayment ? "Payment" : "Trade") +
         (mode == CrashMode::kBeforeSend ? "BeforeSend" : "AfterSend") +
         (evict ? "Evicting" : "");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, NodeCrashTest,
                         ::testing::Combine(::testing::Values(storage::Backend::kSqlite),
                                            ::testing::Values(Scenario::kPayment, Scenario::kTrade),
                                            ::testing::Values(CrashMode::kBeforeSend,
                                                              CrashMode::kAfterSend),
                                            ::testing::Values(false)),
                         crash_name);
// Flows whose frames are evicted at every suspension (rebuilt by replay on each message).
INSTANTIATE_TEST_SUITE_P(SqliteEvicting, NodeCrashTest,
                         ::testing::Combine(::testing::Values(storage::Backend::kSqlite),
                                            ::testing::Values(Scenario::kPayment, Scenario::kTrade),
                                            ::testing::Values(CrashMode::kAfterSend),
                                            ::testing::Values(true)),
                         crash_name);
// PostgreSQL: the payment, both modes (the budget).
INSTANTIATE_TEST_SUITE_P(Postgres, NodeCrashTest,
                         ::testing::Combine(::testing::Values(storage::Backend::kPostgres),
                                            ::testing::Values(Scenario::kPayment),
                                            ::testing::Values(CrashMode::kBeforeSend,
                                                              CrashMode::kAfterSend),
                                            ::testing::Values(false)),
                         crash_name);

}  // namespace
}  // namespace folio::node
