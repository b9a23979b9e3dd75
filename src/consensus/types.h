// The values of shard consensus: identifiers, blocks, votes, certificates and the wire messages.
//
// Consensus orders opaque commands (byte strings) and knows nothing of transactions
// (ARCHITECTURE.md §6). The protocol is two-chain HotStuff as in Jolteon / DiemBFT v4: a block
// carries the quorum certificate (QC) of its parent, so the parent of a block is `qc.block_id`.
// Every type here has one canonical encoding (src/codec); block ids are hashes of that encoding,
// and signatures cover domain-separated encodings, so a vote can never be replayed as a timeout.
//
// All types are plain values; thread-safety is that of a value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/strong.h"
#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace folio::consensus {

struct ReplicaIdTag {};
struct ViewTag {};
struct HeightTag {};
struct BlockIdTag {};
using ReplicaId = Strong<ReplicaIdTag, uint32_t>;
using View = Counter<ViewTag>;
using Height = Counter<HeightTag>;
using BlockId = Strong<BlockIdTag, crypto::Hash256>;
// The SHA-256 of a command's bytes: how the mempool and the commit log de-duplicate commands.
using CommandId = crypto::Hash256;

// Hard bounds that no configuration may exceed; a decoder never accepts more than these.
constexpr uint32_t kReplicasMax = 256;
constexpr size_t kBatchCountMaxLimit = 1u << 16;
constexpr size_t kCommandBytesMaxLimit = 1u << 20;
constexpr size_t kBatchBytesMaxLimit = 16u << 20;
constexpr uint32_t kFetchBlocksMaxLimit = 256;

// One replica's signature inside a quorum certificate.
struct QcVote {
  ReplicaId voter;
  crypto::Signature signature;
  FOLIO_FIELDS(voter, signature)
  friend bool operator==(const QcVote&, const QcVote&) = default;
};

// 2f+1 votes for one block in one view. Votes are strictly sorted by voter, so that a QC has one
// encoding and no voter counts twice. The genesis QC (view 0) has no votes.
struct QuorumCert {
  BlockId block_id;
  View view;
  Height height;
  std::vector<QcVote> votes;
  FOLIO_FIELDS(block_id, view, height, votes)
  friend bool operator==(const QuorumCert&, const QuorumCert&) = default;
  Status check_canonical() const;
};

// One replica's contribution to a timeout certificate: it gave up on `view` holding a QC of
// `high_qc_view`.
struct TcEntry {
  ReplicaId voter;
  View high_qc_view;
  crypto::Signature signature;
  FOLIO_FIELDS(voter, high_qc_view, signature)
  friend bool operator==(const TcEntry&, const TcEntry&) = default;
};

// 2f+1 timeouts for one view, strictly sorted by voter. Jolteon: the leader of view+1 may extend
// any QC at least as high as the highest `high_qc_view` in the certificate.
struct TimeoutCert {
  View view;
  std::vector<TcEntry> entries;
  FOLIO_FIELDS(view, entries)
  friend bool operator==(const TimeoutCert&, const TimeoutCert&) = default;
  Status check_canonical() const;
  View max_high_qc_view() const;
};

// A batch of commands proposed by the leader of `view`, extending the block certified by `qc`.
// `timestamp_ms` is the leader's clock; honest replicas vote only if it is within a bound of their
// own clock and later than the parent's, which makes it usable as agreed time.
struct Block {
  View view;
  Height height;
  ReplicaId leader;
  uint64_t timestamp_ms = 0;
  QuorumCert qc;
  std::vector<Bytes> commands;
  FOLIO_FIELDS(view, height, leader, timestamp_ms, qc, commands)
  friend bool operator==(const Block&, const Block&) = default;

  const BlockId& parent() const { return qc.block_id; }
  size_t command_bytes() const;
  // At least the size of the canonical encoding (a little more): what an encoder reserves, so
  // that encoding a large block never grows and copies its buffer.
  size_t encoded_bytes_max() const;
};

// The vote of one replica for one block.
struct Vote {
  BlockId block_id;
  View view;
  Height height;
  ReplicaId voter;
  crypto::Signature signature;
  FOLIO_FIELDS(block_id, view, height, voter, signature)
  friend bool operator==(const Vote&, const Vote&) = default;
};

// A replica gave up waiting in `view`; it carries its highest QC so the next leader can extend it.
struct Timeout {
  View view;
  QuorumCert high_qc;
  ReplicaId voter;
  crypto::Signature signature;
  FOLIO_FIELDS(view, high_qc, voter, signature)
  friend bool operator==(const Timeout&, const Timeout&) = default;
};

// ---- Wire messages ------------------------------------------------------------------------------

struct Proposal {
  Block block;
  // Present iff the view was entered by a timeout certificate rather than the parent's QC.
  std::optional<TimeoutCert> tc;
  FOLIO_FIELDS(block, tc)
  friend bool operator==(const Proposal&, const Proposal&) = default;
};

struct TimeoutMessage {
  Timeout timeout;
  // The sender's highest TC, so that a replica that missed it can move on (view synchronisation).
  std::optional<TimeoutCert> high_tc;
  FOLIO_FIELDS(timeout, high_tc)
  friend bool operator==(const TimeoutMessage&, const TimeoutMessage&) = default;
};

// Catch-up: "send me block `block_id` and up to count-1 of its ancestors, newest first".
struct BlockRequest {
  BlockId block_id;
  uint32_t count = 1;
  FOLIO_FIELDS(block_id, count)
  friend bool operator==(const BlockRequest&, const BlockRequest&) = default;
};

struct BlockResponse {
  std::vector<Block> blocks;  // newest first; each the parent of the one before
  FOLIO_FIELDS(blocks)
  friend bool operator==(const BlockResponse&, const BlockResponse&) = default;
};

using Message = std::variant<Proposal, Vote, TimeoutMessage, BlockRequest, BlockResponse>;
std::string_view message_name(const Message& message);

// ---- Identities and signing payloads ------------------------------------------------------------

// The fixed first block that every chain extends, and the QC that certifies it without votes.
const Block& genesis_block();
const BlockId& genesis_id();
const QuorumCert& genesis_qc();

// id = SHA-256("folio/consensus/block" || canonical encoding).
BlockId block_id(const Block& block);
CommandId command_id(ByteView command);

// Ed25519 signs "folio/consensus/vote" || encode(block_id, view, height).
Bytes vote_payload(const BlockId& block_id, View view, Height height);
// Ed25519 signs "folio/consensus/timeout" || encode(view, high_qc_view).
Bytes timeout_payload(View view, View high_qc_view);

Vote make_vote(const crypto::PrivateKey& key, ReplicaId voter, const Block& block,
               const BlockId& id);
Timeout make_timeout(const crypto::PrivateKey& key, ReplicaId voter, View view,
                     const QuorumCert& high_qc);

// ---- Durable state -----------------------------------------------------------------------------

// What must be on disk before a vote or timeout leaves (the safety rules depend on it).
struct SafetyState {
  View view;                // the view the replica is in
  View highest_voted_view;  // no vote in this view or below; raised by timeouts too
  QuorumCert high_qc;
  std::optional<TimeoutCert> high_tc;
  FOLIO_FIELDS(view, highest_voted_view, high_qc, high_tc)
  friend bool operator==(const SafetyState&, const SafetyState&) = default;
};

struct CommitPointer {
  BlockId block_id;
  Height height;
  FOLIO_FIELDS(block_id, height)
  friend bool operator==(const CommitPointer&, const CommitPointer&) = default;
};

SafetyState initial_safety_state();

}  // namespace folio::consensus
