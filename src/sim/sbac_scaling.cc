#include "sim/sbac_scaling.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <utility>

#include "base/assert.h"
#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "sbac/object_table.h"
#include "sbac/shard_map.h"
#include "sbac/statements.h"
#include "sbac/transaction_manager.h"
#include "sbac/verify_cache.h"
#include "sim/prng.h"

namespace folio::sim {
namespace {

using Time = int64_t;  // virtual nanoseconds
using ledger::StateRef;
using ledger::TxId;
using sbac::ShardId;
using sbac::Verdict;

// Wire sizes that are not computed from real encodings: a consensus vote (block id, view, height,
// voter, signature), a block header with its QC of 2f+1 signatures (per signature below), a
// replica's signed statement to a manager, and a client's signature with its key on a command.
constexpr uint64_t kVoteBytes = 32 + 8 + 8 + 33 + 65;
constexpr uint64_t kBlockHeaderBytes = 8 + 8 + 33 + 8 + 32 + 8 + 8;
constexpr uint64_t kQcSignatureBytes = 33 + 65;
constexpr uint64_t kReplyBytes = 32 + 8 + 1 + 4 + 8 + 33 + 65;
constexpr uint64_t kClientSignatureBytes = 33 + 65;
constexpr uint64_t kOpaqueCommandBytes = 128;
// The ring of recently spent inputs per shard from which a double spend is drawn.
constexpr size_t kRecentInputsMax = 1024;
// Committed sessions each shard's table keeps (the rest are pruned after each block).
constexpr size_t kSessionsRetainedMax = 4096;

// The bytes of a batch signature beyond a direct one on the wire: the variant index, leaf count,
// index and root (the branch is 32 bytes a level).
constexpr uint64_t kBatchSignatureExtraBytes = 1 + 4 + 4 + 32;
// SHA-256 input of one interior Merkle node (crypto/merkle.h: 0x01 || left || right).
constexpr uint64_t kMerkleNodeBytes = 1 + 32 + 32;

struct Machine {
  Time cpu_free = 0;
  Time nic_free = 0;
  int64_t busy_ns = 0;
  uint64_t executed_view = 0;  // blocks committed and executed up to this view
  // The replica's own cache of verified signatures, as its ObjectTable keeps one (its bound).
  sbac::VerifyCache cache{sbac::kVerifyCacheEntriesDefault};
};

enum class Kind : uint8_t { kOpaque, kSingle, kPrepare, kAccept };

struct Command {
  uint32_t tx = 0;
  uint32_t shard = 0;
  Kind kind = Kind::kOpaque;
  uint32_t bytes = 0;
  int64_t admit_ns = 0;  // per replica, on arrival
  int64_t exec_ns = 0;   // per replica, when its block commits, without statements' crypto
  uint32_t evidence_signatures = 0;  // an accept's, verified on execution
  uint64_t view = 0;                 // the block that ordered it
  // An accept's evidence, which every replica verifies (through its cache) when it executes the
  // block; freed once all have.
  std::vector<sbac::PreparedVote> evidence;
  std::unique_ptr<sbac::ShardCommand> body;  // freed once the table executed it
  // The statement its replies carry to the manager (a prepare's prepared, an accept's accepted),
  // and its leaf in the block's batch; set when the table executes it.
  std::optional<sbac::Prepared> prepared;
  std::optional<sbac::Accepted> accepted;
  uint32_t leaf = 0;
  Verdict verdict = Verdict::kAbort;
  bool executed = false;
};

struct Block {
  std::vector<uint32_t> commands;
  uint64_t bytes = 0;
  Time timestamp = 0;
  uint32_t executed_by = 0;
  bool nonempty = false;
  // The block's statements as every replica signs them (set by the first execution): their
  // signing cost per replica, the branch length of a leaf, and, when a manager needs the
  // signatures, the real tree and each replica's real root signature (made on first use).
  uint64_t statements = 0;
  int64_t signing_ns = 0;
  uint32_t branch_levels = 0;
  std::unique_ptr<sbac::BatchTree> tree;
  std::vector<std::optional<crypto::Signature>> root_signatures;
  uint64_t replies_outstanding = 0;
};

struct Pending {
  uint32_t command = 0;
  // Ready time at each replica (admission finished), in the shard's arrival order; monotone per
  // replica because each replica's CPU is FIFO.
  std::vector<Time> ready;
};

struct ShardState {
  std::unique_ptr<sbac::ObjectTable> table;
  std::vector<Machine> replicas;
  std::deque<Pending> pending;  // admitted, not yet proposed
  std::vector<Block> blocks;    // blocks[v - 1] is the block of view v
  uint64_t view = 0;            // the last view whose block was proposed
  uint64_t votes_verified = 0;  // for the block of `view`
  bool idle = true;             // the leader of view + 1 waits for a command
  bool wake_scheduled = false;
  std::vector<StateRef> free_objects;  // clients' unspent objects here
  std::vector<StateRef> recent;        // recently spent inputs (ring)
  size_t recent_next = 0;
  uint64_t genesis_minted = 0;
};

enum class TxState : uint8_t { kPending, kCommitted, kAborted, kRefused };

struct Tx {
  Time submitted = 0;
  Time done = -1;
  TxState state = TxState::kPending;
  bool cross = false;
  bool accept_sent = false;
  uint32_t home = 0;  // the shard of its output
  uint32_t replies = 0;
  uint64_t session = 0;  // s_T
  TxId id;
  std::vector<StateRef> owned;     // inputs taken from the free pools
  std::vector<uint32_t> prepares;  // cross-shard: the prepare command per concerned shard
  std::unique_ptr<sbac::TransactionManager> manager;
};

enum class EventType : uint8_t {
  kArrival,
  kCommandArrives,
  kPropose,
  kProposalArrives,
  kVoteArrives,
  kVoteVerified,
  kReply,
};

struct Event {
  Time time;
  uint64_t sequence;
  EventType type;
  uint32_t a;
  uint32_t b;
  uint64_t c;
  friend bool operator>(const Event& x, const Event& y) {
    return x.time != y.time ? x.time > y.time : x.sequence > y.sequence;
  }
};

double percentile_ms(std::vector<int64_t>& values, uint32_t per_mille) {
  if (values.empty()) return 0;
  size_t index = std::min(values.size() - 1, values.size() * per_mille / 1000);
  std::nth_element(values.begin(), values.begin() + static_cast<ptrdiff_t>(index), values.end());
  return static_cast<double>(values[index]) / 1e6;
}

class Simulation {
 public:
  explicit Simulation(const ScalingOptions& options)
      : o_(options),
        prng_(options.seed),
        arrivals_(prng_.fork()),
        n_(options.replicas),
        quorum_(n_ - (n_ - 1) / 3),
        vote_quorum_((n_ - 1) / 3 + 1) {
    FOLIO_ASSERT(o_.shards >= 1 && o_.shards <= kScalingShardsMax);
    FOLIO_ASSERT(n_ >= 4 && n_ <= kScalingReplicasMax);
    FOLIO_ASSERT(o_.inputs >= 1 && o_.inputs <= kScalingInputsMax);
    FOLIO_ASSERT(!o_.distinct_shards || o_.inputs <= o_.shards);
    FOLIO_ASSERT(o_.offered_tps >= 1 && o_.batch >= 1);
    FOLIO_ASSERT(o_.network.bandwidth_bytes_per_s >= 1);
    build_network();
  }

