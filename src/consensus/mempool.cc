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
  order_.emplace(sequence, id);
  return std::nullopt;
}

void Mempool::remove(const CommandId& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  bytes_ -= it->second.command.size();
  order_.erase(it->second.sequence);
  by_id_.erase(it);
}

std::vector<Bytes> Mempool::select(size_t count_max, size_t bytes_max,
                                   const std::unordered_set<CommandId>& exclude) const {
  std::vector<Bytes> out;
  size_t total = 0;
  for (const auto& [sequence, id] : order_) {
    if (out.size() >= count_max) break;
    if (exclude.contains(id)) continue;
    const Bytes& command = by_id_.at(id).command;
    if (total + command.size() > bytes_max) break;
    total += command.size();
    out.push_back(command);
  }
  return out;
}

}  // namespace folio::consensus
