// CommandWindow: the ids of the last `capacity` committed commands, with constant-time membership.
//
// The replica refuses to commit a command twice within this window. Ids are kept in a ring (oldest
// evicted first) indexed by an open-addressing table with linear probing and backward-shift
// deletion, both flat arrays: the window is consulted for every submitted and every proposed
// command, so it must not chase pointers. Storage grows with use up to the capacity. Command ids
// are SHA-256 digests, so their first eight bytes serve as the hash. Each slot keeps the low bits
// of that hash beside the ring index, so that probing, deletion and growth never read the ring
// (a cache miss each at a million ids) except to confirm a likely match. Value type; not
// thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "consensus/types.h"

namespace folio::consensus {

class CommandWindow {
 public:
  // REQUIRES: 1 <= capacity <= 2^30
  explicit CommandWindow(size_t capacity);

  bool contains(const CommandId& id) const;
  // Adds `id` unless present, evicting the oldest id when the window is full.
  void insert(const CommandId& id);
  // The same for a block's worth of ids. At a million ids every lookup is a cache miss; these
  // load the slots a few ids ahead, so that the misses of one batch overlap instead of queueing.
  bool contains_any(const std::vector<CommandId>& ids) const;
  void insert_all(const std::vector<CommandId>& ids);
  size_t size() const { return ring_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  // A slot: 0 when empty, else the low kTagBits bits of the id's hash (its tag) above the ring
  // index + 1 (kIndexBits bits, enough for capacity <= 2^30). The table never has more than 2^31
  // slots, so the tag holds every bit of the home slot and deletion recomputes homes from slots.
  static constexpr uint32_t kIndexBits = 31;
  static constexpr uint32_t kTagBits = 64 - kIndexBits;
  static uint64_t tag(const CommandId& id);
  static uint64_t tag_of_slot(uint64_t slot) { return slot >> kIndexBits; }
  static uint32_t ring_index(uint64_t slot) {
    return static_cast<uint32_t>(slot & ((uint64_t{1} << kIndexBits) - 1)) - 1;
  }
  // The slot of `id`: REQUIRES present.
  size_t find_slot(const CommandId& id) const;
  void erase_slot(size_t slot);
  void place(uint64_t tag, uint32_t index);
  void grow();
  // A hint only: starts loading the slot where a probe for `id` begins.
  void prefetch(const CommandId& id) const { __builtin_prefetch(&slots_[tag(id) & mask_]); }

  size_t capacity_;
  std::vector<CommandId> ring_;  // grows to capacity_, then overwritten oldest first
  size_t oldest_ = 0;            // ring index of the oldest id once the ring is full
  // See `tag`: a lookup of an absent id rarely touches the ring.
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace folio::consensus
