// FlowEngine: scheduling, the step commit, sessions from peers, the hospital (docs/flows.md).
// What operators call (results, listings, retry, kill, drain) is in engine_operators.cc.
#include "flow/engine.h"

#include <algorithm>
#include <random>
#include <tuple>
#include <utility>

#include "flow/engine_live.h"
#include "flow/tables.h"

namespace folio::flow {

std::string_view to_string(FlowStatus status) {
  switch (status) {
    case FlowStatus::kRunning:
      return "running";
    case FlowStatus::kHospitalised:
      return "hospitalised";
    case FlowStatus::kCompleted:
      return "completed";
    case FlowStatus::kKilled:
      return "killed";
  }
  return "unknown";
}

FlowEngine::FlowEngine(storage::Database& db, net::Transport& transport,
                       const FlowRegistry& registry, Clock& clock, FlowEngineOptions options)
    : db_(db), transport_(transport), registry_(registry), clock_(clock),
      options_(std::move(options)) {
  std::random_device device;
  random_state_ = (static_cast<uint64_t>(device()) << 32) ^ device();
}

Result<std::unique_ptr<FlowEngine>> FlowEngine::open(storage::Database& db,
                                                     net::Transport& transport,
                                                     const FlowRegistry& registry, Clock& clock,
                                                     FlowEngineOptions options) {
  FOLIO_TRY(db.migrate("flow", tables::migrations()));
  std::unique_ptr<FlowEngine> engine(
      new FlowEngine(db, transport, registry, clock, std::move(options)));
  int64_t max_number = 0;
  FOLIO_TRY(db.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(max_number, tables::max_flow_number(tx));
    // Nothing adds to version 1's table any more: when it is empty, de-duplication skips it.
    FOLIO_ASSIGN_OR_RETURN(engine->legacy_processed_, tables::any_legacy_processed(tx));
    // Marks written before migration 3 name no flow, so no flow's end deletes them. With no flow
    // live (a node drained for its upgrade) each belongs to a session that has ended: its row
    // turns the message away without the mark (docs/flows.md, "Pruning").
    FOLIO_ASSIGN_OR_RETURN(int64_t live, tables::live_flow_count(tx));
    if (live == 0) FOLIO_TRY(tables::delete_unlabelled_marks(tx));
    return ok_status();
  }));
  engine->next_number_ = static_cast<uint64_t>(max_number) + 1;
  // Every flow's record before the first message can arrive, so that no message is mistaken for
  // one to a finished flow.
  FOLIO_TRY(engine->load_records());
  FlowEngine* self = engine.get();
  transport.set_handler([self](const net::Envelope& e) { return self->on_message(e); });
  transport.set_outcome_handler(
      [self](const net::MessageId& id, net::Disposition d) { self->on_outcome(id, d); });
  return engine;
}

FlowEngine::~FlowEngine() {
  transport_.set_handler({});
  transport_.set_outcome_handler({});
  records_.clear();  // destroys frames while the engine they point to is still whole
}

uint64_t FlowEngine::random() {
  uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void FlowEngine::log(std::string_view line) const {
  if (options_.log) options_.log(line);
}

// ---- Starting and resuming ------------------------------------------------------------------

Result<FlowHandle> FlowEngine::start(std::string_view name, Bytes args) {
  if (crashed_) return make_error(ErrorCode::kUnsupported, "the flow engine has stopped");
  if (draining_) {
    return make_error(ErrorCode::kUnsupported,
                      "node " + self() + " is draining: not starting flow '" + std::string(name) + "'");
  }
  const FlowRegistry::Factory* factory = registry_.find(name);
  if (factory == nullptr) {
    return make_error(ErrorCode::kNotFound, "no flow registered as '" + std::string(name) + "'");
  }
  // Decoding the arguments once here reports bad arguments to the caller, not to the hospital.
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<FlowLogic> probe, (*factory)(args));
  probe.reset();

  auto row = std::make_unique<tables::FlowRow>();
  row->number = static_cast<int64_t>(next_number_);
  row->id = wire::started_flow_id(self(), next_number_, options_.id_salt);
  row->name = std::string(name);
  row->args = std::move(args);
  ++next_number_;
  const FlowId id = row->id;
  Record& record = records_[id];
  record.name = row->name;
  // The flow's row is inserted in the transaction of its first step (the group commit), which
  // runs now, unless starts are held or a step is running (then at the next group).
  // A new flow's frame is built from what is in memory: nothing to read back.
  Status built = build(id, record, *row, {}, {});
  if (!built.ok()) {
    records_.erase(id);
    return built.error();
  }
  record.unsaved = std::move(row);
  log("flow " + id.short_hex() + " " + record.name + ": started");
  schedule(id);
  pump();
  if (!pumping_ && held_ == 0 && !crashed_) {
    auto it = records_.find(id);
    if (it == records_.end())
      return make_error(ErrorCode::kIo, "flow " + id.short_hex() + " could not be stored");
  }
  return FlowHandle{id};
}

void FlowEngine::hold() { ++held_; }

void FlowEngine::release() {
  FOLIO_ASSERT(held_ > 0);
  if (--held_ == 0) pump();
}

