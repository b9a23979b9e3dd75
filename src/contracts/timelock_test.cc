// folio.TimeLock: a lock state, created as the mutual encumbrance of an asset (here cash), freezes
// the asset until the lock's time. Each rule of the contract, and the platform's encumbrance rule
// that ties the asset to its lock, passing and failing, through the whole pipeline.
#include "contracts/timelock.h"

#include <gtest/gtest.h>

#include "contracts/cash.h"
#include "testing/ledger_dsl.h"

namespace folio::contracts {
namespace {

using ledger::Rule;
using ledger::Timestamp;
using ledger::TimeWindow;
using testing::LedgerDsl;

constexpr int64_t kUnlockTime = 1'000'000;

class TimeLockTest : public ::testing::Test {
 protected:
  crypto::PublicKey key(std::string_view name) { return ledger.public_key(name); }
  ledger::TransactionState cash(uint64_t pennies, std::string_view owner,
                                std::optional<uint32_t> encumbrance = std::nullopt) {
    CashAmount amount{pennies,
                      IssuedCurrency{PartyAndReference{ledger.party("bank"), Bytes{1}}, "GBP"}};
    ledger::TransactionState s = cash_output(amount, key(owner), ledger.notary());
    s.encumbrance = encumbrance;
    return s;
  }
  ledger::TransactionState lock(std::string_view owner, std::optional<uint32_t> encumbrance) {
    ledger::TransactionState s =
        timelock_output(TimeLockState{Timestamp(kUnlockTime), key(owner)}, ledger.notary());
    s.encumbrance = encumbrance;
    return s;
  }
  // Issues alice 100 pennies frozen until kUnlockTime: "asset" (output 0) and "lock" (output 1).
  void freeze() {
    ledger.transaction()
        .output("asset", cash(100, "alice", 1))
        .output("lock", lock("alice", 0))
        .command(cash_issue(key("bank")))
        .command(timelock_lock(key("alice")))
        .verifies();
  }
  // Alice pays the frozen cash to bob, releasing the lock (input 1), in the given window.
  testing::TxDsl release(std::optional<TimeWindow> window) {
    testing::TxDsl t = ledger.transaction();
    t.input("asset")
        .input("lock")
        .output(cash(100, "bob"))
        .command(cash_move({key("alice")}))
        .command(timelock_release(key("alice")));
    if (window) t.time_window(*window);
    return t;
  }

  LedgerDsl ledger;
};

TEST_F(TimeLockTest, LockedAssetIsReleasedFromTheLockTimeOn) {
  freeze();
  release(TimeWindow{Timestamp(kUnlockTime), std::nullopt}).verifies();
}

TEST_F(TimeLockTest, ReleasedCashMovesFreelyAfterwards) {
  freeze();
  ledger.transaction()
      .input("asset")
      .input("lock")
      .output("free", cash(100, "bob"))
      .command(cash_move({key("alice")}))
      .command(timelock_release(key("alice")))
      .time_window(TimeWindow{Timestamp(kUnlockTime + 5), Timestamp(kUnlockTime + 10)})
      .verifies();
  ledger.transaction()
      .input("free")
      .output(cash(100, "carol"))
      .command(cash_move({key("bob")}))
      .verifies();
}

TEST_F(TimeLockTest, ReleaseBeforeTheLockTimeIsRefused) {
  freeze();
  release(TimeWindow{Timestamp(kUnlockTime - 1), std::nullopt})
      .fails_with(Rule::kContractRejected,
                  "folio.TimeLock: input 1 is locked until 1000000; the time window must "
                  "start at or after that time");
}

TEST_F(TimeLockTest, ReleaseWithoutAStartTimeIsRefused) {
  freeze();
  release(std::nullopt).fails_with(Rule::kContractRejected, "input 1 is locked until 1000000");
  // A window that only ends after the lock time could still be before it.
  release(TimeWindow{std::nullopt, Timestamp(kUnlockTime + 100)})
      .fails_with(Rule::kContractRejected, "input 1 is locked until 1000000");
}

TEST_F(TimeLockTest, ReleaseNotSignedByTheLockOwnerIsRefused) {
  freeze();
  ledger.transaction()
      .input("asset")
      .input("lock")
      .output(cash(100, "bob"))
      .command(cash_move({key("alice")}))
      .command(timelock_release(key("bob")))
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kContractRejected,
                  "input 1: the lock's owner has not signed a Release command");
  // A Lock command by the owner is no Release.
  ledger.transaction()
      .input("asset")
      .input("lock")
      .output(cash(100, "bob"))
      .command(cash_move({key("alice")}))
      .command(timelock_lock(key("alice")))
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kContractRejected,
                  "input 1: the lock's owner has not signed a Release command");
}

