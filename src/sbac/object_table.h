// One shard's S-BAC state machine (Chainspace §V; Byzcuit's replay defences): the object table of
// the states the shard manages, its dummy objects and its cache of transaction sessions, driven by
// the commands its consensus log orders.
//
// The shard's BFT log (src/consensus) orders opaque commands; each replica decodes them as
// ShardCommand and calls `execute` in log order with the block's agreed timestamp. Every honest
// replica therefore reaches the same Outcome: a PrepareDecision (sign `prepared(...)`), an
// AcceptDecision (sign `accepted(...)`), or a Rejection (sign nothing; the command was ignored).
//
// Rules (ARCHITECTURE.md §3):
//  - prepare(T, s_T): commit iff every input and reference this shard manages is active, unlocked
//  and
//    has a sequence number not newer than s_T (Byzcuit), an output-only shard's dummy object is
//    unlocked and not newer than s_T (Byzcuit: dummy objects put output-only shards in phase 1),
//    T has not committed here and no other session of T holds a commit vote here (so T's outputs
//    are created at most once, even for a T without inputs), the time window holds at the agreed
//    time, and the validating check (a seam, see PrepareCheck) accepts T. On commit the objects are
//    locked by the session.
//  - accept(T, s_T, verdict, evidence): acted upon only if the session (T, s_T) is in the cache
//    (Byzcuit: a replayed accept for another instance is ignored) and the evidence holds; commit
//    consumes the inputs, releases references and dummy (they stay active), creates this shard's
//    outputs; abort releases the session's locks and bumps the sequence numbers of T's objects here
//    past s_T (Byzcuit), so votes from this instance can never count for a later one.
//  - The evidence may omit this shard's own vote: a replica knows LOCALPREPARED for its own shard
//    from its own log (Chainspace §V-A), which also gives the single-shard fast path.
//  - Every step is idempotent: a repeated prepare or accept of a session returns its recorded
//    decision and changes nothing.
//
// Not thread-safe: one replica's executor owns a table. Pure: no clock, I/O or randomness.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/transaction.h"
#include "sbac/shard_map.h"
#include "sbac/statements.h"

