#include "storage/database.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "storage/testing/both_backends.h"

namespace folio::storage {
namespace {

using testing::BothBackends;

class DatabaseTest : public BothBackends {};

TEST_P(DatabaseTest, ValuesRoundTrip) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)").ok());
  Bytes large(1 << 20);
  for (size_t k = 0; k < large.size(); ++k) large[k] = static_cast<uint8_t>(k * 7 + 3);
  std::vector<std::vector<Value>> inputs = {
      {std::monostate(), std::monostate(), std::monostate(), std::monostate()},
      {std::numeric_limits<int64_t>::min(), -0.5, std::string(""), Bytes()},
      {std::numeric_limits<int64_t>::max(), 1e300, std::string("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"),
       Bytes{0, 1, 2, 0}},
      {int64_t{0}, 0.0, std::string("it's a '?'"), large},
  };
  for (const auto& input : inputs) {
    Result<int64_t> changed = db.exec("INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)", input);
    ASSERT_TRUE(changed.ok()) << changed.error().message();
    EXPECT_EQ(*changed, 1);
  }
  Result<Rows> rows = db.query("SELECT i, r, s, b FROM t ORDER BY i NULLS FIRST");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 4u);
  std::vector<std::vector<Value>> sorted = {inputs[0], inputs[1], inputs[3], inputs[2]};
  for (size_t k = 0; k < sorted.size(); ++k) EXPECT_TRUE((*rows)[k].values == sorted[k]) << k;
}

TEST_P(DatabaseTest, FailedTransactionLeavesNothing) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  Status status = db.transact([](Session& session) -> Status {
    const Value row[] = {int64_t{1}, std::string("one")};
    FOLIO_TRY(session.exec("INSERT INTO t (k, v) VALUES (?, ?)", row));
    return make_error(ErrorCode::kInternal, "changed my mind");
  });
  EXPECT_FALSE(status.ok());
  Result<Rows> rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 0);
}

TEST_P(DatabaseTest, ConstraintViolationIsAConflictAndRollsBack) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").ok());
  const Value one[] = {int64_t{1}, std::string("one")};
  ASSERT_TRUE(db.exec("INSERT INTO t (k, v) VALUES (?, ?)", one).ok());
  Status status = db.transact([&](Session& session) -> Status {
    const Value two[] = {int64_t{2}, std::string("two")};
    FOLIO_TRY(session.exec("INSERT INTO t (k, v) VALUES (?, ?)", two));
    FOLIO_TRY(session.exec("INSERT INTO t (k, v) VALUES (?, ?)", one));
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict) << status.error().message();
  EXPECT_NE(status.error().context.find("INSERT INTO t"), std::string::npos)
      << status.error().context;
  Result<Rows> rows = db.query("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].integer(0), 1);
  // The connection is usable afterwards.
  const Value three[] = {int64_t{3}, std::string("three")};
  EXPECT_TRUE(db.exec("INSERT INTO t (k, v) VALUES (?, ?)", three).ok());
  const Value null_value[] = {int64_t{4}, std::monostate()};
  Result<int64_t> refused = db.exec("INSERT INTO t (k, v) VALUES (?, ?)", null_value);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
}

TEST_P(DatabaseTest, QuestionMarksInsideStringsAreNotParameters) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (a TEXT, b TEXT)").ok());
  const Value one[] = {std::string("x?")};
  ASSERT_TRUE(db.exec("INSERT INTO t (a, b) VALUES ('what?', ?)", one).ok());
  const Value key[] = {std::string("x?")};
  Result<Rows> rows = db.query("SELECT a, b, 'it''s ?' FROM t WHERE b = ? AND a = 'what?'", key);
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text(0), "what?");
  EXPECT_EQ((*rows)[0].text(1), "x?");
  EXPECT_EQ((*rows)[0].text(2), "it's ?");
}

TEST_P(DatabaseTest, WrongParameterCountIsAnError) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (a INTEGER)").ok());
  const Value two[] = {int64_t{1}, int64_t{2}};
  Result<int64_t> changed = db.exec("INSERT INTO t (a) VALUES (?)", two);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(DatabaseTest, SyntaxErrorIsInvalidArgument) {
  Result<Rows> rows = database().query("SELEC 1");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, ErrorCode::kInvalidArgument) << rows.error().message();
}

