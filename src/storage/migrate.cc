#include "storage/migrate.h"

#include <string>

namespace folio::storage {

Status run_migrations(Database& database, std::string_view component,
                      std::span<const Migration> migrations) {
  if (component.empty()) return make_error(ErrorCode::kInvalidArgument, "migrate: empty component");
  const std::string name(component);
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int64_t>(i + 1))
      return make_error(ErrorCode::kInvalidArgument,
                        "migrate " + name + ": migration at position " + std::to_string(i + 1) +
                            " has version " + std::to_string(migrations[i].version) +
                            " (versions must run 1, 2, ... without gaps)");
  }
  FOLIO_TRY(database.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT "
      "NULL, description TEXT NOT NULL, PRIMARY KEY (component, version))"));

  const int64_t newest = static_cast<int64_t>(migrations.size());
  for (const Migration& migration : migrations) {
    Status status = database.transact([&](Session& session) -> Status {
      const Value key[] = {name};
      FOLIO_ASSIGN_OR_RETURN(
          Rows rows, session.query("SELECT COUNT(*), COALESCE(MAX(version), 0) FROM "
                                   "schema_migrations WHERE component = ?",
                                   key));
      if (rows.size() != 1 || rows[0].values.size() != 2 ||
          !std::holds_alternative<int64_t>(rows[0].values[0]) ||
          !std::holds_alternative<int64_t>(rows[0].values[1]))
        return make_error(ErrorCode::kInternal, "migrate " + name + ": unexpected version query");
      const int64_t count = rows[0].integer(0);
      const int64_t recorded = rows[0].integer(1);
      if (recorded > newest)
        return make_error(ErrorCode::kConflict,
                          "migrate " + name + ": the database is at version " +
                              std::to_string(recorded) + ", newer than this code's " +
                              std::to_string(newest));
      if (count != recorded)
        return make_error(ErrorCode::kConflict,
                          "migrate " + name + ": the database records " + std::to_string(count) +
                              " migrations up to version " + std::to_string(recorded) +
                              " (a gap)");
      if (migration.version <= recorded) {
        return ok_status();
      }
      if (migration.version != recorded + 1)
        return make_error(ErrorCode::kInternal, "migrate " + name + ": out of order");
      for (const std::string& statement : migration.statements) {
        Result<int64_t> changed = session.exec(statement);
        if (!changed.ok())
          return make_error(changed.error().code,
                            "migrate " + name + " version " + std::to_string(migration.version) +
                                " (" + migration.description + "): " + changed.error().context);
      }
      const Value row[] = {name, migration.version, migration.description};
      FOLIO_TRY(session.exec(
          "INSERT INTO schema_migrations (component, version, description) VALUES (?, ?, ?)", row));
      return ok_status();
    });
    FOLIO_TRY(status);
  }
  if (migrations.empty()) {
    // Still refuse a database newer than code that knows no migrations for the component.
    const Value key[] = {name};
    FOLIO_ASSIGN_OR_RETURN(
        Rows rows, database.query("SELECT COUNT(*) FROM schema_migrations WHERE component = ?", key));
    if (!rows.empty() && !rows[0].is_null(0) && rows[0].integer(0) > 0)
      return make_error(ErrorCode::kConflict,
                        "migrate " + name + ": the database has migrations this code does not know");
  }
  return ok_status();
}

}  // namespace folio::storage
