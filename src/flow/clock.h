// Clock: where the flow engine reads time (sleeps, FlowContext::now_ms). Milliseconds since the
// Unix epoch. The node passes a SystemClock; tests and the simulator a ManualClock they advance.
// Flows never read a Clock directly: FlowContext::now_ms journals what it read (docs/flows.md).
// Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/assert.h"

namespace folio::flow {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_ms_(start_ms) {}
  int64_t now_ms() const override { return now_ms_; }
  // REQUIRES: ms >= 0
  void advance(int64_t ms) {
    FOLIO_ASSERT(ms >= 0);
    now_ms_ += ms;
  }

 private:
  int64_t now_ms_;
};

}  // namespace folio::flow
