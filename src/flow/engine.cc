// FlowEngine: scheduling, the step commit, sessions from peers, the hospital (docs/flows.md).
#include "flow/engine.h"

#include <random>

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

// A flow's coroutine frame and context. Members are destroyed in reverse order: the frame first
// (it points into the context and the logic), then the context, then the logic.
struct FlowEngine::Live {
  std::unique_ptr<FlowLogic> logic;
  std::unique_ptr<FlowContext> context;
  std::optional<Flow<Bytes>> root;
  bool started = false;  // resumed at least once since it was built
};

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

  tables::FlowRow row;
  row.number = static_cast<int64_t>(next_number_);
  row.id = wire::started_flow_id(self(), next_number_, options_.id_salt);
  row.name = std::string(name);
  row.args = std::move(args);
  FOLIO_TRY(db_.transact([&](storage::Session& tx) { return tables::insert_flow(tx, row); }));
  ++next_number_;
  Record& record = records_[row.id];
  record.name = row.name;
  log("flow " + row.id.short_hex() + " " + row.name + ": started");
  schedule(row.id);
  pump();
  return FlowHandle{row.id};
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

Status FlowEngine::rebuild(const FlowId& id, Record& record) {
  std::optional<tables::FlowRow> row;
  std::vector<tables::JournalRow> journal;
  std::vector<tables::InboxRow> inbox;
  FOLIO_TRY(db_.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(row, tables::load_flow(tx, id));
    if (!row) return make_error(ErrorCode::kNotFound, "flow " + id.short_hex() + " is not stored");
    FOLIO_ASSIGN_OR_RETURN(journal, tables::load_journal(tx, id));
    FOLIO_ASSIGN_OR_RETURN(inbox, tables::load_inbox(tx, id));
    return ok_status();
  }));

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
  if (pumping_) return;  // a step that schedules another flow: the outer loop runs it
  pumping_ = true;
  while (!ready_.empty() && !crashed_) {
    FlowId id = ready_.front();
    ready_.pop_front();
    queued_.erase(id);
    step(id);
  }
  pumping_ = false;
  if (draining_ && !drained_reported_ && !crashed_ && drained()) {
    drained_reported_ = true;
    log("drained: no flow is running");
    if (options_.on_drained) options_.on_drained();
  }
}

