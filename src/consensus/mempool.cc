#include "consensus/mempool.h"

#include <cstring>

#include "consensus/linear_probing.h"

namespace folio::consensus {
namespace {

constexpr size_t kInitialSlots = 1024;
// How many ids ahead remove_all prefetches (see CommandWindow).
constexpr size_t kPrefetchAhead = 8;

}  // namespace

Mempool::Mempool(MempoolLimits limits) : limits_(limits) {
  FOLIO_ASSERT(limits_.count_max <= kCountMaxLimit);
  slots_.assign(kInitialSlots, 0);
  mask_ = kInitialSlots - 1;
}

uint64_t Mempool::tag(const CommandId& id) {
  // Command ids are SHA-256 digests: their first bytes are uniformly distributed.
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof(h));
  return h & 0x7fffffff;
}

size_t Mempool::find_slot(const CommandId& id) const {
  uint64_t t = tag(id);
  for (size_t s = t & mask_;; s = (s + 1) & mask_) {
    uint64_t v = slots_[s];
    if (v == 0) return kAbsent;
    if (tag_of_slot(v) == t && order_[position(v)].id == id) return s;
  }
}

void Mempool::place(uint64_t t, uint64_t sequence) {
  size_t s = t & mask_;
  while (slots_[s] != 0) s = (s + 1) & mask_;
  slots_[s] = (uint64_t{1} << 63) | (t << 32) | static_cast<uint32_t>(sequence);
}

void Mempool::erase_slot(size_t slot) {
  erase_by_backward_shift(slots_, mask_, slot, tag_of_slot);
}

void Mempool::grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (uint64_t v : old) {
    if (v == 0) continue;
    size_t s = tag_of_slot(v) & mask_;
    while (slots_[s] != 0) s = (s + 1) & mask_;
    slots_[s] = v;
  }
}

std::optional<RejectReason> Mempool::add(const CommandId& id, Bytes command) {
  if (command.empty() || command.size() > limits_.command_bytes_max) return RejectReason::kOversize;
  if (contains(id)) return RejectReason::kDuplicate;
  if (live_ >= limits_.count_max || bytes_ + command.size() > limits_.bytes_max)
    return RejectReason::kMempoolFull;
  // At most half full, so that probes stay short.
  if ((live_ + 1) * 2 > slots_.size()) grow();
  uint64_t sequence = front_sequence_ + order_.size();
  place(tag(id), sequence);
  bytes_ += command.size();
  ++live_;
  order_.push_back(Entry{id, std::move(command), true});
  return std::nullopt;
}

void Mempool::remove_at(size_t slot) {
  Entry& e = order_[position(slots_[slot])];
  FOLIO_ASSERT(e.live);
  bytes_ -= e.command.size();
  e.command = Bytes{};
  e.live = false;
  --live_;
  erase_slot(slot);
  compact();
}

void Mempool::remove(const CommandId& id) {
  size_t slot = find_slot(id);
  if (slot != kAbsent) remove_at(slot);
}

void Mempool::remove_all(const std::vector<CommandId>& ids) {
  auto prefetch = [&](const CommandId& id) { __builtin_prefetch(&slots_[tag(id) & mask_]); };
  for (size_t i = 0; i < ids.size() && i < kPrefetchAhead; ++i) prefetch(ids[i]);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kPrefetchAhead < ids.size()) prefetch(ids[i + kPrefetchAhead]);
    remove(ids[i]);
  }
}

void Mempool::compact() {
  while (!order_.empty() && !order_.front().live) {
    order_.pop_front();
    ++front_sequence_;
  }
  // Removals from the middle (commits of commands that were not the oldest) leave dead entries;
  // rebuild when they outnumber the live ones, so memory stays within twice the bound. Rebuilding
  // renumbers the live entries from front_sequence_ on. A slot's place depends on the tag alone,
  // so each live slot is found first (all of them, while positions still name the old entries)
  // and then given its new sequence in place.
  if (order_.size() > 2 * live_ + 64) {
    std::vector<size_t> live_slots;
    live_slots.reserve(live_);
    for (const Entry& e : order_)
      if (e.live) live_slots.push_back(find_slot(e.id));
    std::deque<Entry> kept;
    for (Entry& e : order_)
      if (e.live) kept.push_back(std::move(e));
    order_.swap(kept);
    for (size_t i = 0; i < live_slots.size(); ++i) {
      uint64_t& v = slots_[live_slots[i]];
      FOLIO_ASSERT(v != 0);
      v = (v & ~uint64_t{0xffffffff}) | static_cast<uint32_t>(front_sequence_ + i);
    }
  }
  FOLIO_ASSERT(order_.size() >= live_);
}

}  // namespace folio::consensus
