// BothBackends: a gtest fixture that runs the same test body against SQLite and PostgreSQL.
//
//   class VaultTest : public folio::storage::testing::BothBackends {};
//   TEST_P(VaultTest, RecordsOutputs) { Database& db = database(); ... }
//   FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultTest);
//
// Each test gets a fresh database: SQLite in a file of its own temporary directory (a file rather
// than ":memory:" so that open_another() can open a second connection), PostgreSQL as a new
// database on one throwaway server per test process, started on first use and stopped at exit. A
// PostgreSQL test is skipped only when the server binaries are missing; any other failure to start
// the server fails the test.
//
// ctest runs every test case in a process of its own; so that they do not each start a server,
// call folio_test_shared_pg(<test target>) after folio_test in CMake: ctest then starts one server
// for the whole run (the fixture folio_pg) and passes its directory in FOLIO_TEST_PG_DIR.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/database.h"
#include "storage/testing/pg_server.h"

namespace folio::storage::testing {

// The server shared by a test binary, started on first call; an error if it could not start.
Result<PgServer*> shared_pg_server();

class BothBackends : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Backend backend() const { return GetParam(); }
  Database& database() { return *database_; }
  // Another connection to this test's database.
  Result<std::unique_ptr<Database>> open_another();

 private:
  std::unique_ptr<Database> database_;
  std::string sqlite_directory_;
  std::string pg_conninfo_;
};

std::string backend_name(const ::testing::TestParamInfo<Backend>& info);

}  // namespace folio::storage::testing

#define FOLIO_INSTANTIATE_BOTH_BACKENDS(suite)                                             \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                                \
                           ::testing::Values(::folio::storage::Backend::kSqlite,          \
                                             ::folio::storage::Backend::kPostgres),       \
                           ::folio::storage::testing::backend_name)
