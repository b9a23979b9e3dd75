// SQLite implementation of database.h: one connection, WAL, a prepared-statement cache.
#include <sqlite3.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>

#include "storage/database.h"
#include "storage/migrate.h"
#include "storage/sql_text.h"

namespace folio::storage {
namespace {

constexpr int kBusyTimeoutMilliseconds = 5000;
constexpr size_t kStatementCacheMax = 256;

ErrorCode map_sqlite_code(int code) {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return ErrorCode::kIo;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kTimeout;
    case SQLITE_TOOBIG:
    case SQLITE_NOMEM:
      return ErrorCode::kLimitExceeded;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_MISUSE:
    case SQLITE_AUTH:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kInternal;
  }
}

class SqliteDatabase;

class SqliteSession final : public Session {
 public:
  explicit SqliteSession(SqliteDatabase& database) : database_(database) {}
  Result<int64_t> exec(std::string_view sql, Params params) override;
  Result<Rows> query(std::string_view sql, Params params) override;
  Result<Status> unit(const std::function<Status(Session&)>& fn) override;

 private:
  SqliteDatabase& database_;
};

// Resets a statement (and drops its bindings) when a run ends, however it ends, so that no
// statement keeps a read cursor open across COMMIT or ROLLBACK.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* statement) : statement_(statement) {}
  ~StatementReset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;

 private:
  sqlite3_stmt* statement_;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  ~SqliteDatabase() override {
    for (auto& [sql, statement] : cache_) sqlite3_finalize(statement);
    sqlite3_close_v2(db_);
  }
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  Backend backend() const override { return Backend::kSqlite; }

