#include "consensus/replica.h"

#include <algorithm>

namespace folio::consensus {
namespace {

// Messages a replica addresses to itself in one step; far above what the protocol produces
// (a proposal, its vote and a QC), so reaching it is a bug.
constexpr size_t kSelfMessagesPerStepMax = 64;

}  // namespace

Replica::Replica(ReplicaConfig config, const RestoredState& restored, int64_t now_ms)
    : config_(std::move(config)),
      mempool_(MempoolLimits{config_.mempool.count_max, config_.mempool.bytes_max,
                             config_.limits.command_bytes_max}),
      now_ms_(now_ms),
      view_(restored.safety.view),
      highest_voted_view_(restored.safety.highest_voted_view),
      high_qc_(restored.safety.high_qc),
      high_tc_(restored.safety.high_tc),
      committed_(restored.committed),
      committed_commands_(config_.committed_commands_remembered_max) {
  // REQUIRES: a BFT committee; with fewer than 4 replicas f = 0 and leaders would certify their
  // own blocks alone.
  FOLIO_ASSERT(config_.committee.size() >= 4);
  FOLIO_ASSERT(config_.committee.contains(config_.id));
  FOLIO_ASSERT(config_.limits.check().ok());
  FOLIO_ASSERT(view_ > View(0));
  blocks_.emplace(genesis_id(),
                  Stored{std::make_shared<const Block>(genesis_block()), {}, {}, true});

  // Restore the block tree parents first; blocks whose parent did not survive are dropped.
  std::vector<const Block*> sorted;
  for (const Block& b : restored.blocks) sorted.push_back(&b);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Block* a, const Block* b) { return a->height < b->height; });
  for (const Block* b : sorted) {
    BlockId id = block_id(*b);
    if (blocks_.contains(id) || !blocks_.contains(b->parent())) continue;
    std::vector<CommandId> ids;
    for (const Bytes& c : b->commands) ids.push_back(command_id(c));
    std::vector<CommandId> sorted = sorted_copy(ids);
    blocks_.emplace(
        id, Stored{std::make_shared<const Block>(*b), std::move(ids), std::move(sorted), false});
  }
  // The commit pointer is persisted in the same write as the blocks it names.
  FOLIO_ASSERT(blocks_.contains(committed_.block_id));
  std::vector<BlockId> chain;
  for (BlockId cur = committed_.block_id;;) {
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) break;
    it->second.committed = true;
    it->second.sorted_ids = {};
    chain.push_back(cur);
    if (cur == genesis_id()) break;
    cur = it->second.block->parent();
  }
  std::reverse(chain.begin(), chain.end());
  for (const BlockId& id : chain) {
    committed_order_.push_back(id);
    committed_commands_.insert_all(blocks_.at(id).command_ids);
  }
  // Blocks beside the committed chain at or below its height can never commit.
  for (auto it = blocks_.begin(); it != blocks_.end();) {
    if (!it->second.committed && it->second.block->height <= committed_.height) {
      it = blocks_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, s] : blocks_)
    if (!s.committed) uncommitted_.emplace(s.block->height, id);
  view_started_ms_ = now_ms_;
  deadline_ms_ = now_ms_ + view_duration_ms();
}

const Block* Replica::find_block(const BlockId& id) const {
  auto it = blocks_.find(id);
  return it == blocks_.end() ? nullptr : it->second.block.get();
}

int64_t Replica::view_duration_ms() const {
  uint32_t shift = std::min(consecutive_timeouts_, config_.backoff_shift_max);
  return config_.view_timeout_ms << shift;
}

// ---- Inputs
// ---------------------------------------------------------------------------------------

void Replica::tick(int64_t now_ms) {
  now_ms_ = now_ms;
  if (now_ms_ >= deadline_ms_) local_timeout();
  try_propose();
  // Re-request missing blocks from the next peer; forget those that can no longer matter.
  for (auto it = missing_.begin(); it != missing_.end();) {
    Missing& m = it->second;
    if (m.height <= committed_.height || blocks_.contains(it->first)) {
      it = missing_.erase(it);
      continue;
    }
    if (now_ms_ - m.sent_at_ms >= config_.fetch_retry_ms) {
      uint32_t n = config_.committee.size();
      ReplicaId peer((m.peer.value() + 1) % n);
      if (peer == config_.id) peer = ReplicaId((peer.value() + 1) % n);
      m.peer = peer;
      m.sent_at_ms = now_ms_;
      ++m.attempts;
      send(peer, BlockRequest{it->first, config_.limits.fetch_blocks_max});
    }
    ++it;
  }
  drain_self();
}