  ScalingResult run() {
    window_start_ = o_.warmup_ns;
    window_end_ = o_.warmup_ns + o_.measure_ns;
    const Time end = window_end_ + o_.drain_ns;
    push(0, EventType::kArrival, 0, 0, 0);
    while (!events_.empty() && events_.top().time <= end) {
      Event e = events_.top();
      events_.pop();
      now_ = e.time;
      ++result_.events;
      dispatch(e);
    }
    finish_result(end);
    return result_;
  }

 private:
  // ---- setup ----------------------------------------------------------------------------------
  void build_network() {
    map_.epoch = sbac::Epoch(1);
    keys_.resize(o_.shards);
    for (uint32_t s = 0; s < o_.shards; ++s) {
      std::vector<crypto::PrivateKey> keys;
      for (uint32_t i = 0; i < n_; ++i) {
        FixedBytes<32> seed;
        seed.bytes[0] = static_cast<uint8_t>(s);
        seed.bytes[1] = static_cast<uint8_t>(s >> 8);
        seed.bytes[2] = static_cast<uint8_t>(i);
        seed.bytes[31] = 0x5c;
        keys.push_back(crypto::PrivateKey::ed25519(seed));
      }
      std::sort(keys.begin(), keys.end(),
                [](const auto& x, const auto& y) { return x.public_key() < y.public_key(); });
      sbac::Shard shard;
      for (const auto& k : keys) shard.replicas.push_back(k.public_key());
      map_.shards.push_back(std::move(shard));
      keys_[s] = std::move(keys);
    }
    FOLIO_ASSERT(map_.check_canonical().ok());
    shards_.resize(o_.shards);
    for (uint32_t s = 0; s < o_.shards; ++s) {
      shards_[s].table = std::make_unique<sbac::ObjectTable>(ShardId(s), map_, 1);
      shards_[s].replicas.resize(n_);
    }
  }

  // ---- machines ---------------------------------------------------------------------------------
  Time run_cpu(Machine& m, Time ready, int64_t cost) {
    Time start = std::max(ready, m.cpu_free);
    m.cpu_free = start + cost;
    m.busy_ns += cost;
    result_.replica_busy_ns += cost;
    return m.cpu_free;
  }
  // The arrival time at the receiver of `bytes` sent by `m` once `ready`.
  Time transmit(Machine& m, Time ready, uint64_t bytes) {
    Time start = std::max(ready, m.nic_free);
    auto wire = static_cast<Time>(static_cast<unsigned __int128>(bytes) * 1'000'000'000u /
                                  o_.network.bandwidth_bytes_per_s);
    m.nic_free = start + wire;
    return m.nic_free + o_.network.latency_ns;
  }

  void push(Time time, EventType type, uint32_t a, uint32_t b, uint64_t c) {
    FOLIO_ASSERT(time >= now_);
    events_.push(Event{time, next_sequence_++, type, a, b, c});
  }

  uint32_t leader(uint64_t view) const { return static_cast<uint32_t>(view % n_); }

