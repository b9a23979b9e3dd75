#include "notary/replica_wire.h"

#include <sodium.h>

#include "crypto/hash.h"

namespace folio::notary {

MessageIds::MessageIds() {
  FOLIO_ASSERT(sodium_init() >= 0);
  randombytes_buf(nonce_.bytes.data(), nonce_.bytes.size());
}

net::MessageId MessageIds::next() {
  Bytes material(nonce_.bytes.begin(), nonce_.bytes.end());
  uint64_t c = counter_++;
  for (int k = 0; k < 8; ++k) material.push_back(static_cast<uint8_t>(c >> (8 * k)));
  return crypto::sha256(material);
}

codec::Limits wire_limits() {
  codec::Limits limits;
  limits.sequence_length_max = kBatchMessagesMax;
  limits.bytes_length_max = 16u << 20;
  limits.input_bytes_max = 32u << 20;
  return limits;
}

}  // namespace folio::notary
