// PostgreSQL implementation of database.h: one libpq connection, binary parameters and results.
#include <libpq-fe.h>

#include <array>
#include <bit>
#include <charconv>
#include <limits>
#include <memory>
#include <vector>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>

#include "storage/database.h"
#include "storage/migrate.h"
#include "storage/sql_text.h"

namespace folio::storage {
namespace {

// Type OIDs from PostgreSQL's pg_type.dat (stable across versions; the server headers that define
// them are not installed).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kNameOid = 19;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kOidOid = 26;
constexpr Oid kJsonOid = 114;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kUnknownOid = 705;
constexpr Oid kBpcharOid = 1042;
constexpr Oid kVarcharOid = 1043;
constexpr Oid kNumericOid = 1700;

constexpr size_t kTranslationCacheMax = 512;

ErrorCode map_sqlstate(std::string_view state) {
  if (state.size() != 5) return ErrorCode::kIo;
  const std::string_view category = state.substr(0, 2);
  if (state == "25006") return ErrorCode::kInvalidArgument;  // write in a read-only transaction
  if (state == "57014") return ErrorCode::kTimeout;          // statement cancelled
  if (state == "40001" || state == "40P01") return ErrorCode::kConflict;  // serialization, deadlock
  if (category == "23") return ErrorCode::kConflict;  // integrity constraint violation
  if (category == "08" || category == "53" || category == "57" || category == "58" ||
      category == "XX")
    return ErrorCode::kIo;  // connection, resources (disk full), shutdown, system, internal
  if (category == "54") return ErrorCode::kLimitExceeded;
  if (category == "42" || category == "22" || category == "0A" || category == "25" ||
      category == "21" || category == "2B" || category == "44")
    return ErrorCode::kInvalidArgument;
  return ErrorCode::kInternal;
}

void put_big_endian(uint64_t v, char* out) {
  for (int k = 7; k >= 0; --k) {
    out[k] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t get_big_endian(const char* in, int size) {
  uint64_t v = 0;
  for (int k = 0; k < size; ++k) v = (v << 8) | static_cast<uint8_t>(in[k]);
  return v;
}

// NUMERIC in binary: ndigits, weight, sign, dscale (16 bits each), then base-10000 digits. An
// integral value (dscale 0, as SUM over BIGINT gives) becomes an int64; others a double.
Result<Value> decode_numeric(const char* data, int size) {
  if (size < 8) return make_error(ErrorCode::kMalformed, "postgres: short NUMERIC");
  const int ndigits = static_cast<int16_t>(get_big_endian(data, 2));
  const int weight = static_cast<int16_t>(get_big_endian(data + 2, 2));
  const uint16_t sign = static_cast<uint16_t>(get_big_endian(data + 4, 2));
  const int dscale = static_cast<int16_t>(get_big_endian(data + 6, 2));
  if (ndigits < 0 || size != 8 + 2 * ndigits)
    return make_error(ErrorCode::kMalformed, "postgres: bad NUMERIC length");
  if (sign == 0xC000) return Value(std::numeric_limits<double>::quiet_NaN());
  const bool negative = sign == 0x4000;
  if (dscale == 0) {
    __int128 v = 0;
    for (int i = 0; i < ndigits; ++i) {
      const int exponent = weight - i;
      if (exponent < 0) break;
      __int128 term = static_cast<int16_t>(get_big_endian(data + 8 + 2 * i, 2));
      for (int e = 0; e < exponent; ++e) {
        term *= 10000;
        if (term > (static_cast<__int128>(1) << 64))
          return make_error(ErrorCode::kLimitExceeded, "postgres: NUMERIC beyond 64 bits");
      }
      v += term;
      if (v > (static_cast<__int128>(1) << 64))
        return make_error(ErrorCode::kLimitExceeded, "postgres: NUMERIC beyond 64 bits");
    }
    if (negative) v = -v;
    if (v > std::numeric_limits<int64_t>::max() || v < std::numeric_limits<int64_t>::min())
      return make_error(ErrorCode::kLimitExceeded, "postgres: NUMERIC beyond 64 bits");
    return Value(static_cast<int64_t>(v));
  }
  double v = 0;
  for (int i = 0; i < ndigits; ++i) {
    double term = static_cast<int16_t>(get_big_endian(data + 8 + 2 * i, 2));
    const int exponent = weight - i;
    for (int e = 0; e < exponent; ++e) term *= 10000;
    for (int e = 0; e < -exponent; ++e) term /= 10000;
    v += term;
  }
  return Value(negative ? -v : v);
}

Result<Value> decode_value(Oid type, const char* data, int size, const char* column) {
  auto wrong_size = [&]() {
    return make_error(ErrorCode::kMalformed,
                      std::string("postgres: column ") + column + ": unexpected value size");
  };
  switch (type) {
    case kInt8Oid:
      if (size != 8) return wrong_size();
      return Value(static_cast<int64_t>(get_big_endian(data, 8)));
    case kInt4Oid:
      if (size != 4) return wrong_size();
      return Value(static_cast<int64_t>(static_cast<int32_t>(get_big_endian(data, 4))));
    case kInt2Oid:
      if (size != 2) return wrong_size();
      return Value(static_cast<int64_t>(static_cast<int16_t>(get_big_endian(data, 2))));
    case kOidOid:
      if (size != 4) return wrong_size();
      return Value(static_cast<int64_t>(get_big_endian(data, 4)));
    case kBoolOid:
      if (size != 1) return wrong_size();
      return Value(static_cast<int64_t>(data[0] != 0 ? 1 : 0));
    case kFloat8Oid:
      if (size != 8) return wrong_size();
      return Value(std::bit_cast<double>(get_big_endian(data, 8)));
    case kFloat4Oid:
      if (size != 4) return wrong_size();
      return Value(static_cast<double>(
          std::bit_cast<float>(static_cast<uint32_t>(get_big_endian(data, 4)))));
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
    case kNameOid:
    case kUnknownOid:
    case kJsonOid:
      return Value(std::string(data, static_cast<size_t>(size)));
    case kByteaOid: {
      const auto* bytes = reinterpret_cast<const uint8_t*>(data);
      return Value(Bytes(bytes, bytes + size));
    }
    case kNumericOid:
      return decode_numeric(data, size);
    default:
      return make_error(ErrorCode::kUnsupported,
                        std::string("postgres: column ") + column + " has type oid " +
                            std::to_string(type) + "; cast it to BIGINT, DOUBLE PRECISION, TEXT "
                            "or BYTEA");
  }
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

void ignore_notice(void*, const char*) {}

class PostgresDatabase;

class PostgresSession final : public Session {
 public:
  explicit PostgresSession(PostgresDatabase& database) : database_(database) {}
  Result<int64_t> exec(std::string_view sql, Params params) override;
  Result<Rows> query(std::string_view sql, Params params) override;
  Result<Status> unit(const std::function<Status(Session&)>& fn) override;

 private:
  PostgresDatabase& database_;
};

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(PGconn* conn) : conn_(conn) {
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  }
  ~PostgresDatabase() override { PQfinish(conn_); }
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  Backend backend() const override { return Backend::kPostgres; }

  Status transact(const std::function<Status(Session&)>& fn) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "postgres: transact is not reentrant");
    FOLIO_TRY(reconnect_if_lost());
    FOLIO_TRY(command("BEGIN"));
    in_transaction_ = true;
    failed_.reset();
    PostgresSession session(*this);
    Status status = fn(session);
    if (status.ok() && failed_.has_value()) status = *failed_;
    if (status.ok()) status = command("COMMIT");
    if (!status.ok() && PQstatus(conn_) == CONNECTION_OK &&
        PQtransactionStatus(conn_) != PQTRANS_IDLE)
      (void)command("ROLLBACK");
    in_transaction_ = false;
    failed_.reset();
    return status;
  }

  Status read_transaction(const std::function<Status(Session&)>& fn) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "postgres: transact is not reentrant");
    FOLIO_TRY(reconnect_if_lost());
    FOLIO_TRY(command("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    in_transaction_ = true;
    failed_.reset();
    PostgresSession session(*this);
    Status status = fn(session);
    if (status.ok() && failed_.has_value()) status = *failed_;
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
      (void)command("ROLLBACK");
    in_transaction_ = false;
    failed_.reset();
    return status;
  }

  Result<int64_t> exec(std::string_view sql, Params params) override {
    if (!in_transaction_) FOLIO_TRY(reconnect_if_lost());
    return run(sql, params, nullptr);
  }

  Result<Rows> query(std::string_view sql, Params params) override {
    if (!in_transaction_) FOLIO_TRY(reconnect_if_lost());
    Rows rows;
    FOLIO_TRY(run(sql, params, &rows));
    return rows;
  }

  Result<Rows> query_read_only(std::string_view sql, Params params) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument,
                        "postgres: query_read_only inside an open transaction");
    const std::string keyword = first_keyword(sql);
    if (keyword != "SELECT" && keyword != "WITH" && keyword != "VALUES" && keyword != "TABLE" &&
        keyword != "EXPLAIN" && keyword != "SHOW")
      return make_error(ErrorCode::kInvalidArgument,
                        "postgres: refused in a read-only query (not a query): " + sql_head(sql));
    FOLIO_TRY(reconnect_if_lost());
    // A READ ONLY transaction makes the server refuse anything that would write (a data-modifying
    // WITH, a function with side effects) before it writes.
    FOLIO_TRY(command("BEGIN READ ONLY"));
    // A report must not hold the connection (and its snapshot) for ever.
    Status limited = command("SET LOCAL statement_timeout = '60s'");
    if (!limited.ok()) {
      (void)command("ROLLBACK");
      return limited.error();
    }
    Rows rows;
    int fields = 0;
    Result<int64_t> result = run(sql, params, &rows, &fields);
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
      (void)command("ROLLBACK");
    if (!result.ok()) return result.error();
    if (fields == 0)
      return make_error(ErrorCode::kInvalidArgument,
                        "postgres: refused in a read-only query (not a query): " + sql_head(sql));
    return rows;
  }