Status FlowEngine::load_records() {
  std::vector<tables::FlowRow> rows;
  FOLIO_TRY(db_.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(rows, tables::load_flows(tx));
    return ok_status();
  }));
  for (tables::FlowRow& row : rows) {
    if (row.status < 0 || row.status > static_cast<int64_t>(FlowStatus::kKilled)) {
      return make_error(ErrorCode::kInternal, "flow " + row.id.short_hex() + " has status " +
                                                  std::to_string(row.status));
    }
    Record& record = records_[row.id];
    record.name = row.name;
    record.status = static_cast<FlowStatus>(row.status);
    record.error = row.error;
    if (record.status == FlowStatus::kCompleted) record.result = std::move(row.result);
    record.checkpoints = row.checkpoints;
    if (!row.initiated_by.empty()) {
      record.peer = row.peer;
      count_responder(record, 1);
    }
    if (record.status == FlowStatus::kRunning && row.wake_at_ms) {
      set_timer(row.id, record, row.wake_at_ms);
    }
  }
  return ok_status();
}

Status FlowEngine::resume_all() {
  if (resumed_) return ok_status();
  resumed_ = true;
  std::vector<tables::OutboxRow> outbox;
  std::vector<FlowId> with_messages;
  FOLIO_TRY(db_.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(outbox, tables::load_outbox(tx));
    FOLIO_ASSIGN_OR_RETURN(with_messages, tables::flows_with_inbox(tx));
    return ok_status();
  }));
  if (options_.evict_suspended) {
    // Lazily: a suspended flow is rebuilt when a message or its timer arrives. Now only those
    // that never reached a checkpoint, or whose message or timer is already here.
    for (const auto& [id, record] : records_) {
      if (record.status == FlowStatus::kRunning && record.checkpoints == 0) schedule(id);
    }
    for (const FlowId& id : with_messages) {
      auto it = records_.find(id);
      if (it != records_.end() && it->second.status == FlowStatus::kRunning) schedule(id);
    }
  } else {
    for (const auto& [id, record] : records_) {
      if (record.status == FlowStatus::kRunning) schedule(id);
    }
  }
  // Messages committed before the crash and not acknowledged: the same ids again, so a recipient
  // that did process them accepts them as duplicates.
  std::vector<net::Envelope> messages;
  for (tables::OutboxRow& row : outbox) {
    row.envelope.sender = self();
    messages.push_back(std::move(row.envelope));
  }
  hand_over(std::move(messages));
  pump();
  tick();
  return ok_status();
}

Status FlowEngine::rebuild(const FlowId& id, Record& record, storage::Session& tx) {
  std::optional<tables::FlowRow> row;
  std::vector<tables::JournalRow> journal;
  std::vector<tables::InboxRow> inbox;
  FOLIO_ASSIGN_OR_RETURN(row, tables::load_flow(tx, id));
  if (!row) return make_error(ErrorCode::kNotFound, "flow " + id.short_hex() + " is not stored");
  FOLIO_ASSIGN_OR_RETURN(journal, tables::load_journal(tx, id));
  FOLIO_ASSIGN_OR_RETURN(inbox, tables::load_inbox(tx, id));
  return build(id, record, *row, std::move(journal), std::move(inbox));
}

Status FlowEngine::build(const FlowId& id, Record& record, const tables::FlowRow& stored,
                         std::vector<tables::JournalRow> journal,
                         std::vector<tables::InboxRow> inbox) {
  const tables::FlowRow* row = &stored;
  auto live = std::make_unique<Live>();
  bool responder = !row->initiated_by.empty();
  if (responder) {
    const FlowRegistry::Responder* r = registry_.find_responder(row->initiated_by);
    if (r == nullptr) {
      return make_error(ErrorCode::kNotFound, "no responder registered for flow '" +
                                                  row->initiated_by + "' any more");
    }
    live->logic = r->factory();
  } else {
    const FlowRegistry::Factory* factory = registry_.find(row->name);
    if (factory == nullptr) {
      return make_error(ErrorCode::kNotFound, "flow '" + row->name + "' is not registered any more");
    }
    FOLIO_ASSIGN_OR_RETURN(live->logic, (*factory)(row->args));
  }
  live->context.reset(new FlowContext(*this, id, self(), row->name));
  FlowContext& ctx = *live->context;
  ctx.responder_ = responder;
  if (responder) {
    FlowContext::SessionState s;
    s.party = row->peer;
    s.id = row->session_id;
    s.initiator = false;
    ctx.sessions_.push_back(std::move(s));
  }
  for (tables::JournalRow& entry : journal) {
    ctx.journal_.push_back(FlowContext::JournalEntry{entry.kind, std::move(entry.value)});
  }
  ctx.journal_length_ = static_cast<int64_t>(ctx.journal_.size());
  // With no checkpoint yet, nothing the flow does has been committed: it runs live from the
  // start. After one, everything up to the journal's end (and on to the suspension that ended the
  // last checkpoint) was committed, and is replayed without effects.
  ctx.replaying_ = row->checkpoints > 0;
  for (tables::InboxRow& m : inbox) {
    ctx.add_inbound(m.session_id, m.seq, FlowContext::Inbound{m.kind, std::move(m.payload)});
  }
  live->root.emplace(live->logic->run(ctx));
  ctx.resume_point_ = live->root->handle();
  record.live = std::move(live);
  if (row->checkpoints > 0) ++stats_.replays;
  return ok_status();
}