TEST_P(DatabaseTest, TransactIsNotReentrant) {
  Database& db = database();
  Status inner_status = ok_status();
  Status status = db.transact([&](Session&) -> Status {
    inner_status = db.transact([](Session&) { return ok_status(); });
    return ok_status();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_FALSE(inner_status.ok());
}

std::vector<Migration> three_migrations() {
  return {
      {1, "accounts", {"CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL)"}},
      {2, "balances", {"ALTER TABLE accounts ADD COLUMN balance INTEGER", 
                       "CREATE INDEX accounts_owner ON accounts (owner)"}},
      {3, "blobs", {"CREATE TABLE blobs (k TEXT PRIMARY KEY, v BLOB, r REAL)"}},
  };
}

Result<int64_t> recorded_version(Database& db, std::string_view component) {
  const Value key[] = {std::string(component)};
  FOLIO_ASSIGN_OR_RETURN(
      Rows rows,
      db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?", key));
  return rows.at(0).integer(0);
}

TEST_P(DatabaseTest, MigrationsRunInOrderOnce) {
  Database& db = database();
  std::vector<Migration> migrations = three_migrations();
  ASSERT_TRUE(db.migrate("bank", std::span(migrations).first(1)).ok());
  EXPECT_EQ(*recorded_version(db, "bank"), 1);
  Status status = db.migrate("bank", migrations);
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(*recorded_version(db, "bank"), 3);
  // Idempotent: running them again does nothing (a second CREATE TABLE would fail).
  status = db.migrate("bank", migrations);
  ASSERT_TRUE(status.ok()) << status.error().message();
  const Value row[] = {int64_t{1}, std::string("alice"), int64_t{10}};
  EXPECT_TRUE(db.exec("INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?)", row).ok());
  // Components are independent.
  EXPECT_TRUE(db.migrate("other", std::span(migrations).first(0)).ok());
  EXPECT_EQ(*recorded_version(db, "other"), 0);
}

TEST_P(DatabaseTest, MigrationsRefuseANewerDatabaseAndGaps) {
  Database& db = database();
  std::vector<Migration> migrations = three_migrations();
  ASSERT_TRUE(db.migrate("bank", migrations).ok());
  Status older = db.migrate("bank", std::span(migrations).first(2));
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, ErrorCode::kConflict) << older.error().message();
  Status none = db.migrate("bank", std::span(migrations).first(0));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kConflict);

  std::vector<Migration> gap = {{1, "a", {"CREATE TABLE a (x INTEGER)"}},
                                {3, "c", {"CREATE TABLE c (x INTEGER)"}}};
  Status gapped = db.migrate("gappy", gap);
  ASSERT_FALSE(gapped.ok());
  EXPECT_EQ(gapped.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*recorded_version(db, "gappy"), 0);
}

TEST_P(DatabaseTest, FailedMigrationIsRolledBackWhole) {
  Database& db = database();
  std::vector<Migration> migrations = {
      {1, "first", {"CREATE TABLE first_table (x INTEGER)"}},
      {2, "broken", {"CREATE TABLE second_table (x INTEGER)", "CREATE TABLE oops ("}},
  };
  Status status = db.migrate("partial", migrations);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().context.find("broken"), std::string::npos) << status.error().context;
  EXPECT_EQ(*recorded_version(db, "partial"), 1);
  EXPECT_TRUE(db.query("SELECT x FROM first_table").ok());
  EXPECT_FALSE(db.query("SELECT x FROM second_table").ok());
  // Fixed code can then move on.
  migrations[1].statements = {"CREATE TABLE second_table (x INTEGER)"};
  ASSERT_TRUE(db.migrate("partial", migrations).ok());
  EXPECT_TRUE(db.query("SELECT x FROM second_table").ok());
}