namespace folio::sbac {

// Bounds on a command beyond those of the codec.
constexpr size_t kObjectsPerCommandMax = 4096;  // inputs + references, as ledger groups
constexpr uint32_t kOutputsPerCommandMax = 4096;
constexpr uint32_t kDummySlotsMax = 1024;
// The largest s_T: an abort raises sequence numbers to s_T + 1, which must not wrap.
constexpr uint64_t kSequenceMax = UINT64_MAX - 1;

// A session: one instance of a transaction, identified by (T, s_T).
struct SessionKey {
  ledger::TxId tx_id;
  Sequence session;
  FOLIO_FIELDS(tx_id, session)
  friend auto operator<=>(const SessionKey&, const SessionKey&) = default;
  friend bool operator==(const SessionKey&, const SessionKey&) = default;
};

// What the transaction manager asks every concerned shard to sequence in phase 1.
// TODO(issue 4): bind these fields to the transaction id (a FilteredTransaction revealing inputs,
// references, time window and one output for the outputs count), so a client cannot show different
// shards different inputs.
struct PrepareCommand {
  ledger::TxId tx_id;
  Sequence session;                          // s_T, at most kSequenceMax
  std::vector<ledger::StateRef> inputs;      // strictly ascending
  std::vector<ledger::StateRef> references;  // strictly ascending, disjoint from inputs
  uint32_t output_count = 0;
  std::optional<ledger::TimeWindow> time_window;
  std::optional<uint32_t> dummy_slot;  // the dummy object every output-only shard locks
  FOLIO_FIELDS(tx_id, session, inputs, references, output_count, time_window, dummy_slot)
  friend bool operator==(const PrepareCommand&, const PrepareCommand&) = default;
  Status check_canonical() const;
};

// Phase 2: the manager's decision with its evidence: for commit, a `prepared(T, s_T, commit)` vote
// of every concerned shard; for abort, one `prepared(T, s_T, abort)` vote of a concerned shard
// (Chainspace §V-A: ALLPREPARED(commit) / SOMEPREPARED(abort)).
struct AcceptCommand {
  ledger::TxId tx_id;
  Sequence session;
  Verdict verdict = Verdict::kAbort;
  std::vector<PreparedVote> evidence;
  FOLIO_FIELDS(tx_id, session, verdict, evidence)
  friend bool operator==(const AcceptCommand&, const AcceptCommand&) = default;
};

// The single-shard fast path (ARCHITECTURE.md §3): when every input, reference and output of T is
// on one shard, prepare and accept happen in one sequenced step; the shard's own verdict is the
// whole of ALLPREPARED / SOMEPREPARED, so no evidence travels.
struct SingleShardCommand {
  PrepareCommand prepare;
  FOLIO_FIELDS(prepare)
  friend bool operator==(const SingleShardCommand&, const SingleShardCommand&) = default;
};

// What binds a PrepareCommand to the transaction it names (ARCHITECTURE.md §3), so a client cannot
// show different shards different inputs. Non-validating shards need `filtered`: a tear-off of T
// revealing every input, reference, signer list and the time window, and the outputs group (its
// count is bound in its group root), with `signatures` over T's id by the required signers.
// Validating shards need `transaction`, the whole of T, with the same signatures. Both need
// `proved`: every input and reference as a ProvedState, whose branch ties the state's content to
// the id of the transaction that produced it instead of trusting the client's word.
struct PrepareBinding {
  std::optional<ledger::FilteredTransaction> filtered;
  std::optional<ledger::WireTransaction> transaction;
  std::vector<ledger::TransactionSignature> signatures;
  std::vector<ledger::ProvedState> proved;  // ascending ref, inputs and references
  FOLIO_FIELDS(filtered, transaction, signatures, proved)
  friend bool operator==(const PrepareBinding&, const PrepareBinding&) = default;
};

// A prepare (or, with `single_shard`, the fast path) carrying its binding. The session is keyed
// and compared by `prepare` alone: the binding is evidence checked once, when first sequenced.
struct BoundPrepareCommand {
  PrepareCommand prepare;
  PrepareBinding binding;
  bool single_shard = false;
  FOLIO_FIELDS(prepare, binding, single_shard)
  friend bool operator==(const BoundPrepareCommand&, const BoundPrepareCommand&) = default;
};

using ShardCommand =
    std::variant<PrepareCommand, AcceptCommand, SingleShardCommand, BoundPrepareCommand>;

// The largest encoded command a shard accepts: a transaction's worth of refs plus one vote per
// shard, each with at most n signatures.
constexpr size_t kCommandBytesMax = 8u << 20;

// Decodes one command from a committed block. Untrusted bytes: fails (kMalformed or
// kLimitExceeded) on anything but one canonical ShardCommand of at most kCommandBytesMax bytes.
Result<ShardCommand> decode_command(ByteView bytes);

enum class AbortReason : uint8_t {
  kNone = 0,              // the verdict is commit
  kObjectNotActive,       // an input or reference is unknown or consumed
  kObjectLocked,          // an input, reference or the dummy is locked by another session
  kSequenceNewer,         // an object's sequence number is newer than s_T (Byzcuit)
  kDummyMissing,          // an output-only shard got no valid dummy slot
  kAlreadyCommitted,      // T committed here before, or its outputs here exist
  kSessionOpen,           // another session of T holds a commit vote here (one at a time)
  kOutsideTimeWindow,     // the agreed time is outside T's time window
  kRejectedByValidation,  // the validating check rejected T
};
constexpr uint32_t enum_count(AbortReason) { return 9; }
constexpr std::string_view enum_name(AbortReason) { return "AbortReason"; }
std::string_view to_string(AbortReason reason);

struct PrepareDecision {
  SessionKey key;
  ShardId shard;
  Verdict verdict = Verdict::kAbort;
  AbortReason reason = AbortReason::kNone;
  // The highest sequence number among the session's objects here when it was prepared: a manager
  // retrying after kSequenceNewer picks an s_T at least this high (Byzcuit).
  Sequence sequence_max;
  FOLIO_FIELDS(key, shard, verdict, reason, sequence_max)
  friend bool operator==(const PrepareDecision&, const PrepareDecision&) = default;
  Prepared statement(Epoch epoch) const {
    return Prepared{key.tx_id, key.session, verdict, shard, epoch, sequence_max};
  }
};

struct AcceptDecision {
  SessionKey key;
  ShardId shard;
  Verdict verdict = Verdict::kAbort;
  std::vector<ledger::StateRef> consumed;  // ascending
  std::vector<ledger::StateRef> created;   // ascending
  FOLIO_FIELDS(key, shard, verdict, consumed, created)
  friend bool operator==(const AcceptDecision&, const AcceptDecision&) = default;
  Accepted statement(Epoch epoch) const {
    return Accepted{key.tx_id, verdict, shard, epoch, key.session};
  }
};

enum class RejectReason : uint8_t {
  kMalformed = 0,       // the command breaks its own structural rules
  kNotConcerned,        // no input, reference or output of T is managed by this shard
  kSessionConflict,     // the session (T, s_T) was prepared with a different command
  kNoSession,           // accept for a session not in the cache (Byzcuit: ignore replays)
  kAlreadyDecided,      // accept with the other verdict for a session already accepted
  kBadEvidence,         // the evidence does not support the verdict
  kContradictsOwnVote,  // accept(commit) although this shard prepared abort
  kNotSingleShard,      // the fast path for a transaction that concerns other shards too
  kPruned,              // prepare of a transaction whose committed sessions were pruned
};
constexpr uint32_t enum_count(RejectReason) { return 9; }
constexpr std::string_view enum_name(RejectReason) { return "RejectReason"; }
std::string_view to_string(RejectReason reason);

struct Rejection {
  RejectReason reason = RejectReason::kMalformed;
  std::string detail;
  FOLIO_FIELDS(reason, detail)
  friend bool operator==(const Rejection&, const Rejection&) = default;
};

using Outcome = std::variant<PrepareDecision, AcceptDecision, Rejection>;

// The seam for validating mode (ARCHITECTURE.md §3): a shard that runs the contracts of the states
// it manages implements this. The non-validating shard uses NonValidating.
// TODO(issue 4): a validating implementation over ProvedStates and the contract registry.
class PrepareCheck {
 public:
  virtual ~PrepareCheck() = default;
  // Empty if T may commit as far as this shard's contracts are concerned, else why not.
  virtual std::optional<std::string> reject(const PrepareCommand& command, ShardId shard) const = 0;
  // The same with the command's binding (null for an unbound PrepareCommand). Checks that need the
  // transaction (sbac/binding.h) override this; the default ignores the binding.
  virtual std::optional<std::string> reject_bound(const PrepareCommand& command,
                                                  const PrepareBinding* binding,
                                                  ShardId shard) const {
    (void)binding;
    return reject(command, shard);
  }
};

class NonValidating final : public PrepareCheck {
 public:
  std::optional<std::string> reject(const PrepareCommand&, ShardId) const override {
    return std::nullopt;
  }
};

struct ObjectEntry {
  bool active = true;
  std::optional<SessionKey> lock;  // the session whose prepared(commit) holds the object
  Sequence sequence;               // Byzcuit: raised past s_T when a session aborts
  friend bool operator==(const ObjectEntry&, const ObjectEntry&) = default;
};

// The hash of the table's maps. Their keys are transaction ids, which a client chooses: grinding a
// transaction until its id falls into one bucket of an unkeyed hash costs a few thousand hashes,
// and a shard's chains would grow with every such transaction. So the id's first 8 bytes are
// mixed with a secret seed (a replica derives it from its own key): a client that cannot see the
// seed cannot aim at a bucket. It only places entries; no outcome depends on it.
struct TableHash {
  uint64_t seed = 0;
  // SplitMix64's finaliser: every input bit reaches every output bit.
  static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  uint64_t prefix(const ledger::TxId& id) const {
    uint64_t h = 0;
    std::memcpy(&h, id.value().bytes.data(), sizeof(h));
    return h ^ seed;
  }
  size_t operator()(const ledger::TxId& id) const { return mix(prefix(id)); }
  size_t operator()(const ledger::StateRef& ref) const {
    return mix(prefix(ref.tx_id) + mix(ref.index + 0x9e3779b97f4a7c15ull));
  }
  size_t operator()(const SessionKey& key) const {
    return mix(prefix(key.tx_id) + mix(key.session.value() + 0x9e3779b97f4a7c15ull));
  }
};

using ObjectMap = std::unordered_map<ledger::StateRef, ObjectEntry, TableHash>;

class ObjectTable {
 public:
  // REQUIRES: map.check_canonical() is OK, map.contains(shard), dummy_slots <= kDummySlotsMax.
  // `hash_seed` keys the table's hash maps (TableHash); it changes no outcome, only how hard it is
  // to aim transactions at one bucket, so give a secret one where clients are untrusted.
  ObjectTable(ShardId shard, ShardMap map, uint32_t dummy_slots, uint64_t hash_seed = 0);

