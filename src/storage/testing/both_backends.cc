#include "storage/testing/both_backends.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

namespace folio::storage::testing {

Result<PgServer*> shared_pg_server() {
  static Result<std::unique_ptr<PgServer>> server = []() {
    const char* shared = std::getenv("FOLIO_TEST_PG_DIR");
    if (shared != nullptr && *shared != '\0') {
      // Without the fixture (ctest run on one directory) there is no shared server: start one.
      Result<std::unique_ptr<PgServer>> attached = PgServer::attach(shared);
      if (attached.ok()) return attached;
    }
    return PgServer::start();
  }();
  if (!server.ok()) return server.error();
  return server->get();
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

void BothBackends::SetUp() {
  if (backend() == Backend::kSqlite) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "folio-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    sqlite_directory_ = pattern;
  } else {
    if (!PgServer::binaries_available())
      GTEST_SKIP() << "PostgreSQL server binaries not found in " << PgServer::binary_dir();
    Result<PgServer*> server = shared_pg_server();
    ASSERT_TRUE(server.ok()) << server.error().message();
    Result<std::string> conninfo = (*server)->create_database();
    ASSERT_TRUE(conninfo.ok()) << conninfo.error().message();
    pg_conninfo_ = *conninfo;
  }
  Result<std::unique_ptr<Database>> opened = open_another();
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  database_ = std::move(opened).value();
}

void BothBackends::TearDown() {
  database_.reset();
  if (!sqlite_directory_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(sqlite_directory_, ec);
  }
}

Result<std::unique_ptr<Database>> BothBackends::open_another() {
  if (backend() == Backend::kSqlite) return open_sqlite({.path = sqlite_directory_ + "/test.db"});
  return open_postgres({.conninfo = pg_conninfo_});
}

}  // namespace folio::storage::testing