// ---- Running --------------------------------------------------------------------------------

void FlowEngine::schedule(const FlowId& id) {
  if (queued_.insert(id).second) ready_.push_back(id);
}

void FlowEngine::pump() {
  // A step that schedules another flow: the outer loop runs it. Held: release() pumps.
  if (pumping_ || held_ > 0) return;
  pumping_ = true;
  while (!ready_.empty() && !crashed_) {
    Status s = group_commit(nullptr, true, nullptr);
    if (!s.ok()) log("group commit failed: " + s.error().message());
  }
  pumping_ = false;
  if (draining_ && !drained_reported_ && !crashed_ && drained()) {
    drained_reported_ = true;
    log("drained: no flow is running");
    if (options_.on_drained) options_.on_drained();
  }
}

// The group commit (docs/flows.md, "Group commit"): one transaction holds `prelude` (the
// messages of a batch being stored) and the steps of up to group_steps_max runnable flows, each
// step a unit (a savepoint) of its own, so that one flow's failure undoes only its own writes.
// Only after COMMIT are the steps' messages handed to the transport. When the transaction
// itself fails, every flow that stepped in it is hospitalised (its frame is ahead of the
// database; a retry replays from the journal), as a failed single-step commit always did.
Status FlowEngine::group_commit(const std::function<Status(storage::Session&)>& prelude,
                                bool with_steps, std::vector<net::Envelope>* also_send) {
  std::vector<FlowId> group;
  std::vector<StepOutcome> outcomes;
  std::vector<FlowId> inserted;  // flows whose row this transaction inserts
  Status committed = db_.transact([&](storage::Session& tx) -> Status {
    group.clear();
    outcomes.clear();
    inserted.clear();
    failure_ends_.clear();
    if (prelude) FOLIO_TRY(prelude(tx));
    // The group: what is runnable once the prelude has stored its messages.
    while (with_steps && !ready_.empty() && group.size() < options_.group_steps_max) {
      group.push_back(ready_.front());
      ready_.pop_front();
      queued_.erase(group.back());
    }
    for (const FlowId& id : group) {
      if (crashed_) break;
      FOLIO_TRY(step_in_group(id, tx, outcomes, inserted));
    }
    if (options_.fault_before_commit && options_.fault && !prelude && !group.empty() &&
        !crashed_ && options_.fault(FaultPoint::kBeforeCommit)) {
      crashed_ = true;
      return make_error(ErrorCode::kIo, "stopped by a fault point before the commit");
    }
    return ok_status();
  });
  std::vector<net::Envelope> ends = std::move(failure_ends_);
  failure_ends_.clear();
  if (crashed_) return ok_status();  // stopped dead: nothing after this point happens
  if (!committed.ok()) {
    // Nothing of the transaction is stored: flows started in it are dropped (start() reports
    // it), the others of the group are hospitalised, whether or not they had stepped yet.
    for (const FlowId& id : group) {
      auto it = records_.find(id);
      if (it == records_.end()) continue;
      bool stored = !it->second.unsaved &&
                    std::find(inserted.begin(), inserted.end(), id) == inserted.end();
      if (!stored) {
        log("flow " + id.short_hex() + ": could not be stored: " + committed.error().message());
        set_timer(id, it->second, std::nullopt);
        records_.erase(it);
      } else if (it->second.status == FlowStatus::kRunning) {
        hospitalise(id, it->second, committed.error());
      }
    }
    return committed;
  }
  stats_.failure_ends_sent += ends.size();
  if (outcomes.empty() && ends.empty()) {
    if (also_send != nullptr) hand_over(std::move(*also_send));
    return ok_status();
  }
  stats_.steps_committed += outcomes.size();
  ++stats_.group_commits;
  if (options_.fault && options_.fault(FaultPoint::kAfterCommitBeforeSend)) {
    crashed_ = true;
    return ok_status();
  }
  std::vector<net::Envelope> messages;
  if (also_send != nullptr) messages = std::move(*also_send);
  for (net::Envelope& e : ends) messages.push_back(std::move(e));
  for (StepOutcome& outcome : outcomes) {
    auto it = records_.find(outcome.id);
    FOLIO_ASSERT(it != records_.end());
    Record& record = it->second;
    if (outcome.done) {
      count_responder(record, -1);
      record.status = FlowStatus::kCompleted;
      record.result = outcome.result;
      record.live.reset();
      set_timer(outcome.id, record, std::nullopt);
      log("flow " + outcome.id.short_hex() + " " + record.name + ": completed");
      if (options_.on_completed)
        options_.on_completed(outcome.id, Result<Bytes>(std::move(outcome.result)));
    } else {
      set_timer(outcome.id, record, outcome.wake_at);
      if (options_.evict_suspended) record.live.reset();
    }
    for (net::Envelope& e : outcome.messages) messages.push_back(std::move(e));
  }
  hand_over(std::move(messages));
  return ok_status();
}

