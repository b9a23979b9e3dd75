// VerifyCache: a bounded cache of signatures already verified, so that N statements signed under
// one batch root (statements.h, BatchSignature) cost one Ed25519 verification, not N, and a memo
// of the Merkle nodes of those batches, so that they cost about one node hash each, not a branch.
//
// Signatures. An entry is the exact triple (public key, SHA-256 of the signed message, signature
// bytes) of a verification that succeeded; a lookup hits only on the same triple, so the cache can
// never turn a bad signature into a good one: a different key, message or signature misses and is
// verified afresh. Failures are never remembered (a forged signature costs its sender the verify
// again, but cannot evict anything it could not also evict with good signatures of its own).
// Bounded by `entries_max`, least recently used first out.
//
// Merkle nodes (verify_batch). A batch signature is checked by folding the statement's leaf up its
// branch to the batch root (crypto::merkle_compute_root, RFC 9162 shape) and verifying the root's
// signature. Every path that led to its root and whose root signature then verified is remembered
// as nodes at (level, position) of the tree named by (leaf_count, root): the only inputs a node's
// value depends on. A later fold in the same tree that reaches a remembered node whose remembered
// sibling is the one its branch supplies takes the remembered parent instead of hashing. A path is
// remembered only if it agrees with every node already remembered, so every remembered parent is
// the hash of its two remembered children (or its lifted child): a memoised fold gives exactly the
// root the full fold computes, for any input, without relying on collision resistance. The root's
// signature is still checked, through the signature cache, for every statement: the memo saves
// node hashes, never a signature check. Trees are bounded by `trees_max` (oldest first out) and
// nodes per tree by kVerifyCacheTreeNodesMax.
//
// The cache changes cost only, never a result, so replicas that share nothing agree whatever
// their caches hold. A copy is an empty cache. Not thread-safe: one owner (an ObjectTable, a
// TransactionManager's driver).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"

namespace folio::sbac {

constexpr size_t kVerifyCacheEntriesDefault = 4096;
constexpr size_t kVerifyCacheTreesDefault = 64;
// Nodes remembered per tree: a block's whole tree up to 8,192 leaves.
constexpr size_t kVerifyCacheTreeNodesMax = 1u << 14;
// Levels of a batch tree, leaves and root included: statements.h's kBatchLeavesMax (2^20 leaves)
// has 21 (statements.cc static_asserts it).
constexpr uint32_t kVerifyCacheTreeLevelsMax = 21;

class VerifyCache {
 public:
  // REQUIRES: entries_max >= 1, trees_max >= 1
  explicit VerifyCache(size_t entries_max = kVerifyCacheEntriesDefault,
                       size_t trees_max = kVerifyCacheTreesDefault);
  // A copy starts empty with the same bounds (entries point into their own list; a cache's content
  // is never needed for a result). Moves keep the content.
  VerifyCache(const VerifyCache& other) : VerifyCache(other.entries_max_, other.trees_max_) {}
  VerifyCache& operator=(const VerifyCache& other) {
    if (this != &other) *this = VerifyCache(other.entries_max_, other.trees_max_);
    return *this;
  }
  VerifyCache(VerifyCache&&) noexcept = default;
  VerifyCache& operator=(VerifyCache&&) noexcept = default;

  // Whether `signature` is `key`'s signature of `message` (crypto::verify), answered from the
  // cache when this exact triple verified before.
  bool verify(const crypto::PublicKey& key, ByteView message, const crypto::Signature& signature);

  // Whether `leaf` at `index` with `branch` leads to `root` in a tree of `leaf_count` leaves
  // (exactly crypto::merkle_compute_root's answer) and `signature` is `key`'s signature of
  // `root_payload` (the caller's batch payload of leaf_count and root), as verify() answers it.
  // Remembers the path's nodes when both hold.
  bool verify_batch(const crypto::Hash256& leaf, uint32_t index, uint32_t leaf_count,
                    std::span<const crypto::Hash256> branch, const crypto::Hash256& root,
                    const crypto::PublicKey& key, ByteView root_payload,
                    const crypto::Signature& signature);

  size_t size() const { return order_.size(); }
  size_t entries_max() const { return entries_max_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  // Merkle memo: trees remembered, node hashes computed by verify_batch, and node hashes it
  // took from the memo instead.
  size_t trees() const { return trees_.size(); }
  size_t trees_max() const { return trees_max_; }
  uint64_t node_hashes() const { return node_hashes_; }
  uint64_t node_hits() const { return node_hits_; }

 private:
  using Key = Bytes;  // encode(key) || SHA-256(message) || encode(signature)
  struct TreeKey {
    crypto::Hash256 root;
    uint32_t leaf_count = 0;
    friend auto operator<=>(const TreeKey&, const TreeKey&) = default;
  };
  // Remembered nodes of one tree by (level << 32 | position).
  using TreeNodes = std::unordered_map<uint64_t, crypto::Hash256>;
  // One leaf's way up: node[l] at position index >> l, its sibling where it has one.
  struct Path {
    uint32_t index = 0;
    uint32_t levels = 0;  // nodes on the way, leaf and root included
    std::array<crypto::Hash256, kVerifyCacheTreeLevelsMax> node;
    std::array<crypto::Hash256, kVerifyCacheTreeLevelsMax> sibling;
    std::array<bool, kVerifyCacheTreeLevelsMax> has_sibling{};
  };

  // The root that `leaf` and `branch` lead to, or empty if the branch is too short or too long
  // for (index, leaf_count); `tree`, if given, saves the hashes of remembered nodes.
  std::optional<crypto::Hash256> fold(const crypto::Hash256& leaf, uint32_t index,
                                      uint32_t leaf_count, std::span<const crypto::Hash256> branch,
                                      const TreeNodes* tree, Path& path);
  // Adds a path that led to `key`'s root under a verified signature, if it agrees with every
  // node already remembered of that tree and the tree has room.
  void remember(const TreeKey& key, const Path& path);

  size_t entries_max_;
  std::list<Key> order_;  // most recently used first
  std::map<Key, std::list<Key>::iterator> entries_;
  codec::Writer scratch_;  // the key being looked up, its capacity reused
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;

  size_t trees_max_;
  std::map<TreeKey, TreeNodes> trees_;
  std::deque<TreeKey> tree_order_;  // oldest first
  uint64_t node_hashes_ = 0;
  uint64_t node_hits_ = 0;
};

}  // namespace folio::sbac
