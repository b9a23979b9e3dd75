#include "sim/byzantine.h"

#include <algorithm>

namespace folio::sim {
namespace {

using consensus::Message;
using consensus::Proposal;
using consensus::ReplicaId;
using consensus::TimeoutMessage;
using consensus::Vote;

constexpr size_t kHistoryMax = 256;
constexpr uint32_t kReplayPpm = 100'000;
constexpr uint32_t kForgePpm = 50'000;
constexpr uint32_t kGarbagePpm = 50'000;

}  // namespace

std::string describe_behaviours(uint32_t behaviours) {
  static constexpr const char* kNames[] = {
      "equivocate", "propose-to-one", "stale-timeouts", "conflicting-votes",  "withhold-votes",
      "replay",     "forge",          "garbage",        "fork-after-timeout", "withhold-proposals"};
  std::string out;
  for (uint32_t i = 0; i < 10; ++i) {
    if ((behaviours & (1u << i)) == 0) continue;
    if (!out.empty()) out += '+';
    out += kNames[i];
  }
  return out.empty() ? "none" : out;
}

Byzantine::Byzantine(uint32_t behaviours, crypto::PrivateKey key, uint32_t replicas, Prng prng)
    : behaviours_(behaviours), key_(std::move(key)), replicas_(replicas), prng_(prng) {}

void Byzantine::remember(const Bytes& bytes) {
  history_.push_back(bytes);
  if (history_.size() > kHistoryMax) history_.pop_front();
}

uint32_t Byzantine::random_peer(ReplicaId self) {
  uint32_t peer = static_cast<uint32_t>(prng_.below(replicas_ - 1));
  return peer >= self.value() ? peer + 1 : peer;
}

std::vector<Packet> Byzantine::transform(const consensus::Replica& inner,
                                         const consensus::Ready& ready) {
  std::vector<Packet> out;
  ReplicaId self = inner.id();
  auto to_all = [&](const Message& m) {
    Bytes bytes = codec::encode_to_bytes(m);
    remember(bytes);
    for (uint32_t to = 0; to < replicas_; ++to)
      if (to != self.value()) out.push_back(Packet{to, bytes});
  };
  for (const consensus::Outgoing& o : ready.send) {
    Message m = o.message;
    if (auto* p = std::get_if<Proposal>(&m)) {
      if (has(kWithholdProposals)) continue;
      if (has(kForkAfterTimeout) && start_fork(inner, *p, out)) continue;
      if (has(kProposeToOne)) {
        out.push_back(Packet{random_peer(self), codec::encode_to_bytes(m)});
        continue;
      }
      if (has(kEquivocate)) {
        Proposal twin = *p;
        twin.block.timestamp_ms += 1;
        std::reverse(twin.block.commands.begin(), twin.block.commands.end());
        if (twin.block.commands.size() > 1) twin.block.commands.pop_back();
        Bytes a = codec::encode_to_bytes(m);
        Bytes b = codec::encode_to_bytes(Message(twin));
        for (uint32_t to = 0; to < replicas_; ++to)
          if (to != self.value()) out.push_back(Packet{to, prng_.below(2) ? a : b});
        continue;
      }
    }
    if (auto* t = std::get_if<TimeoutMessage>(&m); t && (has(kStaleTimeouts) || fork_)) {
      // Claim to hold only the QC below the real one; signatures are genuine.
      if (const consensus::Block* b = inner.find_block(t->timeout.high_qc.block_id)) {
        if (b->view > consensus::View(0)) {
          t->timeout = consensus::make_timeout(key_, self, t->timeout.view, b->qc);
          t->high_tc.reset();
        }
      }
    }
    if (std::holds_alternative<Vote>(m) && (has(kWithholdVotes) || fork_)) continue;
    if (o.to) {
      Bytes bytes = codec::encode_to_bytes(m);
      remember(bytes);
      out.push_back(Packet{o.to->value(), std::move(bytes)});
    } else {
      to_all(m);
    }
  }
  return out;
}

void Byzantine::observe(const consensus::Replica& inner, uint32_t from, const Message& message,
                        const Bytes& bytes, std::vector<Packet>& out) {
  (void)from;
  remember(bytes);
  if (const auto* t = std::get_if<TimeoutMessage>(&message)) {
    const consensus::Timeout& to = t->timeout;
    if (timeouts_seen_.size() > 8) timeouts_seen_.erase(timeouts_seen_.begin());
    timeouts_seen_[to.view].emplace(to.voter,
                                    consensus::TcEntry{to.voter, to.high_qc.view, to.signature});
    if (fork_) try_fork(inner, out);
  }
  const auto* p = std::get_if<Proposal>(&message);
  if (p == nullptr || !has(kConflictingVotes)) return;
  // Vote for whatever is proposed, ignoring every rule, and for a block that does not exist.
  const consensus::Committee& committee = inner.config().committee;
  uint32_t next_leader = committee.leader(p->block.view.next()).value();
  consensus::BlockId id = consensus::block_id(p->block);
  Vote v = consensus::make_vote(key_, inner.id(), p->block, id);
  Bytes made_up_seed = codec::encode_to_bytes(p->block.view);
  made_up_seed.push_back(static_cast<uint8_t>(prng_.next()));
  consensus::BlockId bogus(crypto::sha256(made_up_seed));
  Vote w = consensus::make_vote(key_, inner.id(), p->block, bogus);
  if (next_leader == inner.id().value()) return;
  out.push_back(Packet{next_leader, codec::encode_to_bytes(Message(v))});
  out.push_back(Packet{next_leader, codec::encode_to_bytes(Message(w))});
}

bool Byzantine::start_fork(const consensus::Replica& inner, const Proposal& proposal,
                           std::vector<Packet>& out) {
  // The attack needs the certified block to be from the view just before the proposal's.
  const consensus::Block* certified = inner.find_block(proposal.block.qc.block_id);
  if (certified == nullptr || certified->view.next() != proposal.block.view ||
      certified->view == consensus::View(0))
    return false;
  ReplicaId self = inner.id();
  fork_ = Fork{proposal, random_peer(self), certified->qc};
  out.push_back(Packet{fork_->target, codec::encode_to_bytes(Message(proposal))});
  // Time out in the previous view as if the certified block's QC had never formed.
  consensus::Timeout t = consensus::make_timeout(key_, self, certified->view, certified->qc);
  timeouts_seen_[t.view].emplace(self, consensus::TcEntry{self, t.high_qc.view, t.signature});
  Bytes bytes = codec::encode_to_bytes(Message(TimeoutMessage{t, std::nullopt}));
  for (uint32_t to = 0; to < replicas_; ++to)
    if (to != self.value() && to != fork_->target) out.push_back(Packet{to, bytes});
  return true;
}

void Byzantine::try_fork(const consensus::Replica& inner, std::vector<Packet>& out) {
  const Fork& f = *fork_;
  consensus::View timed_out(f.shown.block.view.value() - 1);
  auto seen = timeouts_seen_.find(timed_out);
  const consensus::Committee& committee = inner.config().committee;
  if (seen == timeouts_seen_.end() || seen->second.size() < committee.quorum()) return;
  consensus::TimeoutCert tc{timed_out, {}};
  for (const auto& [voter, entry] : seen->second) tc.entries.push_back(entry);
  if (tc.max_high_qc_view() > f.old_qc.view) {
    fork_.reset();  // someone reported the newer QC: the fork would get no votes
    return;
  }
  consensus::Proposal fork;
  fork.block = f.shown.block;
  fork.block.qc = f.old_qc;
  fork.block.height = f.old_qc.height.next();
  fork.block.timestamp_ms += 1;
  fork.block.commands.clear();
  fork.tc = std::move(tc);
  ReplicaId self = inner.id();
  Bytes bytes = codec::encode_to_bytes(Message(fork));
  for (uint32_t to = 0; to < replicas_; ++to)
    if (to != self.value() && to != f.target) out.push_back(Packet{to, bytes});
  // And vote for it, although this replica already voted for the block it showed.
  consensus::Vote v = consensus::make_vote(key_, self, fork.block, consensus::block_id(fork.block));
  uint32_t next_leader = committee.leader(fork.block.view.next()).value();
  if (next_leader != self.value())
    out.push_back(Packet{next_leader, codec::encode_to_bytes(Message(v))});
  fork_.reset();
}

void Byzantine::on_tick(const consensus::Replica& inner, std::vector<Packet>& out) {
  ReplicaId self = inner.id();
  if (has(kReplay) && !history_.empty() && prng_.chance_ppm(kReplayPpm)) {
    out.push_back(Packet{random_peer(self), history_[prng_.below(history_.size())]});
  }
  if (has(kForge) && prng_.chance_ppm(kForgePpm)) {
    consensus::Block fake;
    fake.view = inner.view();
    fake.height = inner.high_qc().height.next();
    fake.leader = inner.config().committee.leader(fake.view);
    fake.qc = inner.high_qc();
    consensus::BlockId id = consensus::block_id(fake);
    Vote v = consensus::make_vote(key_, self, fake, id);
    switch (prng_.below(4)) {
      case 0:  // a corrupted signature
        v.signature.bytes.bytes[prng_.below(64)] ^= 0x40;
        break;
      case 1:  // a vote in another replica's name
        v.voter = ReplicaId(random_peer(self));
        break;
      case 2: {  // a timeout whose signature covers another view
        consensus::Timeout t = consensus::make_timeout(key_, self, inner.view(), inner.high_qc());
        t.view = t.view.next();
        out.push_back(Packet{random_peer(self),
                             codec::encode_to_bytes(Message(TimeoutMessage{t, std::nullopt}))});
        return;
      }
      default: {  // a QC whose votes are signed by this replica under others' names
        consensus::QuorumCert qc{id, fake.view, fake.height, {}};
        for (uint32_t i = 0; i < inner.config().committee.quorum(); ++i)
          qc.votes.push_back(consensus::QcVote{ReplicaId(i), v.signature});
        consensus::Timeout t = consensus::make_timeout(key_, self, fake.view.next(), qc);
        out.push_back(Packet{random_peer(self),
                             codec::encode_to_bytes(Message(TimeoutMessage{t, std::nullopt}))});
        return;
      }
    }
    out.push_back(Packet{random_peer(self), codec::encode_to_bytes(Message(v))});
  }
  if (has(kGarbage) && prng_.chance_ppm(kGarbagePpm)) {
    Bytes bytes;
    if (!history_.empty() && prng_.below(2) == 0) {
      bytes = history_[prng_.below(history_.size())];
      bytes[prng_.below(bytes.size())] ^= static_cast<uint8_t>(1u << prng_.below(8));
    } else {
      bytes.resize(prng_.below(200));
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(prng_.next());
    }
    out.push_back(Packet{random_peer(self), std::move(bytes)});
  }
}

}  // namespace folio::sim
