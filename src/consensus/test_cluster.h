// TestCluster: a few replicas wired by a synchronous in-memory queue, for unit and scenario tests.
//
// Messages are encoded to bytes and pass through a real Validator, Readys are executed in the
// required order (persist, then send, then commit) against an in-memory "disk", and a crashed
// replica restarts from exactly what it persisted. A drop filter lets tests cut links. Test-only;
// owns everything; not thread-safe. The full simulator with faults lives in src/sim.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "consensus/replica.h"

namespace folio::consensus::testing {

inline crypto::PrivateKey replica_key(uint32_t index) {
  FixedBytes<32> seed;
  seed.bytes[0] = static_cast<uint8_t>(index + 1);
  seed.bytes[1] = 0xc5;
  return crypto::PrivateKey::ed25519(seed);
}

inline Committee make_committee(uint32_t n) {
  std::vector<crypto::PublicKey> keys;
  for (uint32_t i = 0; i < n; ++i) keys.push_back(replica_key(i).public_key());
  return Committee(std::move(keys));
}

// A QC for `block` signed by the first `signers` replicas.
inline QuorumCert make_qc(const Block& block, uint32_t signers) {
  BlockId id = block_id(block);
  QuorumCert qc{id, block.view, block.height, {}};
  for (uint32_t i = 0; i < signers; ++i) {
    Vote v = make_vote(replica_key(i), ReplicaId(i), block, id);
    qc.votes.push_back(QcVote{v.voter, v.signature});
  }
  return qc;
}

struct Envelope {
  ReplicaId from;
  ReplicaId to;
  Bytes bytes;
};

class TestCluster {
 public:
  using Tweak = std::function<void(ReplicaConfig&)>;

  explicit TestCluster(uint32_t n, Tweak tweak = {}) : n_(n), tweak_(std::move(tweak)) {
    disks_.resize(n);
    committed_.resize(n);
    rejections_.resize(n);
    reports_.resize(n);
    replicas_.resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      validators_.push_back(std::make_unique<Validator>(make_committee(n), MessageLimits{}));
      start(i);
    }
  }

  Replica& replica(uint32_t i) { return *replicas_[i]; }
  bool up(uint32_t i) const { return replicas_[i] != nullptr; }
  const std::vector<CommittedBlock>& committed(uint32_t i) const { return committed_[i]; }
  const std::vector<Rejection>& rejections(uint32_t i) const { return rejections_[i]; }
  const std::vector<Report>& reports(uint32_t i) const { return reports_[i]; }
  int64_t now_ms() const { return now_ms_; }
  std::function<bool(const Envelope&)> drop;  // true: the message is lost
  std::vector<Envelope> sent;                 // every message that left a replica

  void crash(uint32_t i) { replicas_[i].reset(); }
  void restart(uint32_t i) { start(i); }

  // Executes a replica's Ready in the required order and checks that order's promise.
  void flush(uint32_t i) {
    if (!up(i)) return;
    Ready ready = replicas_[i]->take_ready();
    Disk& disk = disks_[i];
    if (ready.persist.safety) disk.safety = *ready.persist.safety;
    // The ids the replica hands with its blocks and commands are what stores key them by.
    FOLIO_ASSERT(ready.persist.block_ids.size() == ready.persist.blocks.size());
    for (size_t k = 0; k < ready.persist.blocks.size(); ++k) {
      const Block& b = *ready.persist.blocks[k];
      FOLIO_ASSERT(ready.persist.block_ids[k] == block_id(b));
      disk.blocks[ready.persist.block_ids[k]] = b;
    }
    for (const BlockId& id : ready.persist.pruned) disk.blocks.erase(id);
    if (ready.persist.committed) disk.committed = *ready.persist.committed;
    for (const Outgoing& out : ready.send) {
      if (const Vote* v = std::get_if<Vote>(&out.message)) {
        // Persist-before-send: the vote's view is already durable as voted.
        FOLIO_ASSERT(disk.safety.highest_voted_view >= v->view);
      }
      Bytes bytes = codec::encode_to_bytes(out.message);
      for (uint32_t to = 0; to < n_; ++to) {
        if (to == i || (out.to && out.to->value() != to)) continue;
        Envelope e{ReplicaId(i), ReplicaId(to), bytes};
        sent.push_back(e);
        queue_.push_back(std::move(e));
      }
    }
    for (const CommittedBlock& c : ready.commit) {
      FOLIO_ASSERT(c.id == block_id(*c.block));
      FOLIO_ASSERT(c.command_ids.size() == c.block->commands.size());
      for (size_t k = 0; k < c.command_ids.size(); ++k)
        FOLIO_ASSERT(c.command_ids[k] == command_id(c.block->commands[k]));
      committed_[i].push_back(c);
    }
    for (const Rejection& r : ready.rejections) rejections_[i].push_back(r);
    for (const Report& r : ready.reports) reports_[i].push_back(r);
    replicas_[i]->advance(ready);
  }

  // Hands bytes to replica `to` as if `from` sent them.
  void deliver(const Envelope& e) {
    uint32_t to = e.to.value();
    if (!up(to)) return;
    Validation v = validators_[to]->validate(e.from, e.bytes);
    if (auto* r = std::get_if<Rejection>(&v)) {
      rejections_[to].push_back(*r);
      return;
    }
    replicas_[to]->step(std::get<Verified<Message>>(v));
    flush(to);
  }

  void deliver_all(size_t messages_max = 1'000'000) {
    for (size_t k = 0; k < messages_max && !queue_.empty(); ++k) {
      Envelope e = std::move(queue_.front());
      queue_.pop_front();
      if (drop && drop(e)) continue;
      deliver(e);
    }
  }

  // Moves time forward in steps, ticking every replica and delivering everything after each.
  void run_for(int64_t ms, int64_t step_ms = 5) {
    for (int64_t t = 0; t < ms; t += step_ms) {
      now_ms_ += step_ms;
      for (uint32_t i = 0; i < n_; ++i) {
        if (!up(i)) continue;
        replicas_[i]->tick(now_ms_);
        flush(i);
      }
      deliver_all();
    }
  }

  void submit_all(const Bytes& command) {
    for (uint32_t i = 0; i < n_; ++i) {
      if (up(i)) (void)replicas_[i]->submit(command);
    }
  }

  size_t count_rejections(uint32_t i, RejectReason reason) const {
    size_t k = 0;
    for (const Rejection& r : rejections_[i]) k += r.reason == reason;
    return k;
  }

 private:
  struct Disk {
    SafetyState safety = initial_safety_state();
    std::map<BlockId, Block> blocks;
    CommitPointer committed{genesis_id(), Height(0)};
  };

  void start(uint32_t i) {
    ReplicaConfig config(make_committee(n_), ReplicaId(i), replica_key(i));
    config.view_timeout_ms = 500;
    config.idle_proposal_delay_ms = 50;
    if (tweak_) tweak_(config);
    RestoredState restored;
    restored.safety = disks_[i].safety;
    for (const auto& [id, b] : disks_[i].blocks) restored.blocks.push_back(b);
    restored.committed = disks_[i].committed;
    replicas_[i] = std::make_unique<Replica>(std::move(config), restored, now_ms_);
  }

  uint32_t n_;
  Tweak tweak_;
  int64_t now_ms_ = 0;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::unique_ptr<Validator>> validators_;
  std::vector<Disk> disks_;
  std::vector<std::vector<CommittedBlock>> committed_;
  std::vector<std::vector<Rejection>> rejections_;
  std::vector<std::vector<Report>> reports_;
  std::deque<Envelope> queue_;
};

}  // namespace folio::consensus::testing
