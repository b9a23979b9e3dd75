// The S-BAC transaction manager: see transaction_manager.h.
#include "sbac/transaction_manager.h"

#include <algorithm>

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

TransactionManager::TransactionManager(PrepareCommand command, ShardMap map, VerifyCache* cache)
    : TransactionManager(std::move(command), std::make_shared<const ShardMap>(std::move(map)),
                         cache) {
  FOLIO_ASSERT(map_->check_canonical().ok());
}

TransactionManager::TransactionManager(PrepareCommand command,
                                       std::shared_ptr<const ShardMap> map, VerifyCache* cache)
    : command_(std::move(command)), map_(std::move(map)), cache_(cache) {
  FOLIO_ASSERT(map_ != nullptr);
  // A shared map's canonical form is checked by whoever shares it, once per map rather than once
  // per transaction.
  FOLIO_ASSERT(command_.check_canonical().ok());
  if (cache_ == nullptr) {
    own_cache_ = std::make_unique<VerifyCache>(256);
    cache_ = own_cache_.get();
  }
  concerned_ = concerned_shards(command_.tx_id, command_.inputs, command_.references,
                                command_.output_count, map_->shard_count());
  FOLIO_ASSERT(!concerned_.empty());
}

template <class Statement>
std::optional<ManagerRefusal> TransactionManager::count(Tally<Statement>& tally,
                                                        const Statement& statement,
                                                        const ReplicaSignature& signature) {
  const Shard& members = map_->shard(statement.shard);
  if (!members.is_member(signature.by) || !verify_signature(statement, signature, cache_))
    return ManagerRefusal::kInvalidSignature;
  // A replica counts once per shard, whatever it signs (a Byzantine one may sign both verdicts,
  // or several sequence_max values).
  auto& signers = tally[statement.shard];
  if (signers.contains(signature.by)) return ManagerRefusal::kDuplicate;
  signers.emplace(signature.by, std::make_pair(statement, signature));
  return std::nullopt;
}

template <class Statement>
std::optional<ShardVote<Statement>> TransactionManager::quorum_of(const Tally<Statement>& tally,
                                                                  ShardId shard,
                                                                  Verdict verdict) const {
  auto by_shard = tally.find(shard);
  if (by_shard == tally.end()) return std::nullopt;
  const size_t quorum = map_->shard(shard).vote_quorum();
  // Most calls come before f+1 signers of the verdict: answered without copying a statement.
  size_t with_verdict = 0;
  for (const auto& [by, signed_statement] : by_shard->second)
    if (signed_statement.first.verdict == verdict) ++with_verdict;
  if (with_verdict < quorum) return std::nullopt;
  // Group the signers by the exact statement they signed, in order of their first signer.
  std::vector<ShardVote<Statement>> groups;
  for (const auto& [by, signed_statement] : by_shard->second) {
    const auto& [statement, signature] = signed_statement;
    if (statement.verdict != verdict) continue;
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return g.statement == statement; });
    if (group == groups.end()) {
      groups.push_back(ShardVote<Statement>{statement, {}});
      group = groups.end() - 1;
    }
    if (group->signatures.size() < quorum) group->signatures.push_back(signature);
  }
  for (ShardVote<Statement>& group : groups)
    if (group.signatures.size() == quorum) return std::move(group);
  return std::nullopt;
}

std::optional<ManagerRefusal> TransactionManager::on_prepared(const Prepared& statement,
                                                              const ReplicaSignature& signature) {
  if (statement.tx_id != command_.tx_id || statement.session != command_.session ||
      statement.epoch != map_->epoch || !concerned_.contains(statement.shard))
    return ManagerRefusal::kWrongSession;
  if (phase_ != Phase::kPreparing) return ManagerRefusal::kTooLate;
  if (auto refusal = count(prepared_, statement, signature)) return refusal;
  decide();
  return std::nullopt;
}

void TransactionManager::decide() {
  // SOMEPREPARED(abort): one shard's abort vote decides (lowest shard first, deterministically).
  for (ShardId shard : concerned_) {
    auto abort = quorum_of(prepared_, shard, Verdict::kAbort);
    if (!abort) continue;
    accept_ = AcceptCommand{
        command_.tx_id, command_.session, Verdict::kAbort, {std::move(*abort)}};
    phase_ = Phase::kAccepting;
    return;
  }
  // ALLPREPARED(commit): a commit vote of every concerned shard.
  AcceptCommand commit{command_.tx_id, command_.session, Verdict::kCommit, {}};
  for (ShardId shard : concerned_) {
    auto vote = quorum_of(prepared_, shard, Verdict::kCommit);
    if (!vote) return;
    commit.evidence.push_back(std::move(*vote));
  }
  accept_ = std::move(commit);
  phase_ = Phase::kAccepting;
}

std::optional<ManagerRefusal> TransactionManager::on_accepted(const Accepted& statement,
                                                              const ReplicaSignature& signature) {
  // The session is signed inside `accepted`: an accepted(abort) of an earlier session of T, however
  // it is labelled on the wire, is refused here.
  if (statement.tx_id != command_.tx_id || statement.session != command_.session ||
      statement.epoch != map_->epoch || !concerned_.contains(statement.shard))
    return ManagerRefusal::kWrongSession;
  // The single-shard fast path: the one concerned shard sequences prepare and accept in one step,
  // so its quorum of accepted(commit) decides without its prepared statements (replicas send none
  // for such a session, halving what a manager receives and checks). The certificate is the same
  // quorum finish() would take. An abort still waits for the prepared statements, whose
  // sequence_max reports a retry needs.
  if (!accept_ && phase_ == Phase::kPreparing && concerned_.size() == 1 &&
      statement.verdict == Verdict::kCommit) {
    if (auto refusal = count(accepted_, statement, signature)) return refusal;
    if (auto vote = quorum_of(accepted_, statement.shard, Verdict::kCommit)) {
      certificate_ = NotarisationCertificate{map_->epoch, {std::move(*vote)}};
      phase_ = Phase::kCommitted;
    }
    return std::nullopt;
  }
  // Only statements with the verdict this session decided are counted (an honest shard accepts
  // nothing else; a Byzantine replica's opposite verdict must not join a quorum).
  if (!accept_ || statement.verdict != accept_->verdict) return ManagerRefusal::kWrongSession;
  if (auto refusal = count(accepted_, statement, signature)) return refusal;
  finish();
  return std::nullopt;
}

void TransactionManager::finish() {
  if (phase_ != Phase::kAccepting) return;
  if (accept_->verdict == Verdict::kAbort) {
    for (ShardId shard : concerned_)
      if (quorum_of(accepted_, shard, Verdict::kAbort)) phase_ = Phase::kAborted;
    return;
  }
  NotarisationCertificate certificate{map_->epoch, {}};
  for (ShardId shard : concerned_) {
    auto vote = quorum_of(accepted_, shard, Verdict::kCommit);
    if (!vote) return;
    certificate.votes.push_back(std::move(*vote));
  }
  certificate_ = std::move(certificate);
  phase_ = Phase::kCommitted;
}

}  // namespace folio::sbac