void Replica::step(const Verified<Message>& message) {
  dispatch(message.from(), message.get());
  drain_self();
}

void Replica::step(Verified<Message>&& message) {
  ReplicaId from = message.from();
  dispatch(from, std::move(message).take());
  drain_self();
}

std::optional<RejectReason> Replica::submit(Bytes command) {
  CommandId id = command_id(command);
  if (committed_commands_.contains(id)) return RejectReason::kDuplicate;
  return mempool_.add(id, std::move(command));
}

void Replica::dispatch(ReplicaId from, Message message, std::vector<CommandId> command_ids) {
  FOLIO_ASSERT(command_ids.empty() || std::holds_alternative<Proposal>(message));
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Proposal>)
          on_proposal(from, std::move(m), std::move(command_ids));
        if constexpr (std::is_same_v<T, Vote>) on_vote(from, m);
        if constexpr (std::is_same_v<T, TimeoutMessage>) on_timeout(from, m);
        if constexpr (std::is_same_v<T, BlockRequest>) on_block_request(from, m);
        if constexpr (std::is_same_v<T, BlockResponse>) on_block_response(from, std::move(m));
      },
      message);
}

void Replica::drain_self() {
  size_t handled = 0;
  while (!self_queue_.empty()) {
    FOLIO_ASSERT(++handled <= kSelfMessagesPerStepMax);
    SelfMessage m = std::move(self_queue_.front());
    self_queue_.pop_front();
    dispatch(config_.id, std::move(m.message), std::move(m.command_ids));
  }
}

Ready Replica::take_ready() {
  FOLIO_ASSERT(!ready_outstanding_);
  if (safety_dirty_) {
    ready_.persist.safety = SafetyState{view_, highest_voted_view_, high_qc_, high_tc_};
    safety_dirty_ = false;
  }
  Ready out = std::move(ready_);
  ready_ = Ready{};
  ready_outstanding_ = true;
  return out;
}

void Replica::advance(const Ready&) {
  FOLIO_ASSERT(ready_outstanding_);
  ready_outstanding_ = false;
}

void Replica::send(std::optional<ReplicaId> to, Message message) {
  if (to && *to == config_.id) {
    self_queue_.push_back(SelfMessage{std::move(message), {}});
    return;
  }
  ready_.send.push_back(Outgoing{to, std::move(message)});
}

void Replica::reject(ReplicaId from, RejectReason reason, std::string detail) {
  ready_.rejections.push_back(Rejection{from, reason, std::move(detail)});
}

// ---- Proposals and votes
// --------------------------------------------------------------------------

void Replica::on_proposal(ReplicaId from, Proposal proposal, std::vector<CommandId> ids) {
  Block& b = proposal.block;
  if (proposal.tc) process_tc(*proposal.tc);
  process_qc(b.qc, from);
  if (b.view < view_) return reject(from, RejectReason::kStaleView, "proposal for a past view");
  if (b.view > view_)
    return reject(from, RejectReason::kFutureView, "proposal's view not justified by its QC or TC");
  if (!blocks_.contains(b.parent())) {
    // Catch-up: keep the proposal until its ancestors arrive (Jolteon's sync via certificates).
    BlockId parent = b.parent();
    Height parent_height = b.qc.height;
    pending_proposal_ = {from, std::move(proposal)};
    request_block(parent, parent_height, from);
    return;
  }
  BlockId id = block_id(b);
  // Only this replica's own proposals come with their ids (from its mempool); a peer's commands
  // are always hashed here.
  FOLIO_ASSERT(ids.empty() || (from == config_.id && ids.size() == b.commands.size()));
  if (ids.size() != b.commands.size()) {
    ids.reserve(b.commands.size());
    for (const Bytes& c : b.commands) ids.push_back(command_id(c));
  }
  std::vector<CommandId> sorted = sorted_copy(ids);
  if (auto rejection = check_proposal(from, proposal, sorted)) {
    ready_.rejections.push_back(std::move(*rejection));
    return;
  }
  // One block per view from its leader: an equivocating leader cannot fill the store. A second
  // block of the view still arrives by catch-up if a QC certifies it.
  if (last_proposal_ && last_proposal_->first == b.view && last_proposal_->second != id)
    return reject(from, RejectReason::kDuplicate, "a second proposal in one view (equivocation)");
  last_proposal_ = {b.view, id};
  // Decided before the block moves into the store (storing it changes nothing the rule reads).
  bool safe = safe_to_vote(proposal);
  View view = b.view;
  if (!insert_block(id, std::move(b), std::move(ids), std::move(sorted)))
    return reject(from, RejectReason::kInvalidBlock, "block does not extend its parent");
  if (!safe) {
    if (view == highest_voted_view_) return;  // a duplicate or a second proposal in this view
    return reject(from, RejectReason::kUnsafe, "voting rule refuses the block");
  }
  FOLIO_ASSERT(view == view_ && view > highest_voted_view_);
  highest_voted_view_ = view;
  mark_safety_dirty();
  const Block& stored = *blocks_.at(id).block;
  send(config_.committee.leader(view.next()), make_vote(config_.key, config_.id, stored, id));
}

