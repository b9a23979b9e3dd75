#include "sim/checker.h"

#include <algorithm>

namespace folio::sim {
namespace {
constexpr size_t kViolationsKeptMax = 8;
}  // namespace

Checker::Checker(std::vector<bool> honest) : honest_(std::move(honest)), logs_(honest_.size()) {}

void Checker::violation(std::string text) {
  ++violations_total_;
  if (violations_.size() < kViolationsKeptMax) violations_.push_back(std::move(text));
}

void Checker::on_submit(const Bytes& command, int64_t at_ms) {
  submitted_at_.emplace(consensus::command_id(command), at_ms);
}

void Checker::on_commit(uint32_t replica, const consensus::CommittedBlock& c, int64_t at_ms) {
  if (!honest_[replica]) return;
  Log& log = logs_[replica];
  uint64_t height = c.block->height.value();
  if (height != log.blocks.size() + 1) {
    violation("agreement: replica " + std::to_string(replica) + " committed height " +
              std::to_string(height) + " after " + std::to_string(log.blocks.size()));
    return;
  }
  if (c.certificate.block_id != c.id) {
    violation("agreement: replica " + std::to_string(replica) + " committed height " +
              std::to_string(height) + " with a certificate for another block");
  }
  if (height > 1 && c.block->timestamp_ms <= log.last_timestamp_ms) {
    violation("time: replica " + std::to_string(replica) + " committed height " +
              std::to_string(height) + " with a timestamp not after its parent's");
  }
  log.last_timestamp_ms = c.block->timestamp_ms;
  log.blocks.push_back(c.id);
  auto [it, first] = agreed_.emplace(height, std::make_pair(c.id, replica));
  if (!first && it->second.first != c.id) {
    violation("agreement: at height " + std::to_string(height) + " replica " +
              std::to_string(replica) + " committed " + c.id.value().short_hex() + " but replica " +
              std::to_string(it->second.second) + " committed " +
              it->second.first.value().short_hex());
  }
  for (const Bytes& command : c.block->commands) {
    consensus::CommandId id = consensus::command_id(command);
    auto submitted = submitted_at_.find(id);
    if (submitted == submitted_at_.end()) {
      violation("validity: replica " + std::to_string(replica) +
                " committed a command nobody submitted");
      continue;
    }
    if (!log.committed_at.emplace(id, at_ms).second) {
      violation("validity: replica " + std::to_string(replica) + " committed a command twice");
      continue;
    }
    log.commands.push_back(id);
  }
}

void Checker::on_report(uint32_t replica, const consensus::Report& report) {
  if (!honest_[replica]) return;
  violation("agreement: replica " + std::to_string(replica) + " reports: " + report.detail);
}

void Checker::on_vote_sent(uint32_t replica, consensus::View vote_view,
                           consensus::View durable_voted) {
  if (honest_[replica] && durable_voted < vote_view) {
    violation("durability: replica " + std::to_string(replica) + " sent a vote for view " +
              std::to_string(vote_view.value()) + " before persisting it");
  }
}

bool Checker::all_committed() const {
  for (size_t r = 0; r < logs_.size(); ++r) {
    if (honest_[r] && logs_[r].committed_at.size() < submitted_at_.size()) return false;
  }
  return true;
}

void Checker::finish(int64_t heal_ms, int64_t bound_ms) {
  const Log* reference = nullptr;
  for (size_t r = 0; r < logs_.size(); ++r) {
    if (!honest_[r]) continue;
    const Log& log = logs_[r];
    size_t missing = 0;
    for (const auto& [id, submitted] : submitted_at_) {
      auto it = log.committed_at.find(id);
      int64_t start = std::max(submitted, heal_ms);
      if (it == log.committed_at.end()) {
        ++missing;
        continue;
      }
      int64_t latency = it->second - start;
      slowest_commit_ms_ = std::max(slowest_commit_ms_, latency);
      if (latency > bound_ms) {
        violation("liveness: replica " + std::to_string(r) + " committed a command " +
                  std::to_string(latency) + " ms after healing or submission");
      }
    }
    if (missing > 0) {
      violation("liveness: replica " + std::to_string(r) + " never committed " +
                std::to_string(missing) + " of " + std::to_string(submitted_at_.size()) +
                " commands");
    }
    if (reference == nullptr) {
      reference = &log;
    } else if (log.commands != reference->commands) {
      violation("agreement: honest replicas' committed command logs differ (replica " +
                std::to_string(r) + ")");
    }
  }
}

uint64_t Checker::longest_log_blocks() const {
  size_t best = 0;
  for (size_t r = 0; r < logs_.size(); ++r)
    if (honest_[r]) best = std::max(best, logs_[r].blocks.size());
  return best;
}

uint64_t Checker::committed_commands() const {
  size_t best = 0;
  for (size_t r = 0; r < logs_.size(); ++r)
    if (honest_[r]) best = std::max(best, logs_[r].commands.size());
  return best;
}

}  // namespace folio::sim
