// The replay adversary of the sharded-notary simulator (Byzcuit's phase-1 and phase-2 attacks),
// see sbac_sim.h.
#include "sim/sbac_sim_world.h"

namespace folio::sim {
namespace sbac_sim_detail {

// ---- The replay adversary -----------------------------------------------------------------------

void SbacSimulation::inject_command(const Bytes& command, ShardId shard, int64_t at) {
  ++result_.replays;
  injected_.insert(crypto::sha256(command));
  for (uint32_t r = 0; r < options_.replicas; ++r) {
    // The adversary is a network party: its messages are not subject to the faults it exploits.
    schedule(Event{at,
                   0,
                   EventKind::kToReplica,
                   replica_endpoint(shard, r),
                   replica_count(),
                   {},
                   sbac::ManagerMessage{sbac::SubmitCommand{command}},
                   {}});
  }
}

void SbacSimulation::tap_statement(const sbac::ReplicaMessage& m, int64_t t) {
  if (const auto* a = std::get_if<sbac::SignedAccepted>(&m)) {
    if (a->statement.verdict != sbac::Verdict::kAbort) return;
    auto& recorded = accepted_aborts_seen_[a->statement.tx_id];
    if (recorded.size() < kAcceptedAbortsPerTransactionMax) recorded.push_back(*a);
    restart(SessionKey{a->statement.tx_id, a->statement.session}, t);
    return;
  }
  const auto* p = std::get_if<sbac::SignedPrepared>(&m);
  if (p == nullptr) return;
  SessionKey key{p->statement.tx_id, p->statement.session};
  prepared_seen_[key][{p->statement.shard, p->statement.verdict, p->statement.sequence_max}]
      .emplace(p->signature.by, p->signature);
  // The first statement of a later instance of T: replay the earlier instances into it now,
  // before its manager can gather the votes it needs.
  auto& sessions = sessions_seen_[key.tx_id];
  bool later = !sessions.empty() && *sessions.rbegin() < key.session;
  bool fresh = sessions.insert(key.session).second;
  if (!fresh || !later) return;
  auto pay = payment_of_.find(key.tx_id);
  if (pay == payment_of_.end()) return;
  inject(key, payments_[pay->second].concerned, t);
  inject_accepted(key, t);
}

// Phase 2 against the manager: the accepted(abort) statements of earlier sessions of T, relabelled
// as the fresh session's (SignedAccepted::session is unsigned), to the paying client and to every
// replica (those running a takeover of the session are its managers). The session signed inside
// `accepted` must make every manager refuse them.
void SbacSimulation::inject_accepted(const SessionKey& fresh, int64_t t) {
  auto recorded = accepted_aborts_seen_.find(fresh.tx_id);
  auto pay = payment_of_.find(fresh.tx_id);
  if (recorded == accepted_aborts_seen_.end() || pay == payment_of_.end()) return;
  std::vector<uint32_t> managers{client_endpoint(payments_[pay->second].client)};
  for (uint32_t r = 0; r < replica_count(); ++r) managers.push_back(r);
  for (sbac::SignedAccepted replayed : recorded->second) {
    if (replayed.statement.session >= fresh.session) continue;
    if (result_.replays >= kReplaysMax) return;
    ++result_.replays;
    ++result_.replays_relabelled;
    replayed.session = fresh;
    int64_t at = t + adversary_.range(1, 30);
    for (uint32_t to : managers)
      schedule(Event{at, 0, EventKind::kToManager, to, replica_count(), {}, {}, replayed});
  }
}

// Any party may manage a transaction: after an abort, the adversary itself starts a later instance
// of T from the prepare it recorded (the replicas' takeovers must then finish it), which gives the
// replays above more instances to attack.
void SbacSimulation::restart(const SessionKey& aborted, int64_t t) {
  auto recorded = prepares_seen_.find(aborted.tx_id);
  if (recorded == prepares_seen_.end() || restarts_[aborted.tx_id] >= kRestartsPerTransactionMax)
    return;
  if (adversary_.below(2) != 0 || result_.replays >= kReplaysMax) return;
  ++restarts_[aborted.tx_id];
  sbac::BoundPrepareCommand command = recorded->second;
  command.prepare.session = aborted.session.next();
  auto pay = payment_of_.find(aborted.tx_id);
  if (pay == payment_of_.end()) return;
  Bytes bytes = codec::encode_to_bytes(sbac::ShardCommand(command));
  for (ShardId shard : payments_[pay->second].concerned)
    inject_command(bytes, shard, t + adversary_.range(1, 100));
}

void SbacSimulation::tap_submit(const Bytes& command) {
  if (injected_.contains(crypto::sha256(command))) return;
  Result<sbac::ShardCommand> decoded = sbac::decode_command(command);
  if (!decoded.ok()) return;
  if (const auto* bound = std::get_if<sbac::BoundPrepareCommand>(&*decoded))
    prepares_seen_.try_emplace(bound->prepare.tx_id, *bound);
  if (submits_seen_.size() < 512) submits_seen_.push_back(command);
  if (const auto* accept = std::get_if<sbac::AcceptCommand>(&*decoded)) {
    auto& seen = accepts_seen_[accept->tx_id];
    if (std::find(seen.begin(), seen.end(), *accept) == seen.end()) seen.push_back(*accept);
  }
}

std::optional<sbac::AcceptCommand> SbacSimulation::tampered(const sbac::AcceptCommand& command) {
  sbac::AcceptCommand out = command;
  bool changed = false;
  for (sbac::PreparedVote& vote : out.evidence) {
    std::vector<sbac::BatchSignature*> batched;
    for (sbac::ReplicaSignature& s : vote.signatures)
      if (auto* b = std::get_if<sbac::BatchSignature>(&s.signature)) batched.push_back(b);
    if (batched.empty()) continue;
    sbac::BatchSignature& b = *batched[adversary_.below(batched.size())];
    switch (adversary_.below(5)) {
      case 0:  // another leaf's position (a valid index of the same tree, or one past it)
        b.index = b.index ^ 1u;
        break;
      case 1:  // a tree of another size, same root and branch
        b.leaf_count = adversary_.below(2) == 0 ? b.leaf_count + 1 : b.leaf_count - 1;
        break;
      case 2:  // one level more
        b.branch.push_back(b.root);
        break;
      case 3:  // one level less (or, for a one-leaf tree, a level where none belongs)
        if (b.branch.empty()) {
          b.branch.push_back(b.root);
        } else {
          b.branch.pop_back();
        }
        break;
      default:  // a sibling hash changed (or the root, for a one-leaf tree)
        if (b.branch.empty()) {
          b.root.bytes[adversary_.below(32)] ^= 1;
        } else {
          b.branch[adversary_.below(b.branch.size())].bytes[adversary_.below(32)] ^= 1;
        }
        break;
    }
    changed = true;
  }
  if (!changed) return std::nullopt;
  return out;
}

// A later instance (T, s') is starting: replay the earlier instances of T into it.
void SbacSimulation::inject(const SessionKey& fresh, const std::set<ShardId>& concerned,
                            int64_t t) {
  if (result_.replays >= kReplaysMax) return;
  static constexpr int64_t kDelaysMs[] = {1, 30, 80, 200};
  std::vector<Bytes> commands;
  // Phase 2 (Byzcuit): every recorded accept of an earlier session of T, and variants of it
  // re-assembled from other signers of the same votes (new bytes, same meaning, so the consensus
  // log's duplicate filter does not stop them).
  for (const sbac::AcceptCommand& old : accepts_seen_[fresh.tx_id]) {
    if (old.session >= fresh.session) continue;
    commands.push_back(codec::encode_to_bytes(sbac::ShardCommand(old)));
    for (const auto& [said, signers] : prepared_seen_[SessionKey{old.tx_id, old.session}]) {
      const auto& [shard, verdict, sequence_max] = said;
      if (verdict != old.verdict) continue;
      uint32_t quorum = map_.shard(shard).vote_quorum();
      if (signers.size() <= quorum) continue;
      sbac::AcceptCommand variant = old;
      sbac::PreparedVote vote;
      vote.statement =
          sbac::Prepared{old.tx_id, old.session, old.verdict, shard, map_.epoch, sequence_max};
      for (auto it = signers.rbegin(); it != signers.rend() && vote.signatures.size() < quorum;
           ++it)
        vote.signatures.push_back(it->second);
      std::reverse(vote.signatures.begin(), vote.signatures.end());
      variant.evidence = {vote};
      commands.push_back(codec::encode_to_bytes(sbac::ShardCommand(variant)));
    }
  }
  // Phase 1 (Byzcuit): commit votes of earlier sessions presented as evidence for the new one.
  sbac::AcceptCommand forged{fresh.tx_id, fresh.session, sbac::Verdict::kCommit, {}};
  for (ShardId shard : concerned) {
    uint32_t quorum = map_.shard(shard).vote_quorum();
    bool found = false;
    for (const auto& [key, by_statement] : prepared_seen_) {
      if (key.tx_id != fresh.tx_id || key.session >= fresh.session) continue;
      for (const auto& [said, signers] : by_statement) {
        const auto& [from, verdict, sequence_max] = said;
        if (from != shard || verdict != sbac::Verdict::kCommit || signers.size() < quorum)
          continue;
        sbac::PreparedVote vote;
        vote.statement = sbac::Prepared{key.tx_id,  key.session, sbac::Verdict::kCommit,
                                        shard,      map_.epoch,  sequence_max};
        for (const auto& [by, signature] : signers) {
          if (vote.signatures.size() == quorum) break;
          vote.signatures.push_back(signature);
        }
        forged.evidence.push_back(std::move(vote));
        found = true;
        break;
      }
      if (found) break;
    }
  }
  size_t first_tampered = commands.size();
  size_t tampered_count = 0;
  // Each replayed accept once more with its evidence's batch signatures tampered with (branch,
  // index, leaf_count): new bytes, and every replica must refuse them as bad evidence.
  {
    std::vector<Bytes> tampered_commands;
    for (const Bytes& bytes : commands) {
      Result<sbac::ShardCommand> decoded = sbac::decode_command(bytes);
      FOLIO_ASSERT(decoded.ok());  // encoded just above
      if (auto t = tampered(std::get<sbac::AcceptCommand>(*decoded)))
        tampered_commands.push_back(codec::encode_to_bytes(sbac::ShardCommand(*t)));
    }
    if (!forged.evidence.empty()) {
      if (auto t = tampered(forged))
        tampered_commands.push_back(codec::encode_to_bytes(sbac::ShardCommand(*t)));
    }
    tampered_count = tampered_commands.size();
    commands.insert(commands.end(), tampered_commands.begin(), tampered_commands.end());
  }
  if (!forged.evidence.empty())
    commands.push_back(codec::encode_to_bytes(sbac::ShardCommand(forged)));
  // Old accepts go to one concerned shard only: all-or-nothing is what they attack.
  std::vector<ShardId> targets(concerned.begin(), concerned.end());
  ShardId target = targets[adversary_.below(targets.size())];
  for (size_t i = 0; i < commands.size(); ++i) {
    bool forged_commit = !forged.evidence.empty() && i + 1 == commands.size();
    for (int64_t delay : kDelaysMs) {
      if (result_.replays >= kReplaysMax) return;
      if (forged_commit) {
        for (ShardId shard : concerned) inject_command(commands[i], shard, t + delay);
      } else {
        inject_command(commands[i], target, t + delay);
      }
      if (i >= first_tampered && i < first_tampered + tampered_count) ++result_.replays_tampered;
    }
  }
}

}  // namespace sbac_sim_detail
}  // namespace folio::sim
