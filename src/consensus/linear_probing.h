// Deletion from the open-addressing tables of the mempool and the command window: linear probing
// over a power-of-two array of 64-bit slots, 0 meaning empty, each slot's home bucket given by
// its tag. Header-only; no state of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace folio::consensus {

// Empties `slot` by backward-shift deletion, which keeps every probe sequence unbroken without
// tombstones: each later entry of the run moves back into the hole unless its home bucket
// (`tag_of(entry) & mask`) lies cyclically in (hole, its position].
// REQUIRES: slots.size() == mask + 1, a power of two, with at least one empty slot.
template <class TagOf>
void erase_by_backward_shift(std::vector<uint64_t>& slots, size_t mask, size_t slot,
                             TagOf tag_of) {
  size_t hole = slot;
  for (size_t s = (hole + 1) & mask; slots[s] != 0; s = (s + 1) & mask) {
    size_t want = static_cast<size_t>(tag_of(slots[s])) & mask;
    bool home_between = hole <= s ? (want > hole && want <= s) : (want > hole || want <= s);
    if (!home_between) {
      slots[hole] = slots[s];
      hole = s;
    }
  }
  slots[hole] = 0;
}

}  // namespace folio::consensus