  void dispatch(const Event& e) {
    switch (e.type) {
      case EventType::kArrival:
        return on_arrival();
      case EventType::kCommandArrives:
        return on_command_arrives(e.a);
      case EventType::kPropose:
        return on_propose(e.a, e.c);
      case EventType::kProposalArrives:
        return on_proposal(e.a, e.b, e.c);
      case EventType::kVoteArrives:
        return on_vote_arrives(e.a, e.b, e.c);
      case EventType::kVoteVerified:
        return on_vote_verified(e.a, e.c);
      case EventType::kReply:
        return on_reply(e.a, e.b);
    }
  }

  // ---- clients ----------------------------------------------------------------------------------
  Time next_interval() {
    // Poisson arrivals: exponential gaps of mean 1e9 / offered_tps ns.
    double u = static_cast<double>(arrivals_.next() >> 11) * 0x1.0p-53;
    double mean = 1e9 / static_cast<double>(o_.offered_tps);
    return 1 + static_cast<Time>(-std::log1p(-u) * mean);
  }

  StateRef mint(uint32_t shard) {
    ShardState& st = shards_[shard];
    for (;;) {
      crypto::Hash256 h;
      uint64_t counter = ++genesis_counter_;
      for (int i = 0; i < 8; ++i) h.bytes[i] = static_cast<uint8_t>(counter >> (8 * i));
      h.bytes[31] = 0x6e;
      StateRef ref{TxId(h), 0};
      if (sbac::shard_of(ref, o_.shards) != ShardId(shard)) continue;
      FOLIO_ASSERT(st.table->add_genesis(ref).ok());
      ++st.genesis_minted;
      return ref;
    }
  }

  StateRef take_free(uint32_t shard) {
    ShardState& st = shards_[shard];
    if (st.free_objects.empty()) return mint(shard);
    size_t i = prng_.below(st.free_objects.size());
    StateRef ref = st.free_objects[i];
    st.free_objects[i] = st.free_objects.back();
    st.free_objects.pop_back();
    return ref;
  }

  void remember_spent(uint32_t shard, const StateRef& ref) {
    ShardState& st = shards_[shard];
    if (st.recent.size() < kRecentInputsMax) {
      st.recent.push_back(ref);
    } else {
      st.recent[st.recent_next] = ref;
      st.recent_next = (st.recent_next + 1) % kRecentInputsMax;
    }
  }

  // A transaction id whose output 0 lands on `shard`: a client grinds its privacy salt so (Corda's
  // salt makes the id free to choose), which keeps a payment's change on its input's shard.
  TxId grind_id(uint32_t shard) {
    uint64_t counter = ++tx_counter_;
    for (uint32_t nonce = 0;; ++nonce) {
      uint8_t buffer[20];
      for (int i = 0; i < 8; ++i) buffer[i] = static_cast<uint8_t>(counter >> (8 * i));
      for (int i = 0; i < 8; ++i) buffer[8 + i] = static_cast<uint8_t>(o_.seed >> (8 * i));
      for (int i = 0; i < 4; ++i) buffer[16 + i] = static_cast<uint8_t>(nonce >> (8 * i));
      TxId id(crypto::sha256(ByteView(buffer, sizeof buffer)));
      if (sbac::shard_of(StateRef{id, 0}, o_.shards) == ShardId(shard)) return id;
    }
  }

  bool has_room(uint32_t shard) const { return shards_[shard].pending.size() < o_.mempool_max; }

  uint32_t new_command(uint32_t tx, uint32_t shard, Kind kind,
                       std::unique_ptr<sbac::ShardCommand> body) {
    Command c;
    c.tx = tx;
    c.shard = shard;
    c.kind = kind;
    const CostModel& k = o_.costs;
    if (kind == Kind::kOpaque) {
      c.bytes = kOpaqueCommandBytes;
      c.admit_ns = k.hash_ns(c.bytes);
      c.exec_ns = 0;
    } else {
      c.bytes = static_cast<uint32_t>(codec::encode_to_bytes(*body).size());
      if (kind != Kind::kAccept) c.bytes += kClientSignatureBytes;
      // Admission: the mempool's de-duplicating hash, and the requester's signature on a prepare
      // (non-validating mode: the shard checks that the requester signed).
      c.admit_ns = k.hash_ns(c.bytes) + (kind == Kind::kAccept ? 0 : k.verify_ns);
      // Execution: the table's work (measured per command of one input and one output, charged
      // per object); the evidence's signatures (as ObjectTable::accept verifies them) and the
      // statements' signing are charged when a replica executes the block.
      uint64_t objects = 0;
      uint64_t evidence_signatures = 0;
      if (const auto* accept = std::get_if<sbac::AcceptCommand>(body.get())) {
        for (const auto& vote : accept->evidence) evidence_signatures += vote.signatures.size();
        c.evidence = accept->evidence;
        const Tx& t = txs_[tx];
        objects = t.owned.size() + 1;  // a bound: the inputs and the output it may touch
      } else {
        const sbac::PrepareCommand& p = kind == Kind::kSingle
                                            ? std::get<sbac::SingleShardCommand>(*body).prepare
                                            : std::get<sbac::PrepareCommand>(*body);
        objects = p.inputs.size() + p.output_count;
      }
      // A fast-path command was measured with 2 objects, a cross-shard prepare and accept (this
      // shard's part of a 2-shard transaction) with 3; more objects cost proportionally more.
      switch (kind) {
        case Kind::kPrepare:
          c.exec_ns = k.table_prepare_ns * static_cast<int64_t>(objects) / 3;
          break;
        case Kind::kAccept:
          c.exec_ns = k.table_accept_ns * static_cast<int64_t>(objects) / 3;
          break;
        default:
          c.exec_ns = k.table_command_ns * static_cast<int64_t>(objects) / 2;
          break;
      }
      c.evidence_signatures = static_cast<uint32_t>(evidence_signatures);
    }
    c.body = std::move(body);
    commands_.push_back(std::move(c));
    return static_cast<uint32_t>(commands_.size() - 1);
  }