  Status read_transaction(const std::function<Status(Session&)>& fn) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "sqlite: transact is not reentrant");
    // Deferred: the snapshot starts with the first read and takes no write lock.
    FOLIO_TRY(run_plain("BEGIN DEFERRED"));
    Status status = run_plain("PRAGMA query_only = ON");
    if (status.ok()) {
      in_transaction_ = true;
      read_only_ = true;
      failed_.reset();
      SqliteSession session(*this);
      status = fn(session);
      if (status.ok() && failed_.has_value()) status = *failed_;
      in_transaction_ = false;
      read_only_ = false;
      failed_.reset();
    }
    rollback();
    Status restored = run_plain("PRAGMA query_only = OFF");
    FOLIO_TRY(status);
    return restored;
  }

  Status transact(const std::function<Status(Session&)>& fn) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "sqlite: transact is not reentrant");
    FOLIO_TRY(run_plain("BEGIN IMMEDIATE"));
    in_transaction_ = true;
    failed_.reset();
    SqliteSession session(*this);
    Status status = fn(session);
    if (status.ok() && failed_.has_value()) status = *failed_;
    if (status.ok()) {
      status = run_plain("COMMIT");
      if (status.ok()) {
        in_transaction_ = false;
        return status;
      }
    }
    rollback();
    in_transaction_ = false;
    failed_.reset();
    return status;
  }

  Result<int64_t> exec(std::string_view sql, Params params) override {
    if (in_transaction_) return run(sql, params, nullptr);
    int64_t changed = 0;
    FOLIO_TRY(transact([&](Session& session) -> Status {
      FOLIO_ASSIGN_OR_RETURN(changed, session.exec(sql, params));
      return ok_status();
    }));
    return changed;
  }

  Result<Rows> query(std::string_view sql, Params params) override {
    // A single statement outside BEGIN is its own transaction in SQLite; one that writes (an
    // INSERT ... RETURNING) is atomic as well.
    Rows rows;
    FOLIO_TRY(run(sql, params, &rows));
    return rows;
  }

  Result<Rows> query_read_only(std::string_view sql, Params params) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument,
                        "sqlite: query_read_only inside an open transaction");
    FOLIO_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare(sql, /*cache=*/false));
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owner(statement, sqlite3_finalize);
    // sqlite3_stmt_readonly is true for BEGIN, COMMIT, ATTACH and the like too, which write nothing
    // themselves but change what later statements do; a report query must return columns.
    if (sqlite3_stmt_readonly(statement) == 0 || sqlite3_column_count(statement) == 0)
      return make_error(ErrorCode::kInvalidArgument,
                        "sqlite: refused in a read-only query (it would write or is not a "
                        "query): " + sql_head(sql));
    // query_only makes the connection refuse any write while the report runs, as a second line.
    FOLIO_TRY(run_plain("PRAGMA query_only = ON"));
    Rows rows;
    Status status = step_all(statement, sql, params, &rows);
    Status restored = run_plain("PRAGMA query_only = OFF");
    FOLIO_TRY(status);
    FOLIO_TRY(restored);
    return rows;
  }

  Status migrate(std::string_view component, std::span<const Migration> migrations) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "sqlite: migrate inside an open transaction");
    return run_migrations(*this, component, migrations);
  }

  // Inside a transaction the first failed statement dooms it, as PostgreSQL does: later statements
  // fail and transact rolls back even if its function returns ok.
  Result<int64_t> run(std::string_view sql, Params params, Rows* rows) {
    if (in_transaction_ && failed_.has_value())
      return make_error(failed_->code, "sqlite: the transaction already failed: " +
                                           failed_->context);
    Result<int64_t> result = run_statement(sql, params, rows);
    if (!result.ok() && in_transaction_) failed_ = result.error();
    return result;
  }

  // Session::unit: a SAVEPOINT around fn, rolled back to (which also clears the doomed state a
  // failed statement left) when fn fails.
  Result<Status> unit(Session& session, const std::function<Status(Session&)>& fn) {
    if (!in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "sqlite: a unit outside a transaction");
    if (failed_.has_value())
      return make_error(failed_->code, "sqlite: the transaction already failed: " +
                                           failed_->context);
    const std::string name = "folio_unit_" + std::to_string(unit_depth_);
    FOLIO_TRY(run_plain("SAVEPOINT " + name));
    ++unit_depth_;
    Status status = fn(session);
    --unit_depth_;
    if (status.ok() && failed_.has_value()) status = *failed_;
    if (status.ok()) {
      FOLIO_TRY(run_plain("RELEASE " + name));
      return Status(ok_status());
    }
    // After some errors (a full disk, an I/O error) SQLite has rolled the whole transaction back
    // by itself: nothing is left to commit.
    if (sqlite3_get_autocommit(db_) != 0) {
      failed_ = make_error(ErrorCode::kIo, "sqlite: the transaction was aborted: " +
                                               status.error().context);
      return *failed_;
    }
    failed_.reset();
    Status undone = run_plain("ROLLBACK TO " + name);
    if (undone.ok()) undone = run_plain("RELEASE " + name);
    if (!undone.ok()) {
      failed_ = undone.error();
      return undone.error();
    }
    return status;
  }

  Result<int64_t> run_statement(std::string_view sql, Params params, Rows* rows) {
    FOLIO_ASSIGN_OR_RETURN(sqlite3_stmt * statement, prepare(sql, /*cache=*/true));
    FOLIO_TRY(step_all(statement, sql, params, rows));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Status configure(const SqliteOptions& options) {
    FOLIO_TRY(check(sqlite3_busy_timeout(db_, kBusyTimeoutMilliseconds), "busy_timeout"));
    FOLIO_TRY(check(sqlite3_extended_result_codes(db_, 1), "extended_result_codes"));
    FOLIO_TRY(run_plain("PRAGMA foreign_keys = ON"));
    // LIKE is case-sensitive on PostgreSQL; make SQLite agree so queries mean the same on both.
    FOLIO_TRY(run_plain("PRAGMA case_sensitive_like = ON"));
    const bool memory = options.path == ":memory:" || options.path.empty();
    if (options.wal && !memory) {
      Rows rows;
      FOLIO_TRY(run("PRAGMA journal_mode = WAL", {}, &rows));
      if (rows.size() != 1 || rows[0].values.size() != 1 ||
          !std::holds_alternative<std::string>(rows[0].values[0]) || rows[0].text(0) != "wal")
        return make_error(ErrorCode::kIo, "sqlite: could not switch " + options.path + " to WAL");
    }
    FOLIO_TRY(run_plain(options.synchronous_full ? "PRAGMA synchronous = FULL"
                                                 : "PRAGMA synchronous = NORMAL"));
    // A 16 MiB page cache (the default is 2 MiB): a node's flow, vault and store tables are read and
    // written all over their B-trees (keys are hashes), and group commits touch many pages at once.
    FOLIO_TRY(run_plain("PRAGMA cache_size = -16384"));
    // Sorts and temporary indexes (the vault's ORDER BY) in memory rather than in temporary files.
    FOLIO_TRY(run_plain("PRAGMA temp_store = MEMORY"));
    return ok_status();
  }

 private:
  Error error_from(int code, std::string_view sql) const {
    // A write refused by query_only is the caller's mistake, not a read-only disk.
    const ErrorCode mapped = read_only_ && (code & 0xff) == SQLITE_READONLY
                                 ? ErrorCode::kInvalidArgument
                                 : map_sqlite_code(code);
    return make_error(mapped, "sqlite: " + sql_head(sql) + ": " +
                                                 sqlite3_errmsg(db_) + " (" +
                                                 sqlite3_errstr(code) + ")");
  }

  Status check(int code, std::string_view what) const {
    if (code == SQLITE_OK) return ok_status();
    return error_from(code, what);
  }

  Status run_plain(std::string_view sql) {
    FOLIO_ASSIGN_OR_RETURN(int64_t changed, run_statement(sql, {}, nullptr));
    (void)changed;
    return ok_status();
  }

  void rollback() {
    // After some errors (a full disk, an I/O error) SQLite has already rolled back by itself.
    if (sqlite3_get_autocommit(db_) != 0) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // One statement; text after it (other than whitespace and comments) is refused, so a second
  // statement is never silently dropped.
  Result<sqlite3_stmt*> prepare(std::string_view sql, bool cache) {
    if (cache) {
      auto it = cache_.find(std::string(sql));
      if (it != cache_.end()) return it->second;
    }
    if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
      return make_error(ErrorCode::kLimitExceeded, "sqlite: statement too long");
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    int code = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  cache ? SQLITE_PREPARE_PERSISTENT : 0, &statement, &tail);
    if (code != SQLITE_OK) return error_from(code, sql);
    if (statement == nullptr)
      return make_error(ErrorCode::kInvalidArgument, "sqlite: empty statement");
    std::string_view rest(tail, static_cast<size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string::npos) {
      // Text after the statement: refused unless it is only comments (which prepare to nothing).
      sqlite3_stmt* next = nullptr;
      const char* next_tail = nullptr;
      int next_code = sqlite3_prepare_v2(db_, rest.data(), static_cast<int>(rest.size()), &next,
                                         &next_tail);
      sqlite3_finalize(next);
      if (next_code != SQLITE_OK || next != nullptr) {
        sqlite3_finalize(statement);
        return make_error(ErrorCode::kInvalidArgument,
                          "sqlite: one statement at a time: " + sql_head(sql));
      }
    }
    if (cache) {
      if (cache_.size() >= kStatementCacheMax) {
        for (auto& [text, cached] : cache_) sqlite3_finalize(cached);
        cache_.clear();
      }
      cache_.emplace(std::string(sql), statement);
    }
    return statement;
  }

  Status bind(sqlite3_stmt* statement, std::string_view sql, Params params) {
    const int expected = sqlite3_bind_parameter_count(statement);
    if (static_cast<size_t>(expected) != params.size())
      return make_error(ErrorCode::kInvalidArgument,
                        "sqlite: " + sql_head(sql) + ": expects " + std::to_string(expected) +
                            " parameters, got " + std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      const Value& value = params[i];
      int code = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(value)) {
        code = sqlite3_bind_null(statement, index);
      } else if (const auto* integer = std::get_if<int64_t>(&value)) {
        code = sqlite3_bind_int64(statement, index, *integer);
      } else if (const auto* real = std::get_if<double>(&value)) {
        code = sqlite3_bind_double(statement, index, *real);
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        code = sqlite3_bind_text64(statement, index, text->data(), text->size(), SQLITE_STATIC,
                                   SQLITE_UTF8);
      } else if (const auto* blob = std::get_if<Bytes>(&value)) {
        // A zero-length blob bound from a null pointer would read back as NULL.
        code = blob->empty() ? sqlite3_bind_zeroblob(statement, index, 0)
                             : sqlite3_bind_blob64(statement, index, blob->data(), blob->size(),
                                                   SQLITE_STATIC);
      }
      if (code != SQLITE_OK) return error_from(code, sql);
    }
    return ok_status();
  }

  Status step_all(sqlite3_stmt* statement, std::string_view sql, Params params, Rows* rows) {
    StatementReset reset(statement);
    FOLIO_TRY(bind(statement, sql, params));
    const int columns = sqlite3_column_count(statement);
    for (;;) {
      int code = sqlite3_step(statement);
      if (code == SQLITE_DONE) return ok_status();
      if (code != SQLITE_ROW) return error_from(code, sql);
      if (rows == nullptr) continue;
      Row row;
      row.values.reserve(static_cast<size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(statement, c)) {
          case SQLITE_INTEGER:
            row.values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(statement, c)));
            break;
          case SQLITE_FLOAT:
            row.values.emplace_back(sqlite3_column_double(statement, c));
            break;
          case SQLITE_TEXT: {
            const auto* data = sqlite3_column_text(statement, c);
            const int size = sqlite3_column_bytes(statement, c);
            row.values.emplace_back(
                std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(size)));
            break;
          }
          case SQLITE_BLOB: {
            const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(statement, c));
            const int size = sqlite3_column_bytes(statement, c);
            row.values.emplace_back(size == 0 ? Bytes() : Bytes(data, data + size));
            break;
          }
          default:
            row.values.emplace_back(std::monostate());
            break;
        }
      }
      rows->push_back(std::move(row));
    }
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  bool in_transaction_ = false;
  bool read_only_ = false;  // inside read_transaction
  int unit_depth_ = 0;      // nested Session::unit savepoints
  std::optional<Error> failed_;  // the first failed statement of the open transaction
};

