#include "consensus/mempool.h"

namespace folio::consensus {

std::optional<RejectReason> Mempool::add(const CommandId& id, Bytes command) {
  if (command.empty() || command.size() > limits_.command_bytes_max) return RejectReason::kOversize;
  if (by_id_.contains(id)) return RejectReason::kDuplicate;
  if (by_id_.size() >= limits_.count_max || bytes_ + command.size() > limits_.bytes_max)
    return RejectReason::kMempoolFull;
  uint64_t sequence = next_sequence_++;
  bytes_ += command.size();
  by_id_.emplace(id, Entry{std::move(command), sequence});
  order_.emplace_back(sequence, id);
  return std::nullopt;
}

void Mempool::remove(const CommandId& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  bytes_ -= it->second.command.size();
  by_id_.erase(it);
  compact();
}

void Mempool::compact() {
  auto live = [&](const std::pair<uint64_t, CommandId>& e) {
    auto it = by_id_.find(e.second);
    return it != by_id_.end() && it->second.sequence == e.first;
  };
  while (!order_.empty() && !live(order_.front())) order_.pop_front();
  // Removals from the middle (commits of commands that were not the oldest) leave dead entries;
  // rebuild when they outnumber the live ones, so memory stays within twice the bound.
  if (order_.size() > 2 * by_id_.size() + 64) {
    std::deque<std::pair<uint64_t, CommandId>> kept;
    for (const auto& e : order_)
      if (live(e)) kept.push_back(e);
    order_.swap(kept);
  }
}

}  // namespace folio::consensus
