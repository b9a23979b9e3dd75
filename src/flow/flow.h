// Flow<T>: the C++20 coroutine type of flows and sub-flows (docs/flows.md).
//
// A function returning Flow<T> is a coroutine that finishes with `co_return value;` or
// `co_return make_error(...);`; awaiting it gives a Result<T>. Flows start suspended and run only
// when awaited (a sub-flow or helper) or when the FlowEngine resumes them (a root flow). Awaiting
// uses symmetric transfer, so nesting depth does not grow the native stack.
//
// An exception that escapes a flow body becomes an error Result (kInternal) of that flow, never a
// crash of the node: the FlowEngine then sends the flow to the hospital.
//
// FOLIO_CO_TRY / FOLIO_CO_ASSIGN_OR_RETURN are the coroutine forms of FOLIO_TRY and
// FOLIO_ASSIGN_OR_RETURN (a coroutine cannot `return`).
//
// Move-only; destroying a Flow destroys its coroutine frame and, through it, any sub-flow it is
// waiting on. Not thread-safe.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "base/result.h"

namespace folio::flow {

template <class T>
class [[nodiscard]] Flow {
 public:
  using value_type = T;

  struct promise_type {
    std::optional<Result<T>> result;
    std::coroutine_handle<> continuation = std::noop_coroutine();

    Flow get_return_object() {
      return Flow(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    void return_value(Result<T> value) { result.emplace(std::move(value)); }
    void unhandled_exception() {
      try {
        throw;
      } catch (const std::exception& e) {
        result.emplace(make_error(ErrorCode::kInternal, std::string("exception: ") + e.what()));
      } catch (...) {
        result.emplace(make_error(ErrorCode::kInternal, "exception of unknown type"));
      }
    }
  };

  Flow(Flow&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Flow& operator=(Flow&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Flow(const Flow&) = delete;
  Flow& operator=(const Flow&) = delete;
  ~Flow() { reset(); }

  // Awaiting a Flow runs it to completion as a child of the awaiting coroutine.
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
    handle_.promise().continuation = parent;
    return handle_;
  }
  Result<T> await_resume() {
    FOLIO_ASSERT(handle_ && handle_.done() && handle_.promise().result.has_value());
    return std::move(*handle_.promise().result);
  }

  // For the engine, which drives a root flow directly.
  std::coroutine_handle<promise_type> handle() const { return handle_; }
  bool done() const { return handle_ && handle_.done(); }

 private:
  explicit Flow(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  void reset() {
    if (handle_) {
      handle_.destroy();
      handle_ = {};
    }
  }

  std::coroutine_handle<promise_type> handle_;
};

}  // namespace folio::flow

// FOLIO_CO_TRY(expr): evaluates a Status-like expression; on failure the coroutine co_returns it.
#define FOLIO_CO_TRY(expr)                                               \
  do {                                                                   \
    auto folio_co_try_result_ = (expr);                                  \
    if (!folio_co_try_result_.ok()) co_return folio_co_try_result_.error(); \
  } while (false)

// FOLIO_CO_ASSIGN_OR_RETURN(lhs, expr): lhs = value of expr, or co_return its error.
#define FOLIO_CO_ASSIGN_OR_RETURN(lhs, expr) \
  FOLIO_CO_ASSIGN_OR_RETURN_IMPL_(FOLIO_CONCAT_(folio_co_result_, __LINE__), lhs, expr)
#define FOLIO_CO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) co_return tmp.error();                 \
  lhs = std::move(tmp).value()
