// ShardReplica: see shard_replica.h.
#include "sbac/shard_replica.h"

#include <cstring>
#include <string_view>

#include "crypto/hash.h"

namespace folio::sbac {
namespace {

// The seed of the table's hash maps (TableHash): secret, since only the replica's own key goes
// into it, and fixed for the replica, so a restarted replica places entries as before.
uint64_t table_hash_seed(const crypto::PrivateKey& key) {
  constexpr std::string_view kDomain = "folio/sbac/table-hash-seed/v1";
  Bytes input(kDomain.begin(), kDomain.end());
  input.insert(input.end(), key.seed().bytes.begin(), key.seed().bytes.end());
  crypto::Hash256 h = crypto::sha256(input);
  uint64_t seed = 0;
  std::memcpy(&seed, h.bytes.data(), sizeof(seed));
  return seed;
}

}  // namespace

// A block signs at most two statements per command (the fast path signs prepared and accepted), and
// a decoded block holds at most consensus::kBatchCountMaxLimit commands: one block's batch always
// fits a BatchTree (whose constructor asserts the bound).
static_assert(2 * consensus::kBatchCountMaxLimit <= kBatchLeavesMax,
              "a block's statements must fit one batch signature");

ShardReplica::ShardReplica(ShardReplicaConfig config, consensus::ReplicaConfig consensus,
                           const consensus::RestoredState& restored, int64_t now_ms)
    : config_(std::move(config)),
      replica_(std::move(consensus), restored, now_ms),
      table_(config_.shard, config_.map, config_.dummy_slots, table_hash_seed(config_.key)),
      signed_(0, TableHash{table_hash_seed(config_.key)}),
      pruned_commits_(0, TableHash{table_hash_seed(config_.key)}) {
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
  const Signed& s = it->second;
  if (s.prepared) out.emplace_back(SignedPrepared{*s.prepared, signature_of(s.prepared_leaf)});
  if (s.accepted)
    out.emplace_back(
        SignedAccepted{*s.accepted, signature_of(s.accepted_leaf), query.session});
  return out;
}

ShardReady ShardReplica::take_ready() {
  ShardReady ready = take_consensus_ready();
  apply_ready(ready);
  return ready;
}

ShardReady ShardReplica::take_consensus_ready() {
  ShardReady ready;
  ready.consensus = replica_.take_ready();
  return ready;
}

void ShardReplica::apply_ready(ShardReady& ready) {
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
  pruned_keys_.clear();
  (void)table_.prune_sessions(config_.sessions_max, &pruned_keys_);
  for (const SessionKey& key : pruned_keys_) {
    auto it = signed_.find(key);
    if (it == signed_.end()) continue;
    // A pruned transaction committed here: its accepted(commit) stays, one per transaction like
    // the table's tombstone, so a manager that has not yet gathered the certificate can.
    const Signed& s = it->second;
    if (s.accepted && s.accepted->verdict == Verdict::kCommit)
      pruned_commits_.insert_or_assign(
          key.tx_id, SignedAccepted{*s.accepted, signature_of(s.accepted_leaf), key});
    signed_.erase(it);
  }
}

void ShardReplica::apply(const consensus::CommittedBlock& block, ShardReady& ready) {
  // The leader's timestamp is in milliseconds; ledger time is in microseconds.
  ledger::Timestamp agreed(static_cast<int64_t>(block.block->timestamp_ms) * 1000);
  std::vector<Unsigned> batch;
  batch.reserve(2 * block.block->commands.size());
  if (ready.outcomes.empty()) ready.outcomes.reserve(block.block->commands.size());
  for (const Bytes& bytes : block.block->commands) {
    Result<ShardCommand> command = decode_command(bytes);
    if (!command.ok()) {
      ++ready.undecodable;
      ++undecodable_total_;
      continue;
    }
    // Moved: a two-phase prepare's binding goes into the session without a copy.
    Outcome outcome = table_.execute(std::move(command).value(), agreed, *config_.check);
    record(outcome, batch);
    ready.outcomes.push_back(std::move(outcome));
  }
  sign_block(batch, ready);
}

void ShardReplica::record(const Outcome& outcome, std::vector<Unsigned>& batch) {
  const Epoch epoch = config_.map.epoch;
  if (const auto* p = std::get_if<PrepareDecision>(&outcome)) {
    Signed& s = signed_[p->key];
    if (!s.prepared) {  // a repeat of a decided session signs nothing new
      s.prepared = p->statement(epoch);
      batch.push_back(Unsigned{p->key, &s, false});
    }
    if (!table_.session_accepted(p->key) && config_.takeover_ticks != 0)
      pending_.try_emplace(p->key, Pending{0, config_.takeover_ticks, 0});
    return;
  }
  if (const auto* a = std::get_if<AcceptDecision>(&outcome)) {
    Signed& s = signed_[a->key];
    if (!s.prepared) {
      // The single-shard fast path: the session was prepared in the same step, with the verdict
      // it was accepted with; sign that prepared statement too, so a manager can decide.
      // Its sequence_max is the table's, as every honest replica computes it. An AcceptDecision
      // comes only from a session in the table's cache, which holds its prepare decision; a
      // made-up sequence_max would be a false signed statement, so there is no fallback.
      const PrepareDecision* decision = table_.session_prepared(a->key);
      FOLIO_ASSERT(decision != nullptr);
      s.prepared = Prepared{a->key.tx_id, a->key.session, a->verdict, a->shard,
                            epoch,        decision->sequence_max};
      batch.push_back(Unsigned{a->key, &s, false});
    }
    if (!pending_.empty()) pending_.erase(a->key);
    if (s.accepted) return;
    s.accepted = a->statement(epoch);
    batch.push_back(Unsigned{a->key, &s, true});
  }
}

void ShardReplica::sign_block(const std::vector<Unsigned>& batch, ShardReady& ready) {
  if (batch.empty()) return;
  // One signature for the block's statements: the root of their leaves, in log order.
  std::vector<crypto::Hash256> leaves;
  leaves.reserve(batch.size());
  for (const Unsigned& u : batch)
    leaves.push_back(u.accepted ? statement_leaf(*u.in->accepted)
                                : statement_leaf(*u.in->prepared));
  BatchTree tree(std::move(leaves));
  crypto::Signature root_signature = config_.key.sign(tree.payload());
  ++batches_signed_;
  auto signed_batch =
      std::make_shared<const SignedBatch>(SignedBatch{std::move(tree), root_signature});
  const crypto::PublicKey& by = config_.key.public_key();
  // The first block sizes the vectors; later ones grow them geometrically.
  if (ready.prepared.empty()) ready.prepared.reserve(batch.size());
  if (ready.accepted.empty()) ready.accepted.reserve(batch.size());
  for (uint32_t i = 0; i < batch.size(); ++i) {
    const Unsigned& u = batch[i];
    ReplicaSignature signature = signed_batch->tree.signature(i, by, root_signature);
    if (u.accepted) {
      u.in->accepted_leaf = Leaf{signed_batch, i};
      ready.accepted.push_back(SignedAccepted{*u.in->accepted, std::move(signature), u.key});
    } else {
      u.in->prepared_leaf = Leaf{signed_batch, i};
      ready.prepared.push_back(SignedPrepared{*u.in->prepared, std::move(signature)});
    }
  }
}

ReplicaSignature ShardReplica::signature_of(const Leaf& leaf) const {
  // Every stored statement was signed by the end of the block that recorded it.
  FOLIO_ASSERT(leaf.batch != nullptr);
  return leaf.batch->tree.signature(leaf.index, config_.key.public_key(),
                                    leaf.batch->root_signature);
}

}  // namespace folio::sbac
