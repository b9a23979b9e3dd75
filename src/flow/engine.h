// FlowEngine: runs a node's flows durably (ARCHITECTURE.md section 4, docs/flows.md).
//
// The engine starts registered flows, answers sessions that peers initiate with the registered
// responders, and makes every flow survive restarts by JOURNALLED REPLAY: each value a flow obtains
// from outside (a received message, a wake-up, the time, a random number, a recorded read) is
// appended to its journal; at each suspension the new journal rows, the flow's database writes and
// its outgoing messages (the outbox) commit in ONE transaction, and only then are the messages
// handed to the Transport. Group commit: the steps of every flow runnable in the same turn (and
// the messages delivered with them) share that transaction, each step a savepoint of its own. After a crash, `resume_all` re-runs each unfinished flow from its start
// with the journal supplying the recorded values (sending nothing it already sent), then lets it
// continue live, and re-sends the outbox. Message ids are deterministic and receivers keep the ids
// they processed, so a message delivered twice is processed once.
//
// A flow that returns an error, throws, or diverges from its journal goes to the HOSPITAL (kept,
// with its error text) rather than being lost: an operator lists, retries (replay from the journal)
// or kills it. A flow that fails by its own error or exception, or is killed, sends each session
// still open a durable failure end (wire::Kind::kFailed, a safe reason, in the transaction that
// records the failure), so a counterparty's receive fails with SessionEnd::kCounterpartyFailed
// instead of waiting for an operator; a flow that cannot run (divergence, a failed write, a lost
// transaction) leaves its sessions open, as a retry can still continue them. Draining mode refuses new flows and new
// sessions from peers and reports when the running flows have finished.
//
// Typical use (a node, or a test with MemoryNetwork):
//   FlowRegistry registry;  registry.register_flow<Ping>();  registry.register_responder<Pong>(Ping::kName);
//   auto engine = FlowEngine::open(db, transport, registry, clock, {});   // migrates, attaches
//   (*engine)->resume_all();
//   auto handle = (*engine)->start(Ping{"O=Bob", 7});
//   ... pump the transport, call tick() as time passes ...
//   std::optional<Result<uint64_t>> r = (*engine)->result<uint64_t>(handle->id);
//
// Ownership: the engine borrows the database, transport, registry and clock, which must outlive it;
// it sets the transport's handlers on open and clears them on destruction. Single-threaded: the
// node's event loop (or a test) makes every call, and transport handlers must run on that thread.
// No threads inside.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "flow/clock.h"
#include "flow/context.h"
#include "flow/flow.h"
#include "flow/registry.h"
#include "net/transport.h"
#include "storage/database.h"

namespace folio::flow {

namespace tables {
struct FlowRow;
struct JournalRow;
struct InboxRow;
struct SessionRow;
}

enum class FlowStatus : uint8_t {
  kRunning = 0,       // runnable or suspended, waiting for a message or a timer
  kHospitalised = 1,  // failed; kept with its error until retried or killed
  kCompleted = 2,
  kKilled = 3,
};
std::string_view to_string(FlowStatus status);

struct FlowInfo {
  FlowId id;
  std::string name;
  FlowStatus status;
  std::string error;                   // hospitalised or killed: why
  std::vector<ProgressStep> progress;  // empty unless the flow's frame is in memory
  bool resident = false;               // its coroutine frame is in memory
};

struct FlowHandle {
  FlowId id;
};

// Fault points for crash tests (FoundationDB style): the hook is asked at each; returning true
// makes the engine stop dead there, as a process crash would, until it is destroyed.
enum class FaultPoint : uint8_t {
  kAfterCommitBeforeSend,  // a group of steps committed, their messages not yet handed over
  // The steps of a group ran in its transaction, which has not committed: stopping here loses the
  // whole transaction, as a crash would. Asked only with FlowEngineOptions::fault_before_commit,
  // and only for groups that store no received messages (whose dispositions a crash never sends).
  kBeforeCommit,
};

struct FlowEngineOptions {
  // Largest payload a flow may send in one message.
  size_t payload_bytes_max = 1u << 20;
  // Most messages waiting, unconsumed, for one flow: a peer that sends more (far ahead of what the
  // flow has read) has the rest rejected, so it cannot fill the node's disk through one session.
  int64_t inbox_messages_max = 1024;
  // Most responder flows one peer may have here at once (running or hospitalised): a session it
  // opens beyond that is refused (kLimitExceeded, "session rejected: ..."), so one peer cannot
  // fill the node with flows. 0: no cap.
  int64_t responders_per_peer_max = 10'000;
  // Destroy a flow's coroutine frame when it suspends, keeping only a small record, and rebuild it
  // by replay when its message or timer arrives: memory then grows with running flows, not with
  // suspended ones.
  bool evict_suspended = false;
  // What flows reach through FlowContext::service<T>(); not owned.
  const Services* services = nullptr;
  // Mixed into the ids of flows started here (so two test engines with one name differ).
  uint64_t id_salt = 0;
  // Most flow steps in one group commit (one database transaction; docs/flows.md).
  size_t group_steps_max = 1024;
  // Observers. They must not call back into the engine (on_progress runs inside a flow's step
  // transaction).
  std::function<void(std::string_view line)> log;
  std::function<void(const FlowId&, const std::vector<ProgressStep>&)> on_progress;
  std::function<void(const FlowId&, const Result<Bytes>&)> on_completed;
  std::function<bool(FaultPoint)> fault;
  // Also ask `fault` at FaultPoint::kBeforeCommit (older hooks count every call as a commit).
  bool fault_before_commit = false;
  // Called once, when draining and the last running flow has finished.
  std::function<void()> on_drained;
};

struct FlowEngineStats {
  uint64_t steps_committed = 0;  // suspension and completion steps committed
  uint64_t messages_accepted = 0;
  uint64_t duplicates = 0;
  // For a flow that had ended: late, or a duplicate whose mark went with the flow; turned away.
  uint64_t messages_after_end = 0;
  uint64_t messages_rejected = 0;  // malformed or foreign-topic messages from peers
  uint64_t sessions_rejected = 0;  // initiations for unregistered flows, while draining, or capped
  uint64_t replays = 0;            // frames rebuilt from a journal
  uint64_t group_commits = 0;      // transactions that committed steps (each one or more)
  uint64_t failure_ends_sent = 0;  // failure ends committed for counterparties (fails, kills)
  uint64_t failure_ends_received = 0;  // counterparties' failure ends stored for a flow
};

class FlowEngine {
 public:
  // Runs the engine's migrations (component "flow") and attaches to the transport. Does not resume
  // anything: call resume_all().
  static Result<std::unique_ptr<FlowEngine>> open(storage::Database& db, net::Transport& transport,
                                                  const FlowRegistry& registry, Clock& clock,
                                                  FlowEngineOptions options = {});
  ~FlowEngine();
  FlowEngine(const FlowEngine&) = delete;
  FlowEngine& operator=(const FlowEngine&) = delete;