TEST_P(DatabaseTest, ReadOnlyQueriesRefuseWrites) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (a INTEGER)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t (a) VALUES (1)").ok());
  const Value one[] = {int64_t{1}};
  Result<Rows> rows = db.query_read_only("SELECT a FROM t WHERE a = ?", one);
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  EXPECT_EQ(rows->size(), 1u);
  for (std::string_view sql :
       {"INSERT INTO t (a) VALUES (2)", "UPDATE t SET a = 3", "DELETE FROM t",
        "CREATE TABLE u (b INTEGER)", "DROP TABLE t", "ALTER TABLE t ADD COLUMN c TEXT",
        "INSERT INTO t (a) VALUES (2) RETURNING a", "SELECT 1; DELETE FROM t",
        "BEGIN", "COMMIT"}) {
    Result<Rows> refused = db.query_read_only(sql);
    ASSERT_FALSE(refused.ok()) << sql;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument)
        << sql << ": " << refused.error().message();
  }
  Result<Rows> after = db.query("SELECT COUNT(*), MIN(a) FROM t");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].integer(0), 1);
  EXPECT_EQ((*after)[0].integer(1), 1);
  // Writes still work afterwards.
  EXPECT_TRUE(db.exec("INSERT INTO t (a) VALUES (2)").ok());
}

TEST_P(DatabaseTest, OneStatementAtATime) {
  Database& db = database();
  Result<int64_t> changed = db.exec("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)");
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, ErrorCode::kInvalidArgument) << changed.error().message();
  EXPECT_TRUE(db.exec("CREATE TABLE c (x INTEGER); -- trailing comment").ok());
}

TEST_P(DatabaseTest, AFailedStatementDoomsItsTransaction) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t (k) VALUES (1)").ok());
  Result<int64_t> after_failure = int64_t{0};
  Status status = db.transact([&](Session& session) -> Status {
    FOLIO_TRY(session.exec("INSERT INTO t (k) VALUES (2)"));
    Result<int64_t> duplicate = session.exec("INSERT INTO t (k) VALUES (1)");
    EXPECT_FALSE(duplicate.ok());
    after_failure = session.exec("INSERT INTO t (k) VALUES (3)");
    return ok_status();  // ignores the failure: transact must not commit anyway
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_FALSE(after_failure.ok());
  Result<Rows> rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 1);
}

TEST_P(DatabaseTest, AFailedUnitIsUndoneAndTheTransactionGoesOn) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  Status status = db.transact([](Session& session) -> Status {
    const Value one[] = {int64_t{1}, std::string("one")};
    FOLIO_TRY(session.exec("INSERT INTO t (k, v) VALUES (?, ?)", one));
    // A unit whose function fails: its insert is undone.
    Result<Status> refused = session.unit([](Session& s) -> Status {
      const Value two[] = {int64_t{2}, std::string("two")};
      FOLIO_TRY(s.exec("INSERT INTO t (k, v) VALUES (?, ?)", two));
      return make_error(ErrorCode::kInternal, "changed my mind");
    });
    if (!refused.ok()) return refused.error();
    EXPECT_FALSE(refused->ok());
    // A unit with a failing statement (a duplicate key) neither dooms the transaction nor keeps
    // the unit's earlier insert.
    Result<Status> conflict = session.unit([&](Session& s) -> Status {
      const Value three[] = {int64_t{3}, std::string("three")};
      FOLIO_TRY(s.exec("INSERT INTO t (k, v) VALUES (?, ?)", three));
      auto again = s.exec("INSERT INTO t (k, v) VALUES (?, ?)", one);
      return again.ok() ? ok_status() : Status(again.error());
    });
    if (!conflict.ok()) return conflict.error();
    EXPECT_FALSE(conflict->ok());
    if (!conflict->ok()) {
      EXPECT_EQ(conflict->error().code, ErrorCode::kConflict);
    }
    // A unit that succeeds is kept.
    Result<Status> kept = session.unit([](Session& s) -> Status {
      const Value four[] = {int64_t{4}, std::string("four")};
      auto r = s.exec("INSERT INTO t (k, v) VALUES (?, ?)", four);
      return r.ok() ? ok_status() : Status(r.error());
    });
    if (!kept.ok()) return kept.error();
    EXPECT_TRUE(kept->ok());
    return ok_status();
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
  Result<Rows> rows = db.query("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].integer(0), 1);
  EXPECT_EQ((*rows)[1].integer(0), 4);
}

TEST_P(DatabaseTest, AggregatesAreIntegers) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (q INTEGER)").ok());
  for (int64_t q : {int64_t{1} << 40, int64_t{5}, -int64_t{7}}) {
    const Value row[] = {q};
    ASSERT_TRUE(db.exec("INSERT INTO t (q) VALUES (?)", row).ok());
  }
  Result<Rows> rows = db.query("SELECT SUM(q), COUNT(*), MAX(q), MIN(q) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  EXPECT_EQ((*rows)[0].integer(0), (int64_t{1} << 40) - 2);
  EXPECT_EQ((*rows)[0].integer(1), 3);
  EXPECT_EQ((*rows)[0].integer(2), int64_t{1} << 40);
  EXPECT_EQ((*rows)[0].integer(3), -7);
  Result<Rows> average = db.query("SELECT AVG(q) FROM t WHERE q < 10");
  ASSERT_TRUE(average.ok()) << average.error().message();
  EXPECT_DOUBLE_EQ((*average)[0].real(0), -1.0);
  Result<Rows> empty = db.query("SELECT SUM(q) FROM t WHERE q > 1000000000000000");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)[0].is_null(0));
}

