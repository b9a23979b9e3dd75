#include "sbac/object_table.h"

#include <algorithm>

namespace folio::sbac {
namespace {

bool strictly_ascending(const std::vector<ledger::StateRef>& refs) {
  for (size_t i = 1; i < refs.size(); ++i)
    if (!(refs[i - 1] < refs[i])) return false;
  return true;
}

Rejection reject(RejectReason reason, std::string detail) {
  return Rejection{reason, std::move(detail)};
}

}  // namespace

std::string_view to_string(AbortReason reason) {
  switch (reason) {
    case AbortReason::kNone:
      return "none";
    case AbortReason::kObjectNotActive:
      return "object not active";
    case AbortReason::kObjectLocked:
      return "object locked";
    case AbortReason::kSequenceNewer:
      return "sequence number newer than the session";
    case AbortReason::kDummyMissing:
      return "dummy object missing";
    case AbortReason::kAlreadyCommitted:
      return "already committed";
    case AbortReason::kSessionOpen:
      return "another session of the transaction is open";
    case AbortReason::kOutsideTimeWindow:
      return "outside the time window";
    case AbortReason::kRejectedByValidation:
      return "rejected by validation";
  }
  return "unknown abort reason";
}

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kNotConcerned:
      return "shard not concerned";
    case RejectReason::kSessionConflict:
      return "session conflict";
    case RejectReason::kNoSession:
      return "no such session";
    case RejectReason::kAlreadyDecided:
      return "already decided";
    case RejectReason::kBadEvidence:
      return "bad evidence";
    case RejectReason::kContradictsOwnVote:
      return "contradicts own vote";
    case RejectReason::kNotSingleShard:
      return "not single-shard";
    case RejectReason::kPruned:
      return "transaction committed and pruned";
  }
  return "unknown reject reason";
}

Status PrepareCommand::check_canonical() const {
  if (session.value() > kSequenceMax)
    return make_error(ErrorCode::kLimitExceeded, "session number past its maximum");
  if (inputs.size() + references.size() > kObjectsPerCommandMax)
    return make_error(ErrorCode::kLimitExceeded, "too many inputs and references");
  if (output_count > kOutputsPerCommandMax)
    return make_error(ErrorCode::kLimitExceeded, "too many outputs");
  if (!strictly_ascending(inputs))
    return make_error(ErrorCode::kMalformed, "inputs not strictly ascending");
  if (!strictly_ascending(references))
    return make_error(ErrorCode::kMalformed, "references not strictly ascending");
  for (const ledger::StateRef& ref : references)
    if (std::binary_search(inputs.begin(), inputs.end(), ref))
      return make_error(ErrorCode::kMalformed, "a state is both input and reference");
  if (time_window) {
    if (auto why = time_window->malformation()) return make_error(ErrorCode::kMalformed, *why);
  }
  return ok_status();
}

Result<ShardCommand> decode_command(ByteView bytes) {
  codec::Limits limits;
  limits.input_bytes_max = kCommandBytesMax;
  return codec::decode_from_bytes<ShardCommand>(bytes, limits);
}

ObjectTable::ObjectTable(ShardId shard, ShardMap map, uint32_t dummy_slots, uint64_t hash_seed)
    : shard_(shard),
      map_(std::move(map)),
      objects_(0, TableHash{hash_seed}),
      dummies_(dummy_slots),
      sessions_(0, TableHash{hash_seed}),
      transactions_(0, TableHash{hash_seed}) {
  FOLIO_ASSERT(map_.check_canonical().ok());
  FOLIO_ASSERT(map_.contains(shard_));
  FOLIO_ASSERT(dummy_slots <= kDummySlotsMax);
}

Status ObjectTable::add_genesis(const ledger::StateRef& ref) {
  if (shard_of(ref, map_) != shard_)
    return make_error(ErrorCode::kInvalidArgument, ref.describe() + " is not managed here");
  if (auto tx = transactions_.find(ref.tx_id); tx != transactions_.end() && tx->second.recorded)
    return make_error(ErrorCode::kConflict, ref.describe() + " belongs to a transaction seen here");
  if (!objects_.emplace(ref, ObjectEntry{}).second)
    return make_error(ErrorCode::kConflict, ref.describe() + " already exists");
  return ok_status();
}

const ObjectEntry* ObjectTable::find(const ledger::StateRef& ref) const {
  auto it = objects_.find(ref);
  return it == objects_.end() ? nullptr : &it->second;
}

