// Test support for the flow engine: a Cluster of nodes, each an engine over its own database (a
// SQLite file or a PostgreSQL database) and its own MemoryNetwork endpoint, that can be crashed and
// rebuilt from its database; and the test flows the tests share. Test-only; not thread-safe.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flow/engine.h"
#include "net/memory_transport.h"
#include "storage/testing/both_backends.h"

namespace folio::flow::testing {

// Side effects of test flows, one row per (party, step): exactly-once shows as one row each.
inline Status record_effect(storage::Session& tx, const std::string& party, int64_t step,
                            int64_t value) {
  storage::Value params[] = {party, step, value};
  auto r = tx.exec("INSERT INTO test_effects (party, step, value) VALUES (?, ?, ?)", params);
  if (!r.ok()) return r.error();
  return ok_status();
}

// The 'permit' rows an operator adds to let a test flow that waits for one go on (NeedsPermit,
// AsksTwice): read in a flow through ctx.record.
inline Result<int64_t> count_permits(storage::Session& tx) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         tx.query("SELECT COUNT(*) FROM test_effects WHERE party = 'permit'"));
  return rows.at(0).integer(0);
}

inline const std::vector<storage::Migration>& effect_migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "test side effects",
       {"CREATE TABLE test_effects (party TEXT NOT NULL, step INTEGER NOT NULL, "
        "value INTEGER NOT NULL)"}}};
  return kMigrations;
}

// Initiator: three round trips, a side effect after each.
struct ThreeStep {
  static constexpr std::string_view kName = "test.ThreeStep";
  std::string peer;
  uint64_t start = 0;
  FOLIO_FIELDS(peer, start)

  Flow<uint64_t> call(FlowContext& ctx) {
    Session session = ctx.initiate(peer);
    uint64_t value = start;
    for (int64_t i = 0; i < 3; ++i) {
      ctx.step("round " + std::to_string(i));
      FOLIO_CO_ASSIGN_OR_RETURN(value, co_await session.send_and_receive<uint64_t>(value + 1));
      int64_t seen = static_cast<int64_t>(value);
      FOLIO_CO_TRY(ctx.write([i, seen](storage::Session& tx) {
        return record_effect(tx, "initiator", i, seen);
      }));
    }
    co_return value;
  }
};

struct ThreeStepResponder {
  static constexpr std::string_view kName = "test.ThreeStepResponder";
  Flow<uint64_t> call(FlowContext& ctx, Session session) {
    uint64_t last = 0;
    for (int64_t i = 0; i < 3; ++i) {
      FOLIO_CO_ASSIGN_OR_RETURN(uint64_t value, co_await session.receive<uint64_t>());
      int64_t seen = static_cast<int64_t>(value);
      FOLIO_CO_TRY(ctx.write([i, seen](storage::Session& tx) {
        return record_effect(tx, "responder", i, seen);
      }));
      FOLIO_CO_TRY(co_await session.send(value * 2));
      last = value;
    }
    co_return last;
  }
};

class Cluster {
 public:
  Cluster(storage::Backend backend, const FlowRegistry& registry,
          net::MemoryNetworkOptions network_options = {})
      : network(network_options), backend_(backend), registry_(registry) {
    if (backend_ == storage::Backend::kSqlite) {
      std::string pattern =
          (std::filesystem::temp_directory_path() / "folio-flow-XXXXXX").string();
      FOLIO_ASSERT(mkdtemp(pattern.data()) != nullptr);
      directory_ = pattern;
    }
  }
  ~Cluster() {
    nodes_.clear();
    if (!directory_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(directory_, ec);
    }
  }

  // Options every node's engine is opened with; `fault` per node below.
  FlowEngineOptions options;
  std::map<std::string, std::function<bool(FaultPoint)>> faults;
  net::MemoryNetwork network;
  ManualClock clock{1'000'000};

