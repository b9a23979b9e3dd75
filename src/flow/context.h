// FlowContext and Session: what a flow sees of the node (docs/flows.md).
//
// A flow is a coroutine `Flow<R> call(FlowContext& ctx)` on a struct registered in a FlowRegistry.
// Through the context it opens sessions with other parties, sends and receives canonical-encoded
// values, runs sub-flows, sleeps, reads the time and random numbers, reads and writes the node's
// database, reports progress and logs:
//
//   struct Ping {
//     static constexpr std::string_view kName = "example.Ping";
//     std::string peer;
//     uint64_t value = 0;
//     FOLIO_FIELDS(peer, value)  // the flow's arguments: how the engine re-creates it
//
//     Flow<uint64_t> call(FlowContext& ctx) {
//       ctx.step("Asking");
//       Session s = ctx.initiate(peer);
//       FOLIO_CO_ASSIGN_OR_RETURN(uint64_t answer, co_await s.send_and_receive<uint64_t>(value));
//       co_return answer;
//     }
//   };
//
// THE DETERMINISM RULE. The engine makes flows durable by journalled replay: after a restart (or
// when an evicted flow wakes) it runs the coroutine again from the start and feeds it, from the
// journal, every value it obtained before. So between two co_awaits a flow must compute only from
// its arguments and the values the context gave it: no clock, no random, no I/O, no reading of
// mutable globals, no iteration over unordered containers whose order reaches a message. Use
// ctx.now_ms(), ctx.random_u64() and ctx.record(...) for anything from outside; they are journalled.
// A replay that asks for something other than what the journal recorded is a divergence: the flow
// goes to the hospital.
//
// Writes: ctx.write(fn) runs fn in the database transaction that commits at the flow's next
// suspension, together with its journal entries and outgoing messages; during replay it does not
// run (that write was committed). Capture by value or by reference to the flow's own locals.
//
// Owned by the FlowEngine, one per running root flow (sub-flows share their parent's). Only valid
// while the flow runs. Not thread-safe.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "codec/codec.h"
#include "crypto/hash.h"
#include "flow/flow.h"
#include "flow/services.h"
#include "flow/wire.h"
#include "net/transport.h"
#include "storage/database.h"

namespace folio::flow {

using FlowId = crypto::Hash256;

// One level of a flow's hierarchical progress: the (sub-)flow's name and its current step.
struct ProgressStep {
  std::string flow;
  std::string step;
  friend bool operator==(const ProgressStep&, const ProgressStep&) = default;
};

class FlowContext;
class FlowEngine;

// The result type of a flow struct F: R for `Flow<R> F::call(FlowContext&)`.
template <class F>
using flow_result_t =
    typename decltype(std::declval<F&>().call(std::declval<FlowContext&>()))::value_type;

// Whether a T&& argument may appear inside a co_await expression. GCC 12 destroys a
// brace-initialised aggregate temporary with a non-trivial destructor twice when it appears in a
// co_await expression (a double free; docs/flows.md), so the context's awaitable calls refuse such
// temporaries at compile time: name the value first (`Offer offer{...}; co_await s.send(offer);`).
template <class T>
inline constexpr bool kSafeInAwait = std::is_lvalue_reference_v<T> ||
                                     !std::is_aggregate_v<std::remove_cvref_t<T>> ||
                                     std::is_trivially_destructible_v<std::remove_cvref_t<T>>;
#define FOLIO_FLOW_CHECK_AWAIT_ARGUMENT(T)                                                     \
  static_assert(::folio::flow::kSafeInAwait<T>,                                                \
                "GCC 12 destroys a brace-initialised temporary in a co_await expression twice: " \
                "put the value in a named variable first (docs/flows.md)")

// How a session ended, as far as the flow has read it (Session::end()). A receive on an ended
// session fails; this says why, so that a flow can handle a counterparty's failure (Corda's
// UnexpectedFlowEndException) rather than parse error text.
enum class SessionEnd : uint8_t {
  kOpen,                // not ended (or the flow has not read its end yet)
  kFinished,            // the counterparty's flow completed: an in-sequence end
  kCounterpartyFailed,  // the counterparty's flow failed (an error, an exception) or was killed
  kRefused,             // refused by the counterparty's node, undeliverable, or closed when this
                        // flow itself failed earlier (a retry finds it closed)
};
std::string_view to_string(SessionEnd end);

// Completes at once: the message is queued in the flow's outbox and leaves after the next commit.
struct [[nodiscard]] SendAwaitable {
  Status status;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  Status await_resume() { return std::move(status); }
};

template <class T>
class [[nodiscard]] ReceiveAwaitable {
 public:
  ReceiveAwaitable(FlowContext* ctx, uint32_t session) : ctx_(ctx), session_(session) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  // The next message of the session decoded strictly as T; a malformed payload, or the
  // counterparty ending, rejecting or failing the session, is an error.
  Result<T> await_resume();

