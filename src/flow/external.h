// External operations: how a flow awaits, durably, work done outside the flow engine (a sharded
// notary's S-BAC run, a payment rail, ...): `co_await await_external<T>(ctx, kind, key, request)`.
//
//   - The operation's id is derived from the flow id, `kind` and `key` (external_operation_id), so
//     a replayed or retried flow names the same operation.
//   - ExternalOperations (an engine service, FlowEngineOptions::services) starts it once per
//     process through the starter registered for `kind`, handing it the id, the request and a
//     Completion; the outcome may arrive on any thread and is only stored (thread-safe).
//   - The flow polls between journalled sleeps (ExternalPolicy: steady, then growing): each poll
//     is a journalled read (ctx.record), so the outcome, once seen, is in the flow's journal like
//     a received message, and a replay after a crash uses it. A crash before the outcome was
//     journalled replays the polls and, live again, starts the operation again under the same
//     id: OPERATIONS MUST BE IDEMPOTENT per id.
//   - Wake-ups: while it awaits, the flow is registered as the operation's watcher (in memory).
//     When the outcome is stored (any thread) the operation is queued and the on_complete hook
//     wakes the engine's thread, which passes take_wakes() to FlowEngine::wake: the flow's poll
//     sleep ends at once and its next poll reads the outcome, so the added latency is one turn of
//     the loop instead of up to a poll interval. Polling stays the fallback (after a restart, or
//     for a wake that finds the flow not sleeping); a wake changes nothing in the journal.
//
// Threading: an ExternalOperations is shared between the engine's thread and the threads that
// complete operations. Every member takes its mutex. watch, unwatch and take_wakes are called
// on the engine's thread only (from flows and from the loop), never the engine itself from a
// completing thread.
//   - An outcome is a Result<Bytes>: an error comes back as the same ErrorCode and text; a value is
//     decoded strictly as T (a malformed one is kMalformed).
//
// Built on sleep and record (plus FlowEngine::wake), so it works with frame eviction and with any
// engine that honours the determinism rule. The cost is one journal entry pair per poll.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "flow/context.h"
#include "flow/flow.h"

namespace folio::flow {

using OperationId = crypto::Hash256;

inline OperationId external_operation_id(const FlowId& flow, std::string_view kind, ByteView key) {
  crypto::Sha256 h;
  std::string_view tag = "folio.flow.external.v1";
  h.update(ByteView(reinterpret_cast<const uint8_t*>(tag.data()), tag.size()));
  h.update(flow.view());
  uint8_t kind_size = static_cast<uint8_t>(std::min<size_t>(kind.size(), 255));
  h.update(ByteView(&kind_size, 1));
  h.update(ByteView(reinterpret_cast<const uint8_t*>(kind.data()), kind_size));
  h.update(key);
  return h.finish();
}

class ExternalOperations {
 public:
  // Stores an operation's outcome; callable from any thread, any number of times (the first wins).
  using Completion = std::function<void(Result<Bytes>)>;
  using Starter = std::function<void(const OperationId&, const Bytes& request, Completion done)>;

  // Registers the starter of `kind` (before flows run). kConflict if `kind` has one.
  Status add(std::string kind, Starter starter) {
    std::lock_guard lock(mutex_);
    if (!starters_.emplace(std::move(kind), std::move(starter)).second)
      return make_error(ErrorCode::kConflict, "external operation kind registered twice");
    return ok_status();
  }

  // Starts operation `id` of `kind` unless it is running or finished in this process.
  // kNotFound for an unregistered kind.
  Status start(const std::string& kind, const OperationId& id, const Bytes& request) {
    Starter starter;
    {
      std::lock_guard lock(mutex_);
      auto it = starters_.find(kind);
      if (it == starters_.end())
        return make_error(ErrorCode::kNotFound, "no external operation of kind '" + kind + "'");
      if (!operations_.emplace(id, std::nullopt).second) return ok_status();  // attach
      ++started_;
      starter = it->second;
    }
    starter(id, request, [this, id](Result<Bytes> outcome) { complete(id, std::move(outcome)); });
    return ok_status();
  }

  // Stores the outcome of `id` (also for an id this process did not start: a restarted
  // operation's completion may race its start). Thread-safe.
  void complete(const OperationId& id, Result<Bytes> outcome) {
    std::function<void()> notify;
    {
      std::lock_guard lock(mutex_);
      auto& slot = operations_[id];
      if (slot.has_value()) return;  // the first outcome wins
      slot = std::move(outcome);
      // A flow awaits it: its wake is queued for the engine's thread (take_wakes).
      if (watchers_.count(id) != 0) arrived_.push_back(id);
      finished_.push_back(id);
      while (finished_.size() > kOutcomesMax) {
        operations_.erase(finished_.front());
        finished_.pop_front();
      }
      notify = on_complete_;
    }
    if (notify) notify();
  }

  std::optional<Result<Bytes>> outcome(const OperationId& id) const {
    std::lock_guard lock(mutex_);
    auto it = operations_.find(id);
    if (it == operations_.end()) return std::nullopt;
    return it->second;
  }