const ObjectEntry& ObjectTable::dummy(uint32_t slot) const {
  FOLIO_ASSERT(slot < dummies_.size());
  return dummies_[slot];
}

Outcome ObjectTable::execute(const ShardCommand& command, ledger::Timestamp agreed_time,
                             const PrepareCheck& check) {
  if (const auto* prepare_command = std::get_if<PrepareCommand>(&command))
    return prepare(*prepare_command, agreed_time, check);
  if (const auto* accept_command = std::get_if<AcceptCommand>(&command))
    return accept(*accept_command);
  if (const auto* bound = std::get_if<BoundPrepareCommand>(&command))
    return bound_prepare(*bound, agreed_time, check);
  return single_shard(std::get<SingleShardCommand>(command), agreed_time, check);
}

Outcome ObjectTable::execute(ShardCommand&& command, ledger::Timestamp agreed_time,
                             const PrepareCheck& check) {
  if (auto* bound = std::get_if<BoundPrepareCommand>(&command))
    return prepare_command(bound->prepare, bound->single_shard, &bound->binding, &bound->binding,
                           agreed_time, check);
  return execute(static_cast<const ShardCommand&>(command), agreed_time, check);
}

ObjectTable::Placement ObjectTable::place(const PrepareCommand& command) const {
  const uint32_t shard_count = map_.shard_count();
  Placement out;
  auto note = [&](ShardId s) {
    auto at = std::lower_bound(out.concerned.begin(), out.concerned.end(), s);
    if (at == out.concerned.end() || *at != s) out.concerned.insert(at, s);
  };
  for (const ledger::StateRef& ref : command.inputs) {
    ShardId s = shard_of(ref, shard_count);
    note(s);
    if (s == shard_) out.inputs.push_back(ref);
  }
  for (const ledger::StateRef& ref : command.references) {
    ShardId s = shard_of(ref, shard_count);
    note(s);
    if (s == shard_) out.references.push_back(ref);
  }
  for (uint32_t i = 0; i < command.output_count; ++i) {
    ledger::StateRef ref{command.tx_id, i};
    ShardId s = shard_of(ref, shard_count);
    note(s);
    if (s == shard_) out.outputs.push_back(ref);
  }
  return out;
}

AbortReason ObjectTable::evaluate(const Session& session, const PrepareBinding* binding,
                                  ledger::Timestamp agreed_time, const PrepareCheck& check) const {
  const SessionKey& key = session.prepared.key;
  auto tx = transactions_.find(key.tx_id);
  if (tx != transactions_.end()) {
    if (tx->second.committed) return AbortReason::kAlreadyCommitted;
    if (tx->second.open_commit) return AbortReason::kSessionOpen;
  }
  for (const ledger::StateRef& ref : session.outputs)
    if (objects_.contains(ref)) return AbortReason::kAlreadyCommitted;
  // Chainspace §V-A (Theorem 2) and Byzcuit: every input and reference is active and unlocked, and
  // its sequence number is not newer than s_T.
  for (const auto* refs : {&session.inputs, &session.references}) {
    for (const ledger::StateRef& ref : *refs) {
      const ObjectEntry* entry = find(ref);
      if (entry == nullptr || !entry->active) return AbortReason::kObjectNotActive;
      if (entry->lock) return AbortReason::kObjectLocked;
      if (entry->sequence > key.session) return AbortReason::kSequenceNewer;
    }
  }
  // Byzcuit: an output-only shard takes part in phase 1 through a dummy object.
  if (session.inputs.empty() && session.references.empty()) {
    if (!session.dummy || *session.dummy >= dummies_.size()) return AbortReason::kDummyMissing;
    const ObjectEntry& entry = dummies_[*session.dummy];
    if (entry.lock) return AbortReason::kObjectLocked;
    if (entry.sequence > key.session) return AbortReason::kSequenceNewer;
  }
  // ARCHITECTURE.md §3: the time window is checked against the block's agreed time.
  if (session.command.time_window && !session.command.time_window->contains(agreed_time))
    return AbortReason::kOutsideTimeWindow;
  if (check.reject_bound(session.command, binding, shard_))
    return AbortReason::kRejectedByValidation;
  return AbortReason::kNone;
}