TEST_P(DatabaseTest, SecondConnectionSeesCommittedWrites) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER)").ok());
  Result<std::unique_ptr<Database>> other = open_another();
  ASSERT_TRUE(other.ok()) << other.error().message();
  ASSERT_TRUE(db.exec("INSERT INTO t (k) VALUES (1)").ok());
  Result<Rows> rows = (*other)->query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 1);
}

TEST_P(DatabaseTest, ReadTransactionIsASnapshotThatRefusesWritesAndBlocksNoWriter) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t (k) VALUES (1)").ok());
  Result<std::unique_ptr<Database>> other = open_another();
  ASSERT_TRUE(other.ok()) << other.error().message();
  auto count = [](Session& session) -> int64_t {
    Result<Rows> rows = session.query("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(rows.ok()) << rows.error().message();
    return rows.ok() ? (*rows)[0].integer(0) : -1;
  };
  Status status = db.read_transaction([&](Session& session) -> Status {
    EXPECT_EQ(count(session), 1);
    // Another connection writes meanwhile, without waiting for this reader.
    Status written = (*other)->transact([](Session& writer) -> Status {
      FOLIO_TRY(writer.exec("INSERT INTO t (k) VALUES (2)"));
      return ok_status();
    });
    EXPECT_TRUE(written.ok()) << written.error().message();
    EXPECT_EQ(count(session), 1);  // still the snapshot
    return ok_status();
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
  Status write = db.read_transaction([](Session& session) -> Status {
    FOLIO_TRY(session.exec("INSERT INTO t (k) VALUES (3)"));
    return ok_status();
  });
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().code, ErrorCode::kInvalidArgument) << write.error().message();
  // Afterwards the connection writes again, and sees the other's row.
  ASSERT_TRUE(db.exec("INSERT INTO t (k) VALUES (4)").ok());
  Result<Rows> rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 3);
}

