// Checker: the simulator's invariant checkers for shard consensus, fed with what honest replicas
// commit and send. Violations are recorded as sentences (the first few of each run).
//
//  - agreement: no two honest replicas commit different blocks at one height; no honest replica
//    reports that the commit rule certified a block conflicting with its log;
//  - validity: only submitted commands commit, and each commits at most once per replica;
//  - durability: a vote leaves only after its view is durably recorded as voted;
//  - agreed time: committed blocks' leader timestamps strictly increase along the log;
//  - liveness: after healing, every submitted command commits at every honest replica within the
//    bound; and at the end the honest replicas' committed command logs are equal.
// Not thread-safe.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "consensus/replica.h"

namespace folio::sim {

class Checker {
 public:
  explicit Checker(std::vector<bool> honest);

  void on_submit(const Bytes& command, int64_t at_ms);
  void on_commit(uint32_t replica, const consensus::CommittedBlock& block, int64_t at_ms);
  void on_report(uint32_t replica, const consensus::Report& report);
  void on_vote_sent(uint32_t replica, consensus::View vote_view, consensus::View durable_voted);

  // Every submitted command is committed at every honest replica.
  bool all_committed() const;
  // Liveness and equal logs; call once at the end.
  void finish(int64_t heal_ms, int64_t bound_ms);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t longest_log_blocks() const;
  uint64_t committed_commands() const;
  int64_t slowest_commit_ms() const { return slowest_commit_ms_; }

 private:
  void violation(std::string text);

  struct Log {
    std::vector<consensus::BlockId> blocks;
    uint64_t last_timestamp_ms = 0;
    std::vector<consensus::CommandId> commands;
    std::unordered_map<consensus::CommandId, int64_t> committed_at;
  };

  std::vector<bool> honest_;
  std::vector<Log> logs_;
  std::map<uint64_t, std::pair<consensus::BlockId, uint32_t>> agreed_;  // height -> (block, first)
  std::unordered_map<consensus::CommandId, int64_t> submitted_at_;
  std::vector<std::string> violations_;
  size_t violations_total_ = 0;
  int64_t slowest_commit_ms_ = 0;
};

}  // namespace folio::sim