  Status migrate(std::string_view component, std::span<const Migration> migrations) override {
    if (in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "postgres: migrate inside an open transaction");
    return run_migrations(*this, component, migrations);
  }

  // Session::unit: a SAVEPOINT around fn; ROLLBACK TO it (which also ends the aborted state a
  // failed statement left) when fn fails.
  Result<Status> unit(Session& session, const std::function<Status(Session&)>& fn) {
    if (!in_transaction_)
      return make_error(ErrorCode::kInvalidArgument, "postgres: a unit outside a transaction");
    if (failed_.has_value())
      return make_error(failed_->code, "postgres: the transaction already failed: " +
                                           failed_->context);
    const std::string name = "folio_unit_" + std::to_string(unit_depth_);
    Status begun = command(("SAVEPOINT " + name).c_str());
    if (!begun.ok()) {
      failed_ = begun.error();
      return begun.error();
    }
    ++unit_depth_;
    Status status = fn(session);
    --unit_depth_;
    if (status.ok() && failed_.has_value()) status = *failed_;
    if (status.ok()) {
      Status released = command(("RELEASE SAVEPOINT " + name).c_str());
      if (!released.ok()) {
        failed_ = released.error();
        return released.error();
      }
      return Status(ok_status());
    }
    failed_.reset();
    Status undone = command(("ROLLBACK TO SAVEPOINT " + name).c_str());
    if (undone.ok()) undone = command(("RELEASE SAVEPOINT " + name).c_str());
    if (!undone.ok()) {
      failed_ = undone.error();
      return undone.error();
    }
    return status;
  }

