// VerifyCache: see verify_cache.h.
#include "sbac/verify_cache.h"

#include "base/assert.h"
#include "codec/codec.h"
#include "crypto/hash.h"

namespace folio::sbac {

VerifyCache::VerifyCache(size_t entries_max) : entries_max_(entries_max) {
  FOLIO_ASSERT(entries_max_ >= 1);
}

bool VerifyCache::verify(const crypto::PublicKey& key, ByteView message,
                         const crypto::Signature& signature) {
  // The key's and the signature's encodings are self-delimiting and the digest has a fixed size,
  // so two different triples never make the same cache key.
  codec::Writer w(128);
  encode(w, key);  // crypto::encode, by ADL
  crypto::Hash256 digest = crypto::sha256(message);
  w.fixed(ByteView(digest.data(), digest.size()));
  codec::encode(w, signature);
  Key cache_key = w.take();
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
  entries_.emplace(std::move(cache_key), order_.begin());
  FOLIO_ASSERT(entries_.size() == order_.size());
  return true;
}

}  // namespace folio::sbac
