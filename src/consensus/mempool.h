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
#include <unordered_map>
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
  explicit Mempool(MempoolLimits limits);

  // Adds a command. Fails with kDuplicate, kMempoolFull or kOversize; `id` is its command_id.
  std::optional<RejectReason> add(const CommandId& id, Bytes command);
  bool contains(const CommandId& id) const { return index_.contains(id); }
  void remove(const CommandId& id);

  // Up to count_max commands totalling at most bytes_max, oldest first, skipping those for which
  // `excluded(id)` is true (commands already in uncommitted blocks of the leader's branch). With
  // `ids`, their command ids are appended to it in the same order (the leader knows them, so its
  // own proposal need not hash them again).
  template <class Excluded>
  std::vector<Bytes> select(size_t count_max, size_t bytes_max, Excluded&& excluded,
                            std::vector<CommandId>* ids = nullptr) const {
    std::vector<Bytes> out;
    out.reserve(std::min(count_max, index_.size()));
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

  size_t size() const { return index_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  // A command in arrival order. Removal marks it dead and frees its bytes; dead entries leave
  // from the front at once and from the middle when compact() rebuilds.
  struct Entry {
    CommandId id;
    Bytes command;
    bool live = true;
  };
  void compact();

  MempoolLimits limits_;
  // Live id -> its sequence number; order_[sequence - front_sequence_] is its entry. Liveness is
  // kept in the entries, so neither selection nor removal looks anything up but the one id.
  std::unordered_map<CommandId, uint64_t> index_;
  std::deque<Entry> order_;
  uint64_t front_sequence_ = 0;
  size_t bytes_ = 0;
};

}  // namespace folio::consensus
