#include "consensus/command_window.h"

#include <cstring>

#include "consensus/linear_probing.h"

namespace folio::consensus {
namespace {
constexpr size_t kInitialSlots = 1024;
// How many ids ahead the batch operations prefetch: enough misses in flight to hide memory
// latency, few enough not to evict what the current id needs.
constexpr size_t kPrefetchAhead = 8;
}  // namespace

CommandWindow::CommandWindow(size_t capacity) : capacity_(capacity) {
  FOLIO_ASSERT(capacity_ >= 1 && capacity_ <= (size_t{1} << 30));
  slots_.assign(kInitialSlots, 0);
  mask_ = kInitialSlots - 1;
}

uint64_t CommandWindow::tag(const CommandId& id) {
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof(h));
  return h & ((uint64_t{1} << kTagBits) - 1);
}

bool CommandWindow::contains(const CommandId& id) const {
  uint64_t t = tag(id);
  for (size_t s = t & mask_;; s = (s + 1) & mask_) {
    uint64_t v = slots_[s];
    if (v == 0) return false;
    if (tag_of_slot(v) == t && ring_[ring_index(v)] == id) return true;
  }
}

size_t CommandWindow::find_slot(const CommandId& id) const {
  uint64_t t = tag(id);
  for (size_t s = t & mask_;; s = (s + 1) & mask_) {
    FOLIO_ASSERT(slots_[s] != 0);
    if (tag_of_slot(slots_[s]) == t && ring_[ring_index(slots_[s])] == id) return s;
  }
}

void CommandWindow::erase_slot(size_t slot) {
  erase_by_backward_shift(slots_, mask_, slot, tag_of_slot);
}

void CommandWindow::place(uint64_t t, uint32_t index) {
  size_t s = t & mask_;
  while (slots_[s] != 0) s = (s + 1) & mask_;
  slots_[s] = (t << kIndexBits) | (static_cast<uint64_t>(index) + 1);
}

void CommandWindow::grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  FOLIO_ASSERT(slots_.size() <= (size_t{1} << kTagBits));
  for (uint64_t v : old)
    if (v != 0) place(tag_of_slot(v), ring_index(v));
}

void CommandWindow::insert(const CommandId& id) {
  if (contains(id)) return;
  if (ring_.size() < capacity_) {
    if ((ring_.size() + 1) * 2 > slots_.size()) grow();
    ring_.push_back(id);
    place(tag(id), static_cast<uint32_t>(ring_.size() - 1));
    return;
  }
  erase_slot(find_slot(ring_[oldest_]));
  ring_[oldest_] = id;
  place(tag(id), static_cast<uint32_t>(oldest_));
  oldest_ = (oldest_ + 1) % capacity_;
}

bool CommandWindow::contains_any(const std::vector<CommandId>& ids) const {
  for (size_t i = 0; i < ids.size() && i < kPrefetchAhead; ++i) prefetch(ids[i]);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kPrefetchAhead < ids.size()) prefetch(ids[i + kPrefetchAhead]);
    if (contains(ids[i])) return true;
  }
  return false;
}

void CommandWindow::insert_all(const std::vector<CommandId>& ids) {
  // Each insert probes for the new id and, once the ring is full, deletes the id it evicts:
  // prefetch both, for the insert kPrefetchAhead ahead.
  // `distance`: how many inserts come before ids[k]'s; if none is a duplicate, the ring then
  // holds `fill` ids and ids[k] evicts the one at oldest_ + fill - capacity_.
  auto prefetch_for = [&](size_t k, size_t distance) {
    prefetch(ids[k]);
    size_t fill = ring_.size() + distance;
    if (fill < capacity_) return;
    size_t evicted = (oldest_ + fill - capacity_) % capacity_;
    if (evicted < ring_.size()) prefetch(ring_[evicted]);
  };
  for (size_t i = 0; i < ids.size() && i < kPrefetchAhead; ++i) prefetch_for(i, i);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i + kPrefetchAhead < ids.size()) prefetch_for(i + kPrefetchAhead, kPrefetchAhead);
    insert(ids[i]);
  }
}

}  // namespace folio::consensus