  void send_command(uint32_t command) {
    push(now_ + o_.network.latency_ns, EventType::kCommandArrives, command, 0, 0);
  }

  void on_arrival() {
    if (now_ >= window_end_) return;  // clients stop at the end of the window
    push(now_ + next_interval(), EventType::kArrival, 0, 0, 0);
    ++result_.offered;
    auto tx_index = static_cast<uint32_t>(txs_.size());
    txs_.emplace_back();
    Tx& tx = txs_.back();
    tx.submitted = now_;

    if (o_.ordering_only) {
      auto shard = static_cast<uint32_t>(prng_.below(o_.shards));
      if (!has_room(shard)) return refuse(tx);
      tx.home = shard;
      send_command(new_command(tx_index, shard, Kind::kOpaque, nullptr));
      return;
    }

    // Inputs: each on a shard drawn at random (distinct shards if asked), taken from the clients'
    // unspent objects there; with probability conflict_ppm one more input that another transaction
    // recently spent or holds (a double spend the tables must refuse).
    std::vector<uint32_t> input_shards;
    while (input_shards.size() < o_.inputs) {
      auto s = static_cast<uint32_t>(prng_.below(o_.shards));
      if (o_.distinct_shards &&
          std::find(input_shards.begin(), input_shards.end(), s) != input_shards.end())
        continue;
      input_shards.push_back(s);
    }
    std::vector<StateRef> inputs;
    for (uint32_t s : input_shards) tx.owned.push_back(take_free(s));
    inputs = tx.owned;
    if (prng_.chance_ppm(o_.conflict_ppm)) {
      const ShardState& st = shards_[input_shards[0]];
      if (!st.recent.empty()) {
        StateRef stolen = st.recent[prng_.below(st.recent.size())];
        if (std::find(inputs.begin(), inputs.end(), stolen) == inputs.end())
          inputs.push_back(stolen);
      }
    }
    tx.home = input_shards[0];
    tx.id = grind_id(tx.home);
    std::sort(inputs.begin(), inputs.end());

    sbac::PrepareCommand prepare;
    prepare.tx_id = tx.id;
    // Byzcuit: s_T must not be older than any input's sequence number (an abort raises them past
    // its s_T); a client learns them from earlier replies (PrepareDecision::sequence_max).
    uint64_t session = 0;
    for (const StateRef& ref : inputs) {
      const sbac::ObjectEntry* entry =
          shards_[sbac::shard_of(ref, o_.shards).value()].table->find(ref);
      if (entry != nullptr) session = std::max(session, entry->sequence.value());
    }
    tx.session = session;
    prepare.session = sbac::Sequence(session);
    prepare.inputs = inputs;
    prepare.output_count = 1;
    std::set<ShardId> concerned =
        sbac::concerned_shards(tx.id, inputs, {}, prepare.output_count, o_.shards);
    for (ShardId s : concerned)
      if (!has_room(s.value())) return refuse(tx);
    for (size_t i = 0; i < tx.owned.size(); ++i) remember_spent(input_shards[i], tx.owned[i]);

    if (concerned.size() == 1) {
      auto body = std::make_unique<sbac::ShardCommand>(sbac::SingleShardCommand{prepare});
      send_command(new_command(tx_index, tx.home, Kind::kSingle, std::move(body)));
      return;
    }
    ++result_.cross_shard;
    tx.cross = true;
    // The managers share one cache: wall time only (a client's CPU is not modelled).
    tx.manager = std::make_unique<sbac::TransactionManager>(prepare, map_, &client_cache_);
    for (ShardId s : concerned) {
      auto body = std::make_unique<sbac::ShardCommand>(prepare);
      uint32_t command = new_command(tx_index, s.value(), Kind::kPrepare, std::move(body));
      txs_[tx_index].prepares.push_back(command);
      send_command(command);
    }
  }

  void refuse(Tx& tx) {
    tx.state = TxState::kRefused;
    ++result_.refused;
    for (const StateRef& ref : tx.owned)
      shards_[sbac::shard_of(ref, o_.shards).value()].free_objects.push_back(ref);
    tx.owned.clear();
  }

  void finish_tx(uint32_t tx_index, bool committed, Time done) {
    Tx& tx = txs_[tx_index];
    FOLIO_ASSERT(tx.state == TxState::kPending);
    tx.done = done;
    tx.state = committed ? TxState::kCommitted : TxState::kAborted;
    if (committed) {
      ++result_.committed;
      if (done >= window_start_ && done < window_end_) ++result_.committed_in_window;
      if (tx.submitted >= window_start_ && tx.submitted < window_end_)
        latencies_.push_back(done - tx.submitted);
      if (!o_.ordering_only) shards_[tx.home].free_objects.push_back(StateRef{tx.id, 0});
    } else {
      ++result_.aborted;
      // The client's own inputs stay spendable unless a double spend consumed them.
      for (const StateRef& ref : tx.owned) {
        ShardState& st = shards_[sbac::shard_of(ref, o_.shards).value()];
        const sbac::ObjectEntry* entry = st.table->find(ref);
        if (entry != nullptr && entry->active && !entry->lock) st.free_objects.push_back(ref);
      }
    }
    tx.owned.clear();
    tx.owned.shrink_to_fit();
    tx.manager.reset();
  }