std::optional<Rejection> Replica::check_proposal(ReplicaId from, const Proposal& proposal,
                                                 const std::vector<CommandId>& sorted_ids) const {
  const Block& b = proposal.block;
  const Block& parent = *blocks_.at(b.parent()).block;
  auto bad = [&](RejectReason reason, std::string detail) {
    return std::optional<Rejection>(Rejection{from, reason, std::move(detail)});
  };
  if (parent.height.next() != b.height || parent.view != b.qc.view || b.view <= parent.view)
    return bad(RejectReason::kInvalidBlock, "height or view inconsistent with the parent");
  // Agreed time: later than the parent's and within the bound of this replica's clock.
  if (b.timestamp_ms <= parent.timestamp_ms)
    return bad(RejectReason::kBadTimestamp, "timestamp not after the parent's");
  int64_t skew = static_cast<int64_t>(b.timestamp_ms) - now_ms_;
  if (skew > config_.timestamp_skew_max_ms || -skew > config_.timestamp_skew_max_ms)
    return bad(RejectReason::kBadTimestamp, "timestamp too far from the replica's clock");
  Branch branch = pending_branch(b.parent());
  if (!branch.reaches_committed)
    return bad(RejectReason::kUnsafe, "block does not extend the committed chain");
  if (std::adjacent_find(sorted_ids.begin(), sorted_ids.end()) != sorted_ids.end())
    return bad(RejectReason::kDuplicate, "block repeats a command");
  for (const CommandId& cid : sorted_ids) {
    if (branch.contains(cid))
      return bad(RejectReason::kDuplicate, "block repeats a pending or committed command");
  }
  if (committed_commands_.contains_any(sorted_ids))
    return bad(RejectReason::kDuplicate, "block repeats a pending or committed command");
  return std::nullopt;
}

bool Replica::safe_to_vote(const Proposal& proposal) const {
  const Block& b = proposal.block;
  if (b.view <= highest_voted_view_ || b.view != view_) return false;
  // Jolteon's voting rule: extend the QC of the previous view, or after a TC, a QC at least as
  // high as every QC its signers reported (so a possibly committed block is never abandoned).
  if (b.qc.view.next() == b.view) return true;
  const auto& tc = proposal.tc;
  return tc && tc->view.next() == b.view && b.qc.view >= tc->max_high_qc_view();
}

Replica::Branch Replica::pending_branch(const BlockId& tip) const {
  Branch out;
  for (BlockId cur = tip;;) {
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) return out;
    const Stored& s = it->second;
    if (s.block->height <= committed_.height) {
      out.reaches_committed = cur == committed_.block_id;
      return out;
    }
    out.any_commands |= !s.command_ids.empty();
    out.blocks.push_back(&s);
    cur = s.block->parent();
  }
}

void Replica::on_vote(ReplicaId from, const Vote& vote) {
  // The leader of view+1 collects the votes of view.
  if (vote.view.next() < view_)
    return reject(from, RejectReason::kStaleView, "vote for a past view");
  if (vote.view.value() > view_.value() + config_.future_views_max)
    return reject(from, RejectReason::kFutureView, "vote too far ahead");
  if (!is_leader(vote.view.next()))
    return reject(from, RejectReason::kWrongLeader, "vote sent to a replica that does not lead");
  auto& by_block = votes_[vote.view];
  for (const auto& [key, voters] : by_block) {
    if (voters.contains(vote.voter)) return;  // one vote per voter and view counts
  }
  auto& voters = by_block[{vote.block_id, vote.height}];
  voters.emplace(vote.voter, vote.signature);
  if (voters.size() < config_.committee.quorum() || high_qc_.view >= vote.view) return;
  QuorumCert qc;
  qc.block_id = vote.block_id;
  qc.view = vote.view;
  qc.height = vote.height;
  for (const auto& [voter, signature] : voters) qc.votes.push_back(QcVote{voter, signature});
  process_qc(qc, from);
}

