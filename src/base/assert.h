// FOLIO_ASSERT: the check for broken invariants, on in every build type.
//
// A failed assertion is a bug in Folio, never a reaction to bad input: input from a peer, a client,
// a contract or a file is validated at the boundary and rejected with a Result (STYLE.md, "Three
// kinds of failure"). On failure the process prints where and what, then aborts.
#pragma once

namespace folio::base {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line);
}  // namespace folio::base

#define FOLIO_ASSERT(condition)                                        \
  do {                                                                 \
    if (!(condition)) [[unlikely]]                                     \
      ::folio::base::assertion_failed(#condition, __FILE__, __LINE__); \
  } while (false)
