// Clock: where a notary reads the time it checks time windows against. Injected, so tests and the
// simulator decide what time it is; SystemClock reads the host's UTC clock for a real node.
//
// Implementations are thread-safe for concurrent calls of now().
#pragma once

#include <atomic>

#include "ledger/state.h"

namespace folio::notary {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (ledger::Timestamp).
  virtual ledger::Timestamp now() const = 0;
};

// The host's wall clock (CLOCK_REALTIME).
class SystemClock : public Clock {
 public:
  ledger::Timestamp now() const override;
};

// A clock that moves only when told to: for tests and benchmarks.
class ManualClock : public Clock {
 public:
  explicit ManualClock(ledger::Timestamp start) : micros_(start.value()) {}
  ledger::Timestamp now() const override { return ledger::Timestamp(micros_.load()); }
  void set(ledger::Timestamp t) { micros_.store(t.value()); }
  void advance_micros(int64_t micros) { micros_.fetch_add(micros); }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace folio::notary