  Result<int64_t> run(std::string_view sql, Params params, Rows* rows, int* fields = nullptr) {
    if (in_transaction_ && failed_.has_value())
      return make_error(failed_->code, "postgres: the transaction already failed: " +
                                           failed_->context);
    Result<int64_t> result = run_statement(sql, params, rows, fields);
    if (!result.ok() && in_transaction_) failed_ = result.error();
    return result;
  }

  Status connected() const {
    if (PQstatus(conn_) == CONNECTION_OK) return ok_status();
    return make_error(ErrorCode::kIo, std::string("postgres: cannot connect: ") +
                                          PQerrorMessage(conn_));
  }

 private:
  // A connection lost between transactions is reopened once; one lost inside a transaction makes
  // that transaction fail (its outcome, if COMMIT was under way, is unknown to us).
  Status reconnect_if_lost() {
    if (PQstatus(conn_) == CONNECTION_OK) return ok_status();
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK)
      return make_error(ErrorCode::kIo, std::string("postgres: connection lost: ") +
                                            PQerrorMessage(conn_));
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
    return ok_status();
  }

  Status command(const char* sql) {
    ResultPtr result(PQexec(conn_, sql));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) return error_from(result.get(), sql);
    // COMMIT of a transaction that had failed answers ROLLBACK.
    if (std::strcmp(sql, "COMMIT") == 0 && std::strcmp(PQcmdStatus(result.get()), "COMMIT") != 0)
      return make_error(ErrorCode::kConflict, "postgres: COMMIT was rolled back");
    return ok_status();
  }

  Error error_from(const PGresult* result, std::string_view sql) const {
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message.empty()) message = PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
      message.pop_back();
    ErrorCode code = ErrorCode::kIo;
    if (PQstatus(conn_) == CONNECTION_OK && state != nullptr) code = map_sqlstate(state);
    return make_error(code, "postgres: " + sql_head(sql) + ": " + message +
                                (state != nullptr ? std::string(" [") + state + "]" : ""));
  }

  const PostgresSql& translated(std::string_view sql) {
    auto it = translations_.find(std::string(sql));
    if (it != translations_.end()) return it->second;
    if (translations_.size() >= kTranslationCacheMax) translations_.clear();
    return translations_.emplace(std::string(sql), translate_for_postgres(sql)).first->second;
  }

  Result<int64_t> run_statement(std::string_view sql, Params params, Rows* rows, int* fields) {
    FOLIO_TRY(connected());
    const PostgresSql& statement = translated(sql);
    if (statement.parameter_count != params.size())
      return make_error(ErrorCode::kInvalidArgument,
                        "postgres: " + sql_head(sql) + ": expects " +
                            std::to_string(statement.parameter_count) + " parameters, got " +
                            std::to_string(params.size()));
    const size_t n = params.size();
    std::vector<Oid> types(n, 0);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0);
    std::vector<int> formats(n, 1);
    std::vector<std::array<char, 8>> scalars(n);
    static const char kEmpty = 0;
    for (size_t i = 0; i < n; ++i) {
      const Value& value = params[i];
      if (const auto* integer = std::get_if<int64_t>(&value)) {
        types[i] = kInt8Oid;
        put_big_endian(static_cast<uint64_t>(*integer), scalars[i].data());
        values[i] = scalars[i].data();
        lengths[i] = 8;
      } else if (const auto* real = std::get_if<double>(&value)) {
        types[i] = kFloat8Oid;
        put_big_endian(std::bit_cast<uint64_t>(*real), scalars[i].data());
        values[i] = scalars[i].data();
        lengths[i] = 8;
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        types[i] = kTextOid;
        values[i] = text->empty() ? &kEmpty : text->data();
        lengths[i] = static_cast<int>(text->size());
        if (text->size() > static_cast<size_t>(std::numeric_limits<int>::max()))
          return make_error(ErrorCode::kLimitExceeded, "postgres: text parameter too long");
      } else if (const auto* blob = std::get_if<Bytes>(&value)) {
        types[i] = kByteaOid;
        values[i] = blob->empty() ? &kEmpty : reinterpret_cast<const char*>(blob->data());
        lengths[i] = static_cast<int>(blob->size());
        if (blob->size() > static_cast<size_t>(std::numeric_limits<int>::max()))
          return make_error(ErrorCode::kLimitExceeded, "postgres: blob parameter too long");
      }
    }
    ResultPtr result(PQexecParams(conn_, statement.sql.c_str(), static_cast<int>(n), types.data(),
                                  values.data(), lengths.data(), formats.data(),
                                  /*resultFormat=*/1));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_EMPTY_QUERY)
      return make_error(ErrorCode::kInvalidArgument, "postgres: empty statement");
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return error_from(result.get(), sql);
    if (fields != nullptr) *fields = PQnfields(result.get());
    if (rows != nullptr && status == PGRES_TUPLES_OK) {
      const int row_count = PQntuples(result.get());
      const int column_count = PQnfields(result.get());
      rows->reserve(static_cast<size_t>(row_count));
      for (int r = 0; r < row_count; ++r) {
        Row row;
        row.values.reserve(static_cast<size_t>(column_count));
        for (int c = 0; c < column_count; ++c) {
          if (PQgetisnull(result.get(), r, c) != 0) {
            row.values.emplace_back(std::monostate());
            continue;
          }
          FOLIO_ASSIGN_OR_RETURN(
              Value v, decode_value(PQftype(result.get(), c), PQgetvalue(result.get(), r, c),
                                    PQgetlength(result.get(), r, c), PQfname(result.get(), c)));
          row.values.push_back(std::move(v));
        }
        rows->push_back(std::move(row));
      }
    }
    const char* changed = PQcmdTuples(result.get());
    int64_t count = 0;
    if (changed != nullptr && *changed != '\0')
      std::from_chars(changed, changed + std::strlen(changed), count);
    return count;
  }

  PGconn* conn_;
  bool in_transaction_ = false;
  int unit_depth_ = 0;  // nested Session::unit savepoints
  std::optional<Error> failed_;  // the first failed statement of the open transaction
  std::unordered_map<std::string, PostgresSql> translations_;
};

