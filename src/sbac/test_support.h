// Helpers for the sbac tests: a deterministic shard map with its replicas' private keys, states
// placed on a chosen shard, and votes signed by chosen replicas. Test-only; not thread-safe.
#pragma once

#include <algorithm>
#include <vector>

#include "crypto/hash.h"
#include "sbac/shard_map.h"
#include "sbac/statements.h"

namespace folio::sbac::testing {

struct Network {
  ShardMap map;
  std::vector<std::vector<crypto::PrivateKey>> keys;  // keys[shard][i] signs for map.shards[shard]
};

// K shards of n replicas, keys derived from (shard, index); replicas sorted as the map requires.
inline Network make_network(uint32_t shards, uint32_t replicas, Epoch epoch = Epoch(1)) {
  Network net;
  net.map.epoch = epoch;
  for (uint32_t s = 0; s < shards; ++s) {
    std::vector<crypto::PrivateKey> keys;
    for (uint32_t i = 0; i < replicas; ++i) {
      FixedBytes<32> seed;
      seed.bytes[0] = static_cast<uint8_t>(s);
      seed.bytes[1] = static_cast<uint8_t>(s >> 8);
      seed.bytes[2] = static_cast<uint8_t>(i);
      seed.bytes[31] = 0x5b;
      keys.push_back(crypto::PrivateKey::ed25519(seed));
    }
    std::sort(keys.begin(), keys.end(),
              [](const auto& a, const auto& b) { return a.public_key() < b.public_key(); });
    Shard shard;
    for (const auto& k : keys) shard.replicas.push_back(k.public_key());
    net.map.shards.push_back(std::move(shard));
    net.keys.push_back(std::move(keys));
  }
  return net;
}

inline ledger::TxId tx_id(std::string_view label) {
  return ledger::TxId(crypto::sha256(as_bytes(label)));
}

// The `nth` state (counting from 0) of transaction `label` that φ places on `shard`.
inline ledger::StateRef ref_on(ShardId shard, uint32_t shard_count, std::string_view label,
                               uint32_t nth = 0) {
  ledger::TxId id = tx_id(label);
  for (uint32_t index = 0;; ++index) {
    ledger::StateRef ref{id, index};
    if (shard_of(ref, shard_count) == shard && nth-- == 0) return ref;
  }
}

// A vote signed by replicas `first .. first+count-1` of the statement's shard.
template <class Statement>
ShardVote<Statement> vote(const Network& net, const Statement& statement, uint32_t count,
                          uint32_t first = 0) {
  ShardVote<Statement> v;
  v.statement = statement;
  for (uint32_t i = first; i < first + count; ++i)
    v.signatures.push_back(sign(net.keys[statement.shard.value()][i], statement));
  return v;
}

}  // namespace folio::sbac::testing
