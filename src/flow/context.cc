// FlowContext: the flow's side of journalled replay (docs/flows.md, "Durability protocol").
#include "flow/context.h"

#include "flow/engine.h"
#include "flow/tables.h"

namespace folio::flow {

FlowContext::FlowContext(FlowEngine& engine, FlowId id, std::string self, std::string name)
    : engine_(engine), services_(engine.options_.services), id_(id), self_(std::move(self)) {
  progress_.push_back(ProgressStep{name, {}});
  names_.push_back(std::move(name));
}

std::string_view to_string(SessionEnd end) {
  switch (end) {
    case SessionEnd::kOpen:
      return "open";
    case SessionEnd::kFinished:
      return "finished";
    case SessionEnd::kCounterpartyFailed:
      return "counterparty failed";
    case SessionEnd::kRefused:
      return "refused";
  }
  return "unknown";
}

const std::string& Session::party() const { return ctx_->session(index_).party; }

SessionEnd Session::end() const { return ctx_->session(index_).end; }

SendAwaitable Session::send_encoded(Bytes payload) {
  return SendAwaitable{ctx_->send(index_, wire::Kind::kData, std::move(payload))};
}

Session FlowContext::initiate(std::string party) {
  SessionState state;
  state.party = std::move(party);
  state.id = wire::session_id(id_, initiated_++);
  state.initiator = true;
  state.initiating_flow = flow_name();
  if (!replaying_ && !failure_) {
    // The session row routes the counterparty's replies to this flow; it commits with the step.
    Status s = tables::insert_session(transaction(), state.party, state.id, true, id_);
    if (!s.ok()) fail(s.error());
  }
  sessions_.push_back(std::move(state));
  return Session(this, static_cast<uint32_t>(sessions_.size() - 1));
}

Session FlowContext::initiating_session() {
  FOLIO_ASSERT(responder_ && !sessions_.empty());
  return Session(this, 0);
}

Status FlowContext::send(uint32_t index, wire::Kind kind, Bytes payload) {
  if (failure_) return *failure_;
  SessionState& s = sessions_.at(index);
  if (s.peer_ended) {
    return make_error(ErrorCode::kConflict, "session with " + s.party + " has ended");
  }
  if (payload.size() > engine_.options_.payload_bytes_max) {
    return make_error(ErrorCode::kLimitExceeded,
                      "payload of " + std::to_string(payload.size()) + " bytes to " + s.party +
                          " exceeds " + std::to_string(engine_.options_.payload_bytes_max));
  }
  uint64_t seq = s.send_seq++;
  // A replayed send was committed to the outbox by the step that first ran it.
  if (replaying_) return ok_status();
  wire::SessionMessage message;
  message.session_id = s.id;
  message.from_initiator = s.initiator;
  if (s.initiator) message.initiating_flow = s.initiating_flow;
  message.seq = seq;
  message.kind = kind;
  message.payload = std::move(payload);
  net::Envelope envelope;
  envelope.id = wire::message_id(id_, s.id, s.initiator, seq);
  envelope.sender = self_;
  envelope.recipient = s.party;
  envelope.topic = std::string(wire::kTopic);
  envelope.payload = codec::encode_to_bytes(message);
  Status stored = tables::insert_outbox(transaction(), envelope, id_, s.id);
  if (!stored.ok()) {
    fail(stored.error());
    return stored;
  }
  outgoing_.push_back(std::move(envelope));
  return ok_status();
}

FlowContext::Replay FlowContext::replay_next(wire::EntryKind kind, Bytes& value) {
  if (failure_) return Replay::kDiverged;
  if (!replaying_ || cursor_ >= journal_.size()) {
    // The first value the journal does not hold: from here on the flow runs live.
    replaying_ = false;
    return Replay::kLive;
  }
  const JournalEntry& entry = journal_[cursor_];
  if (entry.kind != kind) {
    fail(make_error(ErrorCode::kInternal,
                    "replay diverged at journal entry " + std::to_string(cursor_) + ": the flow asked for '" +
                        std::string(wire::entry_kind_name(kind)) + "', the journal holds '" +
                        std::string(wire::entry_kind_name(entry.kind)) + "'"));
    return Replay::kDiverged;
  }
  value = entry.value;
  ++cursor_;
  return Replay::kValue;
}

void FlowContext::append(wire::EntryKind kind, Bytes value) {
  if (failure_) return;
  Status s = tables::insert_journal(transaction(), id_, journal_length_, kind, value);
  if (!s.ok()) {
    fail(s.error());
    return;
  }
  ++journal_length_;
}

storage::Session& FlowContext::transaction() {
  FOLIO_ASSERT(transaction_ != nullptr);  // contexts are used only while their flow runs
  return *transaction_;
}

void FlowContext::fail(Error error) {
  if (!failure_) failure_ = std::move(error);
}

std::optional<Result<Bytes>> FlowContext::try_receive(uint32_t index) {
  SessionState& s = sessions_.at(index);
  // An initiator that receives before it has sent anything opens the session first. The open
  // counts in the send sequence on replay too (where send() only counts).
  if (s.initiator && s.send_seq == 0) {
    Status opened = send(index, wire::Kind::kOpen, {});
    if (!opened.ok()) return Result<Bytes>(opened.error());
  }
  for (;;) {
    Bytes stored;
    wire::ReceivedValue received;
    switch (replay_next(wire::EntryKind::kReceive, stored)) {
      case Replay::kDiverged:
        return Result<Bytes>(*failure_);
      case Replay::kValue: {
        auto decoded = codec::decode_from_bytes<wire::ReceivedValue>(stored);
        if (!decoded.ok() || decoded->session_id != s.id) {
          fail(make_error(ErrorCode::kInternal, "replay diverged: journal entry " +
                                                    std::to_string(cursor_ - 1) +
                                                    " is a receive on another session"));
          return Result<Bytes>(*failure_);
        }
        received = std::move(decoded).value();
        break;
      }
      case Replay::kLive: {
        auto it = inbox_.find({s.id, s.receive_seq});
        if (it == inbox_.end()) it = inbox_.find({s.id, wire::kOutOfBand});
        if (it == inbox_.end()) {
          if (s.peer_ended) {
            return Result<Bytes>(
                make_error(ErrorCode::kConflict, "session with " + s.party + " has ended"));
          }
          return std::nullopt;
        }
        received.session_id = s.id;
        received.seq = it->first.second;
        received.kind = it->second.kind;
        received.payload = std::move(it->second.payload);
        inbox_.erase(it);
        Status deleted = tables::delete_inbox(transaction(), id_, s.id, received.seq);
        if (!deleted.ok()) {
          fail(deleted.error());
          return Result<Bytes>(deleted.error());
        }
        append(wire::EntryKind::kReceive, codec::encode_to_bytes(received));
        break;
      }
    }
    if (received.seq != wire::kOutOfBand) s.receive_seq = received.seq + 1;
    switch (received.kind) {
      case wire::Kind::kOpen:
        continue;  // nothing for the flow: read on
      case wire::Kind::kData:
        return Result<Bytes>(std::move(received.payload));
      case wire::Kind::kEnd:
        s.peer_ended = true;
        s.end = SessionEnd::kFinished;
        return Result<Bytes>(make_error(ErrorCode::kConflict,
                                        "counterparty " + s.party + " ended the session"));
      case wire::Kind::kError:
      case wire::Kind::kFailed: {
        s.peer_ended = true;
        s.end = received.kind == wire::Kind::kFailed ? SessionEnd::kCounterpartyFailed
                                                     : SessionEnd::kRefused;
        Error e = wire::decode_error(received.payload);
        e.context = "counterparty " + s.party + ": " + e.context;
        // A failure is not a refusal nor a conflict, whatever code the peer put in its body:
        // flows read kConflict as "the notary refused" and kUnsupported as "the seller
        // declined", and must not take a counterparty's crash for either.
        if (received.kind == wire::Kind::kFailed) e.code = ErrorCode::kIo;
        return Result<Bytes>(std::move(e));
      }
    }
    return Result<Bytes>(make_error(ErrorCode::kInternal, "unknown message kind"));
  }
}

void FlowContext::wait_receive(uint32_t index, std::coroutine_handle<> h) {
  wait_ = Wait::kReceive;
  wait_session_ = index;
  resume_point_ = h;
}

SleepAwaitable FlowContext::sleep(std::chrono::milliseconds duration) {
  Bytes stored;
  switch (replay_next(wire::EntryKind::kTimer, stored)) {
    case Replay::kDiverged:
      return SleepAwaitable(this, std::nullopt, *failure_);
    case Replay::kValue: {
      auto deadline = codec::decode_from_bytes<int64_t>(stored);
      if (!deadline.ok()) return SleepAwaitable(this, std::nullopt, deadline.error());
      return SleepAwaitable(this, *deadline, ok_status());
    }
    case Replay::kLive:
      break;
  }
  int64_t deadline = engine_.clock_.now_ms() + static_cast<int64_t>(duration.count());
  append(wire::EntryKind::kTimer, codec::encode_to_bytes(deadline));
  return SleepAwaitable(this, deadline, ok_status());
}

std::optional<Status> FlowContext::try_wake(int64_t deadline_ms, bool resumed) {
  Bytes stored;
  switch (replay_next(wire::EntryKind::kWake, stored)) {
    case Replay::kDiverged:
      return Status(*failure_);
    case Replay::kValue:
      return ok_status();
    case Replay::kLive:
      break;
  }
  // Once the engine resumed the sleeper its deadline had passed; the clock is not asked again, as
  // a wall clock stepping back in between would make it say otherwise.
  if (!resumed && !wake_early_ && engine_.clock_.now_ms() < deadline_ms) return std::nullopt;
  // A wake ends one sleep: a later sleep in the same step waits for its own deadline.
  wake_early_ = false;
  append(wire::EntryKind::kWake, {});
  return ok_status();
}

void FlowContext::wait_wake(int64_t deadline_ms, std::coroutine_handle<> h) {
  wait_ = Wait::kWake;
  wait_deadline_ms_ = deadline_ms;
  resume_point_ = h;
}

bool SleepAwaitable::await_ready() {
  if (!status_.ok() || !deadline_ms_) return true;
  std::optional<Status> woke = ctx_->try_wake(*deadline_ms_, /*resumed=*/false);
  if (!woke) return false;
  status_ = std::move(*woke);
  woke_ = true;
  return true;
}

void SleepAwaitable::await_suspend(std::coroutine_handle<> h) { ctx_->wait_wake(*deadline_ms_, h); }

Status SleepAwaitable::await_resume() {
  if (!status_.ok() || woke_ || !deadline_ms_) return std::move(status_);
  // The engine resumes a sleeper only once its deadline passed: it has woken.
  std::optional<Status> woke = ctx_->try_wake(*deadline_ms_, /*resumed=*/true);
  if (!woke) return make_error(ErrorCode::kInternal, "a resumed sleep did not wake");
  return std::move(*woke);
}

int64_t FlowContext::now_ms() {
  Bytes stored;
  if (replay_next(wire::EntryKind::kNow, stored) == Replay::kValue) {
    auto value = codec::decode_from_bytes<int64_t>(stored);
    if (value.ok()) return *value;
    fail(make_error(ErrorCode::kInternal, "journal: undecodable time"));
    return 0;
  }
  int64_t now = engine_.clock_.now_ms();
  append(wire::EntryKind::kNow, codec::encode_to_bytes(now));
  return now;
}

uint64_t FlowContext::random_u64() {
  Bytes stored;
  if (replay_next(wire::EntryKind::kRandom, stored) == Replay::kValue) {
    auto value = codec::decode_from_bytes<uint64_t>(stored);
    if (value.ok()) return *value;
    fail(make_error(ErrorCode::kInternal, "journal: undecodable random number"));
    return 0;
  }
  // Random for the flow, drawn from the OS and journalled: replays see the same number.
  uint64_t value = engine_.random();
  append(wire::EntryKind::kRandom, codec::encode_to_bytes(value));
  return value;
}

Status FlowContext::write(const std::function<Status(storage::Session&)>& fn) {
  if (failure_) return *failure_;
  if (replaying_) return ok_status();
  Status s = fn(transaction());
  if (!s.ok()) fail(s.error());
  return s;
}

void FlowContext::step(std::string label) {
  progress_.back().step = std::move(label);
  progress_changed();
}

void FlowContext::enter_sub_flow(std::string name) {
  progress_.push_back(ProgressStep{name, {}});
  names_.push_back(std::move(name));
  progress_changed();
}

void FlowContext::leave_sub_flow() {
  FOLIO_ASSERT(names_.size() > 1);
  names_.pop_back();
  progress_.pop_back();
  progress_changed();
}

void FlowContext::progress_changed() {
  if (!replaying_ && engine_.options_.on_progress) engine_.options_.on_progress(id_, progress_);
}

void FlowContext::log(std::string_view message) {
  if (replaying_) return;
  engine_.log("flow " + id_.short_hex() + " " + names_.front() + ": " + std::string(message));
}

bool FlowContext::can_continue(int64_t now_ms) const {
  switch (wait_) {
    case Wait::kNone:
      return true;
    case Wait::kWake:
      return now_ms >= wait_deadline_ms_;
    case Wait::kReceive: {
      const SessionState& s = sessions_.at(wait_session_);
      if (s.peer_ended || inbox_.count({s.id, wire::kOutOfBand}) != 0) return true;
      // The same walk as try_receive: opens carry nothing for the flow and are read past, so the
      // flow can continue only if a message other than an open follows them in sequence.
      for (uint64_t seq = s.receive_seq;; ++seq) {
        auto it = inbox_.find({s.id, seq});
        if (it == inbox_.end()) return false;
        if (it->second.kind != wire::Kind::kOpen) return true;
      }
    }
  }
  return false;
}

void FlowContext::add_inbound(const crypto::Hash256& session, uint64_t seq, Inbound message) {
  inbox_.emplace(std::make_pair(session, seq), std::move(message));
}

}  // namespace folio::flow
