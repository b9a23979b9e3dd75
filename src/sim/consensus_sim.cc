#include "sim/consensus_sim.h"

#include <algorithm>
#include <map>
#include <memory>
#include <queue>
#include <sstream>

#include "consensus/replica.h"
#include "sim/byzantine.h"
#include "sim/checker.h"
#include "sim/prng.h"

namespace folio::sim {
namespace {

using consensus::Ready;
using consensus::Replica;
using consensus::ReplicaId;

constexpr int64_t kTickMs = 10;
constexpr int64_t kClockOffsetMaxMs = 300;
constexpr int64_t kClockDriftMaxPpm = 2'000;
constexpr int64_t kDowntimeMinMs = 100;
constexpr int64_t kDowntimeMaxMs = 1'500;
constexpr uint32_t kCrashesPerReplicaMax = 2;
constexpr uint32_t kPartitionsMax = 3;
constexpr int64_t kPartitionMaxMs = 1'500;
constexpr uint32_t kTailFactor = 10;

std::string percent(uint32_t ppm) {
  return std::to_string(ppm / 10'000) + "." + std::to_string((ppm / 1'000) % 10) + "%";
}

struct Disk {
  consensus::SafetyState safety = consensus::initial_safety_state();
  std::map<consensus::BlockId, consensus::Block> blocks;
  consensus::CommitPointer committed{consensus::genesis_id(), consensus::Height(0)};
};

struct Node {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<consensus::Validator> validator;
  std::unique_ptr<Byzantine> byzantine;
  Disk disk;
  bool crash_on_flush = false;  // the next write is lost before its fsync, and the node dies
  int64_t clock_offset_ms = 0;
  int64_t clock_drift_ppm = 0;
};

enum class EventKind : uint8_t { kDeliver, kTick, kCrash, kRestart, kSubmit, kHeal };

struct Event {
  int64_t at_ms;
  uint64_t sequence;
  EventKind kind;
  uint32_t node = 0;
  uint32_t from = 0;
  Bytes bytes;
  bool operator>(const Event& other) const {
    return at_ms != other.at_ms ? at_ms > other.at_ms : sequence > other.sequence;
  }
};

struct Partition {
  int64_t start_ms;
  int64_t end_ms;
  uint64_t side_mask;  // bit i set: replica i on side one
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options),
        prng_(options.seed),
        net_(prng_.fork()),
        faults_(prng_.fork()),
        clients_(prng_.fork()),
        checker_(std::vector<bool>(options.replicas, true)) {
    build();
  }

  SimResult run();

 private:
  void build();
  void schedule(Event e) {
    e.sequence = next_sequence_++;
    queue_.push(std::move(e));
  }
  int64_t local_ms(uint32_t i, int64_t t) const {
    const Node& n = nodes_[i];
    return t + n.clock_offset_ms + t * n.clock_drift_ppm / 1'000'000;
  }
  bool faulty_period(int64_t t) const { return t < options_.heal_ms; }
  bool cut(uint32_t a, uint32_t b, int64_t t) const;
  void send(uint32_t from, uint32_t to, Bytes bytes, int64_t t);
  void start(uint32_t i, int64_t t);
  void crash(uint32_t i, int64_t t);
  void flush(uint32_t i, int64_t t);
  void deliver(uint32_t to, uint32_t from, const Bytes& bytes, int64_t t);
  void submit(const Bytes& command, int64_t t);

  SimOptions options_;
  Prng prng_;
  Prng net_;
  Prng faults_;
  Prng clients_;
  Checker checker_;
  consensus::VerifyCache verify_cache_{1u << 16};
  std::vector<crypto::PrivateKey> keys_;
  std::unique_ptr<consensus::Committee> committee_;
  std::vector<Node> nodes_;
  std::vector<bool> honest_;
  std::vector<Partition> partitions_;
  std::vector<Bytes> commands_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t next_sequence_ = 0;
  SimResult result_;
};

