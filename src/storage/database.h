// Database: the one storage interface of a node (ARCHITECTURE.md section 4), implemented by SQLite
// (WAL, the default) and PostgreSQL (libpq).
//
// SQL is written once, in the common subset of both dialects, with `?` placeholders; the
// PostgreSQL implementation rewrites them to $1, $2, ... Column types: INTEGER (64-bit), REAL,
// TEXT, BLOB (BYTEA on PostgreSQL: the implementation maps the word BLOB in DDL). Upserts use
// `INSERT ... ON CONFLICT DO NOTHING` / `DO UPDATE`, which both accept. LIKE is case-sensitive on
// both (SQLite runs with case_sensitive_like). One statement per call.
//
// Every write happens inside `transact`, which opens a transaction, runs the function, and commits
// if it returned ok or rolls back otherwise (also when the commit itself fails: a full disk or a
// dead server is an error Status, never a crash or a half-written state). A Database is used by
// one thread at a time unless an implementation says otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace folio::storage {

// NULL, INTEGER, REAL, TEXT, BLOB.
using Value = std::variant<std::monostate, int64_t, double, std::string, Bytes>;

struct Row {
  std::vector<Value> values;

  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(values.at(i)); }
  // REQUIRES: the column holds that type (FOLIO_ASSERT otherwise).
  int64_t integer(size_t i) const;
  double real(size_t i) const;
  const std::string& text(size_t i) const;
  const Bytes& blob(size_t i) const;
};

using Rows = std::vector<Row>;
using Params = std::span<const Value>;

enum class Backend : uint8_t { kSqlite, kPostgres };

// Statements inside one open transaction.
class Session {
 public:
  virtual ~Session() = default;
  // Runs a statement that returns no rows; the number of rows it changed.
  virtual Result<int64_t> exec(std::string_view sql, Params params = {}) = 0;
  virtual Result<Rows> query(std::string_view sql, Params params = {}) = 0;

  // Runs fn as a unit of the open transaction (a SAVEPOINT): when fn returns an error, or one of
  // its statements fails, the unit's statements are undone and the transaction goes on without
  // them (a failed statement inside a unit does not doom the transaction); the value is then fn's
  // error, else ok. The outer error says the transaction itself can no longer commit (the backend
  // aborted it: a full disk, a lost connection): the caller must give it up. The flow engine's
  // group commit runs each flow's step as a unit (docs/flows.md). The default, for sessions
  // without savepoints, cannot undo: a failed fn is an outer error.
  virtual Result<Status> unit(const std::function<Status(Session&)>& fn);
};

// One schema step. Migrations are numbered from 1 without gaps; each runs once, in its own
// transaction, recorded in a `schema_migrations(component, version)` table, so a node's modules
// (vault, flows, notary, ...) each keep their own sequence under their own component name.
struct Migration {
  int64_t version;
  std::string description;
  std::vector<std::string> statements;
};

class Database {
 public:
  virtual ~Database() = default;

  virtual Backend backend() const = 0;

  // BEGIN; fn; COMMIT if fn returned ok, else ROLLBACK. Not reentrant.
  // A statement that fails inside fn dooms the transaction on both backends (PostgreSQL's rule):
  // later statements fail too and transact returns the first error even if fn returned ok. So
  // test for a row rather than catching a constraint error, or use ON CONFLICT DO NOTHING.
  virtual Status transact(const std::function<Status(Session&)>& fn) = 0;

  // A transaction that only reads: one consistent snapshot for all its statements, which does not
  // hold up writers on other connections (SQLite: a deferred BEGIN in WAL mode with query_only;
  // PostgreSQL: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY). A statement that would write
  // fails with kInvalidArgument. Always ends in ROLLBACK. Not reentrant. (Added with the
  // implementations; the default, for wrappers, runs transact.)
  virtual Status read_transaction(const std::function<Status(Session&)>& fn) {
    return transact(fn);
  }

  // One statement in its own transaction (convenience for reads and single writes).
  virtual Result<int64_t> exec(std::string_view sql, Params params = {}) = 0;
  virtual Result<Rows> query(std::string_view sql, Params params = {}) = 0;

  // A query that cannot write: for operators' report SQL. Statements that would write are refused
  // with kInvalidArgument before they run.
  virtual Result<Rows> query_read_only(std::string_view sql, Params params = {}) = 0;

  // Applies the component's migrations that have not run yet, in order. Refuses (kConflict) a
  // database whose recorded version for the component is newer than the newest migration given.
  virtual Status migrate(std::string_view component, std::span<const Migration> migrations) = 0;
};

struct SqliteOptions {
  std::string path;  // ":memory:" for a private in-memory database
  bool wal = true;
  // NORMAL in WAL mode loses at most the last transactions on power loss, never consistency.
  bool synchronous_full = false;
};

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& options);

struct PostgresOptions {
  std::string conninfo;  // libpq connection string, e.g. "host=/tmp/pg port=5432 dbname=folio"
};

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options);

}  // namespace folio::storage
