#include "sbac/shard_map.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "crypto/hash.h"

namespace folio::sbac {

bool Shard::is_member(const crypto::PublicKey& key) const {
  return std::binary_search(replicas.begin(), replicas.end(), key);
}

Status ShardMap::check_canonical() const {
  if (shards.empty()) return make_error(ErrorCode::kMalformed, "a shard map needs a shard");
  if (shards.size() > kShardsMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "shard map has " + std::to_string(shards.size()) + " shards");
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::vector<crypto::PublicKey>& replicas = shards[s].replicas;
    std::string where = "shard " + std::to_string(s) + ": ";
    if (replicas.empty() || replicas.size() > kReplicasPerShardMax)
      return make_error(ErrorCode::kLimitExceeded,
                        where + std::to_string(replicas.size()) + " replicas");
    if (replicas.size() % 3 != 1)
      return make_error(ErrorCode::kMalformed,
                        where + "n = " + std::to_string(replicas.size()) + " is not 3f+1");
    for (size_t i = 0; i < replicas.size(); ++i) {
      if (replicas[i].kind() != crypto::PublicKey::Kind::kEd25519)
        return make_error(ErrorCode::kMalformed, where + "replica keys must be Ed25519 leaves");
      if (i > 0 && !(replicas[i - 1] < replicas[i]))
        return make_error(ErrorCode::kMalformed, where + "replica keys not strictly sorted");
    }
  }
  return ok_status();
}

const Shard& ShardMap::shard(ShardId id) const {
  FOLIO_ASSERT(contains(id));
  return shards[id.value()];
}

ShardId shard_of(const ledger::StateRef& ref, uint32_t shard_count) {
  FOLIO_ASSERT(shard_count >= 1);
  // One shard manages everything: no hash needed (the replicas of a one-shard notary place every
  // input, reference and output of every transaction, several times each).
  if (shard_count == 1) return ShardId(0);
  // The canonical encoding of a StateRef, built on the stack rather than through a heap buffer:
  // the 32-byte tx id, then the index as u32 little-endian (shard_map_test checks it against
  // codec::encode_to_bytes).
  std::array<uint8_t, 36> encoding;
  std::memcpy(encoding.data(), ref.tx_id.value().bytes.data(), 32);
  for (size_t i = 0; i < 4; ++i) encoding[32 + i] = static_cast<uint8_t>(ref.index >> (8 * i));
  crypto::Hash256 h = crypto::sha256(ByteView(encoding.data(), encoding.size()));
  uint64_t prefix = 0;
  for (int i = 7; i >= 0; --i) prefix = (prefix << 8) | h.bytes[static_cast<size_t>(i)];
  return ShardId(static_cast<uint32_t>(prefix % shard_count));
}

ShardId shard_of(const ledger::StateRef& ref, const ShardMap& map) {
  return shard_of(ref, map.shard_count());
}

std::set<ShardId> concerned_shards(const ledger::TxId& tx_id,
                                   const std::vector<ledger::StateRef>& inputs,
                                   const std::vector<ledger::StateRef>& references,
                                   uint32_t output_count, uint32_t shard_count) {
  std::set<ShardId> out;
  for (const ledger::StateRef& ref : inputs) out.insert(shard_of(ref, shard_count));
  for (const ledger::StateRef& ref : references) out.insert(shard_of(ref, shard_count));
  for (uint32_t i = 0; i < output_count; ++i)
    out.insert(shard_of(ledger::StateRef{tx_id, i}, shard_count));
  return out;
}

}  // namespace folio::sbac