 private:
  FlowContext* ctx_;
  uint32_t session_;
  std::optional<Result<Bytes>> raw_;
};

class [[nodiscard]] SleepAwaitable {
 public:
  SleepAwaitable(FlowContext* ctx, std::optional<int64_t> deadline_ms, Status status)
      : ctx_(ctx), deadline_ms_(deadline_ms), status_(std::move(status)) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h);
  Status await_resume();

 private:
  FlowContext* ctx_;
  std::optional<int64_t> deadline_ms_;
  Status status_;
  bool woke_ = false;
};

// A flow's end of a conversation with one party. A small handle: copy it freely within the flow.
class Session {
 public:
  const std::string& party() const;
  // Why the session ended, once a receive on it has read its end (kOpen until then).
  SessionEnd end() const;

  template <class T>
  SendAwaitable send(T&& value) {
    FOLIO_FLOW_CHECK_AWAIT_ARGUMENT(T);
    return send_encoded(codec::encode_to_bytes(value));
  }
  // `payload` is sent as it is: the receiver decodes it as the type it expects.
  SendAwaitable send_encoded(Bytes payload);

  template <class T>
  ReceiveAwaitable<T> receive() {
    return ReceiveAwaitable<T>(ctx_, index_);
  }

  // Sends `value`, then receives a T. Pass named values or numbers (see sub_flow for why).
  template <class T, class U>
  Flow<T> send_and_receive(U&& value) {
    FOLIO_FLOW_CHECK_AWAIT_ARGUMENT(U);
    return send_and_receive_impl<T, std::remove_cvref_t<U>>(*this, value);
  }

 private:
  friend class FlowContext;
  template <class T, class U>
  static Flow<T> send_and_receive_impl(Session session, U value) {
    FOLIO_CO_TRY(co_await session.send(value));
    co_return co_await session.receive<T>();
  }
  Session(FlowContext* ctx, uint32_t index) : ctx_(ctx), index_(index) {}

  FlowContext* ctx_;
  uint32_t index_;
};

class FlowContext {
 public:
  FlowContext(const FlowContext&) = delete;
  FlowContext& operator=(const FlowContext&) = delete;

  const FlowId& id() const { return id_; }
  // This node's X.500 name.
  const std::string& self() const { return self_; }
  // The registered name of the innermost running (sub-)flow.
  const std::string& flow_name() const { return names_.back(); }
  // True while the flow is being re-run from its journal.
  bool replaying() const { return replaying_; }

  // Opens a session with `party`, answered there by the responder registered for the current
  // (sub-)flow's name. Nothing is sent until the first send or receive.
  Session initiate(std::string party);
  // A responder's session with its initiator. REQUIRES: this flow is a responder.
  Session initiating_session();