std::vector<ObjectEntry*> ObjectTable::objects_of(const Session& session) {
  std::vector<ObjectEntry*> out;
  out.reserve(session.inputs.size() + session.references.size() + 1);
  for (const auto* refs : {&session.inputs, &session.references}) {
    for (const ledger::StateRef& ref : *refs) {
      auto it = objects_.find(ref);
      if (it != objects_.end()) out.push_back(&it->second);
    }
  }
  if (session.dummy && *session.dummy < dummies_.size()) out.push_back(&dummies_[*session.dummy]);
  return out;
}

Outcome ObjectTable::prepare(const PrepareCommand& command, ledger::Timestamp agreed_time,
                             const PrepareCheck& check) {
  return prepare_session(command, nullptr, std::nullopt, agreed_time, check, nullptr);
}

Outcome ObjectTable::prepare_session(const PrepareCommand& command, const PrepareBinding* binding,
                                     std::optional<Placement> placement,
                                     ledger::Timestamp agreed_time, const PrepareCheck& check,
                                     Session** created) {
  if (created != nullptr) *created = nullptr;
  if (Status s = command.check_canonical(); !s.ok())
    return reject(RejectReason::kMalformed, s.error().context);
  SessionKey key{command.tx_id, command.session};
  // Idempotence: a repeated prepare of a session returns its recorded decision.
  if (auto it = sessions_.find(key); it != sessions_.end()) {
    if (it->second.command == command) return it->second.prepared;
    return reject(RejectReason::kSessionConflict, "session prepared with another command");
  }
  // A pruned session must not be prepared afresh: that could sign a second, different verdict for
  // it (see prune_sessions).
  auto tx = transactions_.find(key.tx_id);
  if (tx != transactions_.end() && tx->second.pruned)
    return reject(RejectReason::kPruned, "the transaction committed here and was pruned");

  if (!placement) placement = place(command);
  if (!std::binary_search(placement->concerned.begin(), placement->concerned.end(), shard_))
    return reject(RejectReason::kNotConcerned, "no state of the transaction is managed here");
  Session session;
  session.command = command;
  session.concerned = std::move(placement->concerned);
  session.inputs = std::move(placement->inputs);
  session.references = std::move(placement->references);
  session.outputs = std::move(placement->outputs);
  if (session.inputs.empty() && session.references.empty()) session.dummy = command.dummy_slot;

  session.prepared.key = key;
  session.prepared.shard = shard_;
  session.prepared.reason = evaluate(session, binding, agreed_time, check);
  const std::vector<ObjectEntry*> objects = objects_of(session);
  for (const ObjectEntry* entry : objects)
    session.prepared.sequence_max = std::max(session.prepared.sequence_max, entry->sequence);
  session.prepared.verdict =
      session.prepared.reason == AbortReason::kNone ? Verdict::kCommit : Verdict::kAbort;
  session.order = next_order_++;
  if (tx == transactions_.end()) tx = transactions_.try_emplace(key.tx_id).first;
  tx->second.sessions.push_back(key.session);
  // A replayed session of a transaction that committed here may be pruned with it.
  if (tx->second.committed) prunable_.emplace_hint(prunable_.end(), session.order, key);
  if (session.prepared.verdict == Verdict::kCommit) {
    // Chainspace §V-A: a shard that prepares commit locks the objects until accept.
    for (ObjectEntry* entry : objects) entry->lock = key;
    tx->second.open_commit = key.session;
    tx->second.recorded = true;
  }
  auto [it, inserted] = sessions_.emplace(key, std::move(session));
  FOLIO_ASSERT(inserted);
  if (created != nullptr) *created = &it->second;
  return it->second.prepared;
}

