// Quiescence and the invariant checker of the sharded-notary simulator, see sbac_sim.h.
#include "sim/sbac_sim_world.h"

namespace folio::sim {
namespace sbac_sim_detail {

// ---- Running and checking -----------------------------------------------------------------------

bool SbacSimulation::quiescent() const {
  for (const Client& c : clients_)
    if (c.started && !c.crashed && c.coordinator &&
        c.coordinator->outcome() == Coordinator::Outcome::kRunning)
      return false;
  // Every honest replica has applied the same decisions and has nothing left to order.
  std::vector<std::optional<std::pair<size_t, size_t>>> applied(options_.shards);
  for (const ReplicaNode& n : nodes_) {
    if (n.lies != 0) continue;
    for (const SessionKey& key : n.decisions.open)
      if (needs_decision(n, key)) return false;
    if (n.replica->consensus().mempool().size() != 0) return false;
    std::pair<size_t, size_t> counts{n.decisions.prepared.size(), n.decisions.accepted.size()};
    auto& shard = applied[n.shard.value()];
    if (shard && *shard != counts) return false;
    shard = counts;
    for (const auto& [key, c] : n.takeovers)
      if (c.outcome() == Coordinator::Outcome::kRunning) return false;
  }
  return true;
}

void SbacSimulation::check(SbacSimResult& result) {
  auto& v = result.violations;
  const uint32_t shards = options_.shards;
  // Per shard: agreement among honest replicas, and the most advanced honest one as reference.
  std::vector<const ReplicaNode*> reference(shards, nullptr);
  for (const ReplicaNode& n : nodes_) {
    if (n.lies != 0) continue;
    for (const std::string& d : n.decisions.double_consumption)
      v.push_back("shard " + std::to_string(n.shard.value()) + ": state consumed twice: " + d);
    const ReplicaNode*& ref = reference[n.shard.value()];
    if (ref == nullptr || n.decisions.accepted.size() > ref->decisions.accepted.size()) ref = &n;
  }
  for (const ReplicaNode& n : nodes_) {
    if (n.lies != 0) continue;
    const ReplicaNode* ref = reference[n.shard.value()];
    for (const auto* maps : {&n.decisions.prepared, &n.decisions.accepted}) {
      const auto& theirs =
          maps == &n.decisions.prepared ? ref->decisions.prepared : ref->decisions.accepted;
      for (const auto& [key, verdict] : *maps) {
        auto it = theirs.find(key);
        if (it != theirs.end() && it->second != verdict)
          v.push_back("shard " + std::to_string(n.shard.value()) +
                      ": honest replicas disagree on " + key.tx_id.value().short_hex() + "/" +
                      std::to_string(key.session.value()));
      }
    }
  }
  // Every transaction any shard heard of: where it committed, and which sessions are open.
  std::map<TxId, std::set<ShardId>> committed_at;
  std::set<TxId> heard;
  for (uint32_t s = 0; s < shards; ++s) {
    const ReplicaNode* ref = reference[s];
    if (ref == nullptr) {
      v.push_back("shard " + std::to_string(s) + " has no honest replica to check against");
      continue;
    }
    for (const auto& [key, verdict] : ref->decisions.prepared) heard.insert(key.tx_id);
    for (const auto& [key, verdict] : ref->decisions.accepted) {
      heard.insert(key.tx_id);
      if (verdict == sbac::Verdict::kCommit) committed_at[key.tx_id].insert(ShardId(s));
    }
    result.sessions += ref->decisions.prepared.size();
    for (const SessionKey& key : ref->decisions.open)
      if (needs_decision(*ref, key))
        v.push_back("shard " + std::to_string(s) + ": session " + key.tx_id.value().short_hex() +
                    "/" + std::to_string(key.session.value()) + " never decided");
  }
  for (const TxId& id : heard) {
    auto pay = payment_of_.find(id);
    if (pay == payment_of_.end()) {
      v.push_back("a shard decided an unknown transaction " + id.value().short_hex());
      continue;
    }
    const std::set<ShardId>& concerned = payments_[pay->second].concerned;
    auto it = committed_at.find(id);
    if (it == committed_at.end()) {
      ++result.aborted;
      continue;
    }
    if (it->second != concerned) {
      v.push_back("all-or-nothing broken: " + id.value().short_hex() + " committed at " +
                  std::to_string(it->second.size()) + " of its " +
                  std::to_string(concerned.size()) + " shards");
    } else {
      ++result.committed;
    }
  }
  // Cash: the active states of all shards sum to what genesis issued.
  uint64_t total = 0;
  for (uint32_t s = 0; s < shards; ++s) {
    if (reference[s] == nullptr) continue;
    for (const auto& [ref, entry] : reference[s]->replica->table().objects()) {
      if (!entry.active) continue;
      auto coin = coins_.find(ref);
      if (coin == coins_.end()) {
        v.push_back("an active state the workload never created: " + ref.describe());
        continue;
      }
      total += coin->second.quantity;
    }
  }
  if (total != issued_)
    v.push_back("cash not conserved: " + std::to_string(total) + " active, " +
                std::to_string(issued_) + " issued");
  // Clients that did not crash reached an outcome.
  for (uint32_t c = 0; c < clients_.size(); ++c) {
    const Client& client = clients_[c];
    if (client.crashed || !client.coordinator) continue;
    if (client.coordinator->outcome() == Coordinator::Outcome::kRunning)
      v.push_back("client " + std::to_string(c) + " never learnt the outcome of " +
                  client.coordinator->tx_id().value().short_hex());
  }
  // Certificates verify iff their transaction committed.
  auto committed_everywhere = [&](const TxId& id) {
    auto it = committed_at.find(id);
    auto pay = payment_of_.find(id);
    return it != committed_at.end() && pay != payment_of_.end() &&
           it->second == payments_[pay->second].concerned;
  };
  for (const auto& [id, certificate] : certificates_) {
    auto pay = payment_of_.find(id);
    if (pay == payment_of_.end()) continue;
    if (Status s =
            sbac::verify_certificate(id, certificate, payments_[pay->second].concerned, map_);
        !s.ok())
      v.push_back("a manager's certificate for " + id.value().short_hex() +
                  " does not verify: " + s.error().context);
    if (!committed_everywhere(id))
      v.push_back("a manager holds a certificate for " + id.value().short_hex() +
                  ", which did not commit");
  }
  for (const Payment& pay : payments_) {
    // The best certificate anyone could assemble from what crossed the network.
    sbac::NotarisationCertificate best{map_.epoch, {}};
    auto seen = accepted_commit_seen_.find(pay.id);
    for (ShardId shard : pay.concerned) {
      // Per shard, the first signed session with f+1 valid signatures (the session is signed
      // inside each statement; a vote is one statement, so its signers agree on it).
      sbac::AcceptedVote best_vote;
      best_vote.statement = sbac::Accepted{pay.id, sbac::Verdict::kCommit, shard, map_.epoch};
      const std::map<sbac::Sequence, std::map<crypto::PublicKey, sbac::ReplicaSignature>>*
          signed_sessions = nullptr;
      if (seen != accepted_commit_seen_.end()) {
        if (auto it = seen->second.find(shard); it != seen->second.end())
          signed_sessions = &it->second;
      }
      if (signed_sessions != nullptr) {
        for (const auto& [session, signers] : *signed_sessions) {
          sbac::AcceptedVote vote;
          vote.statement =
              sbac::Accepted{pay.id, sbac::Verdict::kCommit, shard, map_.epoch, session};
          Bytes payload = sbac::signing_payload(vote.statement);
          for (const auto& [by, signature] : signers) {
            if (vote.signatures.size() == map_.shard(shard).vote_quorum()) break;
            if (map_.shard(shard).is_member(by) &&
                sbac::verify_signature(payload, signature, &checker_cache_))
              vote.signatures.push_back(signature);
          }
          if (vote.signatures.size() > best_vote.signatures.size()) best_vote = std::move(vote);
          if (best_vote.signatures.size() == map_.shard(shard).vote_quorum()) break;
        }
      }
      best.votes.push_back(std::move(best_vote));
    }
    bool verifies = sbac::verify_certificate(pay.id, best, pay.concerned, map_).ok();
    bool committed = committed_everywhere(pay.id);
    if (verifies && !committed)
      v.push_back("a certificate verifies for " + pay.id.value().short_hex() +
                  ", which did not commit");
    if (!verifies && committed)
      v.push_back("no certificate can be assembled for committed " + pay.id.value().short_hex());
  }
}

}  // namespace sbac_sim_detail
}  // namespace folio::sim
