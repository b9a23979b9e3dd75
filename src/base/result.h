// Result<T>: the return type of operations that can fail in expected ways.
//
// A Result holds either a value or an Error (a code plus human-readable context). It is
// [[nodiscard]], so a dropped error is a compile error under -Werror. std::expected is C++23; this
// is the small subset Folio needs. Value semantics; not thread-safe beyond that of T.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace folio {

enum class ErrorCode {
  kInvalidArgument,  // the caller passed something that can never work
  kMalformed,        // bytes that do not decode canonically
  kLimitExceeded,    // a size, count or depth bound was passed
  kNotFound,
  kConflict,
  kVerification,  // a signature, proof or contract rejected the input
  kUnsupported,
  kIo,
  kTimeout,
  kInternal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string context;

  // "malformed: at byte 12: non-minimal ULEB128"
  std::string message() const;
};

inline Error make_error(ErrorCode code, std::string context) {
  return Error{code, std::move(context)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & {
    FOLIO_ASSERT(ok());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    FOLIO_ASSERT(ok());
    return std::get<0>(storage_);
  }
  T&& value() && {
    FOLIO_ASSERT(ok());
    return std::get<0>(std::move(storage_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok()
  const Error& error() const {
    FOLIO_ASSERT(!ok());
    return std::get<1>(storage_);
  }

 private:
  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    FOLIO_ASSERT(!ok_);
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace folio

// FOLIO_TRY(expr): evaluates a Result<void>-like expression and returns its error if it failed.
#define FOLIO_TRY(expr)                                            \
  do {                                                             \
    auto folio_try_result_ = (expr);                               \
    if (!folio_try_result_.ok()) return folio_try_result_.error(); \
  } while (false)

#define FOLIO_CONCAT_INNER_(a, b) a##b
#define FOLIO_CONCAT_(a, b) FOLIO_CONCAT_INNER_(a, b)

// FOLIO_ASSIGN_OR_RETURN(lhs, expr): lhs = value of expr, or return its error.
#define FOLIO_ASSIGN_OR_RETURN(lhs, expr) \
  FOLIO_ASSIGN_OR_RETURN_IMPL_(FOLIO_CONCAT_(folio_result_, __LINE__), lhs, expr)
#define FOLIO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