  // ---- replicas: admission and ordering ---------------------------------------------------------
  void on_command_arrives(uint32_t command) {
    Command& c = commands_[command];
    ShardState& st = shards_[c.shard];
    Pending p;
    p.command = command;
    p.ready.resize(n_);
    for (uint32_t r = 0; r < n_; ++r) p.ready[r] = run_cpu(st.replicas[r], now_, c.admit_ns);
    Time ready_at_leader = p.ready[leader(st.view + 1)];
    st.pending.push_back(std::move(p));
    if (st.idle && !st.wake_scheduled) {
      st.wake_scheduled = true;
      push(ready_at_leader, EventType::kPropose, c.shard, 0, st.view + 1);
    }
  }

  void on_propose(uint32_t shard, uint64_t view) {
    ShardState& st = shards_[shard];
    st.wake_scheduled = false;
    if (!st.idle || view != st.view + 1) return;
    propose(shard);
  }

  // The leader of view + 1 holds the QC of `view` (or it is the first view): it proposes now if it
  // has commands verified or a non-empty block to flush, else it waits for the next command.
  void next_view(uint32_t shard) {
    ShardState& st = shards_[shard];
    uint32_t l = leader(st.view + 1);
    // Flush while the certified block or its parent holds commands: the next proposal carries the
    // QC that lets the other replicas commit them (the leader of view + 1 commits alone otherwise).
    bool flush = (st.view >= 1 && st.blocks[st.view - 1].nonempty) ||
                 (st.view >= 2 && st.blocks[st.view - 2].nonempty);
    if (flush || (!st.pending.empty() && st.pending.front().ready[l] <= now_)) {
      propose(shard);
      return;
    }
    st.idle = true;
    if (!st.pending.empty() && !st.wake_scheduled) {
      st.wake_scheduled = true;
      push(st.pending.front().ready[l], EventType::kPropose, shard, 0, st.view + 1);
    }
  }

  void propose(uint32_t shard) {
    ShardState& st = shards_[shard];
    st.idle = false;
    st.view += 1;
    st.votes_verified = 0;
    uint64_t view = st.view;
    uint32_t l = leader(view);
    Block block;
    block.timestamp = now_;
    block.bytes = kBlockHeaderBytes + (view > 1 ? quorum_ * kQcSignatureBytes : 0);
    while (!st.pending.empty() && block.commands.size() < o_.batch &&
           st.pending.front().ready[l] <= now_) {
      uint32_t command = st.pending.front().command;
      commands_[command].view = view;
      block.commands.push_back(command);
      block.bytes += commands_[command].bytes;
      st.pending.pop_front();
    }
    block.nonempty = !block.commands.empty();
    result_.commands += block.commands.size();
    ++result_.blocks;
    uint64_t bytes = block.bytes;
    st.blocks.push_back(std::move(block));
    FOLIO_ASSERT(st.blocks.size() == view);

    // The leader hashes the block (its id) and signs its own vote, then sends the block to every
    // other replica in turn (no signature: the transport authenticates the leader).
    Machine& m = st.replicas[l];
    Time done = run_cpu(m, now_, o_.costs.hash_ns(bytes) + o_.costs.sign_ns);
    send_vote(shard, l, view, done);
    for (uint32_t r = 0; r < n_; ++r) {
      if (r == l) continue;
      push(transmit(m, done, bytes), EventType::kProposalArrives, shard, r, view);
    }
  }

  void send_vote(uint32_t shard, uint32_t voter, uint64_t view, Time done) {
    uint32_t next = leader(view + 1);
    Machine& m = shards_[shard].replicas[voter];
    Time arrives = voter == next ? done : transmit(m, done, kVoteBytes);
    push(arrives, EventType::kVoteArrives, shard, voter, view);
  }

  // A replica validates a proposal (the QC's 2f+1 signatures, the block hash), signs its vote, then
  // executes the blocks the proposal's QC commits (two-chain: the grandparent).
  void on_proposal(uint32_t shard, uint32_t replica, uint64_t view) {
    ShardState& st = shards_[shard];
    const Block& block = st.blocks[view - 1];
    int64_t cost = o_.costs.hash_ns(block.bytes) + o_.costs.sign_ns;
    if (view > 1) cost += static_cast<int64_t>(quorum_) * o_.costs.verify_ns;
    Time done = run_cpu(st.replicas[replica], now_, cost);
    send_vote(shard, replica, view, done);
    if (view >= 3) execute_upto(shard, replica, view - 2);
  }

  void on_vote_arrives(uint32_t shard, uint32_t voter, uint64_t view) {
    ShardState& st = shards_[shard];
    uint32_t next = leader(view + 1);
    // Its own vote needs no check; every other vote is verified as it arrives, even past 2f+1.
    int64_t cost = voter == next ? 0 : o_.costs.verify_ns;
    Time done = run_cpu(st.replicas[next], now_, cost);
    push(done, EventType::kVoteVerified, shard, voter, view);
  }