// One flow's step inside the group transaction `tx`. An error return is the transaction's own
// failure (it can no longer commit); a failure of the flow hospitalises it, inside `tx`.
Status FlowEngine::step_in_group(const FlowId& id, storage::Session& tx,
                                 std::vector<StepOutcome>& outcomes,
                                 std::vector<FlowId>& inserted) {
  auto it = records_.find(id);
  if (it == records_.end() || it->second.status != FlowStatus::kRunning) return ok_status();
  Record& record = it->second;
  if (record.unsaved) {
    FOLIO_ASSIGN_OR_RETURN(Status stored, tx.unit([&](storage::Session& s) {
      return tables::insert_flow(s, *record.unsaved);
    }));
    if (!stored.ok()) {
      log("flow " + id.short_hex() + ": could not be stored: " + stored.error().message());
      set_timer(id, record, std::nullopt);
      records_.erase(it);
      return ok_status();
    }
    record.unsaved.reset();
    inserted.push_back(id);
  }
  if (!record.live) {
    FOLIO_ASSIGN_OR_RETURN(Status built, tx.unit([&](storage::Session& s) {
      return rebuild(id, record, s);
    }));
    if (!built.ok()) return hospitalise_in(id, record, built.error(), tx);
  }
  Live& live = *record.live;
  FlowContext& ctx = *live.context;
  // Woken early (wake()): its sleep ends now. A frame rebuilt for the step is woken when its
  // replay reaches that sleep (the journal's last timer), through ctx.wake_early_.
  const bool woken = std::exchange(record.woken, false) &&
                     (!live.started || ctx.wait_ == FlowContext::Wait::kWake);
  if (live.started && !woken && !ctx.can_continue(clock_.now_ms())) {
    // A sleeper whose timer fired but whose deadline the clock no longer shows as passed (a wall
    // clock stepped back): its timer is set again, or nothing would ever wake it.
    if (ctx.wait_ == FlowContext::Wait::kWake && !record.wake_at_ms) {
      set_timer(id, record, ctx.wait_deadline_ms_);
    }
    return ok_status();
  }
  live.started = true;
  ctx.outgoing_.clear();
  ctx.failure_.reset();

  StepOutcome outcome;
  outcome.id = id;
  bool failed = false;  // the flow's own error or exception ended it
  Result<Status> unit = tx.unit([&](storage::Session& s) -> Status {
    ctx.transaction_ = &s;
    ctx.wait_ = FlowContext::Wait::kNone;
    ctx.wake_early_ = woken;
    std::coroutine_handle<> resume_point = ctx.resume_point_;
    resume_point.resume();
    ctx.wake_early_ = false;
    if (ctx.failure_) return *ctx.failure_;
    if (live.root->done()) {
      Result<Bytes> result = live.root->await_resume();
      if (!result.ok()) {
        failed = true;
        return result.error();
      }
      if (ctx.replaying_ || ctx.cursor_ != ctx.journal_.size()) {
        return make_error(ErrorCode::kInternal,
                          "replay diverged: the flow finished before the end of its journal");
      }
      // Counterparties still in conversation learn that this side has finished.
      for (uint32_t i = 0; i < ctx.sessions_.size(); ++i) {
        const FlowContext::SessionState& session = ctx.sessions_[i];
        if (session.peer_ended || (session.initiator && session.send_seq == 0)) continue;
        Status ended = ctx.send(i, wire::Kind::kEnd, {});
        if (!ended.ok()) return ended;
      }
      FOLIO_TRY(tables::complete_flow(s, id, result.value()));
      outcome.result = std::move(result).value();
      outcome.done = true;
      return ok_status();
    }
    FOLIO_ASSERT(ctx.wait_ != FlowContext::Wait::kNone);  // suspended only by a context awaitable
    FOLIO_ASSERT(!ctx.replaying_);                         // and only once live
    if (ctx.wait_ == FlowContext::Wait::kWake) outcome.wake_at = ctx.wait_deadline_ms_;
    return tables::update_checkpoint(s, id, outcome.wake_at);
  });
  ctx.transaction_ = nullptr;
  if (!unit.ok()) {
    // The transaction is lost: the caller hospitalises every flow that stepped in it, this one
    // too.
    outcomes.push_back(std::move(outcome));
    return unit.error();
  }
  if (!unit->ok()) {
    // The step's writes are undone; the frame is ahead of the database, so it goes, and a retry
    // replays from the journal.
    return hospitalise_in(id, record, unit->error(), tx, failed);
  }
  outcome.messages = std::move(ctx.outgoing_);
  ctx.outgoing_.clear();
  outcomes.push_back(std::move(outcome));
  return ok_status();
}