  // Places an active state without a transaction (bootstrap and tests). Fails if this shard does
  // not manage `ref`, the table already knows it, or ref.tx_id holds or held a commit vote here
  // (the state would then be an output that only that transaction may create).
  Status add_genesis(const ledger::StateRef& ref);

  // Executes one sequenced command at the block's agreed time.
  Outcome execute(const ShardCommand& command, ledger::Timestamp agreed_time,
                  const PrepareCheck& check);
  // The same; a two-phase prepare's binding is moved into the session instead of copied.
  Outcome execute(ShardCommand&& command, ledger::Timestamp agreed_time, const PrepareCheck& check);
  Outcome prepare(const PrepareCommand& command, ledger::Timestamp agreed_time,
                  const PrepareCheck& check);
  Outcome accept(const AcceptCommand& command);
  // Prepare then accept with this shard's own verdict; answers the AcceptDecision.
  Outcome single_shard(const SingleShardCommand& command, ledger::Timestamp agreed_time,
                       const PrepareCheck& check);
  Outcome bound_prepare(const BoundPrepareCommand& command, ledger::Timestamp agreed_time,
                        const PrepareCheck& check);

  // The prepare command of a session in the cache (for a replica taking over its manager), with
  // its binding if it had one; null if the session is unknown.
  const PrepareCommand* session_command(const SessionKey& key) const;
  // Null too once the session is accepted, and for the fast path: only an open session can need
  // a new manager.
  const PrepareBinding* session_binding(const SessionKey& key) const;
  // The session's prepare decision (for the fast path's prepared statement); null if unknown.
  const PrepareDecision* session_prepared(const SessionKey& key) const;
  // Whether the session was accepted here, and with which verdict.
  std::optional<Verdict> session_accepted(const SessionKey& key) const;

