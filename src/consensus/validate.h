// The boundary between the network and the consensus core: strict decoding, bounds, membership
// and signature checks. Only what passes comes out as `Verified<Message>`, the one input type of
// `Replica::step`, so the core never sees unchecked bytes and never verifies a signature itself
// (STYLE.md: signature checks happen outside the core, where they can be batched or parallel).
//
// Everything a peer can send is rejected with a typed `Rejection`; nothing here asserts on input.
// The checks are stateless with respect to the protocol (views and leaders are checked against
// the committee only); state-dependent checks (stale view, voting rules) are the replica's.
//
// `Committee` is an immutable value. `Validator` owns a bounded cache of verified signatures and is
// not thread-safe: use one per thread. `VerifyCache` may be shared between validators of one thread
// (the simulator does so: a signature is a pure function of its inputs, so sharing changes no
// outcome, only how often the same Ed25519 check runs).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>
#include <variant>
#include <vector>

#include "consensus/types.h"

namespace folio::consensus {

// Why an input was refused. Every reason reaches the operator as a counted, named event.
enum class RejectReason : uint8_t {
  kMalformed,           // bytes that do not decode canonically
  kOversize,            // a message, batch or command beyond its bound
  kUnknownReplica,      // sender or signer not in the committee
  kBadSignature,        // a vote, timeout or certificate signature does not verify
  kWrongSender,         // a vote or timeout relayed by someone other than its signer
  kWrongLeader,         // a proposal not from the leader of its view
  kInvalidCertificate,  // too few or duplicate signers, or a forged genesis certificate
  kStaleView,           // for a view the replica has left
  kFutureView,          // too far ahead of the replica's view to be buffered
  kInvalidBlock,        // height, parent, view or duplicate-command rules broken
  kBadTimestamp,        // leader's timestamp outside the bound of the replica's clock
  kUnsafe,              // the voting rule refuses this block (not an attack by itself)
  kUnsolicited,         // a block response nobody asked for
  kDuplicate,           // a command already pending or committed
  kMempoolFull,         // back-pressure: the mempool is at its count or byte bound
};
constexpr uint32_t enum_count(RejectReason) { return 15; }
constexpr std::string_view enum_name(RejectReason) { return "RejectReason"; }
std::string_view to_string(RejectReason reason);

struct Rejection {
  ReplicaId from;
  RejectReason reason;
  std::string detail;
};

// The replicas of one shard: their public keys, indexed by ReplicaId. f = (n-1)/3 and a quorum is
// n-f (2f+1 when n = 3f+1), so any two quorums share at least f+1 replicas.
class Committee {
 public:
  // REQUIRES: 1 <= keys.size() <= kReplicasMax
  explicit Committee(std::vector<crypto::PublicKey> keys);

  uint32_t size() const { return static_cast<uint32_t>(keys_.size()); }
  uint32_t faults_max() const { return (size() - 1) / 3; }
  uint32_t quorum() const { return size() - faults_max(); }
  bool contains(ReplicaId id) const { return id.value() < size(); }
  // REQUIRES: contains(id)
  const crypto::PublicKey& key(ReplicaId id) const;
  // Round-robin leader rotation.
  ReplicaId leader(View view) const {
    return ReplicaId(static_cast<uint32_t>(view.value() % size()));
  }

 private:
  std::vector<crypto::PublicKey> keys_;
};

// Bounds of what a validator accepts; see ReplicaConfig for the meaning of each.
struct MessageLimits {
  size_t batch_count_max = 400;
  size_t batch_bytes_max = 1u << 20;
  size_t command_bytes_max = 64u << 10;
  uint32_t fetch_blocks_max = 16;

  Status check() const;
  // The largest encoded message these limits allow (a full block response plus overhead).
  size_t message_bytes_max(uint32_t replicas) const;
};

// A message whose structure, bounds, membership and signatures were checked. Only the Validator
// and (for messages a replica addresses to itself) the Replica create one.
template <class T>
class Verified {
 public:
  ReplicaId from() const { return from_; }
  const T& get() const { return value_; }
  const T* operator->() const { return &value_; }
  // The value itself, for a consumer that keeps it (the replica stores a proposed block without
  // copying its commands).
  T take() && { return std::move(value_); }

 private:
  friend class Validator;
  friend class Replica;
  Verified(ReplicaId from, T value) : from_(from), value_(std::move(value)) {}
  ReplicaId from_;
  T value_;
};

// Digests of (key, message, signature) triples that verified. Bounded; evicts the oldest.
class VerifyCache {
 public:
  explicit VerifyCache(size_t entries_max = 1u << 16) : entries_max_(entries_max) {}
  bool contains(const crypto::Hash256& digest) const { return set_.contains(digest); }
  void insert(const crypto::Hash256& digest);

 private:
  size_t entries_max_;
  std::unordered_set<crypto::Hash256> set_;
  std::deque<crypto::Hash256> order_;
};

using Validation = std::variant<Verified<Message>, Rejection>;

class Validator {
 public:
  // `shared_cache` (optional, not owned) replaces the validator's own cache; it must outlive it.
  Validator(Committee committee, MessageLimits limits, VerifyCache* shared_cache = nullptr);

  // Decodes `bytes` strictly and checks everything that does not depend on protocol state.
  // `from` is the sender as authenticated by the transport (mutual TLS, or the simulator).
  Validation validate(ReplicaId from, ByteView bytes);
  // The same checks on an already decoded message (tests, and the in-process benchmark's control).
  Validation validate_message(ReplicaId from, Message message);

  const Committee& committee() const { return committee_; }
  uint64_t signatures_verified() const { return signatures_verified_; }

 private:
  std::optional<Rejection> check_qc(ReplicaId from, const QuorumCert& qc);
  std::optional<Rejection> check_tc(ReplicaId from, const TimeoutCert& tc);
  std::optional<Rejection> check_block(ReplicaId from, const Block& block);
  bool verify(ReplicaId signer, ByteView payload, const crypto::Signature& signature);

  Committee committee_;
  MessageLimits limits_;
  VerifyCache own_cache_;
  VerifyCache* cache_;
  uint64_t signatures_verified_ = 0;
};

}  // namespace folio::consensus
