// Coordinator: see coordinator.h.
#include "sbac/coordinator.h"

#include <algorithm>

namespace folio::sbac {

Coordinator::Coordinator(PrepareCommand command, std::optional<PrepareBinding> binding,
                         ShardMap map, CoordinatorConfig config, VerifyCache* shared_cache)
    : command_(std::move(command)),
      binding_(std::move(binding)),
      map_(std::move(map)),
      config_(config),
      own_cache_(shared_cache ? nullptr : std::make_unique<VerifyCache>(1024)),
      verify_cache_(shared_cache ? shared_cache : own_cache_.get()) {
  FOLIO_ASSERT(config_.attempts_max >= 1);
  FOLIO_ASSERT(config_.resend_ticks >= 1);
  start_session();
}

void Coordinator::start_session() {
  manager_.emplace(command_, map_, verify_cache_);
  ++attempts_;
  waited_ = 0;
  accept_sent_ = false;
  sequence_reports_.clear();
  abort_accepted_.clear();
  prepared_signers_.clear();
  send_phase_commands();
}

void Coordinator::send_phase_commands() {
  const std::set<ShardId>& concerned = manager_->concerned();
  std::optional<Bytes> accept;
  if (manager_->accept_command())
    accept = codec::encode_to_bytes(ShardCommand(*manager_->accept_command()));
  {
    ShardCommand prepare;
    bool single = concerned.size() == 1;
    if (binding_) {
      prepare = BoundPrepareCommand{command_, *binding_, single};
    } else if (single) {
      prepare = SingleShardCommand{command_};
    } else {
      prepare = command_;
    }
    Bytes bytes = codec::encode_to_bytes(prepare);
    // The accept goes only to shards known to have sequenced the prepare: sequenced first, an
    // accept would be refused (no session) and then kept out of the log as a duplicate forever.
    // A shard that missed the prepare (an abort decided on another shard's vote) gets it again.
    for (ShardId shard : concerned)
      out_.push_back(
          CoordinatorSend{shard, SubmitCommand{accept && shard_prepared(shard) ? *accept : bytes}});
  }
  for (ShardId shard : concerned)
    out_.push_back(
        CoordinatorSend{shard, StatusQuery{SessionKey{command_.tx_id, command_.session}}});
}

bool Coordinator::shard_prepared(ShardId shard) const {
  auto it = prepared_signers_.find(shard);
  return it != prepared_signers_.end() && it->second.size() >= map_.shard(shard).vote_quorum();
}

void Coordinator::tick() {
  if (outcome_ != Outcome::kRunning) return;
  if (++waited_ < config_.resend_ticks) return;
  waited_ = 0;
  send_phase_commands();
}

bool Coordinator::abort_accepted_everywhere() const {
  for (ShardId shard : manager_->concerned()) {
    auto it = abort_accepted_.find(shard);
    if (it == abort_accepted_.end() || it->second.size() < map_.shard(shard).vote_quorum())
      return false;
  }
  return true;
}

void Coordinator::on_replica(const ReplicaMessage& message) {
  if (outcome_ != Outcome::kRunning) return;
  if (const auto* p = std::get_if<SignedPrepared>(&message)) {
    bool had_decision = manager_->accept_command().has_value();
    std::optional<ManagerRefusal> refusal = manager_->on_prepared(p->statement, p->signature);
    if (refusal == ManagerRefusal::kTooLate) {
      // Counted no more, but it still tells that this shard sequenced the prepare.
      const Shard& members = map_.shard(p->statement.shard);
      if (!members.is_member(p->signature.by) ||
          !verify_signature(p->statement, p->signature, verify_cache_)) {
        ++refused_;
        return;
      }
    } else if (refusal) {
      ++refused_;
      return;
    }
    ShardId shard = p->statement.shard;
    bool was_prepared = shard_prepared(shard);
    prepared_signers_[shard].insert(p->signature.by);
    sequence_reports_[shard][p->signature.by] = p->statement.sequence_max;
    if (!had_decision && manager_->accept_command()) {
      waited_ = 0;
      send_phase_commands();
    } else if (had_decision && !was_prepared && shard_prepared(shard)) {
      out_.push_back(CoordinatorSend{
          shard, SubmitCommand{codec::encode_to_bytes(ShardCommand(*manager_->accept_command()))}});
    }
    return;
  }
  // Matched on the statement's signed session (the manager refuses another session's), never on
  // SignedAccepted::session, which anyone on the network may rewrite.
  const auto& a = std::get<SignedAccepted>(message);
  if (manager_->on_accepted(a.statement, a.signature)) {
    ++refused_;
    return;
  }
  if (a.statement.verdict == Verdict::kAbort)
    abort_accepted_[a.statement.shard].insert(a.signature.by);
  if (manager_->phase() == TransactionManager::Phase::kCommitted) {
    outcome_ = Outcome::kCommitted;
    return;
  }
  if (manager_->phase() != TransactionManager::Phase::kAborted || !abort_accepted_everywhere())
    return;
  if (attempts_ >= config_.attempts_max || command_.session.value() >= kSequenceMax) {
    outcome_ = Outcome::kAborted;
    return;
  }
  // Byzcuit: retry above every object's sequence number, trusting a value only when f+1 replicas
  // of a shard reported it alike.
  Sequence next = command_.session.next();
  for (const auto& [shard, reports] : sequence_reports_) {
    std::map<Sequence, uint32_t> tally;
    for (const auto& [by, value] : reports) ++tally[value];
    for (const auto& [value, count] : tally)
      if (count >= map_.shard(shard).vote_quorum()) next = std::max(next, value);
  }
  if (next.value() > kSequenceMax) next = Sequence(kSequenceMax);
  command_.session = next;
  start_session();
}

std::vector<CoordinatorSend> Coordinator::take_ready() { return std::exchange(out_, {}); }

}  // namespace folio::sbac
