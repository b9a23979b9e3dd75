#include "consensus/mempool.h"

namespace folio::consensus {
namespace {

// The index is sized up front for this many commands at most: growing a hash table of a hundred
// thousand entries rehashes every one of them each time it doubles.
constexpr size_t kIndexReservedMax = 1u << 18;

}  // namespace

Mempool::Mempool(MempoolLimits limits) : limits_(limits) {
  index_.reserve(std::min(limits_.count_max, kIndexReservedMax));
}

std::optional<RejectReason> Mempool::add(const CommandId& id, Bytes command) {
  if (command.empty() || command.size() > limits_.command_bytes_max) return RejectReason::kOversize;
  if (index_.size() >= limits_.count_max || bytes_ + command.size() > limits_.bytes_max) {
    // Fullness is reported only for commands that are new, as before: a duplicate stays one.
    if (index_.contains(id)) return RejectReason::kDuplicate;
    return RejectReason::kMempoolFull;
  }
  auto [it, inserted] = index_.try_emplace(id, front_sequence_ + order_.size());
  if (!inserted) return RejectReason::kDuplicate;
  bytes_ += command.size();
  order_.push_back(Entry{id, std::move(command), true});
  return std::nullopt;
}

void Mempool::remove(const CommandId& id) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  FOLIO_ASSERT(it->second >= front_sequence_);
  Entry& e = order_[it->second - front_sequence_];
  FOLIO_ASSERT(e.live && e.id == id);
  bytes_ -= e.command.size();
  e.command = Bytes{};
  e.live = false;
  index_.erase(it);
  compact();
}

void Mempool::compact() {
  while (!order_.empty() && !order_.front().live) {
    order_.pop_front();
    ++front_sequence_;
  }
  // Removals from the middle (commits of commands that were not the oldest) leave dead entries;
  // rebuild when they outnumber the live ones, so memory stays within twice the bound. Rebuilding
  // renumbers the live entries from front_sequence_ on.
  if (order_.size() > 2 * index_.size() + 64) {
    std::deque<Entry> kept;
    for (Entry& e : order_) {
      if (!e.live) continue;
      index_.at(e.id) = front_sequence_ + kept.size();
      kept.push_back(std::move(e));
    }
    order_.swap(kept);
  }
  FOLIO_ASSERT(order_.size() >= index_.size());
}

}  // namespace folio::consensus