  // Session-cache pruning (bounded memory). Drops, oldest first and until at most `sessions_max`
  // remain, the sessions of transactions that committed here; the transaction's record stays as a
  // tombstone. The rule that keeps the replay defence sound: a shard must never sign two different
  // `prepared` verdicts for one session (T, s_T). Were a pruned session simply forgotten, a
  // replayed prepare(T, s_T) would be sequenced afresh and abort ("already committed"), and that
  // abort vote could abort T at a concerned shard still waiting for its accept. So every prepare of
  // a pruned transaction is rejected without a vote, and an accept of a pruned session finds no
  // session and is ignored; all sessions of a pruned transaction go with it. Sessions of
  // transactions that did not commit here are never pruned (a dropped aborted session could
  // likewise be re-prepared with another verdict); they go with checkpoints, which are not built
  // yet. Returns how many sessions were dropped, and appends their keys to `dropped` if given.
  // Costs O(dropped log cache), not a pass over the cache.
  size_t prune_sessions(size_t sessions_max, std::vector<SessionKey>* dropped = nullptr);

  // NEGATIVE CONTROL, tests and the simulator only: switches Byzcuit's replay defences off. An
  // accept for a session not in the cache then acts on T's latest session (as Chainspace keyed
  // sessions by T alone), evidence of any session of T counts, and an abort bumps no sequence
  // numbers. The simulator's replay adversary must then find violations.
  void set_test_only_replay_defences(bool enabled) { replay_defences_ = enabled; }
  ShardId shard() const { return shard_; }
  const ShardMap& shard_map() const { return map_; }
  const ObjectEntry* find(const ledger::StateRef& ref) const;
  // REQUIRES: slot < dummy_slots
  const ObjectEntry& dummy(uint32_t slot) const;
  size_t session_count() const { return sessions_.size(); }
  // Every state this shard knows, active or consumed (auditors and the simulator's checker), in
  // no particular order.
  const ObjectMap& objects() const { return objects_; }
  // The cache through which accept evidence is verified (statistics for tests and benchmarks).
  const VerifyCache& verify_cache() const { return verify_cache_; }