Status FlowEngine::hospitalise_in(const FlowId& id, Record& record, const Error& error,
                                  storage::Session& tx, bool failed) {
  // A flow that failed by its own error tells every counterparty still in conversation (Corda's
  // error propagation): the sessions it has opened to a peer and not seen end. The frame is ahead
  // of the database (its failed step was undone), so a session it holds counts only if its row
  // was committed; one opened in the failed step was never heard of by its peer.
  std::vector<std::tuple<std::string, crypto::Hash256, bool>> open;
  if (failed && record.live) {
    for (const FlowContext::SessionState& s : record.live->context->sessions_) {
      if (s.peer_ended || (s.initiator && s.send_seq == 0)) continue;
      open.emplace_back(s.party, s.id, s.initiator);
    }
  }
  record.live.reset();
  record.status = FlowStatus::kHospitalised;
  record.error = error.message();
  set_timer(id, record, std::nullopt);
  log("flow " + id.short_hex() + " " + record.name + ": hospitalised: " + record.error);
  const size_t ends_before = failure_ends_.size();
  FOLIO_ASSIGN_OR_RETURN(Status s, tx.unit([&](storage::Session& u) -> Status {
    FOLIO_TRY(tables::set_status(u, id, static_cast<int64_t>(FlowStatus::kHospitalised),
                                 record.error));
    if (open.empty()) return ok_status();
    FOLIO_ASSIGN_OR_RETURN(std::vector<tables::SessionRow> stored, tables::sessions_of(u, id));
    std::vector<tables::SessionRow> to_end;
    for (const tables::SessionRow& row : stored) {
      if (std::find(open.begin(), open.end(),
                    std::make_tuple(row.peer, row.session_id, row.local_initiator)) != open.end()) {
        to_end.push_back(row);
      }
    }
    // The reason a counterparty sees: the flow's name and the kind of error, never its text
    // (which may hold amounts, keys' owners or database detail).
    Error reason = make_error(ErrorCode::kIo, "flow '" + record.name + "' failed (" +
                                                  std::string(to_string(error.code)) + ")");
    FOLIO_TRY(end_sessions(id, to_end, reason, u, failure_ends_));
    // Closed on this side too: a retry that reads one of them again fails at once instead of
    // waiting for a counterparty that has been told this flow failed.
    for (const tables::SessionRow& row : to_end) {
      Error closed = make_error(ErrorCode::kConflict,
                                "session closed when this flow failed: " + reason.context);
      FOLIO_TRY(tables::insert_inbox(u, id, row.session_id, wire::kOutOfBand, wire::Kind::kError,
                                     wire::encode_error(closed)));
    }
    return ok_status();
  }));
  if (!s.ok()) {
    failure_ends_.resize(ends_before);  // undone with the unit
    log("flow " + id.short_hex() + ": could not record hospitalisation: " + s.error().message());
  }
  return ok_status();
}

Status FlowEngine::end_sessions(const FlowId& id, const std::vector<tables::SessionRow>& sessions,
                                const Error& reason, storage::Session& tx,
                                std::vector<net::Envelope>& out) {
  for (const tables::SessionRow& s : sessions) {
    wire::SessionMessage m;
    m.session_id = s.session_id;
    m.from_initiator = s.local_initiator;
    m.seq = wire::kOutOfBand;
    m.kind = wire::Kind::kFailed;
    m.payload = wire::encode_error(reason);
    net::Envelope e;
    // One id per (flow, session) for every failure end, so a failure, a retry that fails again
    // and a later kill reach the counterparty once (it de-duplicates, or its flow has ended).
    e.id = wire::message_id(id, s.session_id, s.local_initiator, wire::kOutOfBand);
    e.sender = self();
    e.recipient = s.peer;
    e.topic = std::string(wire::kTopic);
    e.payload = codec::encode_to_bytes(m);
    FOLIO_TRY(tables::insert_outbox(tx, e, id, s.session_id));
    out.push_back(std::move(e));
  }
  return ok_status();
}

void FlowEngine::hospitalise(const FlowId& id, Record& record, const Error& error) {
  record.live.reset();
  record.status = FlowStatus::kHospitalised;
  record.error = error.message();
  set_timer(id, record, std::nullopt);
  Status s = db_.transact([&](storage::Session& tx) {
    return tables::set_status(tx, id, static_cast<int64_t>(FlowStatus::kHospitalised),
                              record.error);
  });
  log("flow " + id.short_hex() + " " + record.name + ": hospitalised: " + record.error);
  if (!s.ok()) log("flow " + id.short_hex() + ": could not record hospitalisation: " + s.error().message());
}

void FlowEngine::set_timer(const FlowId& id, Record& record, std::optional<int64_t> wake_at_ms) {
  if (record.wake_at_ms) timers_.erase({*record.wake_at_ms, id});
  record.wake_at_ms = wake_at_ms;
  if (wake_at_ms) timers_.insert({*wake_at_ms, id});
}

void FlowEngine::tick() {
  int64_t now = clock_.now_ms();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    FlowId id = timers_.begin()->second;
    auto it = records_.find(id);
    if (it != records_.end()) {
      set_timer(id, it->second, std::nullopt);
    } else {
      timers_.erase(timers_.begin());
    }
    schedule(id);
  }
  pump();
}