  Status add(const std::string& name) {
    Node& node = nodes_[name];
    if (backend_ == storage::Backend::kPostgres) {
      FOLIO_ASSIGN_OR_RETURN(storage::testing::PgServer * server,
                             storage::testing::shared_pg_server());
      FOLIO_ASSIGN_OR_RETURN(node.conninfo, server->create_database());
    } else {
      node.conninfo = directory_ + "/node" + std::to_string(nodes_.size()) + ".db";
    }
    return start(name);
  }

  // Destroys the node's engine and database connection as a crash would; the endpoint loses what
  // it had queued (its in-memory outbox). Nothing is flushed or closed gracefully beyond what the
  // destructors do.
  void crash(const std::string& name) {
    Node& node = nodes_.at(name);
    node.engine.reset();
    node.db.reset();
    network.drop_queued_from(name);
  }

  Status start(const std::string& name) {
    Node& node = nodes_.at(name);
    if (backend_ == storage::Backend::kPostgres) {
      FOLIO_ASSIGN_OR_RETURN(node.db, storage::open_postgres({.conninfo = node.conninfo}));
    } else {
      FOLIO_ASSIGN_OR_RETURN(node.db, storage::open_sqlite({.path = node.conninfo}));
    }
    FOLIO_TRY(node.db->migrate("test", effect_migrations()));
    FlowEngineOptions o = options;
    auto fault = faults.find(name);
    if (fault != faults.end()) o.fault = fault->second;
    FOLIO_ASSIGN_OR_RETURN(node.engine, FlowEngine::open(*node.db, network.endpoint(name),
                                                         registry_, clock, o));
    return node.engine->resume_all();
  }

  Status restart(const std::string& name) {
    crash(name);
    return start(name);
  }

  FlowEngine& engine(const std::string& name) { return *nodes_.at(name).engine; }
  storage::Database& db(const std::string& name) { return *nodes_.at(name).db; }
  bool alive(const std::string& name) const { return nodes_.at(name).engine != nullptr; }

  // Pumps the network and the engines' timers until nothing moves.
  void run() {
    for (int i = 0; i < 100; ++i) {
      size_t moved = network.run_until_idle(100'000);
      for (auto& [name, node] : nodes_) {
        if (node.engine) node.engine->tick();
      }
      if (moved == 0 && network.run_until_idle(1) == 0) return;
    }
  }

  // Rows of test_effects on a node as "party:step:value".
  std::vector<std::string> effects(const std::string& name) {
    std::vector<std::string> out;
    auto rows = db(name).query("SELECT party, step, value FROM test_effects ORDER BY party, step");
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const storage::Row& r : *rows) {
      out.push_back(r.text(0) + ":" + std::to_string(r.integer(1)) + ":" +
                    std::to_string(r.integer(2)));
    }
    return out;
  }

 private:
  struct Node {
    std::string conninfo;  // PostgreSQL conninfo, or the SQLite file
    std::unique_ptr<storage::Database> db;
    std::unique_ptr<FlowEngine> engine;
  };

  storage::Backend backend_;
  const FlowRegistry& registry_;
  std::string directory_;
  std::map<std::string, Node> nodes_;
};

// The backend a test binary runs on. The same tests build twice: flow_test on SQLite (each test a
// ctest entry), flow_postgres_test on PostgreSQL as one ctest entry, so that one throwaway server
// serves them all (a server per test process cost seconds each).
inline auto test_backends() {
#ifdef FOLIO_FLOW_TEST_POSTGRES
  return ::testing::Values(storage::Backend::kPostgres);
#else
  return ::testing::Values(storage::Backend::kSqlite);
#endif
}

// A gtest fixture parameterised by backend; PostgreSQL tests skip only when its binaries are
// missing.
class BackendTest : public ::testing::TestWithParam<storage::Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == storage::Backend::kPostgres &&
        !storage::testing::PgServer::binaries_available()) {
      GTEST_SKIP() << "PostgreSQL server binaries not found";
    }
  }
};

}  // namespace folio::flow::testing
