// The mempool: commands waiting to be proposed, in arrival order, de-duplicated by content hash.
//
// Bounded by count and bytes; a full mempool refuses new commands with kMempoolFull, which is the
// back-pressure clients see. Commands leave when a block containing them commits. A leader selects
// a batch in arrival order, skipping the commands already in uncommitted blocks of its branch.
// Value type owned by one Replica; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
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

  // Up to count_max commands totalling at most bytes_max, oldest first, none of them in `exclude`.
  std::vector<Bytes> select(size_t count_max, size_t bytes_max,
                            const std::unordered_set<CommandId>& exclude) const;

  size_t size() const { return by_id_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    Bytes command;
    uint64_t sequence;
  };
  MempoolLimits limits_;
  std::unordered_map<CommandId, Entry> by_id_;
  std::map<uint64_t, CommandId> order_;
  uint64_t next_sequence_ = 0;
  size_t bytes_ = 0;
};

}  // namespace folio::consensus