void FlowEngine::step(const FlowId& id) {
  if (crashed_) return;
  auto it = records_.find(id);
  if (it == records_.end() || it->second.status != FlowStatus::kRunning) return;
  Record& record = it->second;
  if (!record.live) {
    Status built = rebuild(id, record);
    if (!built.ok()) {
      hospitalise(id, record, built.error());
      return;
    }
  }
  Live& live = *record.live;
  FlowContext& ctx = *live.context;
  if (live.started && !ctx.can_continue(clock_.now_ms())) {
    // A sleeper whose timer fired but whose deadline the clock no longer shows as passed (a wall
    // clock stepped back): its timer is set again, or nothing would ever wake it.
    if (ctx.wait_ == FlowContext::Wait::kWake && !record.wake_at_ms) {
      set_timer(id, record, ctx.wait_deadline_ms_);
    }
    return;
  }
  live.started = true;
  ctx.outgoing_.clear();
  ctx.failure_.reset();

  bool done = false;
  Bytes result;
  std::optional<int64_t> wake_at;
  Status committed = db_.transact([&](storage::Session& tx) -> Status {
    ctx.transaction_ = &tx;
    ctx.wait_ = FlowContext::Wait::kNone;
    std::coroutine_handle<> resume_point = ctx.resume_point_;
    resume_point.resume();
    if (ctx.failure_) return *ctx.failure_;
    if (live.root->done()) {
      Result<Bytes> outcome = live.root->await_resume();
      if (!outcome.ok()) return outcome.error();
      if (ctx.replaying_ || ctx.cursor_ != ctx.journal_.size()) {
        return make_error(ErrorCode::kInternal,
                          "replay diverged: the flow finished before the end of its journal");
      }
      // Counterparties still in conversation learn that this side has finished.
      for (uint32_t i = 0; i < ctx.sessions_.size(); ++i) {
        const FlowContext::SessionState& s = ctx.sessions_[i];
        if (s.peer_ended || (s.initiator && s.send_seq == 0)) continue;
        Status ended = ctx.send(i, wire::Kind::kEnd, {});
        if (!ended.ok()) return ended;
      }
      FOLIO_TRY(tables::complete_flow(tx, id, outcome.value()));
      result = std::move(outcome).value();
      done = true;
      return ok_status();
    }
    FOLIO_ASSERT(ctx.wait_ != FlowContext::Wait::kNone);  // suspended only by a context awaitable
    FOLIO_ASSERT(!ctx.replaying_);                         // and only once live
    if (ctx.wait_ == FlowContext::Wait::kWake) wake_at = ctx.wait_deadline_ms_;
    return tables::update_checkpoint(tx, id, wake_at);
  });
  ctx.transaction_ = nullptr;
  if (!committed.ok()) {
    // Everything since the last checkpoint rolled back; the frame is ahead of the database, so it
    // goes, and a retry replays from the journal.
    hospitalise(id, record, committed.error());
    return;
  }
  ++stats_.steps_committed;
  if (options_.fault && options_.fault(FaultPoint::kAfterCommitBeforeSend)) {
    crashed_ = true;
    return;
  }
  std::vector<net::Envelope> messages = std::move(ctx.outgoing_);
  ctx.outgoing_.clear();
  if (done) {
    record.status = FlowStatus::kCompleted;
    record.result = result;
    record.live.reset();
    set_timer(id, record, std::nullopt);
    log("flow " + id.short_hex() + " " + record.name + ": completed");
    if (options_.on_completed) options_.on_completed(id, Result<Bytes>(std::move(result)));
  } else {
    set_timer(id, record, wake_at);
    if (options_.evict_suspended) record.live.reset();
  }
  hand_over(std::move(messages));
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
  if (envelope.topic != wire::kTopic) {
    ++stats_.messages_rejected;
    return net::Disposition::kRejected;
  }
  auto decoded = codec::decode_from_bytes<wire::SessionMessage>(envelope.payload);
  if (!decoded.ok()) {
    ++stats_.messages_rejected;
    log("rejected a malformed flow message from " + envelope.sender + ": " +
        decoded.error().message());
    return net::Disposition::kRejected;
  }
  const wire::SessionMessage& m = *decoded;
  // Errors travel out of band and only they do; an open is always the initiator's first message.
  bool out_of_band = m.seq == wire::kOutOfBand;
  if (out_of_band != (m.kind == wire::Kind::kError) ||
      (m.kind == wire::Kind::kOpen && (!m.from_initiator || m.seq != 0))) {
    ++stats_.messages_rejected;
    log("rejected an inconsistent flow message from " + envelope.sender);
    return net::Disposition::kRejected;
  }

  bool duplicate = false;
  bool inserted = false;
  bool over_limit = false;
  bool reopened = false;
  std::optional<FlowId> target;
  std::optional<FlowId> created;
  std::string created_name;
  std::optional<net::Envelope> reject;
  Status s = db_.transact([&](storage::Session& tx) -> Status {
    FOLIO_ASSIGN_OR_RETURN(bool fresh, tables::mark_processed(tx, envelope.sender, envelope.id));
    if (!fresh) {
      duplicate = true;
      return ok_status();
    }
    FOLIO_ASSIGN_OR_RETURN(std::optional<FlowId> flow_id,
                           tables::find_session(tx, envelope.sender, m.session_id,
                                                !m.from_initiator));
    if (flow_id) {
      // An open is only ever a session's first message: one for a session that exists is hostile
      // (or a peer's bug), and would let the flow read past a message it is waiting for.
      // The error rolls back the transaction, so the rejection changes no state (not even the
      // processed mark).
      if (m.kind == wire::Kind::kOpen) {
        reopened = true;
        return make_error(ErrorCode::kConflict, "an open for a session that already exists");
      }
      auto record = records_.find(*flow_id);
      if (record == records_.end() || (record->second.status != FlowStatus::kRunning &&
                                       record->second.status != FlowStatus::kHospitalised)) {
        return ok_status();  // the flow has ended: nothing more to tell it
      }
      FOLIO_ASSIGN_OR_RETURN(int64_t waiting, tables::inbox_count(tx, *flow_id));
      if (waiting >= options_.inbox_messages_max) {
        over_limit = true;
        return make_error(ErrorCode::kLimitExceeded, "flow " + flow_id->short_hex() + " has " +
                                                         std::to_string(waiting) +
                                                         " unread messages");
      }
      FOLIO_ASSIGN_OR_RETURN(inserted, tables::insert_inbox(tx, *flow_id, m.session_id, m.seq,
                                                            m.kind, m.payload));
      target = *flow_id;
      return ok_status();
    }
    // Only an initiator opens sessions, and an error cannot open one.
    if (!m.from_initiator || m.kind == wire::Kind::kError) return ok_status();
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
    }
    if (refusal) {
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
      reject = std::move(e);
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
    FOLIO_ASSIGN_OR_RETURN(inserted, tables::insert_inbox(tx, responder_id, m.session_id, m.seq,
                                                          m.kind, m.payload));
    created = responder_id;
    created_name = responder->name;
    target = responder_id;
    return ok_status();
  });
  if (!s.ok()) {
    // The interface has no "try again later": the sender learns of a rejection.
    ++stats_.messages_rejected;
    log(std::string(over_limit || reopened ? "refused" : "could not store") +
        " a flow message from " +
        envelope.sender + ": " + s.error().message());
    return net::Disposition::kRejected;
  }
  if (duplicate) {
    ++stats_.duplicates;
    return net::Disposition::kAccepted;
  }

  ++stats_.messages_accepted;
  if (reject) {
    ++stats_.sessions_rejected;
    log("rejected a session from " + envelope.sender + " for flow '" + m.initiating_flow + "'");
    std::vector<net::Envelope> out;
    out.push_back(std::move(*reject));
    hand_over(std::move(out));
  }
  if (created) {
    ++next_number_;
    Record& record = records_[*created];
    record.name = created_name;
    log("flow " + created->short_hex() + " " + created_name + ": started by " + envelope.sender);
  }
  if (target && inserted) {
    Record& record = records_[*target];
    if (record.live) {
      record.live->context->add_inbound(m.session_id, m.seq,
                                        FlowContext::Inbound{m.kind, m.payload});
    }
    if (record.status == FlowStatus::kRunning) schedule(*target);
  }
  pump();
  return net::Disposition::kAccepted;
}

