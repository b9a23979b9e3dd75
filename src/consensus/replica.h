// Replica: one member of a shard's BFT committee, as a pure state machine (STYLE.md "Protocols are
// state machines"; the shape of etcd raft's Node).
//
// The protocol is two-chain HotStuff as in Jolteon / DiemBFT v4:
//  - views have a round-robin leader, who proposes one block extending its highest QC;
//  - a replica votes at most once per view, and only for a block whose QC is from the previous
//    view, or, when the view was entered by a timeout certificate, whose QC is at least as high as
//    every QC reported in that TC (the two-chain voting rule that replaces HotStuff's lock);
//  - votes go to the next leader; 2f+1 form a QC, which moves every replica that sees it on;
//  - a replica whose view timer expires stops voting in that view and broadcasts a signed timeout
//    carrying its highest QC; 2f+1 form a TC, which moves the view on; f+1 timeouts for the current
//    view make a replica time out too (so one honest timeout cannot be starved); view timers back
//    off exponentially while views keep failing and reset when a QC makes progress;
//  - two-chain commit: a block B commits, with its ancestors, once a QC certifies a child B' of B
//    with B'.view == B.view + 1.
//
// Inputs: `tick(now_ms)` (the replica's own clock, possibly drifting), `step(Verified<Message>)`
// (already decoded and signature-checked by a Validator) and `submit(command)` (clients).
// Output: `take_ready()` returns a Ready value: what to persist, then what to send, then what was
// committed. The driver MUST make `persist` durable before it sends any message of that Ready (a
// vote must not leave before the highest voted view it relies on is on disk), and then calls
// `advance(ready)`. A replica rebuilt from what was persisted never votes twice in one view.
// The one exception a driver may take: a Proposal may leave before the write, because it carries
// no vote (the leader votes for its own block with a Vote in the same Ready) and safety rests on
// votes alone; a leader restarted before its write may propose again in that view, as it may
// anyway (the proposed view is not persisted), and voters vote once per view.
//
// Nothing a peer sends trips an assertion: inputs that break a rule are reported in
// Ready::rejections. The Replica owns all of its state; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "consensus/command_window.h"
#include "consensus/mempool.h"
#include "consensus/types.h"
#include "consensus/validate.h"

namespace folio::consensus {

struct ReplicaConfig {
  ReplicaConfig(Committee committee, ReplicaId id, crypto::PrivateKey key)
      : committee(std::move(committee)), id(id), key(std::move(key)) {}

  Committee committee;
  ReplicaId id;
  crypto::PrivateKey key;

  MessageLimits limits;
  MempoolLimits mempool;

  // Pacemaker: a view lasts view_timeout_ms << k, k the number of consecutive local timeouts,
  // capped at backoff_shift_max.
  int64_t view_timeout_ms = 1000;
  uint32_t backoff_shift_max = 6;
  // A leader with nothing to order still proposes (an empty block) after this long in its view, so
  // views keep moving without timeouts while the system is idle.
  int64_t idle_proposal_delay_ms = 200;
  // Honest replicas vote only for blocks whose leader timestamp is within this of their own clock.
  int64_t timestamp_skew_max_ms = 1000;
  // Missing blocks are requested again from another peer after this long.
  int64_t fetch_retry_ms = 200;
  // Committed blocks kept to serve catch-up; older ones are pruned.
  size_t committed_blocks_retained_max = 4096;
  // Commands of recent committed blocks remembered for de-duplication.
  size_t committed_commands_remembered_max = 1u << 20;
  // Fetched blocks waiting for their ancestors.
  size_t orphan_blocks_max = 4096;
  // Blocks being fetched at once.
  size_t missing_blocks_max = 64;
  // Votes and timeouts are buffered only for views up to this far ahead.
  uint64_t future_views_max = 64;