  void on_vote_verified(uint32_t shard, uint64_t view) {
    ShardState& st = shards_[shard];
    if (view != st.view) return;
    if (++st.votes_verified != quorum_) return;
    // QC(view) formed at the leader of view + 1: it commits view - 1 (two-chain) and proposes.
    uint32_t next = leader(view + 1);
    next_view(shard);
    if (view >= 2) execute_upto(shard, next, view - 1);
  }

  // ---- replicas: execution ----------------------------------------------------------------------
  void execute_upto(uint32_t shard, uint32_t replica, uint64_t view) {
    ShardState& st = shards_[shard];
    Machine& m = st.replicas[replica];
    while (m.executed_view < view) {
      uint64_t v = ++m.executed_view;
      Block& block = st.blocks[v - 1];
      if (block.executed_by++ == 0) execute_in_table(shard, block);
      // The commands (with their evidence), then the block's statements signed as ShardReplica
      // signs them (ShardReplica::sign_block).
      int64_t cost = block.signing_ns;
      for (uint32_t command : block.commands) cost += execution_ns(m, commands_[command]);
      Time done = run_cpu(m, now_, cost);
      uint64_t reply_bytes =
          kReplyBytes +
          (o_.unbatched_statements ? 0 : kBatchSignatureExtraBytes + 32 * block.branch_levels);
      for (uint32_t command : block.commands)
        push(transmit(m, done, reply_bytes), EventType::kReply, command, replica, 0);
      block.replies_outstanding += block.commands.size();
      if (block.executed_by == n_) {
        for (uint32_t command : block.commands) {
          commands_[command].evidence.clear();
          commands_[command].evidence.shrink_to_fit();
        }
        block.commands.clear();
        block.commands.shrink_to_fit();
        release_batch(block);
      }
    }
  }

  // A block's tree is kept until every replica executed it and every reply was delivered.
  void release_batch(Block& block) {
    if (block.executed_by == n_ && block.replies_outstanding == 0) {
      block.tree.reset();
      block.root_signatures.clear();
      block.root_signatures.shrink_to_fit();
    }
  }

  // One replica's CPU for one committed command: the table's work, and an accept's evidence as
  // ObjectTable::accept checks it (verify_vote on every vote). Unbatched, every signature costs a
  // verification. Batched, the replica really checks each signature through its own VerifyCache
  // (the statement's leaf hash per vote; per signature the branch's node hashes and the cache key's
  // hash) and is charged a verification only for a miss: one per signer and batch of the other
  // shard.
  int64_t execution_ns(Machine& m, Command& c) {
    if (c.kind == Kind::kOpaque) return 0;
    const CostModel& k = o_.costs;
    int64_t cost = c.exec_ns;
    if (o_.unbatched_statements)
      return cost + static_cast<int64_t>(c.evidence_signatures) * k.verify_ns;
    for (const sbac::PreparedVote& vote : c.evidence) {
      Bytes payload = sbac::signing_payload(vote.statement);
      cost += k.hash_ns(1 + payload.size());
      for (const sbac::ReplicaSignature& signature : vote.signatures) {
        const auto* batch = std::get_if<sbac::BatchSignature>(&signature.signature);
        FOLIO_ASSERT(batch != nullptr);
        cost += static_cast<int64_t>(batch->branch.size()) * k.hash_ns(kMerkleNodeBytes);
        uint64_t misses = m.cache.misses();
        FOLIO_ASSERT(sbac::verify_signature(payload, signature, &m.cache));
        cost += k.hash_ns(sbac::batch_payload(batch->leaf_count, batch->root).size());
        if (m.cache.misses() != misses) {
          cost += k.verify_ns;
          ++result_.evidence_verifies;
        } else {
          ++result_.evidence_cached;
        }
      }
    }
    return cost;
  }

  // The first replica to execute a block runs its commands in the shard's real object table (every
  // honest replica reaches the same outcomes, so one table stands for all of them), and collects
  // the statements each replica signs for it, in log order as ShardReplica::record does: a
  // prepare's prepared, an accept's accepted, the fast path's prepared and accepted.
  void execute_in_table(uint32_t shard, Block& block) {
    ShardState& st = shards_[shard];
    ledger::Timestamp agreed(block.timestamp / 1000);
    std::vector<Bytes> payloads;
    bool needs_signatures = false;
    for (uint32_t command : block.commands) {
      Command& c = commands_[command];
      c.executed = true;
      if (c.kind == Kind::kOpaque) {
        c.verdict = Verdict::kCommit;
        continue;
      }
      sbac::Outcome outcome = st.table->execute(*c.body, agreed, non_validating_);
      c.body.reset();
      if (const auto* p = std::get_if<sbac::PrepareDecision>(&outcome)) {
        c.verdict = p->verdict;
        c.prepared = p->statement(map_.epoch);
        c.leaf = static_cast<uint32_t>(payloads.size());
        payloads.push_back(sbac::signing_payload(*c.prepared));
      } else if (const auto* a = std::get_if<sbac::AcceptDecision>(&outcome)) {
        c.verdict = a->verdict;
        if (c.kind == Kind::kSingle) {
          const sbac::PrepareDecision* prepared = st.table->session_prepared(a->key);
          FOLIO_ASSERT(prepared != nullptr);
          payloads.push_back(sbac::signing_payload(prepared->statement(map_.epoch)));
        }
        c.accepted = a->statement(map_.epoch);
        c.leaf = static_cast<uint32_t>(payloads.size());
        payloads.push_back(sbac::signing_payload(*c.accepted));
      } else {
        ++result_.table_rejections;
        c.verdict = Verdict::kAbort;
      }
      needs_signatures = needs_signatures || c.kind == Kind::kPrepare || c.kind == Kind::kAccept;
    }
    sign_statements(block, payloads, needs_signatures);
    // A replica bounds its session cache as src/sbac allows (committed sessions, oldest first),
    // here in steps so that the pruning's cost is spread.
    if (st.table->session_count() > 2 * kSessionsRetainedMax)
      (void)st.table->prune_sessions(kSessionsRetainedMax);
  }

