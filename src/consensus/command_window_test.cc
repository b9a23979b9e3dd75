#include "consensus/command_window.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>

namespace folio::consensus {
namespace {

CommandId id_of(uint64_t i) { return command_id(codec::encode_to_bytes(i)); }

TEST(CommandWindow, RemembersTheLastCapacityIdsAndForgetsOlderOnes) {
  CommandWindow window(100);
  for (uint64_t i = 0; i < 250; ++i) window.insert(id_of(i));
  EXPECT_EQ(window.size(), 100u);
  for (uint64_t i = 0; i < 150; ++i) EXPECT_FALSE(window.contains(id_of(i))) << i;
  for (uint64_t i = 150; i < 250; ++i) EXPECT_TRUE(window.contains(id_of(i))) << i;
}

TEST(CommandWindow, AgreesWithAReferenceModelUnderChurn) {
  // Colliding home slots are forced by a small window with many evictions; the reference is a
  // FIFO plus a set.
  CommandWindow window(37);
  std::deque<CommandId> fifo;
  std::set<CommandId> present;
  uint64_t state = 12345;
  for (int step = 0; step < 20'000; ++step) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    CommandId id = id_of(state % 120);
    if (!present.contains(id)) {
      fifo.push_back(id);
      present.insert(id);
      if (fifo.size() > 37) {
        present.erase(fifo.front());
        fifo.pop_front();
      }
    }
    window.insert(id);
    ASSERT_EQ(window.size(), fifo.size());
    for (uint64_t k = 0; k < 120; k += 7)
      ASSERT_EQ(window.contains(id_of(k)), present.contains(id_of(k))) << "step " << step;
  }
}

TEST(CommandWindow, InsertingAPresentIdChangesNothing) {
  CommandWindow window(3);
  for (uint64_t i = 0; i < 3; ++i) window.insert(id_of(i));
  window.insert(id_of(0));
  window.insert(id_of(3));  // evicts 0, the oldest
  EXPECT_FALSE(window.contains(id_of(0)));
  EXPECT_TRUE(window.contains(id_of(1)));
  EXPECT_TRUE(window.contains(id_of(3)));
}

TEST(CommandWindow, IdsWhoseHashBitsCollideAreToldApartAndEvictedCorrectly) {
  // Slots keep only the low bits of an id's first eight bytes; ids equal there must still be
  // distinct members, found, evicted and deleted (backward shift) one by one.
  auto colliding = [](uint8_t last) {
    CommandId id = id_of(7);
    id.bytes[31] = last;
    return id;
  };
  CommandWindow window(4);
  for (uint8_t i = 0; i < 4; ++i) window.insert(colliding(i));
  for (uint8_t i = 0; i < 4; ++i) EXPECT_TRUE(window.contains(colliding(i))) << int(i);
  EXPECT_FALSE(window.contains(colliding(9)));
  window.insert(colliding(9));  // evicts colliding(0)
  EXPECT_FALSE(window.contains(colliding(0)));
  for (uint8_t i : {1, 2, 3, 9}) EXPECT_TRUE(window.contains(colliding(i))) << int(i);
}

TEST(CommandWindow, BatchOperationsAgreeWithSingleOnesAcrossEvictionAndDuplicates) {
  // insert_all prefetches the ids it will evict; batches that wrap the ring, start before it is
  // full and repeat ids must leave exactly the state of inserting one by one.
  CommandWindow batched(10);
  CommandWindow single(10);
  uint64_t next = 0;
  for (size_t round = 0; round < 30; ++round) {
    std::vector<CommandId> ids;
    for (size_t k = 0; k < round % 13; ++k) ids.push_back(id_of(next++));
    if (round % 4 == 0 && next > 3) ids.push_back(id_of(next - 3));  // a duplicate in the batch
    batched.insert_all(ids);
    for (const CommandId& id : ids) single.insert(id);
    ASSERT_EQ(batched.size(), single.size());
    for (uint64_t i = 0; i < next; ++i)
      ASSERT_EQ(batched.contains(id_of(i)), single.contains(id_of(i))) << round << " " << i;
  }
  std::vector<CommandId> probe{id_of(next + 1), id_of(next + 2)};
  EXPECT_FALSE(batched.contains_any(probe));
  probe.push_back(id_of(next - 1));
  EXPECT_TRUE(batched.contains_any(probe));
  EXPECT_FALSE(batched.contains_any({}));
}

TEST(CommandWindow, GrowingKeepsEveryMember) {
  // 5,000 ids pass the initial table size several times over.
  CommandWindow window(5'000);
  for (uint64_t i = 0; i < 5'000; ++i) window.insert(id_of(i));
  for (uint64_t i = 0; i < 5'000; ++i) ASSERT_TRUE(window.contains(id_of(i))) << i;
  EXPECT_FALSE(window.contains(id_of(5'000)));
}

}  // namespace
}  // namespace folio::consensus