void FlowEngine::wake(std::span<const FlowId> ids) {
  const int64_t now = clock_.now_ms();
  for (const FlowId& id : ids) {
    auto it = records_.find(id);
    if (it == records_.end()) continue;
    Record& record = it->second;
    // Only a sleeper has a timer: a receiving or runnable flow is left alone, and so is one whose
    // timer is already due (tick() wakes it below, the usual way).
    if (record.status != FlowStatus::kRunning || !record.wake_at_ms || *record.wake_at_ms <= now)
      continue;
    record.woken = true;
    set_timer(id, record, now);
  }
  tick();
}

// ---- Messages -------------------------------------------------------------------------------

void FlowEngine::hand_over(std::vector<net::Envelope> messages) {
  for (net::Envelope& envelope : messages) {
    net::Envelope copy = envelope;
    Status s = transport_.send(std::move(copy));
    if (s.ok()) continue;
    if (s.error().code == ErrorCode::kNotFound || s.error().code == ErrorCode::kLimitExceeded) {
      send_failed(envelope, s.error());
    } else {
      // Left in the outbox: re-sent when the engine next starts.
      log("message " + envelope.id.short_hex() + " to " + envelope.recipient +
          " not handed over: " + s.error().message());
    }
  }
}

void FlowEngine::send_failed(const net::Envelope& envelope, const Error& error) {
  std::optional<tables::OutboxRow> row;
  bool inserted = false;
  Error reported = make_error(error.code, "cannot deliver to " + envelope.recipient + ": " +
                                              error.context);
  Status s = db_.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(row, tables::find_outbox(tx, envelope.id));
    if (!row) return ok_status();
    FOLIO_TRY(tables::delete_outbox(tx, envelope.id));
    auto record = records_.find(row->flow_id);
    if (record == records_.end() || record->second.status == FlowStatus::kCompleted ||
        record->second.status == FlowStatus::kKilled) {
      return ok_status();
    }
    // The flow learns of it as an out-of-band error on the session, durably, so a replay or a
    // rebuilt frame sees the same.
    FOLIO_ASSIGN_OR_RETURN(inserted, tables::insert_inbox(tx, row->flow_id, row->session_id,
                                                          wire::kOutOfBand, wire::Kind::kError,
                                                          wire::encode_error(reported)));
    return ok_status();
  });
  if (!s.ok()) {
    log("message " + envelope.id.short_hex() + ": could not record its failure: " +
        s.error().message());
    return;
  }
  if (!row || !inserted) return;
  Record& record = records_[row->flow_id];
  if (record.live) {
    record.live->context->add_inbound(
        row->session_id, wire::kOutOfBand,
        FlowContext::Inbound{wire::Kind::kError, wire::encode_error(reported)});
  }
  if (record.status == FlowStatus::kRunning) schedule(row->flow_id);
  pump();
}

void FlowEngine::on_outcome(const net::MessageId& id, net::Disposition disposition) {
  if (crashed_) return;
  if (disposition == net::Disposition::kRejected) {
    net::Envelope envelope;
    envelope.id = id;
    envelope.recipient = "the recipient";
    send_failed(envelope, make_error(ErrorCode::kVerification, "the message was rejected"));
    return;
  }
  Status s = db_.transact([&](storage::Session& tx) { return tables::delete_outbox(tx, id); });
  if (!s.ok()) log("message " + id.short_hex() + ": acknowledgement not recorded: " + s.error().message());
}

net::Disposition FlowEngine::on_message(const net::Envelope& envelope) {
  return on_messages(std::span<const net::Envelope>(&envelope, 1)).at(0);
}

