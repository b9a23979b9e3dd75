#include "sbac/transaction_manager.h"

namespace folio::sbac {

std::string_view to_string(ManagerRefusal refusal) {
  switch (refusal) {
    case ManagerRefusal::kWrongSession:
      return "wrong session";
    case ManagerRefusal::kInvalidSignature:
      return "invalid signature";
    case ManagerRefusal::kDuplicate:
      return "duplicate";
    case ManagerRefusal::kTooLate:
      return "too late";
  }
  return "unknown refusal";
}

TransactionManager::TransactionManager(PrepareCommand command, ShardMap map)
    : command_(std::move(command)), map_(std::move(map)) {
  FOLIO_ASSERT(command_.check_canonical().ok());
  FOLIO_ASSERT(map_.check_canonical().ok());
  concerned_ = concerned_shards(command_.tx_id, command_.inputs, command_.references,
                                command_.output_count, map_.shard_count());
  FOLIO_ASSERT(!concerned_.empty());
}

std::optional<ManagerRefusal> TransactionManager::count(Tally& tally, ShardId shard,
                                                        Verdict verdict, const Bytes& payload,
                                                        const ReplicaSignature& signature) {
  const Shard& members = map_.shard(shard);
  if (!members.is_member(signature.by) ||
      !crypto::verify(signature.by, payload, signature.signature))
    return ManagerRefusal::kInvalidSignature;
  // A replica counts once per shard, whatever verdicts it signs (a Byzantine one may sign both).
  for (const auto& [v, signers] : tally[shard])
    if (signers.contains(signature.by)) return ManagerRefusal::kDuplicate;
  tally[shard][verdict].emplace(signature.by, signature);
  return std::nullopt;
}

std::vector<ReplicaSignature> TransactionManager::quorum_of(const Tally& tally, ShardId shard,
                                                            Verdict verdict) const {
  std::vector<ReplicaSignature> out;
  auto by_shard = tally.find(shard);
  if (by_shard == tally.end()) return out;
  auto by_verdict = by_shard->second.find(verdict);
  if (by_verdict == by_shard->second.end()) return out;
  for (const auto& [key, signature] : by_verdict->second) {
    if (out.size() == map_.shard(shard).vote_quorum()) break;
    out.push_back(signature);
  }
  if (out.size() < map_.shard(shard).vote_quorum()) out.clear();
  return out;
}

std::optional<ManagerRefusal> TransactionManager::on_prepared(const Prepared& statement,
                                                              const ReplicaSignature& signature) {
  if (statement.tx_id != command_.tx_id || statement.session != command_.session ||
      statement.epoch != map_.epoch || !concerned_.contains(statement.shard))
    return ManagerRefusal::kWrongSession;
  if (phase_ != Phase::kPreparing) return ManagerRefusal::kTooLate;
  if (auto refusal = count(prepared_, statement.shard, statement.verdict,
                           signing_payload(statement), signature))
    return refusal;
  decide();
  return std::nullopt;
}

void TransactionManager::decide() {
  // SOMEPREPARED(abort): one shard's abort vote decides (lowest shard first, deterministically).
  for (ShardId shard : concerned_) {
    auto abort = quorum_of(prepared_, shard, Verdict::kAbort);
    if (abort.empty()) continue;
    Prepared s{command_.tx_id, command_.session, Verdict::kAbort, shard, map_.epoch};
    accept_ = AcceptCommand{
        command_.tx_id, command_.session, Verdict::kAbort, {PreparedVote{s, std::move(abort)}}};
    phase_ = Phase::kAccepting;
    return;
  }
  // ALLPREPARED(commit): a commit vote of every concerned shard.
  AcceptCommand commit{command_.tx_id, command_.session, Verdict::kCommit, {}};
  for (ShardId shard : concerned_) {
    auto votes = quorum_of(prepared_, shard, Verdict::kCommit);
    if (votes.empty()) return;
    Prepared s{command_.tx_id, command_.session, Verdict::kCommit, shard, map_.epoch};
    commit.evidence.push_back(PreparedVote{s, std::move(votes)});
  }
  accept_ = std::move(commit);
  phase_ = Phase::kAccepting;
}

std::optional<ManagerRefusal> TransactionManager::on_accepted(const Accepted& statement,
                                                              const ReplicaSignature& signature) {
  if (statement.tx_id != command_.tx_id || statement.epoch != map_.epoch ||
      !concerned_.contains(statement.shard))
    return ManagerRefusal::kWrongSession;
  // `accepted` carries no session: an accepted(abort) of an earlier session of T is possible, so
  // only statements with the verdict this session decided are counted.
  if (!accept_ || statement.verdict != accept_->verdict) return ManagerRefusal::kWrongSession;
  if (auto refusal = count(accepted_, statement.shard, statement.verdict,
                           signing_payload(statement), signature))
    return refusal;
  finish();
  return std::nullopt;
}

void TransactionManager::finish() {
  if (phase_ != Phase::kAccepting) return;
  if (accept_->verdict == Verdict::kAbort) {
    for (ShardId shard : concerned_)
      if (!quorum_of(accepted_, shard, Verdict::kAbort).empty()) phase_ = Phase::kAborted;
    return;
  }
  NotarisationCertificate certificate{map_.epoch, {}};
  for (ShardId shard : concerned_) {
    auto votes = quorum_of(accepted_, shard, Verdict::kCommit);
    if (votes.empty()) return;
    certificate.votes.push_back(AcceptedVote{
        Accepted{command_.tx_id, Verdict::kCommit, shard, map_.epoch}, std::move(votes)});
  }
  certificate_ = std::move(certificate);
  phase_ = Phase::kCommitted;
}

}  // namespace folio::sbac
