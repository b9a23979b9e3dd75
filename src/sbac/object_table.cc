#include "sbac/object_table.h"

#include <algorithm>

namespace folio::sbac {
namespace {

bool strictly_ascending(const std::vector<ledger::StateRef>& refs) {
  for (size_t i = 1; i < refs.size(); ++i)
    if (!(refs[i - 1] < refs[i])) return false;
  return true;
}

std::vector<ledger::StateRef> managed(const std::vector<ledger::StateRef>& refs, ShardId shard,
                                      uint32_t shard_count) {
  std::vector<ledger::StateRef> out;
  for (const ledger::StateRef& ref : refs)
    if (shard_of(ref, shard_count) == shard) out.push_back(ref);
  return out;
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

ObjectTable::ObjectTable(ShardId shard, ShardMap map, uint32_t dummy_slots)
    : shard_(shard), map_(std::move(map)), dummies_(dummy_slots) {
  FOLIO_ASSERT(map_.check_canonical().ok());
  FOLIO_ASSERT(map_.contains(shard_));
  FOLIO_ASSERT(dummy_slots <= kDummySlotsMax);
}

Status ObjectTable::add_genesis(const ledger::StateRef& ref) {
  if (shard_of(ref, map_) != shard_)
    return make_error(ErrorCode::kInvalidArgument, ref.describe() + " is not managed here");
  if (transactions_.contains(ref.tx_id))
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

AbortReason ObjectTable::evaluate(const Session& session, ledger::Timestamp agreed_time,
                                  const PrepareCheck& check) const {
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
  const PrepareBinding* binding = session.binding ? &*session.binding : nullptr;
  if (check.reject_bound(session.command, binding, shard_))
    return AbortReason::kRejectedByValidation;
  return AbortReason::kNone;
}

std::vector<ObjectEntry*> ObjectTable::objects_of(const Session& session) {
  std::vector<ObjectEntry*> out;
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
  return prepare_session(command, nullptr, agreed_time, check);
}

Outcome ObjectTable::prepare_session(const PrepareCommand& command, const PrepareBinding* binding,
                                     ledger::Timestamp agreed_time, const PrepareCheck& check) {
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
  if (auto tx = transactions_.find(key.tx_id); tx != transactions_.end() && tx->second.pruned)
    return reject(RejectReason::kPruned, "the transaction committed here and was pruned");

  Session session;
  session.command = command;
  if (binding != nullptr) session.binding = *binding;
  session.order = next_order_++;
  session.concerned = concerned_shards(command.tx_id, command.inputs, command.references,
                                       command.output_count, map_.shard_count());
  if (!session.concerned.contains(shard_))
    return reject(RejectReason::kNotConcerned, "no state of the transaction is managed here");
  session.inputs = managed(command.inputs, shard_, map_.shard_count());
  session.references = managed(command.references, shard_, map_.shard_count());
  for (uint32_t i = 0; i < command.output_count; ++i) {
    ledger::StateRef out{command.tx_id, i};
    if (shard_of(out, map_) == shard_) session.outputs.push_back(out);
  }
  if (session.inputs.empty() && session.references.empty()) session.dummy = command.dummy_slot;

  session.prepared.key = key;
  session.prepared.shard = shard_;
  session.prepared.reason = evaluate(session, agreed_time, check);
  for (ObjectEntry* entry : objects_of(session))
    session.prepared.sequence_max = std::max(session.prepared.sequence_max, entry->sequence);
  session.prepared.verdict =
      session.prepared.reason == AbortReason::kNone ? Verdict::kCommit : Verdict::kAbort;
  if (session.prepared.verdict == Verdict::kCommit) {
    // Chainspace §V-A: a shard that prepares commit locks the objects until accept.
    for (ObjectEntry* entry : objects_of(session)) entry->lock = key;
    transactions_[key.tx_id].open_commit = key.session;
  }
  PrepareDecision decision = session.prepared;
  sessions_.emplace(key, std::move(session));
  return decision;
}

std::optional<Rejection> ObjectTable::check_evidence(const Session& session,
                                                     const AcceptCommand& command) const {
  const SessionKey& key = session.prepared.key;
  std::set<ShardId> seen;
  for (const PreparedVote& vote : command.evidence) {
    const Prepared& s = vote.statement;
    std::string where = "vote of shard " + std::to_string(s.shard.value());
    // Byzcuit: a vote counts only for the session it was cast in.
    if (s.tx_id != key.tx_id || (replay_defences_ && s.session != key.session))
      return reject(RejectReason::kBadEvidence, where + " is for another session");
    if (s.verdict != command.verdict)
      return reject(RejectReason::kBadEvidence, where + " has the other verdict");
    if (!session.concerned.contains(s.shard))
      return reject(RejectReason::kBadEvidence, where + ": shard not concerned");
    if (!seen.insert(s.shard).second)
      return reject(RejectReason::kBadEvidence, where + " appears twice");
    if (Status status = verify_vote(vote, map_, &verify_cache_); !status.ok())
      return reject(RejectReason::kBadEvidence, where + ": " + status.error().context);
  }
  if (command.verdict == Verdict::kCommit) {
    // Chainspace §V-A: ALLPREPARED(commit) needs a commit vote of every concerned shard; this
    // shard's own is in its log (the caller has checked that it prepared commit).
    for (ShardId shard : session.concerned)
      if (shard != shard_ && !seen.contains(shard))
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
    auto last = sessions_.end();
    for (auto s = sessions_.lower_bound(SessionKey{key.tx_id, Sequence(0)});
         s != sessions_.end() && s->first.tx_id == key.tx_id; ++s)
      if (last == sessions_.end() || s->second.order > last->second.order) last = s;
    it = last;
    if (it != sessions_.end()) key = it->first;
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
  return decision;
}

Outcome ObjectTable::single_shard(const SingleShardCommand& command, ledger::Timestamp agreed_time,
                                  const PrepareCheck& check) {
  const PrepareCommand& p = command.prepare;
  if (Status s = p.check_canonical(); !s.ok())
    return reject(RejectReason::kMalformed, s.error().context);
  std::set<ShardId> concerned =
      concerned_shards(p.tx_id, p.inputs, p.references, p.output_count, map_.shard_count());
  if (concerned != std::set<ShardId>{shard_})
    return reject(RejectReason::kNotSingleShard, "the transaction concerns other shards");
  Outcome prepared = prepare(p, agreed_time, check);
  const auto* decision = std::get_if<PrepareDecision>(&prepared);
  if (decision == nullptr) return prepared;
  return accept(AcceptCommand{p.tx_id, p.session, decision->verdict, {}});
}

Outcome ObjectTable::bound_prepare(const BoundPrepareCommand& command,
                                   ledger::Timestamp agreed_time, const PrepareCheck& check) {
  if (!command.single_shard)
    return prepare_session(command.prepare, &command.binding, agreed_time, check);
  const PrepareCommand& p = command.prepare;
  if (Status s = p.check_canonical(); !s.ok())
    return reject(RejectReason::kMalformed, s.error().context);
  std::set<ShardId> concerned =
      concerned_shards(p.tx_id, p.inputs, p.references, p.output_count, map_.shard_count());
  if (concerned != std::set<ShardId>{shard_})
    return reject(RejectReason::kNotSingleShard, "the transaction concerns other shards");
  Outcome prepared = prepare_session(p, &command.binding, agreed_time, check);
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
  if (it == sessions_.end() || !it->second.binding) return nullptr;
  return &*it->second.binding;
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

size_t ObjectTable::prune_sessions(size_t sessions_max) {
  if (sessions_.size() <= sessions_max) return 0;
  // Candidates: sessions of transactions committed here, oldest first.
  std::vector<std::pair<uint64_t, SessionKey>> candidates;
  for (const auto& [key, session] : sessions_) {
    auto tx = transactions_.find(key.tx_id);
    if (tx != transactions_.end() && tx->second.committed)
      candidates.emplace_back(session.order, key);
  }
  std::sort(candidates.begin(), candidates.end());
  size_t dropped = 0;
  for (const auto& [order, key] : candidates) {
    if (sessions_.size() <= sessions_max) break;
    // All sessions of a transaction go together, so that none of them can be re-prepared.
    TransactionRecord& tx = transactions_.at(key.tx_id);
    FOLIO_ASSERT(tx.committed);
    FOLIO_ASSERT(!tx.open_commit);
    tx.pruned = true;
    dropped += sessions_.erase(key);
  }
  // A transaction marked pruned keeps no session at all.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto tx = transactions_.find(it->first.tx_id);
    if (tx != transactions_.end() && tx->second.pruned) {
      it = sessions_.erase(it);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace folio::sbac
