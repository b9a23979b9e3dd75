// The mempool: commands waiting to be proposed, in arrival order, de-duplicated by content hash.
//
// Bounded by count and bytes; a full mempool refuses new commands with kMempoolFull, which is the
// back-pressure clients see. Commands leave when a block containing them commits. A leader selects
// a batch in arrival order, skipping the commands already in uncommitted blocks of its branch.
// Value type owned by one Replica; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>
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
  explicit Mempool(MempoolLimits limits) : limits_(limits) {}

  // Adds a command. Fails with kDuplicate, kMempoolFull or kOversize; `id` is its command_id.
  std::optional<RejectReason> add(const CommandId& id, Bytes command);
  bool contains(const CommandId& id) const { return by_id_.contains(id); }
  void remove(const CommandId& id);

  // Up to count_max commands totalling at most bytes_max, oldest first, skipping those for which
  // `excluded(id)` is true (commands already in uncommitted blocks of the leader's branch).
  template <class Excluded>
  std::vector<Bytes> select(size_t count_max, size_t bytes_max, Excluded&& excluded) const {
    std::vector<Bytes> out;
    size_t total = 0;
    for (const auto& [sequence, id] : order_) {
      if (out.size() >= count_max) break;
      auto it = by_id_.find(id);
      if (it == by_id_.end() || it->second.sequence != sequence || excluded(id)) continue;
      const Bytes& command = it->second.command;
      if (total + command.size() > bytes_max) break;
      total += command.size();
      out.push_back(command);
    }
    return out;
  }

  size_t size() const { return by_id_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    Bytes command;
    uint64_t sequence;
  };
  void compact();

  MempoolLimits limits_;
  std::unordered_map<CommandId, Entry> by_id_;
  // Arrival order. Removal is lazy: entries whose id is gone (or re-added later) are skipped and
  // dropped from the front, so the deque holds at most a bounded multiple of the live entries.
  std::deque<std::pair<uint64_t, CommandId>> order_;
  uint64_t next_sequence_ = 0;
  size_t bytes_ = 0;
};

}  // namespace folio::consensus