  // NEGATIVE CONTROL, tests only: commit a block as soon as a QC certifies it (a one-chain rule)
  // instead of waiting for a certified child from the next view. The simulator must then report
  // agreement violations.
  bool test_only_commit_on_one_chain = false;
};

struct RestoredState {
  SafetyState safety = initial_safety_state();
  std::vector<Block> blocks;  // any order; genesis is implicit
  CommitPointer committed{genesis_id(), Height(0)};
};

struct Outgoing {
  std::optional<ReplicaId> to;  // nullopt: every other replica
  Message message;
};

// A committed block with the QC that certifies it (from its child) and its id. The leader's
// timestamp in `block` is the shard's agreed time at this height. `command_ids[i]` is
// command_id(block->commands[i]): the replica hashed every command when it stored the block, and
// handing the ids on spares the layers above hashing each command again.
struct CommittedBlock {
  BlockId id;
  std::shared_ptr<const Block> block;  // immutable, shared with the replica's store
  QuorumCert certificate;
  std::vector<CommandId> command_ids;  // parallel to block->commands
};

enum class ReportKind : uint8_t {
  // The two-chain rule certified a block that conflicts with what this replica committed: more
  // than f replicas are faulty. Nothing is committed; the operator must intervene.
  kConflictingCommit,
};

struct Report {
  ReportKind kind;
  std::string detail;
};

struct Ready {
  struct Persist {
    std::optional<SafetyState> safety;
    std::vector<std::shared_ptr<const Block>> blocks;  // new blocks to store (immutable, shared)
    // block_ids[i] is block_id(*blocks[i]), known to the replica already: a store need not hash
    // a whole block again to key it.
    std::vector<BlockId> block_ids;
    std::vector<BlockId> pruned;  // blocks that may be deleted
    std::optional<CommitPointer> committed;
    bool empty() const { return !safety && blocks.empty() && pruned.empty() && !committed; }
  };
  Persist persist;                     // 1. make durable
  std::vector<Outgoing> send;          // 2. then send
  std::vector<CommittedBlock> commit;  // 3. then apply, in order
  std::vector<Rejection> rejections;   // inputs refused by the protocol rules
  std::vector<Report> reports;

  bool empty() const {
    return persist.empty() && send.empty() && commit.empty() && rejections.empty() &&
           reports.empty();
  }
};

class Replica {
 public:
  // REQUIRES: config.committee.size() >= 4; config.id is in it; config.limits.check() is ok.
  Replica(ReplicaConfig config, const RestoredState& restored, int64_t now_ms);

  void tick(int64_t now_ms);
  void step(const Verified<Message>& message);
  // The same, taking the message: a proposed block is stored without copying its commands.
  void step(Verified<Message>&& message);
  // A client's command. Refused with kDuplicate, kOversize or kMempoolFull (back-pressure).
  std::optional<RejectReason> submit(Bytes command);

  [[nodiscard]] Ready take_ready();
  void advance(const Ready& ready);

  // Read-only views for drivers, tests and the simulator's Byzantine actors.
  ReplicaId id() const { return config_.id; }
  View view() const { return view_; }
  View highest_voted_view() const { return highest_voted_view_; }
  const QuorumCert& high_qc() const { return high_qc_; }
  const std::optional<TimeoutCert>& high_tc() const { return high_tc_; }
  const CommitPointer& committed() const { return committed_; }
  const Block* find_block(const BlockId& id) const;
  const Mempool& mempool() const { return mempool_; }
  const ReplicaConfig& config() const { return config_; }
  size_t stored_blocks() const { return blocks_.size(); }
  size_t missing_blocks() const { return missing_.size(); }

 private:
  // The order of sorted_ids: by the first eight bytes read as one integer, then by all 32. Any
  // strict order serves de-duplication, and ids are uniformly distributed hashes, so this one
  // nearly always decides with a single integer comparison instead of a byte-wise one.
  struct IdOrder {
    bool operator()(const CommandId& a, const CommandId& b) const {
      uint64_t x, y;
      std::memcpy(&x, a.data(), sizeof(x));
      std::memcpy(&y, b.data(), sizeof(y));
      if (x != y) return x < y;
      return a < b;
    }
  };
  static std::vector<CommandId> sorted_copy(const std::vector<CommandId>& ids) {
    std::vector<CommandId> out = ids;
    std::sort(out.begin(), out.end(), IdOrder{});
    return out;
  }
  struct Stored {
    std::shared_ptr<const Block> block;  // immutable; shared with Ready's persist and commit
    std::vector<CommandId> command_ids;
    std::vector<CommandId> sorted_ids;  // in IdOrder, while uncommitted: for de-duplication
    bool committed = false;
  };
  // The uncommitted blocks from a tip back to the committed block.
  struct Branch {
    std::vector<const Stored*> blocks;
    bool reaches_committed = false;
    bool any_commands = false;
    bool contains(const CommandId& id) const {
      for (const Stored* s : blocks)
        if (std::binary_search(s->sorted_ids.begin(), s->sorted_ids.end(), id, IdOrder{}))
          return true;
      return false;
    }
  };
  struct Missing {
    ReplicaId peer;
    Height height;  // as named by the certificate that referred to it
    uint32_t attempts = 0;
    int64_t sent_at_ms = 0;
  };