TEST_P(DatabaseTest, LikeIsCaseSensitiveOnBoth) {
  Database& db = database();
  ASSERT_TRUE(db.exec("CREATE TABLE t (s TEXT)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t (s) VALUES ('Alice')").ok());
  const Value lower[] = {std::string("ali%")};
  const Value upper[] = {std::string("Ali%")};
  EXPECT_EQ(db.query("SELECT s FROM t WHERE s LIKE ?", lower)->size(), 0u);
  EXPECT_EQ(db.query("SELECT s FROM t WHERE s LIKE ?", upper)->size(), 1u);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(DatabaseTest);

TEST(Postgres, AKilledServerGivesErrorsAndALaterServerIsReconnected) {
  if (!testing::PgServer::binaries_available()) GTEST_SKIP() << "no PostgreSQL binaries";
  Result<std::unique_ptr<testing::PgServer>> server = testing::PgServer::start();
  ASSERT_TRUE(server.ok()) << server.error().message();
  Result<std::string> conninfo = (*server)->create_database();
  ASSERT_TRUE(conninfo.ok()) << conninfo.error().message();
  Result<std::unique_ptr<Database>> opened = open_postgres({.conninfo = *conninfo});
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  Database& db = **opened;
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t (k) VALUES (1)").ok());

  // Killed in the middle of a transaction: the statement and the transaction fail.
  Status status = db.transact([&](Session& session) -> Status {
    FOLIO_TRY(session.exec("INSERT INTO t (k) VALUES (2)"));
    EXPECT_TRUE((*server)->kill().ok());
    FOLIO_TRY(session.exec("INSERT INTO t (k) VALUES (3)"));
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo) << status.error().message();
  // While it is down, everything is an error.
  Result<Rows> rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, ErrorCode::kIo);
  EXPECT_FALSE(db.transact([](Session&) { return ok_status(); }).ok());
  EXPECT_FALSE(db.query_read_only("SELECT 1").ok());

  // Back up: the connection is reopened and only the committed row is there.
  ASSERT_TRUE((*server)->restart().ok());
  rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  EXPECT_EQ((*rows)[0].integer(0), 1);

  // Killed just before COMMIT: the failed commit is an error, and nothing was written.
  status = db.transact([&](Session& session) -> Status {
    FOLIO_TRY(session.exec("INSERT INTO t (k) VALUES (4)"));
    EXPECT_TRUE((*server)->kill().ok());
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo) << status.error().message();
  ASSERT_TRUE((*server)->restart().ok());
  rows = db.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  EXPECT_EQ((*rows)[0].integer(0), 1);
}

// NUMERIC arrives in PostgreSQL's binary form (base-10000 digits), decoded by hand: integral values
// become INTEGER, others REAL, and what does not fit 64 bits is an error, not a wrong number.
TEST(Postgres, NumericResultsDecode) {
  if (!testing::PgServer::binaries_available()) GTEST_SKIP() << "no PostgreSQL binaries";
  Result<testing::PgServer*> server = testing::shared_pg_server();
  ASSERT_TRUE(server.ok()) << server.error().message();
  Result<std::string> conninfo = (*server)->create_database();
  ASSERT_TRUE(conninfo.ok()) << conninfo.error().message();
  Result<std::unique_ptr<Database>> db = open_postgres({.conninfo = *conninfo});
  ASSERT_TRUE(db.ok()) << db.error().message();
  const std::vector<std::pair<std::string, int64_t>> integers = {
      {"0", 0},
      {"7", 7},
      {"10000", 10000},
      {"20000000", 20000000},
      {"100000000", 100000000},
      {"-12345678901234", -12345678901234},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()}};
  for (const auto& [text, expected] : integers) {
    const Value param[] = {text};
    Result<Rows> rows = (*db)->query("SELECT CAST(CAST(? AS TEXT) AS NUMERIC)", param);
    ASSERT_TRUE(rows.ok()) << text << ": " << rows.error().message();
    ASSERT_TRUE(std::holds_alternative<int64_t>((*rows)[0].values[0])) << text;
    EXPECT_EQ((*rows)[0].integer(0), expected) << text;
  }
  const std::vector<std::pair<std::string, double>> reals = {
      {"1.25", 1.25}, {"-0.5", -0.5}, {"12345.0001", 12345.0001}, {"0.00000001", 1e-8}};
  for (const auto& [text, expected] : reals) {
    const Value param[] = {text};
    Result<Rows> rows = (*db)->query("SELECT CAST(CAST(? AS TEXT) AS NUMERIC)", param);
    ASSERT_TRUE(rows.ok()) << text << ": " << rows.error().message();
    ASSERT_TRUE(std::holds_alternative<double>((*rows)[0].values[0])) << text;
    EXPECT_DOUBLE_EQ((*rows)[0].real(0), expected) << text;
  }
  for (const char* text : {"9223372036854775808", "-9223372036854775809",
                           "123456789012345678901234567890"}) {
    const Value param[] = {std::string(text)};
    Result<Rows> rows = (*db)->query("SELECT CAST(CAST(? AS TEXT) AS NUMERIC)", param);
    ASSERT_FALSE(rows.ok()) << text;
    EXPECT_EQ(rows.error().code, ErrorCode::kLimitExceeded) << text;
  }
}

TEST(Postgres, UnreachableServerIsAnError) {
  Result<std::unique_ptr<Database>> db =
      open_postgres({.conninfo = "host=/nonexistent-folio-socket-dir dbname=x connect_timeout=2"});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kIo);
}