std::optional<Rejection> ObjectTable::check_evidence(const Session& session,
                                                     const AcceptCommand& command) const {
  const SessionKey& key = session.prepared.key;
  auto concerned = [&](ShardId shard) {
    return std::binary_search(session.concerned.begin(), session.concerned.end(), shard);
  };
  std::vector<ShardId> seen;  // a handful: one vote per concerned shard
  seen.reserve(command.evidence.size());
  for (const PreparedVote& vote : command.evidence) {
    const Prepared& s = vote.statement;
    // Built only for a rejection: accepting a vote costs no string.
    auto where = [&] { return "vote of shard " + std::to_string(s.shard.value()); };
    // Byzcuit: a vote counts only for the session it was cast in.
    if (s.tx_id != key.tx_id || (replay_defences_ && s.session != key.session))
      return reject(RejectReason::kBadEvidence, where() + " is for another session");
    if (s.verdict != command.verdict)
      return reject(RejectReason::kBadEvidence, where() + " has the other verdict");
    if (!concerned(s.shard))
      return reject(RejectReason::kBadEvidence, where() + ": shard not concerned");
    if (std::find(seen.begin(), seen.end(), s.shard) != seen.end())
      return reject(RejectReason::kBadEvidence, where() + " appears twice");
    seen.push_back(s.shard);
    if (Status status = verify_vote(vote, map_, &verify_cache_); !status.ok())
      return reject(RejectReason::kBadEvidence, where() + ": " + status.error().context);
  }
  if (command.verdict == Verdict::kCommit) {
    // Chainspace §V-A: ALLPREPARED(commit) needs a commit vote of every concerned shard; this
    // shard's own is in its log (the caller has checked that it prepared commit).
    for (ShardId shard : session.concerned)
      if (shard != shard_ && std::find(seen.begin(), seen.end(), shard) == seen.end())
        return reject(RejectReason::kBadEvidence,
                      "no commit vote of shard " + std::to_string(shard.value()));
    return std::nullopt;
  }
  // SOMEPREPARED(abort): one abort vote suffices, and a shard that prepared abort itself knows
  // LOCALPREPARED(abort) without signatures (Chainspace §V-A, the special case).
  if (seen.empty() && session.prepared.verdict != Verdict::kAbort)
    return reject(RejectReason::kBadEvidence, "no abort vote");
  return std::nullopt;
}

Outcome ObjectTable::accept(const AcceptCommand& command) {
  SessionKey key{command.tx_id, command.session};
  auto it = sessions_.find(key);
  if (!replay_defences_) {
    // Negative control: without the (T, s_T) cache check, act on T's latest session, as a shard
    // keyed by T alone would (Chainspace before Byzcuit).
    it = sessions_.end();
    auto tx = transactions_.find(key.tx_id);
    if (tx != transactions_.end() && !tx->second.sessions.empty()) {
      key.session = tx->second.sessions.back();
      it = sessions_.find(key);
    }
  }
  // Byzcuit: act on accept only for a session in the cache; a replayed accept of an instance this
  // shard never prepared is ignored.
  if (it == sessions_.end()) return reject(RejectReason::kNoSession, "session not prepared here");
  Session& session = it->second;
  if (session.accepted) {
    if (session.accepted->verdict == command.verdict) return *session.accepted;
    return reject(RejectReason::kAlreadyDecided, "session already accepted with the other verdict");
  }
  if (command.verdict == Verdict::kCommit && session.prepared.verdict == Verdict::kAbort)
    return reject(RejectReason::kContradictsOwnVote, "this shard prepared abort");
  if (auto rejection = check_evidence(session, command)) return *std::move(rejection);

  AcceptDecision decision;
  decision.key = key;
  decision.shard = shard_;
  decision.verdict = command.verdict;
  TransactionRecord& tx = transactions_[key.tx_id];
  tx.recorded = true;
  if (command.verdict == Verdict::kCommit) {
    FOLIO_ASSERT(tx.open_commit == key.session);
    for (const ledger::StateRef& ref : session.inputs) {
      ObjectEntry& entry = objects_.at(ref);
      FOLIO_ASSERT(entry.active);
      FOLIO_ASSERT(entry.lock == key);
      entry.active = false;
      entry.lock.reset();
    }
    decision.consumed = session.inputs;
    // Chainspace §V: references are locked during the commit but stay active.
    for (const ledger::StateRef& ref : session.references) {
      ObjectEntry& entry = objects_.at(ref);
      FOLIO_ASSERT(entry.lock == key);
      entry.lock.reset();
    }
    if (session.dummy) {
      FOLIO_ASSERT(dummies_.at(*session.dummy).lock == key);
      dummies_[*session.dummy].lock.reset();
    }
    for (const ledger::StateRef& ref : session.outputs) {
      bool created = objects_.emplace(ref, ObjectEntry{}).second;
      FOLIO_ASSERT(created);
    }
    decision.created = session.outputs;
    tx.open_commit.reset();
    tx.committed = true;
    // Every session of T in the cache may now be pruned. The hint: usually the newest session
    // (the fast path commits the session it has just opened), which goes last.
    for (Sequence other : tx.sessions) {
      auto it_other = other == key.session ? it : sessions_.find(SessionKey{key.tx_id, other});
      if (it_other != sessions_.end())
        prunable_.emplace_hint(prunable_.end(), it_other->second.order, it_other->first);
    }
  } else {
    // Byzcuit: abort releases this session's locks and bumps sequence numbers past s_T, so no vote
    // of this instance can help commit a later one.
    Sequence bumped = key.session.next();
    for (ObjectEntry* entry : objects_of(session)) {
      if (entry->lock == key) entry->lock.reset();
      if (replay_defences_ && entry->sequence < bumped) entry->sequence = bumped;
    }
    if (tx.open_commit == key.session) tx.open_commit.reset();
  }
  session.accepted = decision;
  // Decided: what only an undecided session needs goes (see Session).
  session.concerned = {};
  session.inputs = {};
  session.references = {};
  session.outputs = {};
  session.binding.value.reset();
  return decision;
}