  // Re-runs unfinished flows from their journals and re-sends the outbox; call once after open.
  // With evict_suspended, a suspended flow is rebuilt only when its message or timer arrives.
  Status resume_all();

  // Starts the registered flow `name` with canonical-encoded `args`. Errors: kNotFound (not
  // registered), kMalformed (args), kUnsupported (draining), storage errors. The flow's row
  // commits with its first step; when start() returns (starts not held) both have committed.
  Result<FlowHandle> start(std::string_view name, Bytes args);
  template <class F>
  Result<FlowHandle> start(const F& flow) {
    return start(F::kName, codec::encode_to_bytes(flow));
  }

  // Holds steps: flows started (and messages stored) while held take their first steps together,
  // in one group commit, at the matching release(). A flow started while held is durable only
  // once released. Nests.
  void hold();
  void release();

  // Transport entry points (open() installs them as the transport's handlers; a node that
  // multiplexes topics calls them itself).
  net::Disposition on_message(const net::Envelope& envelope);
  void on_outcome(const net::MessageId& id, net::Disposition disposition);
  // A batch of messages (a transport that delivers in batches): all are stored, and the flows
  // they make runnable take their steps, in ONE transaction (the group commit, docs/flows.md).
  // One disposition per envelope, final once that transaction has committed.
  std::vector<net::Disposition> on_messages(std::span<const net::Envelope> envelopes);
  // A batch of outcomes: the acknowledged messages leave the outbox in one transaction.
  void on_outcomes(std::span<const std::pair<net::MessageId, net::Disposition>> outcomes);

  // Wakes flows whose sleep has ended by the clock's current time.
  void tick();
  // Ends the pending sleep of each flow of `ids` now, as if its deadline had passed (its timer
  // becomes due), then runs what is due like tick(): for a flow polling for something that has
  // just arrived (external.h), which then polls at once instead of after its interval. The sleep's
  // wake is journalled as usual, so a replay is unchanged. Harmless for a flow that is not
  // sleeping (receiving, already runnable), finished, hospitalised or unknown; an evicted sleeper
  // is rebuilt from its journal and woken. Only the in-memory timer moves: after a restart the
  // flow sleeps to its stored deadline.
  void wake(std::span<const FlowId> ids);

  // nullopt while the flow runs; its encoded result, or its error once it is hospitalised or
  // killed; kNotFound for an unknown id.
  std::optional<Result<Bytes>> result(const FlowId& id) const;
  template <class R>
  std::optional<Result<R>> result(const FlowId& id) const {
    auto raw = result(id);
    if (!raw) return std::nullopt;
    if (!raw->ok()) return Result<R>(raw->error());
    return codec::decode_from_bytes<R>(raw->value());
  }

  std::vector<FlowInfo> flows() const;
  std::optional<FlowInfo> flow(const FlowId& id) const;

  // Hospital. REQUIRES nothing: unknown ids and wrong states are errors (kNotFound, kConflict).
  std::vector<FlowInfo> hospitalised() const;
  Status retry(const FlowId& id);
  // Ends a running or hospitalised flow; each of its sessions gets a failure end ("flow killed:
  // reason", which the counterparty sees: no secrets in it), durably and once.
  Status kill(const FlowId& id, std::string reason = "killed by the operator");

