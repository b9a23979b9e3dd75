#include "sbac/shard_replica.h"

namespace folio::sbac {

ShardReplica::ShardReplica(ShardReplicaConfig config, consensus::ReplicaConfig consensus,
                           const consensus::RestoredState& restored, int64_t now_ms)
    : config_(std::move(config)),
      replica_(std::move(consensus), restored, now_ms),
      table_(config_.shard, config_.map, config_.dummy_slots) {
  FOLIO_ASSERT(config_.check != nullptr);
  FOLIO_ASSERT(config_.map.shard(config_.shard).is_member(config_.key.public_key()));
  table_.set_test_only_replay_defences(config_.test_only_replay_defences);
}

void ShardReplica::tick(int64_t now_ms) {
  replica_.tick(now_ms);
  for (auto& [key, pending] : pending_) ++pending.waited;
}

std::vector<ReplicaMessage> ShardReplica::on_manager(const ManagerMessage& message) {
  std::vector<ReplicaMessage> out;
  if (const auto* submit = std::get_if<SubmitCommand>(&message)) {
    (void)replica_.submit(submit->command);
    return out;
  }
  const auto& query = std::get<StatusQuery>(message);
  auto it = signed_.find(query.session);
  if (it == signed_.end()) {
    auto pruned = pruned_commits_.find(query.session.tx_id);
    if (pruned != pruned_commits_.end()) out.emplace_back(pruned->second);
    return out;
  }
  if (it->second.prepared) out.emplace_back(*it->second.prepared);
  if (it->second.accepted) out.emplace_back(*it->second.accepted);
  return out;
}

ShardReady ShardReplica::take_ready() {
  ShardReady ready;
  ready.consensus = replica_.take_ready();
  for (const consensus::CommittedBlock& block : ready.consensus.commit) apply(block, ready);
  // Takeover timers: a session prepared here and not accepted within its deadline.
  if (config_.takeover_ticks != 0) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      const SessionKey& key = it->first;
      Pending& pending = it->second;
      const PrepareCommand* command = table_.session_command(key);
      if (command == nullptr) {
        // Pruned: its transaction committed here, and a session left open beside it (a replayed
        // prepare that aborted) needs no manager.
        it = pending_.erase(it);
        continue;
      }
      ++it;
      if (pending.waited < pending.deadline) continue;
      Takeover takeover{*command, std::nullopt};
      if (const PrepareBinding* binding = table_.session_binding(key)) takeover.binding = *binding;
      ready.takeovers.push_back(std::move(takeover));
      pending.waited = 0;
      if (pending.shift < config_.takeover_backoff_shift_max) ++pending.shift;
      pending.deadline = config_.takeover_ticks << pending.shift;
    }
  }
  if (size_t dropped = table_.prune_sessions(config_.sessions_max); dropped > 0) {
    for (auto it = signed_.begin(); it != signed_.end();) {
      if (table_.session_command(it->first) == nullptr) {
        // A pruned transaction committed here: its accepted(commit) stays, one per transaction
        // like the table's tombstone, so a manager that has not yet gathered the certificate can.
        if (it->second.accepted && it->second.accepted->statement.verdict == Verdict::kCommit)
          pruned_commits_.insert_or_assign(it->first.tx_id, *it->second.accepted);
        it = signed_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return ready;
}

void ShardReplica::apply(const consensus::CommittedBlock& block, ShardReady& ready) {
  // The leader's timestamp is in milliseconds; ledger time is in microseconds.
  ledger::Timestamp agreed(static_cast<int64_t>(block.block->timestamp_ms) * 1000);
  for (const Bytes& bytes : block.block->commands) {
    Result<ShardCommand> command = decode_command(bytes);
    if (!command.ok()) {
      ++ready.undecodable;
      ++undecodable_total_;
      continue;
    }
    Outcome outcome = table_.execute(*command, agreed, *config_.check);
    record(outcome, ready);
    ready.outcomes.push_back(std::move(outcome));
  }
}

void ShardReplica::record(const Outcome& outcome, ShardReady& ready) {
  const Epoch epoch = config_.map.epoch;
  auto sign_prepared = [&](const PrepareDecision& d) {
    Signed& s = signed_[d.key];
    if (s.prepared) return;  // a repeat of a decided session signs nothing new
    Prepared statement = d.statement(epoch);
    s.prepared = SignedPrepared{statement, sign(config_.key, statement), d.sequence_max};
    ready.prepared.push_back(*s.prepared);
  };
  if (const auto* p = std::get_if<PrepareDecision>(&outcome)) {
    sign_prepared(*p);
    if (!table_.session_accepted(p->key) && config_.takeover_ticks != 0)
      pending_.try_emplace(p->key, Pending{0, config_.takeover_ticks, 0});
    return;
  }
  if (const auto* a = std::get_if<AcceptDecision>(&outcome)) {
    Signed& s = signed_[a->key];
    if (!s.prepared) {
      // The single-shard fast path: the session was prepared in the same step, with the verdict
      // it was accepted with; sign that prepared statement too, so a manager can decide.
      Prepared statement{a->key.tx_id, a->key.session, a->verdict, a->shard, epoch};
      s.prepared = SignedPrepared{statement, sign(config_.key, statement), Sequence(0)};
      ready.prepared.push_back(*s.prepared);
    }
    pending_.erase(a->key);
    if (s.accepted) return;
    Accepted statement = a->statement(epoch);
    s.accepted = SignedAccepted{statement, sign(config_.key, statement), a->key};
    ready.accepted.push_back(*s.accepted);
  }
}

}  // namespace folio::sbac