void Simulation::build() {
  uint32_t n = options_.replicas;
  FOLIO_ASSERT(n >= 4 && n <= kSimReplicasMax);
  FOLIO_ASSERT(options_.heal_ms > kDowntimeMaxMs + 1);
  for (uint32_t i = 0; i < n; ++i) {
    FixedBytes<32> seed;
    for (size_t k = 0; k < 32; k += 8) {
      uint64_t word = prng_.next();
      for (size_t j = 0; j < 8; ++j) seed.bytes[k + j] = static_cast<uint8_t>(word >> (8 * j));
    }
    keys_.push_back(crypto::PrivateKey::ed25519(seed));
  }
  std::vector<crypto::PublicKey> publics;
  for (const auto& k : keys_) publics.push_back(k.public_key());
  committee_ = std::make_unique<consensus::Committee>(publics);

  // Which replicas are Byzantine, and what each does.
  honest_.assign(n, true);
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i) order[i] = i;
  for (uint32_t i = n; i > 1; --i) std::swap(order[i - 1], order[faults_.below(i)]);
  for (uint32_t k = 0; k < std::min(options_.byzantine, n); ++k) honest_[order[k]] = false;
  checker_ = Checker(honest_);

  nodes_.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    Node& node = nodes_[i];
    if (options_.clock_drift) {
      node.clock_offset_ms = faults_.range(0, kClockOffsetMaxMs);
      node.clock_drift_ppm = faults_.range(-kClockDriftMaxPpm, kClockDriftMaxPpm);
    }
    consensus::MessageLimits limits;
    limits.batch_count_max = options_.batch_count_max;
    node.validator = std::make_unique<consensus::Validator>(*committee_, limits, &verify_cache_);
    if (!honest_[i]) {
      uint32_t behaviours = static_cast<uint32_t>(faults_.below(kBehaviourAll)) + 1;
      if (options_.byzantine_behaviours != 0) behaviours = options_.byzantine_behaviours;
      node.byzantine = std::make_unique<Byzantine>(behaviours, keys_[i], n, faults_.fork());
    }
    start(i, 0);
    schedule(Event{static_cast<int64_t>(faults_.below(kTickMs)), 0, EventKind::kTick, i, 0, {}});
  }

  // Crashes of honest replicas, each restarted within the fault phase.
  if (options_.crashes) {
    for (uint32_t i = 0; i < n; ++i) {
      if (!honest_[i]) continue;
      uint32_t crashes = static_cast<uint32_t>(faults_.below(kCrashesPerReplicaMax + 1));
      for (uint32_t k = 0; k < crashes; ++k) {
        int64_t at = faults_.range(0, options_.heal_ms - kDowntimeMaxMs - 1);
        schedule(Event{at, 0, EventKind::kCrash, i, 0, {}});
      }
    }
  }
  if (options_.partitions) {
    uint32_t count = 1 + static_cast<uint32_t>(faults_.below(kPartitionsMax));
    for (uint32_t k = 0; k < count; ++k) {
      int64_t start = faults_.range(0, options_.heal_ms - 1);
      int64_t end = std::min(options_.heal_ms, start + faults_.range(100, kPartitionMaxMs));
      uint64_t mask = faults_.below((1ull << n) - 2) + 1;  // neither empty nor everyone
      partitions_.push_back(Partition{start, end, mask});
    }
  }
  if (options_.split_from_ms >= 0 && options_.split_from_ms < options_.heal_ms) {
    uint64_t lower_half = (1ull << (n / 2)) - 1;
    partitions_.push_back(Partition{options_.split_from_ms, options_.heal_ms, lower_half});
  }
  // Clients submit commands at random times of the fault phase.
  for (uint32_t k = 0; k < options_.commands; ++k) {
    Bytes c(std::max<uint32_t>(options_.command_bytes, 8));
    for (uint8_t& b : c) b = static_cast<uint8_t>(clients_.next());
    for (size_t j = 0; j < 4; ++j) c[j] = static_cast<uint8_t>(k >> (8 * j));  // unique
    commands_.push_back(c);
    int64_t at = clients_.range(0, options_.heal_ms * 3 / 4);
    schedule(Event{at, 0, EventKind::kSubmit, k, 0, {}});
  }
  schedule(Event{options_.heal_ms, 0, EventKind::kHeal, 0, 0, {}});
}

