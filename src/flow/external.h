// External operations: how a flow awaits, durably, work done outside the flow engine (a sharded
// notary's S-BAC run, a payment rail, ...): `co_await await_external<T>(ctx, kind, key, request)`.
//
//   - The operation's id is derived from the flow id, `kind` and `key` (external_operation_id), so
//     a replayed or retried flow names the same operation.
//   - ExternalOperations (an engine service, FlowEngineOptions::services) starts it once per
//     process through the starter registered for `kind`, handing it the id, the request and a
//     Completion; the outcome may arrive on any thread and is only stored (thread-safe).
//   - The flow polls between journalled sleeps (ExternalPolicy: steady, then growing): each poll is a journalled read (ctx.record), so the outcome, once seen, is in
//     the flow's journal like a received message, and a replay after a crash uses it. A crash
//     before the outcome was journalled replays the polls and, live again, starts the operation
//     again under the same id: OPERATIONS MUST BE IDEMPOTENT per id.
//   - An outcome is a Result<Bytes>: an error comes back as the same ErrorCode and text; a value is
//     decoded strictly as T (a malformed one is kMalformed).
//
// The engine itself is unchanged: this is built on sleep and record, so it works with frame
// eviction and with any engine that honours the determinism rule. The cost is one journal entry
// pair per poll and up to one poll interval of added latency.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "flow/context.h"

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

  // Called (on the completing thread) after each outcome is stored: e.g. to wake an event loop.
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
  mutable std::mutex mutex_;
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

// Awaits operation (flow, kind, key) started with `request`; see the header comment. Pass named
// values (GCC 12: no brace-initialised temporaries in a co_await expression).
template <class T>
Flow<T> await_external(FlowContext& ctx, std::string kind, Bytes key, Bytes request,
                       ExternalPolicy policy = {}) {
  ExternalOperations* operations = ctx.service<ExternalOperations>();
  if (operations == nullptr)
    co_return make_error(ErrorCode::kUnsupported, "this node has no external operations");
  const OperationId id = external_operation_id(ctx.id(), kind, key);
  bool started = false;
  int64_t delay_ms = std::max<int64_t>(1, policy.first_ms);
  for (uint64_t poll = 0; poll < policy.polls_max; ++poll) {
    if (!started && !ctx.replaying()) {
      FOLIO_CO_TRY(operations->start(kind, id, request));
      started = true;
    }
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(delay_ms)));
    if (poll + 1 >= policy.steady_polls)
      delay_ms = std::min(delay_ms * 2, std::max<int64_t>(delay_ms, policy.max_ms));
    std::function<Result<internal::ExternalPoll>(storage::Session&)> read =
        [operations, &id](storage::Session&) -> Result<internal::ExternalPoll> {
      internal::ExternalPoll out;
      std::optional<Result<Bytes>> outcome = operations->outcome(id);
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
    FOLIO_CO_ASSIGN_OR_RETURN(internal::ExternalPoll outcome, ctx.record(read));
    if (!outcome.done) continue;
    if (!outcome.ok) {
      ErrorCode code = outcome.code <= static_cast<uint8_t>(ErrorCode::kInternal)
                           ? static_cast<ErrorCode>(outcome.code)
                           : ErrorCode::kInternal;
      co_return make_error(code, outcome.text);
    }
    auto decoded = codec::decode_from_bytes<T>(outcome.value);
    if (!decoded.ok())
      co_return make_error(ErrorCode::kMalformed,
                           "external operation '" + kind + "': " + decoded.error().message());
    co_return std::move(decoded).value();
  }
  co_return make_error(ErrorCode::kTimeout, "external operation '" + kind + "' did not finish");
}

}  // namespace folio::flow
