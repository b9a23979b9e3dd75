// Merkle trees over already-hashed leaves, shaped as in RFC 9162 §2.1 (no padding; the left subtree
// holds the largest power of two below n), with inclusion proofs.
//
// Interior nodes are SHA-256(0x01 || left || right); callers hash leaves with their own domain
// prefix (never 0x01), so a node can never be passed off as a leaf. An inclusion proof carries the
// leaf count: callers that need the index to be binding must authenticate the count (the ledger
// binds it into each component group's root). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace folio::crypto {

constexpr uint8_t kMerkleNodePrefix = 0x01;

Hash256 merkle_node(const Hash256& left, const Hash256& right);

// The root of the leaves; the zero hash for no leaves, the leaf itself for one.
Hash256 merkle_root(std::span<const Hash256> leaves);

struct MerkleProof {
  uint32_t index = 0;
  uint32_t leaf_count = 0;
  std::vector<Hash256> siblings;  // from the leaf's level upward
  FOLIO_FIELDS(index, leaf_count, siblings)
  friend bool operator==(const MerkleProof&, const MerkleProof&) = default;
};

// REQUIRES: index < leaves.size()
MerkleProof merkle_prove(std::span<const Hash256> leaves, uint32_t index);

// The root that `leaf` and `proof` lead to, or nothing if the proof's shape is inconsistent with
// its index and leaf count.
std::optional<Hash256> merkle_compute_root(const Hash256& leaf, const MerkleProof& proof);

// True iff `leaf` sits at proof.index of a tree of proof.leaf_count leaves whose root is `root`.
bool merkle_verify(const Hash256& root, const Hash256& leaf, const MerkleProof& proof);

}  // namespace folio::crypto