TEST(Sqlite, MissingDirectoryIsAClearError) {
  Result<std::unique_ptr<Database>> db =
      open_sqlite({.path = "/nonexistent-folio-dir/sub/node.db"});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kIo);
  EXPECT_NE(db.error().context.find("does not exist"), std::string::npos) << db.error().context;
}

TEST(Sqlite, ADirectoryIsNotADatabase) {
  Result<std::unique_ptr<Database>> db = open_sqlite({.path = "/tmp"});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.error().code, ErrorCode::kIo);
}

// A database that cannot grow stands in for a full disk: SQLite reports SQLITE_FULL.
TEST(Sqlite, AFullDatabaseIsAnIoErrorAndKeepsNothingHalfWritten) {
  auto opened = open_sqlite({.path = ":memory:"});
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  ASSERT_TRUE(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, b BLOB)").ok());
  const Value small[] = {int64_t{1}, Bytes(100, 1)};
  ASSERT_TRUE(db.exec("INSERT INTO t (k, b) VALUES (?, ?)", small).ok());
  Result<Rows> pages = db.query("PRAGMA page_count");
  ASSERT_TRUE(pages.ok());
  const std::string limit = "PRAGMA max_page_count = " + std::to_string((*pages)[0].integer(0) + 2);
  ASSERT_TRUE(db.query(limit).ok());
  Status status = db.transact([&](Session& session) -> Status {
    const Value second[] = {int64_t{2}, Bytes(100, 2)};
    FOLIO_TRY(session.exec("INSERT INTO t (k, b) VALUES (?, ?)", second));
    const Value big[] = {int64_t{3}, Bytes(1 << 20, 3)};
    FOLIO_TRY(session.exec("INSERT INTO t (k, b) VALUES (?, ?)", big));
    return ok_status();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo) << status.error().message();
  Result<Rows> rows = db.query("SELECT k FROM t");
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].integer(0), 1);
  // Small writes still fit.
  const Value another[] = {int64_t{4}, Bytes(10, 4)};
  EXPECT_TRUE(db.exec("INSERT INTO t (k, b) VALUES (?, ?)", another).ok());
}

TEST(Sqlite, OpensInWalWithNormalSyncAndForeignKeys) {
  std::string directory = (std::filesystem::temp_directory_path() / "folio-sqlite-XXXXXX").string();
  ASSERT_NE(mkdtemp(directory.data()), nullptr);
  {
    auto opened = open_sqlite({.path = directory + "/node.db"});
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    Database& db = **opened;
    EXPECT_EQ((*db.query("PRAGMA journal_mode"))[0].text(0), "wal");
    EXPECT_EQ((*db.query("PRAGMA synchronous"))[0].integer(0), 1);  // NORMAL
    EXPECT_EQ((*db.query("PRAGMA foreign_keys"))[0].integer(0), 1);
    ASSERT_TRUE(db.exec("CREATE TABLE parent (k INTEGER PRIMARY KEY)").ok());
    ASSERT_TRUE(
        db.exec("CREATE TABLE child (k INTEGER PRIMARY KEY, p INTEGER REFERENCES parent (k))").ok());
    Result<int64_t> orphan = db.exec("INSERT INTO child (k, p) VALUES (1, 42)");
    ASSERT_FALSE(orphan.ok());
    EXPECT_EQ(orphan.error().code, ErrorCode::kConflict);
  }
  {
    auto opened = open_sqlite({.path = directory + "/full.db", .synchronous_full = true});
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ((*(*opened)->query("PRAGMA synchronous"))[0].integer(0), 2);  // FULL
  }
  std::error_code ec;
  std::filesystem::remove_all(directory, ec);
}

TEST(Sqlite, PrivateMemoryDatabasesAreSeparate) {
  auto a = open_sqlite({.path = ":memory:"});
  auto b = open_sqlite({.path = ":memory:"});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->exec("CREATE TABLE t (x INTEGER)").ok());
  EXPECT_FALSE((*b)->query("SELECT x FROM t").ok());
}

}  // namespace
}  // namespace folio::storage
