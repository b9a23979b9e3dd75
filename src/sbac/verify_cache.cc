// VerifyCache: see verify_cache.h.
#include "sbac/verify_cache.h"

#include "base/assert.h"
#include "codec/codec.h"
#include "crypto/merkle.h"

namespace folio::sbac {
namespace {

uint64_t node_key(uint32_t level, uint64_t position) {
  return (static_cast<uint64_t>(level) << 32) | position;
}

}  // namespace

VerifyCache::VerifyCache(size_t entries_max, size_t trees_max)
    : entries_max_(entries_max), trees_max_(trees_max) {
  FOLIO_ASSERT(entries_max_ >= 1);
  FOLIO_ASSERT(trees_max_ >= 1);
}

bool VerifyCache::verify(const crypto::PublicKey& key, ByteView message,
                         const crypto::Signature& signature) {
  // The key's and the signature's encodings are self-delimiting and the digest has a fixed size,
  // so two different triples never make the same cache key. Built in a reused buffer: a hit
  // allocates nothing.
  scratch_.clear();
  encode(scratch_, key);  // crypto::encode, by ADL
  crypto::Hash256 digest = crypto::sha256(message);
  scratch_.fixed(digest.view());
  codec::encode(scratch_, signature);
  const Key& cache_key = scratch_.data();
  if (auto it = entries_.find(cache_key); it != entries_.end()) {
    ++hits_;
    order_.splice(order_.begin(), order_, it->second);
    return true;
  }
  ++misses_;
  if (!crypto::verify(key, message, signature)) return false;
  if (order_.size() >= entries_max_) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(cache_key);
  entries_.emplace(cache_key, order_.begin());
  FOLIO_ASSERT(entries_.size() == order_.size());
  return true;
}

std::optional<crypto::Hash256> VerifyCache::fold(const crypto::Hash256& leaf, uint32_t index,
                                                 uint32_t leaf_count,
                                                 std::span<const crypto::Hash256> branch,
                                                 const TreeNodes* tree, Path& path) {
  FOLIO_ASSERT(index < leaf_count);
  // Level by level as BatchTree builds the tree: a node pairs with its neighbour, an odd last
  // node is lifted unchanged. This is the RFC 9162 shape that crypto::merkle_compute_root folds,
  // and a branch must hold exactly one sibling per level where the node has one.
  auto remembered = [&](uint32_t level, uint64_t position) -> const crypto::Hash256* {
    auto it = tree->find(node_key(level, position));
    return it == tree->end() ? nullptr : &it->second;
  };
  path.index = index;
  crypto::Hash256 node = leaf;
  uint64_t position = index;
  uint64_t width = leaf_count;
  size_t used = 0;
  uint32_t level = 0;
  path.node[0] = leaf;
  while (width > 1) {
    FOLIO_ASSERT(level + 1 < kVerifyCacheTreeLevelsMax);
    bool has_sibling = (position ^ 1) < width;
    path.has_sibling[level] = has_sibling;
    if (has_sibling) {
      if (used == branch.size()) return std::nullopt;  // too short
      const crypto::Hash256& sibling = branch[used++];
      path.sibling[level] = sibling;
      // A remembered node with its remembered sibling: their remembered parent is their hash.
      const crypto::Hash256* parent = nullptr;
      if (tree != nullptr) {
        const crypto::Hash256* mine = remembered(level, position);
        const crypto::Hash256* theirs = mine ? remembered(level, position ^ 1) : nullptr;
        if (theirs && *mine == node && *theirs == sibling)
          parent = remembered(level + 1, position >> 1);
      }
      if (parent != nullptr) {
        node = *parent;
        ++node_hits_;
      } else {
        node = (position & 1) ? crypto::merkle_node(sibling, node)
                              : crypto::merkle_node(node, sibling);
        ++node_hashes_;
      }
    }
    position >>= 1;
    width = (width + 1) / 2;
    ++level;
    path.node[level] = node;
  }
  if (used != branch.size()) return std::nullopt;  // too long
  path.levels = level + 1;
  return node;
}

void VerifyCache::remember(const TreeKey& key, const Path& path) {
  auto it = trees_.find(key);
  if (it == trees_.end()) {
    if (trees_.size() >= trees_max_) {
      trees_.erase(tree_order_.front());
      tree_order_.pop_front();
    }
    it = trees_.emplace(key, TreeNodes{}).first;
    tree_order_.push_back(key);
    FOLIO_ASSERT(trees_.size() == tree_order_.size());
  }
  TreeNodes& nodes = it->second;
  if (nodes.size() + 2 * path.levels > kVerifyCacheTreeNodesMax) return;
  // All or nothing, and only if it agrees with what is remembered: then every remembered parent
  // stays the hash of its remembered children, which is what makes a memoised fold exact.
  auto agrees = [&](uint32_t level, uint64_t position, const crypto::Hash256& value) {
    auto found = nodes.find(node_key(level, position));
    return found == nodes.end() || found->second == value;
  };
  for (uint32_t level = 0; level < path.levels; ++level) {
    uint64_t position = path.index >> level;
    if (!agrees(level, position, path.node[level])) return;
    if (level + 1 < path.levels && path.has_sibling[level] &&
        !agrees(level, position ^ 1, path.sibling[level]))
      return;
  }
  for (uint32_t level = 0; level < path.levels; ++level) {
    uint64_t position = path.index >> level;
    nodes.emplace(node_key(level, position), path.node[level]);
    if (level + 1 < path.levels && path.has_sibling[level])
      nodes.emplace(node_key(level, position ^ 1), path.sibling[level]);
  }
}

bool VerifyCache::verify_batch(const crypto::Hash256& leaf, uint32_t index, uint32_t leaf_count,
                               std::span<const crypto::Hash256> branch,
                               const crypto::Hash256& root, const crypto::PublicKey& key,
                               ByteView root_payload, const crypto::Signature& signature) {
  if (leaf_count == 0 || index >= leaf_count) return false;
  if (leaf_count > (1u << (kVerifyCacheTreeLevelsMax - 1))) return false;
  TreeKey tree_key{root, leaf_count};
  auto tree = trees_.find(tree_key);
  Path path;
  std::optional<crypto::Hash256> computed =
      fold(leaf, index, leaf_count, branch, tree == trees_.end() ? nullptr : &tree->second, path);
  if (!computed || *computed != root) return false;
  if (!verify(key, root_payload, signature)) return false;
  remember(tree_key, path);
  return true;
}

}  // namespace folio::sbac