  // A message this replica addressed to itself. `command_ids` are those of its own proposal's
  // commands (the mempool knew them), so that the proposal is not hashed again.
  struct SelfMessage {
    Message message;
    std::vector<CommandId> command_ids;
  };

  void dispatch(ReplicaId from, Message message, std::vector<CommandId> command_ids = {});
  void drain_self();
  // `command_ids`: empty, or command_id of each of the block's commands (own proposals only).
  void on_proposal(ReplicaId from, Proposal proposal, std::vector<CommandId> command_ids = {});
  void on_vote(ReplicaId from, const Vote& vote);
  void on_timeout(ReplicaId from, const TimeoutMessage& message);
  void on_block_request(ReplicaId from, const BlockRequest& request);
  void on_block_response(ReplicaId from, BlockResponse response);

  void process_qc(const QuorumCert& qc, ReplicaId source);
  void process_tc(const TimeoutCert& tc);
  void enter_view(View view, bool by_timeout);
  void local_timeout();
  void record_timeout(View view, const TcEntry& entry);
  void try_propose();
  void try_commit(const QuorumCert& qc);
  void commit_chain(const BlockId& target, const QuorumCert& target_certificate);
  void prune();

  // Inserts a block whose parent is stored; returns false (and stores nothing, `block` untouched)
  // otherwise. `block` is moved from only when it is stored.
  bool insert_block(const BlockId& id, Block&& block, std::vector<CommandId> ids = {},
                    std::vector<CommandId> sorted_ids = {});
  void adopt_orphans();
  std::optional<Rejection> check_proposal(ReplicaId from, const Proposal& proposal,
                                          const std::vector<CommandId>& sorted_ids) const;
  bool safe_to_vote(const Proposal& proposal) const;
  Branch pending_branch(const BlockId& tip) const;
  void request_block(const BlockId& id, Height height, ReplicaId peer);
  void send(std::optional<ReplicaId> to, Message message);
  void reject(ReplicaId from, RejectReason reason, std::string detail);
  void mark_safety_dirty() { safety_dirty_ = true; }
  int64_t view_duration_ms() const;
  bool is_leader(View view) const { return config_.committee.leader(view) == config_.id; }

  ReplicaConfig config_;
  Mempool mempool_;
  int64_t now_ms_;

  // Safety state (persisted).
  View view_;
  View highest_voted_view_;
  QuorumCert high_qc_;
  std::optional<TimeoutCert> high_tc_;
  bool safety_dirty_ = false;

  // Block tree.
  std::map<BlockId, Stored> blocks_;
  // The uncommitted blocks of blocks_ by height: prune() visits these few instead of walking the
  // thousands of committed blocks retained for catch-up on every commit.
  std::set<std::pair<Height, BlockId>> uncommitted_;
  std::map<BlockId, Block> orphans_;  // fetched, parent not yet stored
  std::map<BlockId, Missing> missing_;
  CommitPointer committed_;
  std::deque<BlockId> committed_order_;
  CommandWindow committed_commands_;
  std::optional<std::pair<ReplicaId, Proposal>> pending_proposal_;  // waiting for its parent
  std::optional<std::pair<View, BlockId>> last_proposal_;  // the block accepted for that view

  // Pacemaker.
  int64_t view_started_ms_ = 0;
  int64_t deadline_ms_ = 0;
  uint32_t consecutive_timeouts_ = 0;
  std::optional<View> proposed_view_;
  std::optional<View> timed_out_view_;

  // Vote and timeout collection, by view.
  std::map<View, std::map<std::pair<BlockId, Height>, std::map<ReplicaId, crypto::Signature>>>
      votes_;
  std::map<View, std::map<ReplicaId, TcEntry>> timeouts_;

  std::deque<SelfMessage> self_queue_;
  Ready ready_;
  bool ready_outstanding_ = false;
};

}  // namespace folio::consensus