TEST_F(TimeLockTest, AssetConsumedWithoutItsLockIsRefused) {
  freeze();
  ledger.transaction()
      .input("asset")
      .output(cash(100, "bob"))
      .command(cash_move({key("alice")}))
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kEncumbranceNotConsumed, "input 0 (" + ledger.ref("asset").describe() +
                                                     ") is encumbered by " +
                                                     ledger.ref("lock").describe());
}

TEST_F(TimeLockTest, LockReleasedWithoutItsAssetIsRefused) {
  freeze();
  ledger.transaction()
      .input("lock")
      .output(cash(100, "bob"))
      .command(timelock_release(key("alice")))
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kEncumbranceNotConsumed, "input 0 (" + ledger.ref("lock").describe() +
                                                     ") is encumbered by " +
                                                     ledger.ref("asset").describe());
}

TEST_F(TimeLockTest, LockThatEncumbersNothingIsRefused) {
  ledger.transaction()
      .output(cash(100, "alice"))
      .output(lock("alice", std::nullopt))
      .command(cash_issue(key("bank")))
      .command(timelock_lock(key("alice")))
      .fails_with(Rule::kContractRejected, "output 1 is a time lock that encumbers nothing");
}

TEST_F(TimeLockTest, LockNotSignedByItsOwnerIsRefused) {
  ledger.transaction()
      .output(cash(100, "alice", 1))
      .output(lock("alice", 0))
      .command(cash_issue(key("bank")))
      .command(timelock_lock(key("bob")))
      .fails_with(Rule::kContractRejected,
                  "output 1: the lock's owner has not signed a Lock command");
  ledger.transaction()
      .output(cash(100, "alice", 1))
      .output(lock("alice", 0))
      .command(cash_issue(key("bank")))
      .command(timelock_release(key("alice")))
      .fails_with(Rule::kContractRejected,
                  "output 1: the lock's owner has not signed a Lock command");
}

TEST_F(TimeLockTest, UnknownCommandIsRefused) {
  freeze();
  ledger.transaction()
      .input("asset")
      .input("lock")
      .output(cash(100, "bob"))
      .command(cash_move({key("alice")}))
      .command(timelock_release(key("alice")))
      .command(ledger::Command{std::string(kTimeLockContract), "Extend", {}, {key("alice")}})
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kContractRejected, "folio.TimeLock: unknown command Extend");
}

TEST_F(TimeLockTest, StateThatIsNotALockIsRefused) {
  ledger::TransactionState garbage = lock("alice", 0);
  garbage.data = Bytes{7};
  ledger.transaction()
      .output(cash(100, "alice", 1))
      .output(garbage)
      .command(cash_issue(key("bank")))
      .command(timelock_lock(key("alice")))
      .fails_with(Rule::kContractRejected, "output 1 is not a time lock");
  ledger::StateRef planted{ledger::TxId(crypto::sha256(as_bytes("planted lock"))), 0};
  ledger::TransactionState unencumbered_garbage = garbage;
  unencumbered_garbage.encumbrance.reset();
  ledger.states().add(planted, unencumbered_garbage);
  ledger.transaction()
      .input(planted)
      .command(timelock_release(key("alice")))
      .time_window(TimeWindow{Timestamp(kUnlockTime), std::nullopt})
      .fails_with(Rule::kContractRejected, "input 0 is not a time lock");
}

TEST_F(TimeLockTest, ParticipantIsTheOwner) {
  TimeLock contract;
  auto participants = contract.participants(lock("alice", 0));
  ASSERT_TRUE(participants.ok());
  EXPECT_EQ(*participants, std::vector<crypto::PublicKey>{key("alice")});
  ledger::TransactionState garbage = lock("alice", 0);
  garbage.data.clear();
  EXPECT_FALSE(contract.participants(garbage).ok());
}

}  // namespace
}  // namespace folio::contracts
