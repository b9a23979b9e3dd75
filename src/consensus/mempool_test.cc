#include "consensus/mempool.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace folio::consensus {
namespace {

Bytes cmd(int i) { return to_bytes("command-" + std::to_string(i)); }

TEST(Mempool, DeduplicatesByContent) {
  Mempool pool(MempoolLimits{10, 1000, 100});
  EXPECT_EQ(pool.add(command_id(cmd(1)), cmd(1)), std::nullopt);
  EXPECT_EQ(pool.add(command_id(cmd(1)), cmd(1)), RejectReason::kDuplicate);
  EXPECT_EQ(pool.size(), 1u);
}

TEST(Mempool, FullPoolRejectsWithBackPressureAndAcceptsAgainAfterRemoval) {
  Mempool pool(MempoolLimits{3, 1000, 100});
  for (int i = 0; i < 3; ++i) ASSERT_EQ(pool.add(command_id(cmd(i)), cmd(i)), std::nullopt);
  EXPECT_EQ(pool.add(command_id(cmd(9)), cmd(9)), RejectReason::kMempoolFull);
  pool.remove(command_id(cmd(0)));
  EXPECT_EQ(pool.add(command_id(cmd(9)), cmd(9)), std::nullopt);
}

TEST(Mempool, ByteBoundIsBackPressureToo) {
  Mempool pool(MempoolLimits{100, 20, 100});
  EXPECT_EQ(pool.add(command_id(cmd(1)), cmd(1)), std::nullopt);  // 9 bytes
  EXPECT_EQ(pool.add(command_id(cmd(2)), cmd(2)), std::nullopt);  // 18 bytes
  EXPECT_EQ(pool.add(command_id(cmd(3)), cmd(3)), RejectReason::kMempoolFull);
  EXPECT_EQ(pool.bytes(), 18u);
}

TEST(Mempool, RejectsEmptyAndOversizeCommands) {
  Mempool pool(MempoolLimits{100, 1000, 4});
  EXPECT_EQ(pool.add(command_id(Bytes{}), Bytes{}), RejectReason::kOversize);
  EXPECT_EQ(pool.add(command_id(cmd(1)), cmd(1)), RejectReason::kOversize);
}

TEST(Mempool, SelectsOldestFirstWithinBoundsSkippingExcluded) {
  Mempool pool(MempoolLimits{100, 1000, 100});
  for (int i = 0; i < 6; ++i) ASSERT_EQ(pool.add(command_id(cmd(i)), cmd(i)), std::nullopt);
  CommandId skipped = command_id(cmd(1));
  auto batch = pool.select(3, 1000, [&](const CommandId& id) { return id == skipped; });
  EXPECT_EQ(batch, (std::vector<Bytes>{cmd(0), cmd(2), cmd(3)}));
  auto none = [](const CommandId&) { return false; };
  batch = pool.select(10, 20, none);
  EXPECT_EQ(batch, (std::vector<Bytes>{cmd(0), cmd(1)}));
}

TEST(Mempool, RemovedAndReAddedCommandsKeepArrivalOrderAndBoundedMemory) {
  Mempool pool(MempoolLimits{1000, 100'000, 100});
  auto none = [](const CommandId&) { return false; };
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 10; ++i)
      (void)pool.add(command_id(cmd(round * 10 + i)), cmd(round * 10 + i));
    for (int i = 1; i < 10; i += 2) pool.remove(command_id(cmd(round * 10 + i)));
  }
  EXPECT_EQ(pool.size(), 250u);
  auto batch = pool.select(3, 100'000, none);
  EXPECT_EQ(batch, (std::vector<Bytes>{cmd(0), cmd(2), cmd(4)}));
  pool.remove(command_id(cmd(0)));
  (void)pool.add(command_id(cmd(0)), cmd(0));  // back of the queue now
  batch = pool.select(2, 100'000, none);
  EXPECT_EQ(batch, (std::vector<Bytes>{cmd(2), cmd(4)}));
}

TEST(Mempool, RebuildAfterManyMiddleRemovalsKeepsOrderAndLaterRemovalsWork) {
  // Command 0 stays at the front, so the dead entries behind it pile up until the rebuild.
  Mempool pool(MempoolLimits{1000, 100'000, 100});
  auto none = [](const CommandId&) { return false; };
  for (int i = 0; i < 300; ++i) ASSERT_EQ(pool.add(command_id(cmd(i)), cmd(i)), std::nullopt);
  size_t bytes = pool.bytes();
  for (int i = 1; i < 300; ++i) {
    if (i % 10 == 0) continue;
    bytes -= cmd(i).size();
    pool.remove(command_id(cmd(i)));
  }
  EXPECT_EQ(pool.size(), 30u);
  EXPECT_EQ(pool.bytes(), bytes);
  // Every survivor is still found by id after the renumbering, and removable.
  for (int i = 0; i < 300; i += 10) EXPECT_TRUE(pool.contains(command_id(cmd(i)))) << i;
  pool.remove(command_id(cmd(10)));
  pool.remove(command_id(cmd(0)));
  EXPECT_FALSE(pool.contains(command_id(cmd(10))));
  EXPECT_EQ(pool.select(3, 100'000, none), (std::vector<Bytes>{cmd(20), cmd(30), cmd(40)}));
  // A removed command may come back, at the end.
  ASSERT_EQ(pool.add(command_id(cmd(10)), cmd(10)), std::nullopt);
  auto all = pool.select(1000, 100'000, none);
  ASSERT_EQ(all.size(), 29u);
  EXPECT_EQ(all.front(), cmd(20));
  EXPECT_EQ(all.back(), cmd(10));
}

TEST(Mempool, AgreesWithAReferenceModelUnderChurnAcrossGrowthAndRebuilds) {
  // Random adds and removals over a pool that grows its index past the initial size and
  // rebuilds its order; the reference is a list in arrival order.
  Mempool pool(MempoolLimits{5'000, 1u << 20, 100});
  std::vector<int> model;  // live commands, oldest first
  auto none = [](const CommandId&) { return false; };
  uint64_t state = 99;
  for (int step = 0; step < 20'000; ++step) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    int i = static_cast<int>((state >> 33) % 3'000);
    auto it = std::find(model.begin(), model.end(), i);
    if ((state >> 20) % 3 != 0) {
      EXPECT_EQ(pool.add(command_id(cmd(i)), cmd(i)),
                it == model.end() ? std::nullopt : std::optional(RejectReason::kDuplicate));
      if (it == model.end()) model.push_back(i);
    } else {
      pool.remove(command_id(cmd(i)));
      if (it != model.end()) model.erase(it);
    }
    ASSERT_EQ(pool.size(), model.size()) << step;
    if (step % 997 == 0) {
      auto all = pool.select(10'000, 1u << 20, none);
      ASSERT_EQ(all.size(), model.size());
      for (size_t k = 0; k < all.size(); ++k) ASSERT_EQ(all[k], cmd(model[k])) << step;
      for (int j = 0; j < 3'000; j += 31)
        ASSERT_EQ(pool.contains(command_id(cmd(j))),
                  std::find(model.begin(), model.end(), j) != model.end());
    }
  }
  // Removing everything in a batch empties the pool.
  std::vector<CommandId> ids;
  for (int i : model) ids.push_back(command_id(cmd(i)));
  pool.remove_all(ids);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_EQ(pool.bytes(), 0u);
}

TEST(Mempool, SelectHandsOutTheIdsOfTheCommandsItSelects) {
  Mempool pool(MempoolLimits{100, 1000, 100});
  for (int i = 0; i < 5; ++i) ASSERT_EQ(pool.add(command_id(cmd(i)), cmd(i)), std::nullopt);
  CommandId skipped = command_id(cmd(2));
  std::vector<CommandId> ids;
  auto batch = pool.select(
      3, 1000, [&](const CommandId& id) { return id == skipped; }, &ids);
  ASSERT_EQ(batch, (std::vector<Bytes>{cmd(0), cmd(1), cmd(3)}));
  ASSERT_EQ(ids.size(), batch.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], command_id(batch[i])) << i;
}

TEST(Mempool, FullPoolStillCallsADuplicateADuplicate) {
  Mempool pool(MempoolLimits{2, 1000, 100});
  ASSERT_EQ(pool.add(command_id(cmd(1)), cmd(1)), std::nullopt);
  ASSERT_EQ(pool.add(command_id(cmd(2)), cmd(2)), std::nullopt);
  EXPECT_EQ(pool.add(command_id(cmd(1)), cmd(1)), RejectReason::kDuplicate);
  EXPECT_EQ(pool.add(command_id(cmd(3)), cmd(3)), RejectReason::kMempoolFull);
}

}  // namespace
}  // namespace folio::consensus