  // Runs a sub-flow F (a struct with kName and `Flow<R> call(FlowContext&)`) with its own progress
  // level; sessions it initiates are answered by responders registered for F::kName. Either
  // construct it in place from its fields, or pass a named object:
  //   FOLIO_CO_ASSIGN_OR_RETURN(uint64_t a, co_await ctx.sub_flow<AskDouble>(peer, uint64_t{5}));
  //   AskDouble ask{peer, 5};  co_await ctx.sub_flow(ask);
  // Passing a brace-initialised temporary, `co_await ctx.sub_flow(AskDouble{peer, 5})`, does not
  // compile: GCC 12 destroys such temporaries twice when the co_await suspends (docs/flows.md).
  template <class F, class... Args>
  Flow<flow_result_t<F>> sub_flow(Args&&... args) {
    static_assert((kSafeInAwait<Args> && ...),
                  "GCC 12 destroys a brace-initialised temporary in a co_await expression twice: "
                  "put the value in a named variable first (docs/flows.md)");
    return run_sub_flow<F>(std::make_unique<F>(F{std::forward<Args>(args)...}));
  }
  template <class F>
  Flow<flow_result_t<F>> sub_flow(const F& flow) {
    return run_sub_flow<F>(std::make_unique<F>(flow));
  }
  template <class F>
    requires(!std::is_lvalue_reference_v<F>)
  void sub_flow(F&& temporary) = delete;

  SleepAwaitable sleep(std::chrono::milliseconds duration);

  // Journalled reads of the outside world.
  int64_t now_ms();
  uint64_t random_u64();
  // Runs `read` in the flow's current transaction and journals its result, so a replay sees what
  // the first run saw. T must be encodable with the codec.
  template <class T>
  Result<T> record(const std::function<Result<T>(storage::Session&)>& read);

  // A database write in the flow's current transaction (see the header comment). A failed write
  // rolls back everything since the flow's last suspension and sends the flow to the hospital.
  Status write(const std::function<Status(storage::Session&)>& fn);

  // The node's service of type T (see services.h), or nullptr when the node has none.
  template <class T>
  T* service() const {
    return services_ == nullptr ? nullptr : services_->find<T>();
  }

  // Sets the current step of the innermost (sub-)flow; observers see the whole path.
  void step(std::string label);
  const std::vector<ProgressStep>& progress() const { return progress_; }

  // Logs a line prefixed with the flow id. Silent during replay. Never log payloads or keys.
  void log(std::string_view message);

 private:
  friend class FlowEngine;
  friend class Session;
  template <class T>
  friend class ReceiveAwaitable;
  friend class SleepAwaitable;

  struct SessionState {
    std::string party;
    crypto::Hash256 id;
    bool initiator = false;
    std::string initiating_flow;  // sent with every message from the initiator
    uint64_t send_seq = 0;
    uint64_t receive_seq = 0;
    bool peer_ended = false;  // the counterparty ended, failed or rejected the session
    SessionEnd end = SessionEnd::kOpen;
  };
  struct Inbound {
    wire::Kind kind;
    Bytes payload;
  };
  struct JournalEntry {
    wire::EntryKind kind;
    Bytes value;
  };
  enum class Wait : uint8_t { kNone, kReceive, kWake };
  enum class Replay : uint8_t { kLive, kValue, kDiverged };

  FlowContext(FlowEngine& engine, FlowId id, std::string self, std::string name);

  template <class F>
  Flow<flow_result_t<F>> run_sub_flow(std::unique_ptr<F> flow) {
    enter_sub_flow(std::string(F::kName));
    auto result = co_await flow->call(*this);
    leave_sub_flow();
    co_return result;
  }

  // Engine side.
  bool can_continue(int64_t now_ms) const;
  void add_inbound(const crypto::Hash256& session, uint64_t seq, Inbound message);

  // Awaitable side.
  std::optional<Result<Bytes>> try_receive(uint32_t session);
  void wait_receive(uint32_t session, std::coroutine_handle<> h);
  // The wake of a sleep until `deadline_ms`, or nullopt while it is not yet due. `resumed`: the
  // engine has resumed the sleeper, so it is due whatever the clock now says.
  std::optional<Status> try_wake(int64_t deadline_ms, bool resumed);
  void wait_wake(int64_t deadline_ms, std::coroutine_handle<> h);
  Status send(uint32_t session, wire::Kind kind, Bytes payload);
  const SessionState& session(uint32_t index) const { return sessions_.at(index); }

