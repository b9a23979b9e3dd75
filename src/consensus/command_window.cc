#include "consensus/command_window.h"

#include <cstring>

namespace folio::consensus {
namespace {
constexpr size_t kInitialSlots = 1024;
}  // namespace

CommandWindow::CommandWindow(size_t capacity) : capacity_(capacity) {
  FOLIO_ASSERT(capacity_ >= 1 && capacity_ <= (size_t{1} << 30));
  slots_.assign(kInitialSlots, 0);
  mask_ = kInitialSlots - 1;
}

uint64_t CommandWindow::home(const CommandId& id) {
  uint64_t h;
  std::memcpy(&h, id.data(), sizeof(h));
  return h;
}

bool CommandWindow::contains(const CommandId& id) const {
  for (size_t s = home(id) & mask_;; s = (s + 1) & mask_) {
    uint32_t v = slots_[s];
    if (v == 0) return false;
    if (ring_[v - 1] == id) return true;
  }
}

size_t CommandWindow::find_slot(const CommandId& id) const {
  for (size_t s = home(id) & mask_;; s = (s + 1) & mask_) {
    FOLIO_ASSERT(slots_[s] != 0);
    if (ring_[slots_[s] - 1] == id) return s;
  }
}

void CommandWindow::erase_slot(size_t slot) {
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  size_t hole = slot;
  for (size_t s = (hole + 1) & mask_; slots_[s] != 0; s = (s + 1) & mask_) {
    size_t want = home(ring_[slots_[s] - 1]) & mask_;
    // Move the entry back into the hole unless its home lies cyclically in (hole, s].
    bool home_between = hole <= s ? (want > hole && want <= s) : (want > hole || want <= s);
    if (!home_between) {
      slots_[hole] = slots_[s];
      hole = s;
    }
  }
  slots_[hole] = 0;
}

void CommandWindow::place(uint32_t ring_index) {
  size_t s = home(ring_[ring_index]) & mask_;
  while (slots_[s] != 0) s = (s + 1) & mask_;
  slots_[s] = ring_index + 1;
}

void CommandWindow::grow() {
  slots_.assign(slots_.size() * 2, 0);
  mask_ = slots_.size() - 1;
  for (uint32_t i = 0; i < ring_.size(); ++i) place(i);
}

void CommandWindow::insert(const CommandId& id) {
  if (contains(id)) return;
  if (ring_.size() < capacity_) {
    if ((ring_.size() + 1) * 2 > slots_.size()) grow();
    ring_.push_back(id);
    place(static_cast<uint32_t>(ring_.size() - 1));
    return;
  }
  erase_slot(find_slot(ring_[oldest_]));
  ring_[oldest_] = id;
  place(static_cast<uint32_t>(oldest_));
  oldest_ = (oldest_ + 1) % capacity_;
}

}  // namespace folio::consensus
