#include "crypto/merkle.h"

#include <bit>

namespace folio::crypto {
namespace {

// Largest power of two strictly below n. REQUIRES: n >= 2
size_t split_point(size_t n) { return std::bit_floor(n - 1); }

void prove_into(std::span<const Hash256> leaves, size_t index, std::vector<Hash256>& out) {
  if (leaves.size() <= 1) return;
  size_t k = split_point(leaves.size());
  if (index < k) {
    prove_into(leaves.first(k), index, out);
    out.push_back(merkle_root(leaves.subspan(k)));
  } else {
    prove_into(leaves.subspan(k), index - k, out);
    out.push_back(merkle_root(leaves.first(k)));
  }
}

}  // namespace

Hash256 merkle_node(const Hash256& left, const Hash256& right) {
  uint8_t buffer[1 + 32 + 32];
  buffer[0] = kMerkleNodePrefix;
  std::memcpy(buffer + 1, left.data(), 32);
  std::memcpy(buffer + 33, right.data(), 32);
  return sha256(ByteView(buffer, sizeof(buffer)));
}

Hash256 merkle_root(std::span<const Hash256> leaves) {
  if (leaves.empty()) return Hash256{};
  if (leaves.size() == 1) return leaves[0];
  size_t k = split_point(leaves.size());
  return merkle_node(merkle_root(leaves.first(k)), merkle_root(leaves.subspan(k)));
}

MerkleProof merkle_prove(std::span<const Hash256> leaves, uint32_t index) {
  FOLIO_ASSERT(index < leaves.size());
  MerkleProof proof;
  proof.index = index;
  proof.leaf_count = static_cast<uint32_t>(leaves.size());
  prove_into(leaves, index, proof.siblings);
  return proof;
}

bool merkle_verify(const Hash256& root, const Hash256& leaf, const MerkleProof& proof) {
  std::optional<Hash256> computed = merkle_compute_root(leaf, proof);
  return computed.has_value() && *computed == root;
}

std::optional<Hash256> merkle_compute_root(const Hash256& leaf, const MerkleProof& proof) {
  // RFC 9162 §2.1.3.2.
  if (proof.index >= proof.leaf_count) return std::nullopt;
  uint64_t fn = proof.index;
  uint64_t sn = proof.leaf_count - 1;
  Hash256 r = leaf;
  for (const Hash256& p : proof.siblings) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) == 1 || fn == sn) {
      r = merkle_node(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = merkle_node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

}  // namespace folio::crypto