 private:
  // A binding on the heap with value semantics (a copy copies it), so the table stays copyable.
  struct HeapBinding {
    std::unique_ptr<PrepareBinding> value;
    HeapBinding() = default;
    HeapBinding(const HeapBinding& other) { *this = other; }
    HeapBinding& operator=(const HeapBinding& other) {
      if (this != &other)
        value = other.value ? std::make_unique<PrepareBinding>(*other.value) : nullptr;
      return *this;
    }
    HeapBinding(HeapBinding&&) noexcept = default;
    HeapBinding& operator=(HeapBinding&&) noexcept = default;
  };
  struct Session {
    PrepareCommand command;
    PrepareDecision prepared;
    // What the accept needs: released once the session is accepted (the AcceptDecision keeps the
    // consumed and created refs), so a decided session holds little more than its command and
    // its two decisions.
    std::vector<ShardId> concerned;            // ascending
    std::vector<ledger::StateRef> inputs;      // those this shard manages
    std::vector<ledger::StateRef> references;  // those this shard manages
    std::vector<ledger::StateRef> outputs;     // those this shard creates
    std::optional<uint32_t> dummy;             // the dummy slot locked here, if output-only
    std::optional<AcceptDecision> accepted;
    // Kept only while a two-phase session awaits its accept: a replica taking over its manager
    // needs it (session_binding). The fast path never keeps it. Behind a pointer: inline, its
    // empty optionals would make every session's node several hundred bytes larger.
    HeapBinding binding;
    uint64_t order = 0;  // when the session entered the cache
  };
  // Where a command's refs live: computed once per command (shard_of hashes each ref).
  struct Placement {
    std::vector<ShardId> concerned;  // ascending, each once
    std::vector<ledger::StateRef> inputs;
    std::vector<ledger::StateRef> references;
    std::vector<ledger::StateRef> outputs;
  };
  Placement place(const PrepareCommand& command) const;
  // A prepare as sequenced. `placement` is the command's if the caller computed it already.
  // `created`, if given, is set to the new session (null for a repeat or a rejection).
  Outcome prepare_session(const PrepareCommand& command, const PrepareBinding* binding,
                          std::optional<Placement> placement, ledger::Timestamp agreed_time,
                          const PrepareCheck& check, Session** created);
  // A prepare, two-phase or (`single_shard`) the fast path, checked with `binding` (null if
  // unbound). A two-phase session keeps its binding: moved from `movable` if given, else copied.
  Outcome prepare_command(const PrepareCommand& command, bool single_shard,
                          const PrepareBinding* binding, PrepareBinding* movable,
                          ledger::Timestamp agreed_time, const PrepareCheck& check);

  AbortReason evaluate(const Session& session, const PrepareBinding* binding,
                       ledger::Timestamp agreed_time, const PrepareCheck& check) const;
  std::optional<Rejection> check_evidence(const Session& session,
                                          const AcceptCommand& command) const;
  // Every object of the session that this shard tracks: inputs, references and the dummy.
  std::vector<ObjectEntry*> objects_of(const Session& session);

  // Per transaction: the session holding a commit vote here, whether T committed here, and its
  // sessions in the cache.
  struct TransactionRecord {
    std::optional<Sequence> open_commit;
    bool committed = false;
    bool pruned = false;    // committed, and its sessions dropped from the cache
    bool recorded = false;  // held a commit vote or was accepted here (add_genesis refuses T)
    std::vector<Sequence> sessions;  // in the cache, in the order they entered it
  };

  ShardId shard_;
  ShardMap map_;
  // Hash maps: lookups by 32-byte ids in tables of 10^5+ entries are most of the table's own
  // cost, and nothing iterates these maps in a way that reaches a signed statement or a decision
  // (prune order comes from prunable_).
  ObjectMap objects_;
  std::vector<ObjectEntry> dummies_;
  std::unordered_map<SessionKey, Session, TableHash> sessions_;  // Byzcuit's cache of (T, s_T)
  std::unordered_map<ledger::TxId, TransactionRecord, TableHash> transactions_;
  // The sessions of transactions that committed here, by when they entered the cache: what
  // prune_sessions drops, oldest first.
  std::map<uint64_t, SessionKey> prunable_;
  uint64_t next_order_ = 0;
  bool replay_defences_ = true;
  // Evidence signatures verified before: the votes of one batch (one block of another shard's
  // statements) cost one verification per signer. Changes cost only, never an outcome.
  mutable VerifyCache verify_cache_;
};

}  // namespace folio::sbac
