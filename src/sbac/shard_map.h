// The shard map of a sharded notary: which replicas form each shard in an epoch, and which shard
// manages each state (ARCHITECTURE.md §3, "Objects map to shards by φ(ref) = H(ref) mod K").
//
// A ShardMap lists K shards, each a committee of n = 3f+1 replica public keys (Ed25519 leaves), and
// the epoch the map belongs to; every S-BAC statement carries the epoch, so a statement signed
// under one map is never counted under another. φ is a pure function of the StateRef's canonical
// encoding, so every replica, client and auditor places a state on the same shard.
//
// Value types and pure functions; thread-safe for concurrent const use.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "base/result.h"
#include "base/strong.h"
#include "codec/codec.h"
#include "crypto/keys.h"
#include "ledger/state.h"

namespace folio::sbac {

struct ShardIdTag {};
struct EpochTag {};
using ShardId = Strong<ShardIdTag, uint32_t>;
using Epoch = Counter<EpochTag>;

// Hard bounds that no shard map may exceed; the decoder never accepts more.
constexpr uint32_t kShardsMax = 1024;
constexpr uint32_t kReplicasPerShardMax = 256;

struct Shard {
  std::vector<crypto::PublicKey> replicas;  // n = 3f+1 distinct Ed25519 keys, strictly sorted
  FOLIO_FIELDS(replicas)
  friend bool operator==(const Shard&, const Shard&) = default;

  uint32_t size() const { return static_cast<uint32_t>(replicas.size()); }
  // The number of Byzantine replicas tolerated: f = (n - 1) / 3.
  uint32_t faults_max() const { return (size() - 1) / 3; }
  // f+1: matching statements from this many distinct replicas include one from an honest replica,
  // which makes them the shard's vote (Chainspace §V-A, LOCALPREPARED).
  uint32_t vote_quorum() const { return faults_max() + 1; }
  bool is_member(const crypto::PublicKey& key) const;
};

struct ShardMap {
  Epoch epoch;
  std::vector<Shard> shards;  // indexed by ShardId
  FOLIO_FIELDS(epoch, shards)
  friend bool operator==(const ShardMap&, const ShardMap&) = default;

  // 1..kShardsMax shards; each of n = 3f+1 replicas (n <= kReplicasPerShardMax), Ed25519 leaf
  // keys, strictly sorted (hence distinct). A key may sit in several shards.
  Status check_canonical() const;

  uint32_t shard_count() const { return static_cast<uint32_t>(shards.size()); }
  bool contains(ShardId shard) const { return shard.value() < shard_count(); }
  // REQUIRES: contains(shard)
  const Shard& shard(ShardId shard) const;
};

// φ(ref) = H(encoding of ref) mod K: SHA-256 of the StateRef's canonical encoding (32-byte tx id ||
// u32 little-endian index), its first 8 bytes read as a little-endian u64, reduced mod K. The bias
// of a 64-bit value mod K <= 1024 is below 2^-54. REQUIRES: shard_count >= 1
ShardId shard_of(const ledger::StateRef& ref, uint32_t shard_count);
// REQUIRES: map.shard_count() >= 1
ShardId shard_of(const ledger::StateRef& ref, const ShardMap& map);

// The shards concerned by a transaction (Chainspace §V, ARCHITECTURE.md §3): those managing its
// inputs and references, plus those that will create its outputs (output `i` of transaction `tx_id`
// is StateRef{tx_id, i}). Sorted ascending, each once.
std::set<ShardId> concerned_shards(const ledger::TxId& tx_id,
                                   const std::vector<ledger::StateRef>& inputs,
                                   const std::vector<ledger::StateRef>& references,
                                   uint32_t output_count, uint32_t shard_count);

}  // namespace folio::sbac
