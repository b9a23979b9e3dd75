// VerifyCache: a bounded cache of signatures already verified, so that N statements signed under
// one batch root (statements.h, BatchSignature) cost one Ed25519 verification, not N.
//
// An entry is the exact triple (public key, SHA-256 of the signed message, signature bytes) of a
// verification that succeeded; a lookup hits only on the same triple, so the cache can never turn
// a bad signature into a good one: a different key, message or signature misses and is verified
// afresh. Failures are never remembered (a forged signature costs its sender the verify again, but
// cannot evict anything it could not also evict with good signatures of its own). Bounded by
// `entries_max`, least recently used first out.
//
// The cache changes cost only, never a result, so replicas that share nothing agree whatever
// their caches hold. A copy is an empty cache. Not thread-safe: one owner (an ObjectTable, a TransactionManager's driver).
#pragma once

#include <cstdint>
#include <list>
#include <map>

#include "crypto/keys.h"

namespace folio::sbac {

constexpr size_t kVerifyCacheEntriesDefault = 4096;

class VerifyCache {
 public:
  // REQUIRES: entries_max >= 1
  explicit VerifyCache(size_t entries_max = kVerifyCacheEntriesDefault);
  // A copy starts empty with the same bound (entries point into their own list; a cache's content
  // is never needed for a result). Moves keep the content.
  VerifyCache(const VerifyCache& other) : VerifyCache(other.entries_max_) {}
  VerifyCache& operator=(const VerifyCache& other) {
    if (this != &other) *this = VerifyCache(other.entries_max_);
    return *this;
  }
  VerifyCache(VerifyCache&&) noexcept = default;
  VerifyCache& operator=(VerifyCache&&) noexcept = default;

  // Whether `signature` is `key`'s signature of `message` (crypto::verify), answered from the
  // cache when this exact triple verified before.
  bool verify(const crypto::PublicKey& key, ByteView message, const crypto::Signature& signature);

  size_t size() const { return order_.size(); }
  size_t entries_max() const { return entries_max_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }

 private:
  using Key = Bytes;  // encode(key) || SHA-256(message) || encode(signature)
  size_t entries_max_;
  std::list<Key> order_;  // most recently used first
  std::map<Key, std::list<Key>::iterator> entries_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace folio::sbac
