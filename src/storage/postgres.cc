// PostgreSQL implementation of database.h (libpq).
#include "storage/database.h"

namespace folio::storage {

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions&) {
  return make_error(ErrorCode::kUnsupported, "postgres: not implemented yet");
}

}  // namespace folio::storage