Outcome ObjectTable::single_shard(const SingleShardCommand& command, ledger::Timestamp agreed_time,
                                  const PrepareCheck& check) {
  return prepare_command(command.prepare, true, nullptr, nullptr, agreed_time, check);
}

Outcome ObjectTable::bound_prepare(const BoundPrepareCommand& command,
                                   ledger::Timestamp agreed_time, const PrepareCheck& check) {
  return prepare_command(command.prepare, command.single_shard, &command.binding, nullptr,
                         agreed_time, check);
}

Outcome ObjectTable::prepare_command(const PrepareCommand& p, bool single_shard,
                                     const PrepareBinding* binding, PrepareBinding* movable,
                                     ledger::Timestamp agreed_time, const PrepareCheck& check) {
  if (!single_shard) {
    Session* created = nullptr;
    Outcome outcome = prepare_session(p, binding, std::nullopt, agreed_time, check, &created);
    // Kept for a replica that takes over the session's manager; dropped at its accept.
    if (created != nullptr && binding != nullptr) {
      if (movable != nullptr)
        created->binding.value = std::make_unique<PrepareBinding>(std::move(*movable));
      else
        created->binding.value = std::make_unique<PrepareBinding>(*binding);
    }
    return outcome;
  }
  if (Status s = p.check_canonical(); !s.ok())
    return reject(RejectReason::kMalformed, s.error().context);
  Placement placement = place(p);
  if (placement.concerned.size() != 1 || placement.concerned.front() != shard_)
    return reject(RejectReason::kNotSingleShard, "the transaction concerns other shards");
  // The fast path decides in this step: its binding is checked and never kept.
  Outcome prepared = prepare_session(p, binding, std::move(placement), agreed_time, check, nullptr);
  const auto* decision = std::get_if<PrepareDecision>(&prepared);
  if (decision == nullptr) return prepared;
  return accept(AcceptCommand{p.tx_id, p.session, decision->verdict, {}});
}

const PrepareCommand* ObjectTable::session_command(const SessionKey& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second.command;
}

const PrepareBinding* ObjectTable::session_binding(const SessionKey& key) const {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  return it->second.binding.value.get();
}

const PrepareDecision* ObjectTable::session_prepared(const SessionKey& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : &it->second.prepared;
}

std::optional<Verdict> ObjectTable::session_accepted(const SessionKey& key) const {
  auto it = sessions_.find(key);
  if (it == sessions_.end() || !it->second.accepted) return std::nullopt;
  return it->second.accepted->verdict;
}

size_t ObjectTable::prune_sessions(size_t sessions_max, std::vector<SessionKey>* dropped_keys) {
  size_t dropped = 0;
  auto drop = [&](const SessionKey& key) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return;
    prunable_.erase(it->second.order);
    sessions_.erase(it);
    ++dropped;
    if (dropped_keys != nullptr) dropped_keys->push_back(key);
  };
  // Oldest first, one session at a time while the cache is over its bound; the transaction of each
  // is marked pruned.
  std::vector<ledger::TxId> pruned;
  while (sessions_.size() > sessions_max && !prunable_.empty()) {
    SessionKey key = prunable_.begin()->second;
    TransactionRecord& tx = transactions_.at(key.tx_id);
    FOLIO_ASSERT(tx.committed);
    FOLIO_ASSERT(!tx.open_commit);
    if (!tx.pruned) pruned.push_back(key.tx_id);
    tx.pruned = true;
    drop(key);
  }
  // A transaction marked pruned keeps no session at all, so that none of them can be re-prepared.
  for (const ledger::TxId& id : pruned) {
    TransactionRecord& tx = transactions_.at(id);
    for (Sequence session : tx.sessions) drop(SessionKey{id, session});
    tx.sessions = {};
  }
  return dropped;
}

}  // namespace folio::sbac