// ---- Certificates, views and timeouts
// --------------------------------------------------------------

void Replica::process_qc(const QuorumCert& qc, ReplicaId source) {
  if (qc.view > high_qc_.view) {
    high_qc_ = qc;
    mark_safety_dirty();
  }
  if (blocks_.contains(qc.block_id)) {
    try_commit(qc);
  } else if (qc.height > committed_.height) {
    request_block(qc.block_id, qc.height, source);
  }
  if (qc.view >= view_) enter_view(qc.view.next(), false);
}

void Replica::process_tc(const TimeoutCert& tc) {
  if (!high_tc_ || tc.view > high_tc_->view) {
    high_tc_ = tc;
    mark_safety_dirty();
  }
  if (tc.view >= view_) enter_view(tc.view.next(), true);
}

void Replica::enter_view(View view, bool by_timeout) {
  FOLIO_ASSERT(view > view_);
  view_ = view;
  mark_safety_dirty();
  if (!by_timeout) consecutive_timeouts_ = 0;
  view_started_ms_ = now_ms_;
  deadline_ms_ = now_ms_ + view_duration_ms();
  // Votes of the previous view still matter to its successor's leader; older ones do not.
  votes_.erase(votes_.begin(), votes_.lower_bound(View(view.value() - 1)));
  timeouts_.erase(timeouts_.begin(), timeouts_.lower_bound(view));
  try_propose();
}

void Replica::local_timeout() {
  View v = view_;
  // A replica that gave up on a view never votes in it afterwards (Jolteon: timeouts and votes of
  // one view are exclusive, which is what makes a TC's high-QC report safe to extend).
  if (highest_voted_view_ < v) {
    highest_voted_view_ = v;
    mark_safety_dirty();
  }
  timed_out_view_ = v;
  if (consecutive_timeouts_ < config_.backoff_shift_max) ++consecutive_timeouts_;
  deadline_ms_ = now_ms_ + view_duration_ms();
  Timeout t = make_timeout(config_.key, config_.id, v, high_qc_);
  TcEntry entry{config_.id, high_qc_.view, t.signature};
  send(std::nullopt, TimeoutMessage{std::move(t), high_tc_});
  record_timeout(v, entry);
  FOLIO_ASSERT(highest_voted_view_ >= v);
}

void Replica::on_timeout(ReplicaId from, const TimeoutMessage& message) {
  const Timeout& t = message.timeout;
  if (message.high_tc) process_tc(*message.high_tc);
  process_qc(t.high_qc, from);
  if (t.view < view_) return;  // late; the view has moved on already
  if (t.view.value() > view_.value() + config_.future_views_max)
    return reject(from, RejectReason::kFutureView, "timeout too far ahead");
  record_timeout(t.view, TcEntry{t.voter, t.high_qc.view, t.signature});
}

void Replica::record_timeout(View view, const TcEntry& entry) {
  auto& entries = timeouts_[view];
  entries.emplace(entry.voter, entry);
  // Bracha-style amplification: f+1 timeouts include an honest one, so join it.
  if (view == view_ && timed_out_view_ != view_ &&
      entries.size() >= config_.committee.faults_max() + 1) {
    local_timeout();
    return;  // local_timeout recorded our own entry and re-checked the quorum
  }
  if (entries.size() < config_.committee.quorum() || view < view_) return;
  TimeoutCert tc;
  tc.view = view;
  for (const auto& [voter, e] : entries) tc.entries.push_back(e);
  process_tc(tc);
}