void Simulation::start(uint32_t i, int64_t t) {
  Node& node = nodes_[i];
  consensus::ReplicaConfig config(*committee_, ReplicaId(i), keys_[i]);
  config.limits.batch_count_max = options_.batch_count_max;
  config.view_timeout_ms = options_.view_timeout_ms;
  config.idle_proposal_delay_ms = options_.view_timeout_ms / 4;
  config.backoff_shift_max = 4;
  config.fetch_retry_ms = 100;
  config.test_only_commit_on_one_chain = options_.break_commit_rule;
  consensus::RestoredState restored;
  restored.safety = node.disk.safety;
  for (const auto& [id, b] : node.disk.blocks) restored.blocks.push_back(b);
  restored.committed = node.disk.committed;
  node.replica = std::make_unique<Replica>(std::move(config), restored, local_ms(i, t));
  node.crash_on_flush = false;
}

void Simulation::crash(uint32_t i, int64_t t) {
  Node& node = nodes_[i];
  node.replica.reset();
  node.crash_on_flush = false;
  ++result_.crashes;
  int64_t restart = std::min(t + faults_.range(kDowntimeMinMs, kDowntimeMaxMs), options_.heal_ms);
  schedule(Event{restart, 0, EventKind::kRestart, i, 0, {}});
}

bool Simulation::cut(uint32_t a, uint32_t b, int64_t t) const {
  for (const Partition& p : partitions_) {
    if (t < p.start_ms || t >= p.end_ms) continue;
    if (((p.side_mask >> a) & 1) != ((p.side_mask >> b) & 1)) return true;
  }
  return false;
}

void Simulation::send(uint32_t from, uint32_t to, Bytes bytes, int64_t t) {
  ++result_.messages_sent;
  if (faulty_period(t) && (cut(from, to, t) || net_.chance_ppm(options_.loss_ppm))) {
    ++result_.messages_dropped;
    return;
  }
  auto latency = [&] {
    int64_t spread = options_.latency_spread_ms;
    int64_t l = options_.latency_min_ms + net_.range(0, spread);
    if (net_.chance_ppm(options_.tail_ppm)) l += net_.range(0, spread * kTailFactor);
    return l;
  };
  if (faulty_period(t) && net_.chance_ppm(options_.duplicate_ppm)) {
    schedule(Event{t + latency(), 0, EventKind::kDeliver, to, from, bytes});
  }
  schedule(Event{t + latency(), 0, EventKind::kDeliver, to, from, std::move(bytes)});
}

void Simulation::flush(uint32_t i, int64_t t) {
  Node& node = nodes_[i];
  Ready ready = node.replica->take_ready();
  if (node.crash_on_flush && !ready.persist.empty()) {
    // The crash strikes after the write and before its fsync: the writes and the messages that
    // were to follow them are lost.
    crash(i, t);
    return;
  }
  Disk& disk = node.disk;
  if (ready.persist.safety) disk.safety = *ready.persist.safety;
  for (const auto& b : ready.persist.blocks) disk.blocks[consensus::block_id(*b)] = *b;
  for (const auto& id : ready.persist.pruned) disk.blocks.erase(id);
  if (ready.persist.committed) disk.committed = *ready.persist.committed;
  if (node.byzantine) {
    for (Packet& p : node.byzantine->transform(*node.replica, ready))
      send(i, p.to, std::move(p.bytes), t);
  } else {
    for (const consensus::Outgoing& o : ready.send) {
      if (const auto* v = std::get_if<consensus::Vote>(&o.message))
        checker_.on_vote_sent(i, v->view, disk.safety.highest_voted_view);
      Bytes bytes = codec::encode_to_bytes(o.message);
      for (uint32_t to = 0; to < options_.replicas; ++to) {
        if (to == i || (o.to && o.to->value() != to)) continue;
        send(i, to, bytes, t);
      }
    }
  }
  for (const auto& c : ready.commit) checker_.on_commit(i, c, t);
  for (const auto& r : ready.reports) checker_.on_report(i, r);
  result_.rejections += ready.rejections.size();
  node.replica->advance(ready);
}

