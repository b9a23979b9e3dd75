// The mempool: commands waiting to be proposed, in arrival order, de-duplicated by content hash.
//
// Bounded by count and bytes; a full mempool refuses new commands with kMempoolFull, which is the
// back-pressure clients see. Commands leave when a block containing them commits. A leader selects
// a batch in arrival order, skipping the commands already in uncommitted blocks of its branch.
// Value type owned by one Replica; not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "consensus/types.h"
#include "consensus/validate.h"

namespace folio::consensus {

struct MempoolLimits {
  size_t count_max = 100'000;
  size_t bytes_max = 64u << 20;
  size_t command_bytes_max = 64u << 10;
};

class Mempool {
 public:
  // REQUIRES: limits.count_max <= kCountMaxLimit
  static constexpr size_t kCountMaxLimit = size_t{1} << 29;
  explicit Mempool(MempoolLimits limits);

  // Adds a command. Fails with kDuplicate, kMempoolFull or kOversize; `id` is its command_id.
  std::optional<RejectReason> add(const CommandId& id, Bytes command);
  bool contains(const CommandId& id) const { return find_slot(id) != kAbsent; }
  void remove(const CommandId& id);
  // remove() for each id; the table slots are loaded a few ids ahead so the misses overlap.
  void remove_all(const std::vector<CommandId>& ids);

  // Up to count_max commands totalling at most bytes_max, oldest first, skipping those for which
  // `excluded(id)` is true (commands already in uncommitted blocks of the leader's branch). With
  // `ids`, their command ids are appended to it in the same order (the leader knows them, so its
  // own proposal need not hash them again).
  template <class Excluded>
  std::vector<Bytes> select(size_t count_max, size_t bytes_max, Excluded&& excluded,
                            std::vector<CommandId>* ids = nullptr) const {
    std::vector<Bytes> out;
    out.reserve(std::min(count_max, live_));
    size_t total = 0;
    for (const Entry& e : order_) {
      if (out.size() >= count_max) break;
      if (!e.live || excluded(e.id)) continue;
      if (total + e.command.size() > bytes_max) break;
      total += e.command.size();
      out.push_back(e.command);
      if (ids != nullptr) ids->push_back(e.id);
    }
    return out;
  }

  size_t size() const { return live_; }
  size_t bytes() const { return bytes_; }

 private:
  // A command in arrival order. Removal marks it dead and frees its bytes; dead entries leave
  // from the front at once and from the middle when compact() rebuilds.
  struct Entry {
    CommandId id;
    Bytes command;
    bool live = true;
  };
  // The index maps each live id to its sequence number; order_[sequence - front_sequence_] is
  // its entry. It is an open-addressing table of 64-bit slots with linear probing and
  // backward-shift deletion (as CommandWindow): 0 is empty; else bit 63 set, a 31-bit tag (the
  // low bits of the id's first eight bytes, which hold the whole home slot) and the low 32 bits
  // of the sequence. A lookup touches one slot and, on a tag match, the entry it names; nothing
  // is allocated per command.
  static constexpr size_t kAbsent = ~size_t{0};
  static uint64_t tag(const CommandId& id);
  static uint64_t tag_of_slot(uint64_t slot) { return (slot >> 32) & 0x7fffffff; }
  size_t position(uint64_t slot) const {
    return static_cast<uint32_t>(static_cast<uint32_t>(slot) -
                                 static_cast<uint32_t>(front_sequence_));
  }
  size_t find_slot(const CommandId& id) const;
  void place(uint64_t tag, uint64_t sequence);
  void erase_slot(size_t slot);
  void remove_at(size_t slot);
  void grow();
  void compact();

  MempoolLimits limits_;
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  std::deque<Entry> order_;
  uint64_t front_sequence_ = 0;
  size_t live_ = 0;
  size_t bytes_ = 0;
};

}  // namespace folio::consensus