void Replica::try_propose() {
  if (!is_leader(view_) || proposed_view_ == view_) return;
  auto parent = blocks_.find(high_qc_.block_id);
  if (parent == blocks_.end()) return;  // being fetched
  std::optional<TimeoutCert> tc;
  if (high_qc_.view.next() != view_) {
    if (!high_tc_ || high_tc_->view.next() != view_) return;
    tc = high_tc_;
  }
  Branch branch = pending_branch(high_qc_.block_id);
  bool uncommitted_commands = branch.any_commands;
  std::vector<CommandId> ids;
  std::vector<Bytes> batch = mempool_.select(
      config_.limits.batch_count_max, config_.limits.batch_bytes_max,
      [&](const CommandId& id) { return branch.contains(id); }, &ids);
  // Propose at once while there is something to order or to commit; otherwise wait a little so
  // an idle shard does not spin, but propose before the view times out.
  if (batch.empty() && !uncommitted_commands &&
      now_ms_ < view_started_ms_ + config_.idle_proposal_delay_ms)
    return;
  Proposal p;
  p.block.view = view_;
  p.block.height = parent->second.block->height.next();
  p.block.leader = config_.id;
  p.block.timestamp_ms = std::max<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(now_ms_, 0)),
                                            parent->second.block->timestamp_ms + 1);
  p.block.qc = high_qc_;
  p.block.commands = std::move(batch);
  p.tc = std::move(tc);
  proposed_view_ = view_;
  send(std::nullopt, p);
  self_queue_.push_back(SelfMessage{std::move(p), std::move(ids)});
}

// ---- Commit
// ---------------------------------------------------------------------------------------

void Replica::try_commit(const QuorumCert& qc) {
  auto child = blocks_.find(qc.block_id);
  if (child == blocks_.end()) return;
  const Block& c = *child->second.block;
  if (config_.test_only_commit_on_one_chain) {
    if (c.height > committed_.height) commit_chain(child->first, qc);
    return;
  }
  auto parent = blocks_.find(c.parent());
  if (parent == blocks_.end()) return;
  // Two-chain commit rule (Jolteon): a certified block whose parent is from the previous view
  // commits that parent.
  if (c.view != parent->second.block->view.next()) return;
  if (parent->second.block->height <= committed_.height) {
    if (!parent->second.committed) {
      ready_.reports.push_back(Report{ReportKind::kConflictingCommit,
                                      "a block beside the committed chain is committed"});
    }
    return;
  }
  commit_chain(parent->first, c.qc);
}

void Replica::commit_chain(const BlockId& target, const QuorumCert& target_certificate) {
  std::vector<std::pair<BlockId, QuorumCert>> chain;
  BlockId cur = target;
  QuorumCert certificate = target_certificate;
  for (;;) {
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) return;  // cannot happen: blocks are stored only after their parent
    const Block& b = *it->second.block;
    if (b.height <= committed_.height) {
      if (cur != committed_.block_id) {
        ready_.reports.push_back(Report{ReportKind::kConflictingCommit,
                                        "two-chain rule commits a block conflicting with height " +
                                            std::to_string(committed_.height.value())});
        return;
      }
      break;
    }
    chain.emplace_back(cur, certificate);
    certificate = b.qc;
    cur = b.parent();
  }
  std::reverse(chain.begin(), chain.end());
  for (auto& [id, cert] : chain) {
    Stored& s = blocks_.at(id);
    s.committed = true;
    s.sorted_ids = {};
    uncommitted_.erase({s.block->height, id});
    mempool_.remove_all(s.command_ids);
    committed_commands_.insert_all(s.command_ids);
    committed_ = CommitPointer{id, s.block->height};
    committed_order_.push_back(id);
    // A committed block's ids are no longer needed for de-duplication against pending branches
    // (committed_commands_ holds them now), so they move on to the layers that apply the block.
    ready_.commit.push_back(CommittedBlock{id, s.block, std::move(cert), std::move(s.command_ids)});
    s.command_ids = {};
  }
  FOLIO_ASSERT(committed_.block_id == target);
  ready_.persist.committed = committed_;
  prune();
}

void Replica::prune() {
  // Blocks beside the committed chain at or below its height, and their descendants, can never
  // commit. Visiting by height removes descendants after their ancestors.
  for (auto it = uncommitted_.begin(); it != uncommitted_.end();) {
    const auto& [height, id] = *it;
    auto stored = blocks_.find(id);
    FOLIO_ASSERT(stored != blocks_.end() && !stored->second.committed);
    if (height <= committed_.height || !blocks_.contains(stored->second.block->parent())) {
      ready_.persist.pruned.push_back(id);
      blocks_.erase(stored);
      it = uncommitted_.erase(it);
    } else {
      ++it;
    }
  }
  while (committed_order_.size() > config_.committed_blocks_retained_max) {
    BlockId old = committed_order_.front();
    committed_order_.pop_front();
    blocks_.erase(old);
    ready_.persist.pruned.push_back(old);
  }
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    it = it->second.height <= committed_.height ? orphans_.erase(it) : std::next(it);
  }
}