// ---- Operators ------------------------------------------------------------------------------

std::optional<Result<Bytes>> FlowEngine::result(const FlowId& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) {
    return Result<Bytes>(make_error(ErrorCode::kNotFound, "no flow " + id.short_hex()));
  }
  const Record& r = it->second;
  switch (r.status) {
    case FlowStatus::kRunning:
      return std::nullopt;
    case FlowStatus::kCompleted:
      return Result<Bytes>(r.result.value_or(Bytes{}));
    case FlowStatus::kHospitalised:
      return Result<Bytes>(make_error(ErrorCode::kInternal, "hospitalised: " + r.error));
    case FlowStatus::kKilled:
      return Result<Bytes>(make_error(ErrorCode::kConflict, "killed: " + r.error));
  }
  return std::nullopt;
}

FlowInfo FlowEngine::info(const FlowId& id, const Record& record) const {
  FlowInfo out;
  out.id = id;
  out.name = record.name;
  out.status = record.status;
  out.error = record.error;
  out.resident = record.live != nullptr;
  if (record.live) out.progress = record.live->context->progress();
  return out;
}

std::vector<FlowInfo> FlowEngine::flows() const {
  std::vector<FlowInfo> out;
  for (const auto& [id, record] : records_) out.push_back(info(id, record));
  return out;
}

