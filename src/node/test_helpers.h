// Helpers shared by the node's MockNetwork tests (node_test.cc, core_flows_test.cc): the parties'
// names, MockNetwork options for a database backend, a query's one integer, how many states a
// node's flows hold soft-locked, and the result of a node's one flow of a given name.
// Test-only; they report problems through GoogleTest expectations.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "node/mock_network.h"
#include "storage/testing/both_backends.h"

namespace folio::node::testing {

inline const std::string kAlice = "O=Alice,L=London,C=GB";
inline const std::string kBob = "O=Bob,L=Paris,C=FR";
inline const std::string kCharlie = "O=Charlie,L=Rome,C=IT";
inline const std::string kNotary = "O=Notary,L=Zurich,C=CH";
inline const std::string kNotary2 = "O=Notary Two,L=Bern,C=CH";

// Node databases in /dev/shm when it exists; for PostgreSQL, a fresh database on the test run's
// shared throwaway server, committing without waiting for its fsync.
inline MockNetworkOptions mock_options(storage::Backend backend) {
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

// The one integer a query returns (-1 and a test failure if it fails).
inline int64_t scalar(storage::Database& db, const std::string& sql) {
  auto rows = db.query(sql);
  EXPECT_TRUE(rows.ok()) << sql;
  return rows.ok() ? rows->at(0).integer(0) : -1;
}

// How many of the node's unconsumed states some flow holds soft-locked.
inline int64_t locked_states(MockNetwork& net, const std::string& node) {
  vault::Query all;
  all.criteria = vault::QueryCriteria::unconsumed();
  vault::Query free;
  free.criteria = vault::QueryCriteria::unconsumed() && vault::QueryCriteria::unlocked();
  auto a = net.node(node).query(all);
  auto f = net.node(node).query(free);
  EXPECT_TRUE(a.ok() && f.ok());
  return a.ok() && f.ok() ? static_cast<int64_t>(a->states.size() - f->states.size()) : -1;
}

// The result of the node's one flow named `name` (a responder), if it has finished.
template <class R>
std::optional<Result<R>> flow_result(MockNetwork& net, const std::string& node,
                                     std::string_view name) {
  std::optional<Result<R>> found;
  int seen = 0;
  for (const flow::FlowInfo& info : net.node(node).engine().flows()) {
    if (info.name != name) continue;
    ++seen;
    found = net.node(node).result<R>(info.id);
  }
  EXPECT_EQ(seen, 1) << node << " runs " << seen << " flows named " << name;
  return found;
}

}  // namespace folio::node::testing