void Simulation::deliver(uint32_t to, uint32_t from, const Bytes& bytes, int64_t t) {
  Node& node = nodes_[to];
  if (!node.replica) {
    ++result_.messages_dropped;
    return;
  }
  node.replica->tick(local_ms(to, t));
  consensus::Validation v = node.validator->validate(ReplicaId(from), bytes);
  if (std::holds_alternative<consensus::Rejection>(v)) {
    ++result_.rejections;
  } else {
    const auto& verified = std::get<consensus::Verified<consensus::Message>>(v);
    if (node.byzantine) {
      std::vector<Packet> extra;
      node.byzantine->observe(*node.replica, from, verified.get(), bytes, extra);
      for (Packet& p : extra) send(to, p.to, std::move(p.bytes), t);
    }
    node.replica->step(verified);
  }
  flush(to, t);
}

void Simulation::submit(const Bytes& command, int64_t t) {
  for (uint32_t i = 0; i < options_.replicas; ++i) {
    if (nodes_[i].replica) (void)nodes_[i].replica->submit(command);
  }
  (void)t;
}

SimResult Simulation::run() {
  result_.options = options_;
  int64_t stop_ms = options_.heal_ms + options_.liveness_bound_ms + 1;
  int64_t t = 0;
  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    t = e.at_ms;
    if (t > stop_ms) break;
    Node& node = nodes_[e.node];
    switch (e.kind) {
      case EventKind::kDeliver:
        deliver(e.node, e.from, e.bytes, t);
        break;
      case EventKind::kTick:
        if (node.replica) {
          node.replica->tick(local_ms(e.node, t));
          if (node.byzantine) {
            std::vector<Packet> extra;
            node.byzantine->on_tick(*node.replica, extra);
            for (Packet& p : extra) send(e.node, p.to, std::move(p.bytes), t);
          }
          flush(e.node, t);
        }
        schedule(Event{t + kTickMs, 0, EventKind::kTick, e.node, 0, {}});
        break;
      case EventKind::kCrash:
        if (node.replica && faulty_period(t)) {
          if (faults_.below(2) == 0) {
            crash(e.node, t);
          } else {
            node.crash_on_flush = true;
          }
        }
        break;
      case EventKind::kRestart:
        if (!node.replica) start(e.node, t);
        break;
      case EventKind::kSubmit:
        checker_.on_submit(commands_[e.node], t);
        submit(commands_[e.node], t);
        break;
      case EventKind::kHeal:
        // Faults stop: every honest replica is up, and clients retry what has not committed.
        for (uint32_t i = 0; i < options_.replicas; ++i) {
          if (!nodes_[i].replica) start(i, t);
          nodes_[i].crash_on_flush = false;
        }
        for (const Bytes& c : commands_) submit(c, t);
        break;
    }
    if (t >= options_.heal_ms && checker_.all_committed()) break;
  }
  checker_.finish(options_.heal_ms, options_.liveness_bound_ms);
  result_.violations = checker_.violations();
  result_.committed_blocks = checker_.longest_log_blocks();
  result_.committed_commands = checker_.committed_commands();
  result_.last_commit_latency_ms = checker_.slowest_commit_ms();
  result_.end_ms = t;
  for (const Node& n : nodes_) {
    if (n.replica) result_.highest_view = std::max(result_.highest_view, n.replica->view().value());
    result_.signatures_verified += n.validator->signatures_verified();
  }
  return result_;
}

}  // namespace