  // What each replica's signing of the block's statements costs. Unbatched: one signature each.
  // Batched (ShardReplica::sign_block): one leaf hash per statement, leaves - 1 node hashes and one
  // signature; the real tree is built (with sbac::BatchTree) when a manager needs the signatures.
  void sign_statements(Block& block, const std::vector<Bytes>& payloads, bool needs_signatures) {
    const CostModel& k = o_.costs;
    block.statements = payloads.size();
    result_.statements += n_ * payloads.size();
    if (payloads.empty()) return;
    if (o_.unbatched_statements) {
      block.signing_ns = static_cast<int64_t>(payloads.size()) * k.sign_ns;
      return;
    }
    block.signing_ns = k.sign_ns + static_cast<int64_t>(payloads.size() - 1) *
                                       k.hash_ns(kMerkleNodeBytes);
    for (const Bytes& payload : payloads) block.signing_ns += k.hash_ns(1 + payload.size());
    while ((uint64_t{1} << block.branch_levels) < payloads.size()) ++block.branch_levels;
    if (!needs_signatures) return;
    std::vector<crypto::Hash256> leaves;
    leaves.reserve(payloads.size());
    for (const Bytes& payload : payloads) leaves.push_back(sbac::statement_leaf(payload));
    block.tree = std::make_unique<sbac::BatchTree>(std::move(leaves));
    FOLIO_ASSERT(block.tree->node_hashes() == payloads.size() - 1);
    block.root_signatures.resize(n_);
  }

  // Replica `replica`'s signature of the statement of `command`: its direct signature, or the
  // block's batch signature (the root signed once per replica) with the statement's branch.
  template <class Statement>
  sbac::ReplicaSignature statement_signature(uint32_t shard, uint32_t replica, const Command& c,
                                             const Statement& statement) {
    const crypto::PrivateKey& key = keys_[shard][replica];
    ++result_.real_signatures;
    if (o_.unbatched_statements) return sbac::sign(key, statement);
    Block& block = shards_[shard].blocks[c.view - 1];
    FOLIO_ASSERT(block.tree != nullptr);
    std::optional<crypto::Signature>& root = block.root_signatures[replica];
    if (!root) {
      root = key.sign(block.tree->payload());
      ++result_.batch_signatures;
    }
    return block.tree->signature(c.leaf, key.public_key(), *root);
  }

  // ---- clients: replies and the transaction manager
  // ----------------------------------------------
  void on_reply(uint32_t command, uint32_t replica) {
    // A copy: new_command below may move commands_.
    const Command& stored = commands_[command];
    struct {
      uint32_t tx, shard;
      Kind kind;
      Verdict verdict;
    } c{stored.tx, stored.shard, stored.kind, stored.verdict};
    FOLIO_ASSERT(stored.executed);
    Block& block = shards_[c.shard].blocks[stored.view - 1];
    FOLIO_ASSERT(block.replies_outstanding > 0);
    --block.replies_outstanding;
    struct Release {
      Simulation* self;
      Block& block;
      ~Release() { self->release_batch(block); }
    } release{this, block};
    Tx& tx = txs_[c.tx];
    if (tx.state != TxState::kPending) return;
    // The client verifies each statement it counts: the last of them finishes verify_ns later.
    Time verified = now_ + o_.costs.verify_ns;
    if (c.kind == Kind::kOpaque || c.kind == Kind::kSingle) {
      if (++tx.replies == vote_quorum_) finish_tx(c.tx, c.verdict == Verdict::kCommit, verified);
      return;
    }
    sbac::TransactionManager& manager = *tx.manager;
    if (c.kind == Kind::kPrepare) {
      if (manager.phase() != sbac::TransactionManager::Phase::kPreparing) return;
      FOLIO_ASSERT(stored.prepared.has_value());
      sbac::Prepared statement = *stored.prepared;
      sbac::ReplicaSignature signature = statement_signature(c.shard, replica, stored, statement);
      if (manager.on_prepared(statement, signature)) ++result_.manager_refusals;
      if (manager.accept_command() && !tx.accept_sent) {
        tx.accept_sent = true;
        uint32_t tx_index = c.tx;
        for (ShardId s : manager.concerned()) {
          // Each shard gets the evidence without its own vote: a replica knows its own shard's
          // LOCALPREPARED from its log (Chainspace §V-A; ObjectTable::accept allows the omission),
          // which spares every replica f+1 verifications per cross-shard transaction.
          sbac::AcceptCommand accept_command = *manager.accept_command();
          std::erase_if(accept_command.evidence,
                        [&](const sbac::PreparedVote& vote) { return vote.statement.shard == s; });
          auto body = std::make_unique<sbac::ShardCommand>(std::move(accept_command));
          uint32_t accept = new_command(tx_index, s.value(), Kind::kAccept, std::move(body));
          push(verified + o_.network.latency_ns, EventType::kCommandArrives, accept, 0, 0);
        }
      }
      return;
    }
    if (manager.phase() != sbac::TransactionManager::Phase::kAccepting) return;
    FOLIO_ASSERT(stored.accepted.has_value());
    sbac::Accepted statement = *stored.accepted;
    sbac::ReplicaSignature signature = statement_signature(c.shard, replica, stored, statement);
    if (manager.on_accepted(statement, signature)) ++result_.manager_refusals;
    if (manager.phase() == sbac::TransactionManager::Phase::kCommitted) {
      FOLIO_ASSERT(manager.certificate().has_value());
      finish_tx(c.tx, true, verified);
    } else if (manager.phase() == sbac::TransactionManager::Phase::kAborted) {
      finish_tx(c.tx, false, verified);
    }
  }