  // Flow `flow` awaits operation `id` (await_external, on the engine's thread): an outcome
  // stored from now on queues its wake. Idempotent. When kWatchersMax operations are watched the
  // flow is not registered and simply polls (a bound on what flows that never finish can leave).
  void watch(const OperationId& id, const FlowId& flow) {
    std::lock_guard lock(mutex_);
    if (watchers_.size() >= kWatchersMax && watchers_.count(id) == 0) return;
    watchers_[id] = flow;
  }
  // The flow has stopped awaiting `id` (it read the outcome, or failed): a wake still queued for
  // it is dropped, so it cannot cut short a later, unrelated sleep of that flow.
  void unwatch(const OperationId& id) {
    std::lock_guard lock(mutex_);
    watchers_.erase(id);
  }
  // On the engine's thread: the flows still awaiting an operation whose outcome was stored since
  // the last call, each once (its watch ends here; the flow's next poll reads the outcome). Pass
  // them to FlowEngine::wake.
  std::vector<FlowId> take_wakes() {
    std::lock_guard lock(mutex_);
    std::vector<FlowId> flows;
    for (const OperationId& id : arrived_) {
      auto it = watchers_.find(id);
      if (it == watchers_.end()) continue;
      flows.push_back(it->second);
      watchers_.erase(it);
    }
    arrived_.clear();
    return flows;
  }
  size_t watched() const {
    std::lock_guard lock(mutex_);
    return watchers_.size();
  }

  // Called (on the completing thread) after each outcome is stored, outside the mutex: e.g. to
  // wake the event loop, which then calls take_wakes.
  void set_on_complete(std::function<void()> notify) {
    std::lock_guard lock(mutex_);
    on_complete_ = std::move(notify);
  }
  uint64_t started() const {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  static constexpr size_t kOutcomesMax = 100'000;
  static constexpr size_t kWatchersMax = 100'000;
  mutable std::mutex mutex_;
  std::map<OperationId, FlowId> watchers_;  // operation -> the flow awaiting it
  // Watched operations whose outcome arrived since the last take_wakes (at most one entry per
  // watched operation: the first outcome wins).
  std::vector<OperationId> arrived_;
  std::map<std::string, Starter> starters_;
  std::map<OperationId, std::optional<Result<Bytes>>> operations_;
  std::deque<OperationId> finished_;
  std::function<void()> on_complete_;
  uint64_t started_ = 0;
};

// Polls every first_ms for the first steady_polls polls (most operations finish by then: the added
// latency is at most first_ms), then at doubling intervals up to max_ms (a long wait costs few
// journal entries).
struct ExternalPolicy {
  int64_t first_ms = 10;
  uint64_t steady_polls = 10;
  int64_t max_ms = 100;
  uint64_t polls_max = 1'000'000;
};

namespace internal {
// One poll, as journalled.
struct ExternalPoll {
  bool done = false;
  bool ok = false;
  uint8_t code = 0;
  std::string text;
  Bytes value;
  FOLIO_FIELDS(done, ok, code, text, value)
};
}  // namespace internal

namespace internal {
// The polling loop of await_external: the operation's outcome as stored (its value, or its error
// with the same code and text), or the engine's error (a failed sleep or record).
inline Flow<Bytes> poll_external(FlowContext& ctx, ExternalOperations& operations,
                                 std::string kind, OperationId id, Bytes request,
                                 ExternalPolicy policy) {
  bool started = false;
  int64_t delay_ms = std::max<int64_t>(1, policy.first_ms);
  for (uint64_t poll = 0; poll < policy.polls_max; ++poll) {
    if (!started && !ctx.replaying()) {
      FOLIO_CO_TRY(operations.start(kind, id, request));
      started = true;
    }
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(delay_ms)));
    if (poll + 1 >= policy.steady_polls)
      delay_ms = std::min(delay_ms * 2, std::max<int64_t>(delay_ms, policy.max_ms));
    std::function<Result<ExternalPoll>(storage::Session&)> read =
        [&operations, &id](storage::Session&) -> Result<ExternalPoll> {
      ExternalPoll out;
      std::optional<Result<Bytes>> outcome = operations.outcome(id);
      if (!outcome) return out;
      out.done = true;
      out.ok = outcome->ok();
      if (outcome->ok()) {
        out.value = outcome->value();
      } else {
        out.code = static_cast<uint8_t>(outcome->error().code);
        out.text = outcome->error().context;
      }
      return out;
    };
    FOLIO_CO_ASSIGN_OR_RETURN(ExternalPoll outcome, ctx.record(read));
    if (!outcome.done) continue;
    if (!outcome.ok) {
      ErrorCode code = outcome.code <= static_cast<uint8_t>(ErrorCode::kInternal)
                           ? static_cast<ErrorCode>(outcome.code)
                           : ErrorCode::kInternal;
      co_return make_error(code, outcome.text);
    }
    co_return std::move(outcome.value);
  }
  co_return make_error(ErrorCode::kTimeout, "external operation '" + kind + "' did not finish");
}
}  // namespace internal

// Awaits operation (flow, kind, key) started with `request`; see the header comment. Pass named
// values (GCC 12: no brace-initialised temporaries in a co_await expression).
template <class T>
Flow<T> await_external(FlowContext& ctx, std::string kind, Bytes key, Bytes request,
                       ExternalPolicy policy = {}) {
  ExternalOperations* operations = ctx.service<ExternalOperations>();
  if (operations == nullptr)
    co_return make_error(ErrorCode::kUnsupported, "this node has no external operations");
  const OperationId id = external_operation_id(ctx.id(), kind, key);
  // Watched before the start, so an outcome that arrives at once still wakes the flow; the watch
  // ends in the step that reads the outcome (or fails), never at a suspension: an evicted frame
  // stays watched and is rebuilt when woken.
  operations->watch(id, ctx.id());
  Result<Bytes> outcome =
      co_await internal::poll_external(ctx, *operations, kind, id, request, policy);
  operations->unwatch(id);
  if (!outcome.ok()) co_return outcome.error();
  auto decoded = codec::decode_from_bytes<T>(outcome.value());
  if (!decoded.ok())
    co_return make_error(ErrorCode::kMalformed,
                         "external operation '" + kind + "': " + decoded.error().message());
  co_return std::move(decoded).value();
}

}  // namespace folio::flow