  // Draining mode: refuse new flows and new sessions from peers; running flows finish.
  void drain();
  bool draining() const { return draining_; }
  // True when draining and no flow is running (hospitalised flows do not hold a drain up).
  bool drained() const;

  // Drops a completed or killed flow's in-memory record (its row stays in the database); a node
  // calls it once a client has collected the result, so finished flows cost no memory.
  Status forget(const FlowId& id);

  size_t resident_frames() const;
  // Responder flows initiated by `peer` that are running or hospitalised.
  int64_t responders_of(const std::string& peer) const;
  const FlowEngineStats& stats() const { return stats_; }
  const std::string& self() const { return transport_.self(); }
  // True once a fault hook stopped the engine.
  bool crashed() const { return crashed_; }

 private:
  friend class FlowContext;

  struct Live;
  struct Record {
    std::string name;
    FlowStatus status = FlowStatus::kRunning;
    std::string error;
    std::optional<Bytes> result;
    std::optional<int64_t> wake_at_ms;
    // wake() ended its sleep early: its next step resumes the sleep whatever the clock says.
    bool woken = false;
    int64_t checkpoints = 0;  // as loaded at open; only tells whether the flow ever suspended
    std::string peer;         // responders: the peer that initiated it (counted in responders_)
    std::unique_ptr<Live> live;
    // Started and not yet stored: the row its first step's transaction inserts.
    std::unique_ptr<tables::FlowRow> unsaved;
  };
  // What a step that committed in a group leaves to do once the group's transaction has.
  struct StepOutcome {
    FlowId id;
    bool done = false;
    Bytes result;
    std::optional<int64_t> wake_at;
    std::vector<net::Envelope> messages;
  };

  FlowEngine(storage::Database& db, net::Transport& transport, const FlowRegistry& registry,
             Clock& clock, FlowEngineOptions options);

  Status load_records();
  Status rebuild(const FlowId& id, Record& record, storage::Session& tx);
  // The frame of a flow from its row, journal and waiting messages.
  Status build(const FlowId& id, Record& record, const tables::FlowRow& row,
               std::vector<tables::JournalRow> journal, std::vector<tables::InboxRow> inbox);
  void schedule(const FlowId& id);
  void pump();
  // One transaction: `prelude` (may be null), then the steps of up to group_steps_max runnable
  // flows (none unless `with_steps`); after COMMIT their messages and `also_send` are handed over.
  Status group_commit(const std::function<Status(storage::Session&)>& prelude, bool with_steps,
                      std::vector<net::Envelope>* also_send);
  Status step_in_group(const FlowId& id, storage::Session& tx, std::vector<StepOutcome>& outcomes,
                       std::vector<FlowId>& inserted);
  // `failed`: the flow failed by its own error or exception (its frame is still in `record`):
  // its open sessions get failure ends, inside the same unit as its hospitalisation.
  Status hospitalise_in(const FlowId& id, Record& record, const Error& error,
                        storage::Session& tx, bool failed = false);
  // Queues (in `tx`) the failure end of each of `sessions` for flow `id`; the envelopes to hand
  // over after the commit go to `out`.
  Status end_sessions(const FlowId& id, const std::vector<tables::SessionRow>& sessions,
                      const Error& reason, storage::Session& tx, std::vector<net::Envelope>& out);
  void hospitalise(const FlowId& id, Record& record, const Error& error);
  void hand_over(std::vector<net::Envelope> messages);
  void send_failed(const net::Envelope& envelope, const Error& error);
  void set_timer(const FlowId& id, Record& record, std::optional<int64_t> wake_at_ms);
  // Counts a responder in or out of responders_ (a no-op for flows started here).
  void count_responder(const Record& record, int64_t delta);
  void log(std::string_view line) const;
  uint64_t random();
  FlowInfo info(const FlowId& id, const Record& record) const;

  storage::Database& db_;
  net::Transport& transport_;
  const FlowRegistry& registry_;
  Clock& clock_;
  FlowEngineOptions options_;

  std::map<FlowId, Record> records_;
  std::set<std::pair<int64_t, FlowId>> timers_;
  // Per peer: its responder flows here that are running or hospitalised (the per-peer cap).
  std::map<std::string, int64_t> responders_;
  std::deque<FlowId> ready_;
  // Failure ends queued by the current group's transaction, handed over once it has committed.
  std::vector<net::Envelope> failure_ends_;
  std::set<FlowId> queued_;
  bool pumping_ = false;
  int held_ = 0;  // hold() depth
  bool legacy_processed_ = true;  // flow_processed (schema version 1) has rows
  bool resumed_ = false;
  bool draining_ = false;
  bool drained_reported_ = false;
  bool crashed_ = false;
  uint64_t next_number_ = 1;
  uint64_t random_state_ = 0;
  FlowEngineStats stats_;
};

}  // namespace folio::flow