std::optional<FlowInfo> FlowEngine::flow(const FlowId& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return info(id, it->second);
}

std::vector<FlowInfo> FlowEngine::hospitalised() const {
  std::vector<FlowInfo> out;
  for (const auto& [id, record] : records_) {
    if (record.status == FlowStatus::kHospitalised) out.push_back(info(id, record));
  }
  return out;
}

Status FlowEngine::retry(const FlowId& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  Record& record = it->second;
  if (record.status != FlowStatus::kHospitalised) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " is " +
                                                std::string(to_string(record.status)) +
                                                ", not hospitalised");
  }
  FOLIO_TRY(db_.transact([&](storage::Session& tx) {
    return tables::set_status(tx, id, static_cast<int64_t>(FlowStatus::kRunning), "");
  }));
  record.status = FlowStatus::kRunning;
  record.error.clear();
  log("flow " + id.short_hex() + " " + record.name + ": retried from its journal");
  schedule(id);
  pump();
  return ok_status();
}

Status FlowEngine::kill(const FlowId& id, std::string reason) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  Record& record = it->second;
  if (record.status != FlowStatus::kRunning && record.status != FlowStatus::kHospitalised) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " has already ended");
  }
  std::vector<net::Envelope> out;
  Error ended = make_error(ErrorCode::kConflict, "flow killed: " + reason);
  FOLIO_TRY(db_.transact([&](storage::Session& tx) -> Status {
    out.clear();
    FOLIO_ASSIGN_OR_RETURN(std::vector<tables::SessionRow> sessions, tables::sessions_of(tx, id));
    for (const tables::SessionRow& s : sessions) {
      wire::SessionMessage m;
      m.session_id = s.session_id;
      m.from_initiator = s.local_initiator;
      m.seq = wire::kOutOfBand;
      m.kind = wire::Kind::kError;
      m.payload = wire::encode_error(ended);
      net::Envelope e;
      e.id = wire::message_id(id, s.session_id, s.local_initiator, wire::kOutOfBand);
      e.sender = self();
      e.recipient = s.peer;
      e.topic = std::string(wire::kTopic);
      e.payload = codec::encode_to_bytes(m);
      FOLIO_TRY(tables::insert_outbox(tx, e, id, s.session_id));
      out.push_back(std::move(e));
    }
    FOLIO_TRY(tables::set_status(tx, id, static_cast<int64_t>(FlowStatus::kKilled), reason));
    return tables::forget_progress(tx, id);
  }));
  record.live.reset();
  record.status = FlowStatus::kKilled;
  record.error = reason;
  set_timer(id, record, std::nullopt);
  log("flow " + id.short_hex() + " " + record.name + ": killed: " + reason);
  hand_over(std::move(out));
  pump();
  return ok_status();
}

void FlowEngine::drain() {
  draining_ = true;
  log("draining: no new flows or sessions");
  pump();  // reports at once when nothing is running
}

Status FlowEngine::forget(const FlowId& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  if (it->second.status != FlowStatus::kCompleted && it->second.status != FlowStatus::kKilled) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " has not ended");
  }
  records_.erase(it);
  return ok_status();
}

bool FlowEngine::drained() const {
  if (!draining_) return false;
  for (const auto& [id, record] : records_) {
    if (record.status == FlowStatus::kRunning) return false;
  }
  return true;
}

size_t FlowEngine::resident_frames() const {
  size_t n = 0;
  for (const auto& [id, record] : records_) n += record.live ? 1 : 0;
  return n;
}

}  // namespace folio::flow