// ---- Block store and catch-up
// ----------------------------------------------------------------------

bool Replica::insert_block(const BlockId& id, Block&& block, std::vector<CommandId> ids,
                           std::vector<CommandId> sorted) {
  if (blocks_.contains(id)) return true;
  auto parent = blocks_.find(block.parent());
  if (parent == blocks_.end()) return false;
  const Block& p = *parent->second.block;
  if (block.height <= committed_.height || p.height.next() != block.height ||
      p.view != block.qc.view || block.view <= p.view)
    return false;
  if (ids.size() != block.commands.size()) {
    ids.clear();
    ids.reserve(block.commands.size());
    for (const Bytes& c : block.commands) ids.push_back(command_id(c));
  }
  if (sorted.size() != ids.size()) {
    sorted = sorted_copy(ids);
  }
  auto shared = std::make_shared<const Block>(std::move(block));
  blocks_.emplace(id, Stored{shared, std::move(ids), std::move(sorted), false});
  uncommitted_.emplace(shared->height, id);
  ready_.persist.blocks.push_back(std::move(shared));
  ready_.persist.block_ids.push_back(id);
  return true;
}

void Replica::request_block(const BlockId& id, Height height, ReplicaId peer) {
  if (blocks_.contains(id) || orphans_.contains(id) || missing_.contains(id)) return;
  if (missing_.size() >= config_.missing_blocks_max) return;
  uint32_t n = config_.committee.size();
  if (peer == config_.id) peer = ReplicaId((peer.value() + 1) % n);
  missing_.emplace(id, Missing{peer, height, 0, now_ms_});
  send(peer, BlockRequest{id, config_.limits.fetch_blocks_max});
}

void Replica::on_block_request(ReplicaId from, const BlockRequest& request) {
  BlockResponse response;
  BlockId cur = request.block_id;
  while (response.blocks.size() < request.count && cur != genesis_id()) {
    auto it = blocks_.find(cur);
    if (it == blocks_.end()) break;
    response.blocks.push_back(*it->second.block);
    cur = it->second.block->parent();
  }
  if (!response.blocks.empty()) send(from, std::move(response));
}

void Replica::on_block_response(ReplicaId from, BlockResponse response) {
  std::vector<BlockId> ids;
  ids.reserve(response.blocks.size());
  for (const Block& b : response.blocks) ids.push_back(block_id(b));
  if (!missing_.contains(ids.front()))
    return reject(from, RejectReason::kUnsolicited, "block response nobody asked for");
  // The first block is the one a verified certificate named; each next one must be the parent of
  // the one before, so the whole response is authenticated by hashes.
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] != response.blocks[i - 1].parent())
      return reject(from, RejectReason::kInvalidBlock, "block response is not a parent chain");
  }
  missing_.erase(ids.front());
  const Block& oldest = response.blocks.back();
  BlockId oldest_parent = oldest.parent();
  Height oldest_height = oldest.height;
  Height oldest_parent_height = oldest.qc.height;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (blocks_.contains(ids[i]) || orphans_.contains(ids[i])) continue;
    if (response.blocks[i].height <= committed_.height) continue;
    if (orphans_.size() >= config_.orphan_blocks_max) break;
    orphans_.emplace(ids[i], std::move(response.blocks[i]));
  }
  if (!blocks_.contains(oldest_parent) && oldest_height > committed_.height.next())
    request_block(oldest_parent, oldest_parent_height, from);
  adopt_orphans();
}

void Replica::adopt_orphans() {
  std::vector<std::pair<Height, BlockId>> order;
  for (const auto& [id, b] : orphans_) order.emplace_back(b.height, id);
  std::sort(order.begin(), order.end());
  std::vector<QuorumCert> certificates;
  for (const auto& [height, id] : order) {
    auto it = orphans_.find(id);
    if (!blocks_.contains(it->second.parent())) continue;
    QuorumCert qc = it->second.qc;
    if (insert_block(id, std::move(it->second))) certificates.push_back(std::move(qc));
    orphans_.erase(it);
  }
  for (const QuorumCert& qc : certificates) try_commit(qc);
  try_commit(high_qc_);
  if (pending_proposal_ && blocks_.contains(pending_proposal_->second.block.parent())) {
    auto [from, proposal] = std::move(*pending_proposal_);
    pending_proposal_.reset();
    on_proposal(from, std::move(proposal));
  }
}

}  // namespace folio::consensus