  Replay replay_next(wire::EntryKind kind, Bytes& value);
  void append(wire::EntryKind kind, Bytes value);
  storage::Session& transaction();
  void fail(Error error);
  void enter_sub_flow(std::string name);
  void leave_sub_flow();
  void progress_changed();

  FlowEngine& engine_;
  const Services* services_ = nullptr;
  FlowId id_;
  std::string self_;
  std::vector<std::string> names_;
  std::vector<ProgressStep> progress_;
  std::vector<SessionState> sessions_;
  uint64_t initiated_ = 0;
  bool responder_ = false;

  std::vector<JournalEntry> journal_;  // recorded entries, consumed by a replay
  size_t cursor_ = 0;
  bool replaying_ = false;
  int64_t journal_length_ = 0;  // the seq of the next appended entry

  std::map<std::pair<crypto::Hash256, uint64_t>, Inbound> inbox_;

  storage::Session* transaction_ = nullptr;  // set while the flow runs
  std::optional<Error> failure_;             // the first failure that poisons this step
  std::vector<net::Envelope> outgoing_;      // sent after the step commits

  Wait wait_ = Wait::kNone;
  uint32_t wait_session_ = 0;
  int64_t wait_deadline_ms_ = 0;
  // Set by the engine for the step of a flow it woke early (FlowEngine::wake): the sleep the flow
  // is in, reached live, ends now. Cleared once that wake is journalled and after the step.
  bool wake_early_ = false;
  std::coroutine_handle<> resume_point_;
};

// ---- Templates ---------------------------------------------------------------------------------

template <class T>
bool ReceiveAwaitable<T>::await_ready() {
  raw_ = ctx_->try_receive(session_);
  return raw_.has_value();
}

template <class T>
void ReceiveAwaitable<T>::await_suspend(std::coroutine_handle<> h) {
  ctx_->wait_receive(session_, h);
}

template <class T>
Result<T> ReceiveAwaitable<T>::await_resume() {
  if (!raw_) raw_ = ctx_->try_receive(session_);
  // The engine resumes a receiving flow only once its message is there (can_continue walks the
  // inbox as try_receive does). What a peer sent decides that, so a miss is an error for the
  // flow, never an assertion.
  if (!raw_) {
    return make_error(ErrorCode::kInternal, "resumed without a message from " +
                                                ctx_->session(session_).party);
  }
  if (!raw_->ok()) return raw_->error();
  auto decoded = codec::decode_from_bytes<T>(raw_->value());
  if (!decoded.ok()) {
    return make_error(ErrorCode::kMalformed, "message from " + ctx_->session(session_).party +
                                                 " does not decode: " + decoded.error().message());
  }
  return std::move(decoded).value();
}

template <class T>
Result<T> FlowContext::record(const std::function<Result<T>(storage::Session&)>& read) {
  Bytes stored;
  switch (replay_next(wire::EntryKind::kRecord, stored)) {
    case Replay::kDiverged:
      return *failure_;
    case Replay::kValue: {
      auto value = codec::decode_from_bytes<wire::RecordedValue>(stored);
      if (!value.ok()) return make_error(ErrorCode::kMalformed, "journal: " + value.error().message());
      if (!value->ok) return make_error(static_cast<ErrorCode>(value->code), value->text);
      return codec::decode_from_bytes<T>(value->value);
    }
    case Replay::kLive:
      break;
  }
  Result<T> result = read(transaction());
  wire::RecordedValue value;
  value.ok = result.ok();
  if (result.ok()) {
    value.value = codec::encode_to_bytes(result.value());
  } else {
    value.code = static_cast<uint8_t>(result.error().code);
    value.text = result.error().context;
  }
  append(wire::EntryKind::kRecord, codec::encode_to_bytes(value));
  return result;
}

}  // namespace folio::flow