std::vector<net::Disposition> FlowEngine::on_messages(std::span<const net::Envelope> envelopes) {
  std::vector<net::Disposition> out(envelopes.size(), net::Disposition::kRejected);
  // Checks that need no database first.
  struct Incoming {
    size_t index;
    wire::SessionMessage m;
    // What storing it did.
    bool failed = false;
    bool duplicate = false;
    bool after_end = false;
    bool inserted = false;
    bool over_limit = false;
    bool reopened = false;
    std::optional<FlowId> target;
    std::optional<FlowId> created;
    std::string created_name;
    tables::FlowRow created_row;
    std::optional<net::Envelope> reject;
  };
  std::vector<Incoming> incoming;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const net::Envelope& envelope = envelopes[i];
    if (envelope.topic != wire::kTopic) {
      ++stats_.messages_rejected;
      continue;
    }
    auto decoded = codec::decode_from_bytes<wire::SessionMessage>(envelope.payload);
    if (!decoded.ok()) {
      ++stats_.messages_rejected;
      log("rejected a malformed flow message from " + envelope.sender + ": " +
          decoded.error().message());
      continue;
    }
    const wire::SessionMessage& m = *decoded;
    // Errors travel out of band and only they do; an open is always the initiator's first message.
    bool out_of_band = m.seq == wire::kOutOfBand;
    if (out_of_band != wire::out_of_band_kind(m.kind) ||
        (m.kind == wire::Kind::kOpen && (!m.from_initiator || m.seq != 0))) {
      ++stats_.messages_rejected;
      log("rejected an inconsistent flow message from " + envelope.sender);
      continue;
    }
    Incoming in;
    in.index = i;
    in.m = std::move(decoded).value();
    incoming.push_back(std::move(in));
  }
  if (incoming.empty()) return out;

  // Stores one message (a unit of the group's transaction: an error undoes only its writes).
  auto store = [&](storage::Session& tx, const net::Envelope& envelope, Incoming& in) -> Status {
    const wire::SessionMessage& m = in.m;
    FOLIO_ASSIGN_OR_RETURN(std::optional<FlowId> flow_id,
                           tables::find_session(tx, envelope.sender, m.session_id,
                                                !m.from_initiator));
    if (flow_id) {
      auto record = records_.find(*flow_id);
      if (record == records_.end() || (record->second.status != FlowStatus::kRunning &&
                                       record->second.status != FlowStatus::kHospitalised)) {
        // The flow has ended: nothing more to tell it, whether this is late or a duplicate. The
        // session row outlives the flow, so this holds without the processed mark, which is
        // what lets a flow's marks be deleted when it ends (docs/flows.md, "Pruning").
        in.after_end = true;
        return ok_status();
      }
      // Marked with the flow, so that its marks go when it ends.
      FOLIO_ASSIGN_OR_RETURN(bool fresh, tables::mark_processed(tx, envelope.sender, envelope.id,
                                                                *flow_id, legacy_processed_));
      if (!fresh) {
        in.duplicate = true;
        return ok_status();
      }
      // An open is only ever a session's first message: one for a session that exists is hostile
      // (or a peer's bug), and would let the flow read past a message it is waiting for.
      // The error undoes the unit, so the rejection changes no state (not even the processed
      // mark).
      if (m.kind == wire::Kind::kOpen) {
        in.reopened = true;
        return make_error(ErrorCode::kConflict, "an open for a session that already exists");
      }
      FOLIO_ASSIGN_OR_RETURN(int64_t waiting, tables::inbox_count(tx, *flow_id));
      if (waiting >= options_.inbox_messages_max) {
        in.over_limit = true;
        return make_error(ErrorCode::kLimitExceeded, "flow " + flow_id->short_hex() + " has " +
                                                         std::to_string(waiting) +
                                                         " unread messages");
      }
      FOLIO_ASSIGN_OR_RETURN(in.inserted, tables::insert_inbox(tx, *flow_id, m.session_id, m.seq,
                                                               m.kind, m.payload));
      in.target = *flow_id;
      return ok_status();
    }
    // Only an initiator opens sessions, and an error or a failure cannot open one: ignored, and
    // not marked (ignoring it again changes nothing).
    if (!m.from_initiator || wire::out_of_band_kind(m.kind)) return ok_status();
    FlowId responder_id = wire::responder_flow_id(envelope.sender, m.session_id);
    const FlowRegistry::Responder* responder = registry_.find_responder(m.initiating_flow);
    std::optional<Error> refusal;
    if (draining_) {
      refusal = make_error(ErrorCode::kUnsupported,
                           "node " + self() + " is draining and accepts no new sessions");
    } else if (responder == nullptr) {
      refusal = make_error(ErrorCode::kNotFound, "session rejected: node " + self() +
                                                     " has no responder for flow '" +
                                                     m.initiating_flow + "'");
    } else if (options_.responders_per_peer_max > 0 &&
               responders_of(envelope.sender) >= options_.responders_per_peer_max) {
      refusal = make_error(ErrorCode::kLimitExceeded,
                           "session rejected: node " + self() + " already has " +
                               std::to_string(responders_of(envelope.sender)) + " flows for " +
                               envelope.sender + ", the most it runs for one peer");
    }
    if (refusal) {
      // Not marked either: a duplicate is refused again with the same reply id, which the outbox
      // and the initiator take once.
      wire::SessionMessage reply;
      reply.session_id = m.session_id;
      reply.from_initiator = false;
      reply.seq = wire::kOutOfBand;
      reply.kind = wire::Kind::kError;
      reply.payload = wire::encode_error(*refusal);
      net::Envelope e;
      e.id = wire::message_id(responder_id, m.session_id, false, wire::kOutOfBand);
      e.sender = self();
      e.recipient = envelope.sender;
      e.topic = std::string(wire::kTopic);
      e.payload = codec::encode_to_bytes(reply);
      FOLIO_TRY(tables::insert_outbox(tx, e, responder_id, m.session_id));
      in.reject = std::move(e);
      return ok_status();
    }
    FOLIO_ASSIGN_OR_RETURN(bool fresh, tables::mark_processed(tx, envelope.sender, envelope.id,
                                                              responder_id, legacy_processed_));
    if (!fresh) {
      in.duplicate = true;  // only a version 1 mark can say so: the session did not exist
      return ok_status();
    }
    tables::FlowRow row;
    row.id = responder_id;
    row.number = static_cast<int64_t>(next_number_);
    row.name = responder->name;
    row.initiated_by = m.initiating_flow;
    row.peer = envelope.sender;
    row.session_id = m.session_id;
    FOLIO_TRY(tables::insert_flow(tx, row));
    FOLIO_TRY(tables::insert_session(tx, envelope.sender, m.session_id, false, responder_id));
    FOLIO_ASSIGN_OR_RETURN(in.inserted, tables::insert_inbox(tx, responder_id, m.session_id,
                                                             m.seq, m.kind, m.payload));
    in.created = responder_id;
    in.created_name = responder->name;
    in.created_row = std::move(row);
    in.target = responder_id;
    return ok_status();
  };

  const uint64_t number_before = next_number_;
  std::vector<FlowId> created;  // records made for new responders
  std::vector<FlowId> touched;  // live frames given a message that is not yet committed
  std::vector<net::Envelope> rejects;
  auto prelude = [&](storage::Session& tx) -> Status {
    for (Incoming& in : incoming) {
      const net::Envelope& envelope = envelopes[in.index];
      FOLIO_ASSIGN_OR_RETURN(Status stored, tx.unit([&](storage::Session& s) {
        return store(s, envelope, in);
      }));
      if (!stored.ok()) {
        in.failed = true;
        // The interface has no "try again later": the sender learns of a rejection.
        ++stats_.messages_rejected;
        log(std::string(in.over_limit || in.reopened ? "refused" : "could not store") +
            " a flow message from " + envelope.sender + ": " + stored.error().message());
        continue;
      }
      // What the steps later in this transaction must see.
      if (in.created) {
        ++next_number_;
        Record& record = records_[*in.created];
        record.name = in.created_name;
        record.peer = envelope.sender;
        count_responder(record, 1);  // seen by the next open of this batch
        created.push_back(*in.created);
        // Its frame from the row in memory (the message is added below); should that fail, the
        // step rebuilds it from the database and hospitalises the flow with the reason.
        Status built = build(*in.created, record, in.created_row, {}, {});
        if (!built.ok()) record.live.reset();
      }
      if (in.reject) rejects.push_back(*in.reject);
      if (in.target && in.inserted) {
        Record& record = records_[*in.target];
        if (record.live) {
          record.live->context->add_inbound(in.m.session_id, in.m.seq,
                                            FlowContext::Inbound{in.m.kind, in.m.payload});
          touched.push_back(*in.target);
        }
        if (record.status == FlowStatus::kRunning) schedule(*in.target);
      }
    }
    return ok_status();
  };
  // Nested in a step's hand-over, or with starts held: store now, step later.
  const bool with_steps = !pumping_ && held_ == 0;
  bool was_pumping = pumping_;
  pumping_ = true;
  Status committed = group_commit(prelude, with_steps, &rejects);
  pumping_ = was_pumping;
  if (!committed.ok()) {
    log("could not store " + std::to_string(incoming.size()) + " flow messages: " +
        committed.error().message());
    for (const FlowId& id : created) {
      auto it = records_.find(id);
      if (it != records_.end()) {
        set_timer(id, it->second, std::nullopt);
        count_responder(it->second, -1);
        records_.erase(it);
      }
    }
    next_number_ = number_before;
    for (const FlowId& id : touched) {
      auto it = records_.find(id);
      if (it != records_.end()) it->second.live.reset();  // rebuilt from the database when due
    }
    for (const Incoming& in : incoming) {
      if (!in.failed) ++stats_.messages_rejected;
    }
    pump();
    return out;
  }
  for (const Incoming& in : incoming) {
    if (in.failed) continue;
    out[in.index] = net::Disposition::kAccepted;
    if (in.duplicate) {
      ++stats_.duplicates;
      continue;
    }
    if (in.after_end) {
      ++stats_.messages_after_end;
      continue;
    }
    ++stats_.messages_accepted;
    if (in.inserted && in.m.kind == wire::Kind::kFailed) ++stats_.failure_ends_received;
    const net::Envelope& envelope = envelopes[in.index];
    if (in.reject) {
      ++stats_.sessions_rejected;
      log("rejected a session from " + envelope.sender + " for flow '" + in.m.initiating_flow +
          "'");
    }
    if (in.created) {
      log("flow " + in.created->short_hex() + " " + in.created_name + ": started by " +
          envelope.sender);
    }
  }
  pump();
  return out;
}

void FlowEngine::on_outcomes(std::span<const std::pair<net::MessageId, net::Disposition>> outcomes) {
  if (crashed_) return;
  std::vector<net::MessageId> accepted;
  for (const auto& [id, disposition] : outcomes) {
    if (disposition == net::Disposition::kAccepted) accepted.push_back(id);
  }
  if (!accepted.empty()) {
    // One transaction for the whole batch of acknowledgements.
    Status s = db_.transact([&](storage::Session& tx) -> Status {
      for (const net::MessageId& id : accepted) FOLIO_TRY(tables::delete_outbox(tx, id));
      return ok_status();
    });
    if (!s.ok()) log("acknowledgements not recorded: " + s.error().message());
  }
  for (const auto& [id, disposition] : outcomes) {
    if (disposition == net::Disposition::kRejected) on_outcome(id, disposition);
  }
}

}  // namespace folio::flow
