// Row accessors of database.h, and the default Session::unit.
#include "storage/database.h"

#include "base/assert.h"

namespace folio::storage {

int64_t Row::integer(size_t i) const {
  const auto* v = std::get_if<int64_t>(&values.at(i));
  FOLIO_ASSERT(v != nullptr);
  return *v;
}

double Row::real(size_t i) const {
  const auto* v = std::get_if<double>(&values.at(i));
  FOLIO_ASSERT(v != nullptr);
  return *v;
}

const std::string& Row::text(size_t i) const {
  const auto* v = std::get_if<std::string>(&values.at(i));
  FOLIO_ASSERT(v != nullptr);
  return *v;
}

const Bytes& Row::blob(size_t i) const {
  const auto* v = std::get_if<Bytes>(&values.at(i));
  FOLIO_ASSERT(v != nullptr);
  return *v;
}

Result<Status> Session::unit(const std::function<Status(Session&)>& fn) {
  Status status = fn(*this);
  if (status.ok()) return Status(ok_status());
  return make_error(status.error().code,
                    "this session cannot undo a failed unit: " + status.error().context);
}

}  // namespace folio::storage
