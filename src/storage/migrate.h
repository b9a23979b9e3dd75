// The backend-independent part of Database::migrate (database.h), shared by both implementations.
// Not part of the public interface: call Database::migrate.
#pragma once

#include <span>
#include <string_view>

#include "storage/database.h"

namespace folio::storage {

// Creates schema_migrations if needed, checks the given migrations are numbered 1..n without gaps
// (kInvalidArgument otherwise) and that the database is not newer than them (kConflict), then
// applies each missing migration in its own transaction together with its schema_migrations row.
Status run_migrations(Database& database, std::string_view component,
                      std::span<const Migration> migrations);

}  // namespace folio::storage
