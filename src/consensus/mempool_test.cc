#include "consensus/mempool.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace folio::consensus
