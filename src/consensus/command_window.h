// CommandWindow: the ids of the last `capacity` committed commands, with constant-time membership.
//
// The replica refuses to commit a command twice within this window. Ids are kept in a ring (oldest
// evicted first) indexed by an open-addressing table with linear probing and backward-shift
// deletion, both flat arrays: the window is consulted for every submitted and every proposed
// command, so it must not chase pointers. Storage grows with use up to the capacity. Command ids
// are SHA-256 digests, so their first eight bytes serve as the hash. Value type; not thread-safe.
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
  size_t size() const { return ring_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  static uint64_t home(const CommandId& id);
  static uint64_t fingerprint(const CommandId& id);
  static uint32_t ring_index(uint64_t slot) { return static_cast<uint32_t>(slot) - 1; }
  // The slot holding ring index `index`, or of `id`: REQUIRES present.
  size_t find_slot(const CommandId& id) const;
  void erase_slot(size_t slot);
  void place(uint32_t index);
  void grow();

  size_t capacity_;
  std::vector<CommandId> ring_;  // grows to capacity_, then overwritten oldest first
  size_t oldest_ = 0;            // ring index of the oldest id once the ring is full
  // 0: empty; else a 32-bit fingerprint of the id (high half) and ring index + 1 (low half), so
  // that a lookup of an absent id rarely touches the ring.
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace folio::consensus