  void finish_result(Time end) {
    for (const Tx& tx : txs_) {
      if (tx.state != TxState::kPending) continue;
      ++result_.unfinished;
      // A transaction of the window still open at the end counts with the time it has waited
      // (a lower bound), so an overloaded run cannot report a short tail.
      if (tx.submitted >= window_start_ && tx.submitted < window_end_)
        censored_.push_back(end - tx.submitted);
    }
    result_.window_latencies = latencies_.size();
    result_.simulated_ns = end;
    result_.tps = static_cast<double>(result_.committed_in_window) * 1e9 /
                  static_cast<double>(window_end_ - window_start_);
    std::vector<int64_t> all = latencies_;
    all.insert(all.end(), censored_.begin(), censored_.end());
    result_.p50_ms = percentile_ms(all, 500);
    result_.p99_ms = percentile_ms(all, 990);
  }

  const ScalingOptions o_;
  Prng prng_;
  // Arrival times have their own stream, so two variants of a run see the same arrivals.
  Prng arrivals_;
  const uint32_t n_;
  const uint32_t quorum_;       // 2f+1 votes make a QC
  const uint32_t vote_quorum_;  // f+1 statements make a shard's vote
  sbac::ShardMap map_;
  std::vector<std::vector<crypto::PrivateKey>> keys_;
  std::vector<ShardState> shards_;
  std::vector<Command> commands_;
  std::deque<Tx> txs_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  sbac::NonValidating non_validating_;
  sbac::VerifyCache client_cache_{1u << 16};
  uint64_t next_sequence_ = 0;
  uint64_t genesis_counter_ = 0;
  uint64_t tx_counter_ = 0;
  Time now_ = 0;
  Time window_start_ = 0;
  Time window_end_ = 0;
  std::vector<int64_t> latencies_;
  std::vector<int64_t> censored_;
  ScalingResult result_;
};

}  // namespace

ScalingResult run_sbac_scaling(const ScalingOptions& options) {
  Simulation simulation(options);
  return simulation.run();
}

int64_t single_shard_command_ns(const CostModel& k, uint32_t batch, bool unbatched) {
  FOLIO_ASSERT(batch >= 1);
  // A 1-input, 1-output single-shard command of about 130 bytes plus the client's signature.
  uint64_t bytes = 130 + kClientSignatureBytes;
  int64_t admit_and_execute = k.hash_ns(bytes) + k.verify_ns + k.table_command_ns;
  // Its two statements (the fast path signs prepared and accepted): two signatures, or two leaves
  // of a block's batch, their share of its node hashes (one per leaf) and of its one signature
  // (a full block holds `batch` commands, so at least 1 / (2 batch) of it per statement).
  if (unbatched) return admit_and_execute + 2 * k.sign_ns;
  uint64_t prepared_bytes = sbac::signing_payload(sbac::Prepared{}).size();
  uint64_t accepted_bytes = sbac::signing_payload(sbac::Accepted{}).size();
  return admit_and_execute + k.hash_ns(1 + prepared_bytes) + k.hash_ns(1 + accepted_bytes) +
         2 * k.hash_ns(kMerkleNodeBytes) + k.sign_ns / batch;
}

std::string ScalingResult::summary() const {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "%.0f tx/s, p50 %.1f ms, p99 %.1f ms; offered %llu, refused %llu, committed %llu, "
      "aborted %llu, unfinished %llu, cross-shard %llu, blocks %llu; evidence verified %llu, "
      "cached %llu",
      tps, p50_ms, p99_ms, static_cast<unsigned long long>(offered),
      static_cast<unsigned long long>(refused), static_cast<unsigned long long>(committed),
      static_cast<unsigned long long>(aborted), static_cast<unsigned long long>(unfinished),
      static_cast<unsigned long long>(cross_shard), static_cast<unsigned long long>(blocks),
      static_cast<unsigned long long>(evidence_verifies),
      static_cast<unsigned long long>(evidence_cached));
  return line;
}

}  // namespace folio::sim