std::string SimOptions::describe() const {
  std::ostringstream out;
  out << "n=" << replicas << " byz=" << byzantine;
  if (byzantine_behaviours != 0) out << "(" << describe_behaviours(byzantine_behaviours) << ")";
  out << " loss=" << percent(loss_ppm) << " dup=" << percent(duplicate_ppm)
      << (partitions ? " partitions" : "") << (split_from_ms >= 0 ? " split" : "")
      << (crashes ? " crashes" : "") << (clock_drift ? " drift" : "")
      << (break_commit_rule ? " BROKEN-COMMIT-RULE" : "");
  return out.str();
}

std::string SimOptions::command_line() const {
  std::ostringstream out;
  out << "folio sim consensus --seed " << seed << " --replicas " << replicas << " --byzantine "
      << byzantine << " --commands " << commands << " --loss-ppm " << loss_ppm
      << " --duplicate-ppm " << duplicate_ppm << " --tail-ppm " << tail_ppm << " --heal-ms "
      << heal_ms;
  if (partitions) out << " --partitions";
  if (split_from_ms >= 0) out << " --split-from-ms " << split_from_ms;
  if (crashes) out << " --crashes";
  if (clock_drift) out << " --drift";
  if (byzantine_behaviours != 0) out << " --behaviours " << byzantine_behaviours;
  if (break_commit_rule) out << " --break-commit-rule";
  return out.str();
}

SimOptions sweep_options(uint64_t seed, const SimOptions& base, bool keep_replicas) {
  SimOptions o = base;
  o.seed = seed;
  Prng mix(seed ^ 0x5eed5eed5eed5eedull);
  uint64_t size = mix.below(20);
  if (!keep_replicas) o.replicas = size < 15 ? 4 : size < 19 ? 7 : 10;
  uint32_t f = (o.replicas - 1) / 3;
  o.byzantine = std::min(o.byzantine, f);
  switch (seed % 8) {
    case 0:  // clean network, latency only
      break;
    case 1:  // lossy, duplicating, reordering
      o.loss_ppm = 50'000;
      o.duplicate_ppm = 50'000;
      o.tail_ppm = 100'000;
      break;
    case 2:
      o.partitions = true;
      break;
    case 3:
      o.crashes = true;
      break;
    case 4:
      o.byzantine = f;
      break;
    case 5:
      o.clock_drift = true;
      o.loss_ppm = 20'000;
      break;
    case 6:
      o.byzantine = f;
      o.loss_ppm = 20'000;
      o.crashes = true;
      break;
    default:
      o.byzantine = static_cast<uint32_t>(mix.below(f + 1));
      o.loss_ppm = 30'000;
      o.duplicate_ppm = 30'000;
      o.partitions = true;
      o.crashes = true;
      o.clock_drift = true;
      break;
  }
  return o;
}

std::string SimResult::summary_line() const {
  std::ostringstream out;
  out << "seed=" << options.seed << " " << options.describe() << (ok() ? " OK" : " FAIL")
      << " blocks=" << committed_blocks << " commands=" << committed_commands << "/"
      << options.commands << " view=" << highest_view << " msgs=" << messages_sent
      << " dropped=" << messages_dropped << " rejected=" << rejections << " crashes=" << crashes
      << " verifies=" << signatures_verified << " sim_ms=" << end_ms
      << " slowest_commit_ms=" << last_commit_latency_ms;
  if (!ok()) {
    out << " violations:";
    for (const std::string& v : violations) out << " [" << v << "]";
    out << " reproduce: " << options.command_line();
  }
  return out.str();
}

SimResult run_consensus_sim(const SimOptions& options) {
  Simulation sim(options);
  return sim.run();
}

}  // namespace folio::sim