Result<int64_t> PostgresSession::exec(std::string_view sql, Params params) {
  return database_.run(sql, params, nullptr);
}

Result<Rows> PostgresSession::query(std::string_view sql, Params params) {
  Rows rows;
  FOLIO_ASSIGN_OR_RETURN(int64_t changed, database_.run(sql, params, &rows));
  (void)changed;
  return rows;
}

Result<Status> PostgresSession::unit(const std::function<Status(Session&)>& fn) {
  return database_.unit(*this, fn);
}

}  // namespace

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options) {
  // A default connect timeout, so that a dead host is an error rather than a hang; the conninfo
  // (expanded from the later dbname entry) overrides it when it names its own.
  // Connection parameters rather than SET statements, so that a reconnection (PQreset) keeps them.
  const char* const keywords[] = {"connect_timeout", "client_encoding", "dbname", nullptr};
  const char* const values[] = {"10", "UTF8", options.conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return make_error(ErrorCode::kIo, "postgres: out of memory connecting");
  auto database = std::make_unique<PostgresDatabase>(conn);
  FOLIO_TRY(database->connected());
  // The `?` rewriting assumes standard strings ('\' is not an escape outside E'...'), the default
  // since PostgreSQL 9.1; refuse a server configured otherwise.
  FOLIO_ASSIGN_OR_RETURN(Rows rows, database->query("SHOW standard_conforming_strings", {}));
  if (rows.size() != 1 || rows[0].values.size() != 1 ||
      !std::holds_alternative<std::string>(rows[0].values[0]) || rows[0].text(0) != "on")
    return make_error(ErrorCode::kUnsupported,
                      "postgres: the server must run with standard_conforming_strings = on");
  return std::unique_ptr<Database>(std::move(database));
}

}  // namespace folio::storage