Result<int64_t> SqliteSession::exec(std::string_view sql, Params params) {
  return database_.run(sql, params, nullptr);
}

Result<Rows> SqliteSession::query(std::string_view sql, Params params) {
  Rows rows;
  FOLIO_ASSIGN_OR_RETURN(int64_t changed, database_.run(sql, params, &rows));
  (void)changed;
  return rows;
}

Result<Status> SqliteSession::unit(const std::function<Status(Session&)>& fn) {
  return database_.unit(*this, fn);
}

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite(const SqliteOptions& options) {
  const bool memory = options.path == ":memory:";
  if (options.path.empty())
    return make_error(ErrorCode::kInvalidArgument, "sqlite: empty database path");
  if (!memory) {
    // SQLite's own message for a missing directory is only "unable to open database file".
    std::filesystem::path parent = std::filesystem::path(options.path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec))
      return make_error(ErrorCode::kIo, "sqlite: cannot open " + options.path + ": directory " +
                                            parent.string() + " does not exist");
    if (std::filesystem::is_directory(options.path, ec))
      return make_error(ErrorCode::kIo,
                        "sqlite: cannot open " + options.path + ": it is a directory");
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
              SQLITE_OPEN_EXRESCODE;
  if (memory) flags |= SQLITE_OPEN_MEMORY;
  int code = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (code != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    sqlite3_close_v2(db);
    return make_error(map_sqlite_code(code), "sqlite: cannot open " + options.path + ": " + message);
  }
  auto database = std::make_unique<SqliteDatabase>(db);
  FOLIO_TRY(database->configure(options));
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace folio::storage
