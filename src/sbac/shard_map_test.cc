#include "sbac/shard_map.h"

#include <gtest/gtest.h>

#include <map>

#include "sbac/test_support.h"

namespace folio::sbac {
namespace {

using testing::make_network;
using testing::tx_id;

TEST(ShardOf, IsAPureFunctionOfTheRefAndTheShardCount) {
  ledger::StateRef ref{tx_id("a"), 3};
  EXPECT_EQ(shard_of(ref, 16), shard_of(ref, 16));
  EXPECT_EQ(shard_of(ref, 1), ShardId(0));
  // Pinned value: φ must never change silently, or states would move shard between versions.
  crypto::Hash256 h = crypto::sha256(codec::encode_to_bytes(ref));
  uint64_t prefix = 0;
  for (int i = 7; i >= 0; --i) prefix = (prefix << 8) | h.bytes[static_cast<size_t>(i)];
  EXPECT_EQ(shard_of(ref, 1000).value(), prefix % 1000);
}

// shard_of builds the ref's encoding on the stack: it must be the codec's canonical encoding for
// every index byte, or states would move shard.
TEST(ShardOf, StackEncodingMatchesTheCodecForEveryIndexByte) {
  for (uint32_t index : {0u, 1u, 0xffu, 0x100u, 0x12345678u, 0xff000000u, 0xffffffffu}) {
    ledger::StateRef ref{tx_id("enc" + std::to_string(index)), index};
    crypto::Hash256 h = crypto::sha256(codec::encode_to_bytes(ref));
    uint64_t prefix = 0;
    for (int i = 7; i >= 0; --i) prefix = (prefix << 8) | h.bytes[static_cast<size_t>(i)];
    for (uint32_t shards : {2u, 3u, 1000u, kShardsMax})
      EXPECT_EQ(shard_of(ref, shards).value(), prefix % shards) << index << " " << shards;
  }
}

TEST(ShardOf, DependsOnTheIndexAndTheTransaction) {
  std::set<ShardId> seen;
  for (uint32_t i = 0; i < 64; ++i) seen.insert(shard_of(ledger::StateRef{tx_id("a"), i}, 64));
  EXPECT_GT(seen.size(), 30u);  // 64 draws into 64 bins fill about 40 of them
  std::set<ShardId> by_tx;
  for (int t = 0; t < 64; ++t)
    by_tx.insert(shard_of(ledger::StateRef{tx_id("t" + std::to_string(t)), 0}, 64));
  EXPECT_GT(by_tx.size(), 30u);
}

TEST(ShardOf, SpreadsRefsEvenlyAcrossShards) {
  constexpr uint32_t kShards = 8;
  constexpr uint32_t kRefs = 8000;
  std::map<ShardId, uint32_t> counts;
  for (uint32_t i = 0; i < kRefs; ++i)
    ++counts[shard_of(ledger::StateRef{tx_id("spread"), i}, kShards)];
  ASSERT_EQ(counts.size(), kShards);
  // Each shard expects 1000 with a standard deviation of about 30; 150 is five of them.
  for (const auto& [shard, count] : counts) {
    EXPECT_GT(count, 850u) << shard.value();
    EXPECT_LT(count, 1150u) << shard.value();
  }
}

TEST(ConcernedShards, CoverInputsReferencesAndOutputs) {
  constexpr uint32_t kShards = 16;
  ledger::TxId id = tx_id("tx");
  ledger::StateRef input = testing::ref_on(ShardId(3), kShards, "in");
  ledger::StateRef reference = testing::ref_on(ShardId(5), kShards, "ref");
  std::set<ShardId> concerned = concerned_shards(id, {input}, {reference}, 2, kShards);
  std::set<ShardId> expected{ShardId(3), ShardId(5), shard_of(ledger::StateRef{id, 0}, kShards),
                             shard_of(ledger::StateRef{id, 1}, kShards)};
  EXPECT_EQ(concerned, expected);
}

TEST(ShardMap, CanonicalFormIsChecked) {
  ShardMap map = make_network(2, 4).map;
  EXPECT_TRUE(map.check_canonical().ok());
  EXPECT_EQ(map.shard(ShardId(1)).faults_max(), 1u);
  EXPECT_EQ(map.shard(ShardId(1)).vote_quorum(), 2u);

  ShardMap unsorted = map;
  std::swap(unsorted.shards[0].replicas[0], unsorted.shards[0].replicas[1]);
  EXPECT_FALSE(unsorted.check_canonical().ok());

  ShardMap not_3f1 = map;
  not_3f1.shards[1].replicas.pop_back();
  EXPECT_FALSE(not_3f1.check_canonical().ok());

  EXPECT_FALSE(ShardMap{}.check_canonical().ok());

  // The decoder enforces the same rules.
  auto round_trip = codec::decode_from_bytes<ShardMap>(codec::encode_to_bytes(map));
  ASSERT_TRUE(round_trip.ok());
  EXPECT_EQ(*round_trip, map);
  EXPECT_FALSE(codec::decode_from_bytes<ShardMap>(codec::encode_to_bytes(unsorted)).ok());
}

}  // namespace
}  // namespace folio::sbac
