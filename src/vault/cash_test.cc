#include "vault/cash.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "vault/test_support.h"

namespace folio::vault {
namespace {

class CoinSelectionTest : public testing::VaultFixture {
 protected:
  // Alice holds GBP 5, 10, 20, 50 and USD 100; bob holds GBP 30.
  void SetUp() override {
    VaultFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    record(issue({{"alice", 5}, {"alice", 10}, {"alice", 20}, {"alice", 50}, {"bob", 30}}),
           ours({"alice", "bob"}), 1);
    record(issue({{"alice", 100}}, "USD"), ours({"alice"}), 2);
  }

  Result<SelectedCash> select(uint64_t amount, std::string lock_id,
                              std::vector<std::string> owners = {"alice"},
                              std::string currency = "GBP") {
    CashSelection selection;
    selection.currency = std::move(currency);
    selection.amount = amount;
    for (const std::string& owner : owners) selection.owners.push_back(ledger_.public_key(owner));
    selection.lock_id = std::move(lock_id);
    selection.lock_time = ledger::Timestamp(99);
    std::optional<SelectedCash> out;
    Status status = database().transact([&](storage::Session& session) -> Status {
      FOLIO_ASSIGN_OR_RETURN(out, select_cash(vault(), session, selection));
      return ok_status();
    });
    if (!status.ok()) return status.error();
    return std::move(*out);
  }

  std::vector<uint64_t> picked(const SelectedCash& selected) {
    std::vector<uint64_t> out;
    for (const VaultState& coin : selected.coins) out.push_back(quantity(coin));
    return out;
  }
};

TEST_P(CoinSelectionTest, ExactCoin) {
  Result<SelectedCash> selected = select(20, "flow-1");
  ASSERT_TRUE(selected.ok()) << selected.error().message();
  EXPECT_EQ(picked(*selected), (std::vector<uint64_t>{20}));
  EXPECT_EQ(selected->total, 20u);
  EXPECT_EQ(selected->change, 0u);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-1")).value(), 1);
}

TEST_P(CoinSelectionTest, SmallestCoinThatCoversWithChange) {
  Result<SelectedCash> selected = select(12, "flow-1");
  ASSERT_TRUE(selected.ok()) << selected.error().message();
  EXPECT_EQ(picked(*selected), (std::vector<uint64_t>{20}));
  EXPECT_EQ(selected->change, 8u);
  ASSERT_EQ(selected->coins[0].metadata.lock_id, std::optional<std::string>("flow-1"));
}

TEST_P(CoinSelectionTest, LargestCoinsFirstWhenNoneSuffices) {
  Result<SelectedCash> selected = select(75, "flow-1");
  ASSERT_TRUE(selected.ok()) << selected.error().message();
  EXPECT_EQ(picked(*selected), (std::vector<uint64_t>{50, 20, 10}));
  EXPECT_EQ(selected->total, 80u);
  EXPECT_EQ(selected->change, 5u);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-1")).value(), 3);
}

TEST_P(CoinSelectionTest, InsufficientFundsLocksNothing) {
  Result<SelectedCash> selected = select(86, "flow-1");
  ASSERT_FALSE(selected.ok());
  EXPECT_EQ(selected.error().code, ErrorCode::kNotFound);
  EXPECT_NE(selected.error().context.find("insufficient funds"), std::string::npos);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-1")).value(), 0);
  // Another owner's coins and another currency do not count; everyone's together do.
  EXPECT_TRUE(select(85, "flow-1").ok());
  ASSERT_TRUE(vault().release("flow-1").ok());
  EXPECT_FALSE(select(101, "flow-1", {"alice"}, "USD").ok());
  EXPECT_TRUE(select(115, "flow-2", {"alice", "bob"}).ok());
}

TEST_P(CoinSelectionTest, LockedCoinsAreExcluded) {
  Result<SelectedCash> first = select(50, "flow-1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(picked(*first), (std::vector<uint64_t>{50}));
  Result<SelectedCash> second = select(50, "flow-2");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kNotFound);
  Result<SelectedCash> rest = select(35, "flow-2");
  ASSERT_TRUE(rest.ok()) << rest.error().message();
  EXPECT_EQ(picked(*rest), (std::vector<uint64_t>{20, 10, 5}));
  ASSERT_EQ(vault().release("flow-1").value(), 1);
  Result<SelectedCash> after = select(50, "flow-3");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(picked(*after), (std::vector<uint64_t>{50}));
}

TEST_P(CoinSelectionTest, ConcurrentFlowsGetDisjointCoins) {
  Result<SelectedCash> first = select(30, "flow-1");
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(picked(*first), (std::vector<uint64_t>{50}));
  Result<SelectedCash> second = select(30, "flow-2");
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(picked(*second), (std::vector<uint64_t>{20, 10}));
  Result<SelectedCash> third = select(6, "flow-3");
  ASSERT_FALSE(third.ok());  // only the 5 is left
  EXPECT_EQ(third.error().code, ErrorCode::kNotFound);
  Result<SelectedCash> fourth = select(5, "flow-3");
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(vault().count(QueryCriteria::unconsumed() && QueryCriteria::unlocked() &&
                          QueryCriteria::has_participant(ledger_.public_key("alice")))
                .value(),
            1);  // the USD coin

  // Releasing flow-1's coins makes them available again; spending flow-2's consumes them.
  ASSERT_EQ(vault().release("flow-1").value(), 1);
  std::vector<ledger::StateRef> spent;
  for (const VaultState& coin : second->coins) spent.push_back(coin.ref);
  record(move(spent, "alice", {{"bob", 30}}), ours({"alice"}), 3);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-2")).value(), 0);
  Result<SelectedCash> again = select(40, "flow-4");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(picked(*again), (std::vector<uint64_t>{50}));
}

TEST_P(CoinSelectionTest, AnotherConnectionSeesTheLocks) {
  ASSERT_TRUE(select(50, "flow-1").ok());
  Result<std::unique_ptr<storage::Database>> other = open_another();
  ASSERT_TRUE(other.ok()) << other.error().message();
  Result<std::unique_ptr<Vault>> other_vault = Vault::open(**other, registry_);
  ASSERT_TRUE(other_vault.ok()) << other_vault.error().message();
  CashSelection selection;
  selection.currency = "GBP";
  selection.amount = 40;
  selection.owners = {ledger_.public_key("alice")};
  selection.lock_id = "flow-2";
  std::optional<SelectedCash> out;
  Status status = (*other)->transact([&](storage::Session& session) -> Status {
    FOLIO_ASSIGN_OR_RETURN(out, select_cash(**other_vault, session, selection));
    return ok_status();
  });
  ASSERT_FALSE(status.ok());  // 5 + 10 + 20 < 40 once the 50 is locked
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
}

// Two flows on two connections select at the same time. On PostgreSQL the second one's lock waits
// for the first transaction's row lock (the test waits until the server shows it waiting, then lets
// the first commit) and then finds the coin taken: kConflict, and a retry picks none of the first
// one's coins. SQLite's BEGIN IMMEDIATE serialises the two, so there they run one after the other.
TEST_P(CoinSelectionTest, RacingConnectionsNeverShareACoin) {
  auto open_vault = [&](std::unique_ptr<storage::Database>& db) -> std::unique_ptr<Vault> {
    Result<std::unique_ptr<storage::Database>> opened = open_another();
    EXPECT_TRUE(opened.ok());
    if (!opened.ok()) return nullptr;
    db = std::move(opened).value();
    Result<std::unique_ptr<Vault>> vault = Vault::open(*db, registry_);
    EXPECT_TRUE(vault.ok());
    return vault.ok() ? std::move(vault).value() : nullptr;
  };
  std::unique_ptr<storage::Database> db_a, db_b;
  std::unique_ptr<Vault> vault_a = open_vault(db_a), vault_b = open_vault(db_b);
  ASSERT_TRUE(vault_a && vault_b);
  auto selection = [&](std::string lock_id) {
    CashSelection s;
    s.currency = "GBP";
    s.amount = 40;
    s.owners = {ledger_.public_key("alice")};
    s.lock_id = std::move(lock_id);
    return s;
  };
  auto run = [](Vault& vault, storage::Database& db, const CashSelection& s,
                const std::function<void()>& before_commit) -> Result<SelectedCash> {
    std::optional<SelectedCash> out;
    Status status = db.transact([&](storage::Session& session) -> Status {
      FOLIO_ASSIGN_OR_RETURN(out, select_cash(vault, session, s));
      before_commit();
      return ok_status();
    });
    if (!status.ok()) return status.error();
    return std::move(*out);
  };

  std::mutex mutex;
  std::condition_variable changed;
  bool a_selected = false, b_done = false, release_a = false;
  std::optional<Result<SelectedCash>> a_result, b_result;
  const bool postgres = backend() == storage::Backend::kPostgres;
  std::thread a([&] {
    a_result = run(*vault_a, *db_a, selection("flow-a"), [&] {
      std::unique_lock lock(mutex);
      a_selected = true;
      changed.notify_all();
      if (postgres) changed.wait(lock, [&] { return release_a; });
    });
  });
  std::thread b([&] {
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return a_selected; });
    }
    b_result = run(*vault_b, *db_b, selection("flow-b"), [] {});
    std::unique_lock lock(mutex);
    b_done = true;
    changed.notify_all();
  });
  if (postgres) {
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return a_selected; });
    }
    // Until B waits on A's row lock (or has finished, which would be a bug caught below).
    for (;;) {
      {
        std::unique_lock lock(mutex);
        if (b_done) break;
      }
      Result<storage::Rows> waiting = database().query(
          "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = "
          "current_database()");
      ASSERT_TRUE(waiting.ok()) << waiting.error().message();
      if ((*waiting)[0].integer(0) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::unique_lock lock(mutex);
    release_a = true;
    changed.notify_all();
  }
  a.join();
  b.join();
  ASSERT_TRUE(a_result->ok()) << a_result->error().message();
  EXPECT_EQ(picked(**a_result), (std::vector<uint64_t>{50}));
  ASSERT_FALSE(b_result->ok());
  EXPECT_EQ(b_result->error().code, postgres ? ErrorCode::kConflict : ErrorCode::kNotFound)
      << b_result->error().message();
  // Retrying sees flow-a's lock: 5 + 10 + 20 are not enough.
  Result<SelectedCash> retry = run(*vault_b, *db_b, selection("flow-b"), [] {});
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-a")).value(), 1);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-b")).value(), 0);
}

TEST_P(CoinSelectionTest, IssuerFilter) {
  record(issue({{"alice", 500}}, "GBP", "other"), ours({"alice"}), 5);
  CashSelection selection;
  selection.currency = "GBP";
  selection.amount = 200;
  selection.issuer = contracts::PartyAndReference{ledger_.party("bank"), Bytes{1}};
  selection.lock_id = "flow-1";
  Status status = database().transact([&](storage::Session& session) -> Status {
    return select_cash(vault(), session, selection).ok()
               ? ok_status()
               : make_error(ErrorCode::kNotFound, "short");
  });
  EXPECT_FALSE(status.ok());
  selection.issuer = contracts::PartyAndReference{ledger_.party("other"), Bytes{1}};
  std::optional<SelectedCash> out;
  status = database().transact([&](storage::Session& session) -> Status {
    FOLIO_ASSIGN_OR_RETURN(out, select_cash(vault(), session, selection));
    return ok_status();
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
  EXPECT_EQ(picked(*out), (std::vector<uint64_t>{500}));
}

TEST_P(CoinSelectionTest, ManySmallCoinsAcrossPagesAndTheCoinBound) {
  // 600 more coins of 1 for carol: past one page of candidates, and past the coin bound.
  std::vector<std::pair<std::string, uint64_t>> ones(600, {"carol", 1});
  record(issue(ones), ours({"carol"}), 10);
  Result<SelectedCash> some = select(230, "flow-1", {"carol"});
  ASSERT_TRUE(some.ok()) << some.error().message();
  EXPECT_EQ(some->coins.size(), 230u);
  EXPECT_EQ(some->change, 0u);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-1")).value(), 230);
  ASSERT_TRUE(vault().release("flow-1").ok());
  Result<SelectedCash> too_many = select(kSelectedCoinsMax + 1, "flow-2", {"carol"});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-2")).value(), 0);
}

TEST_P(CoinSelectionTest, BadRequestsAreRefused) {
  EXPECT_EQ(select(0, "flow-1").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(select(10, "").error().code, ErrorCode::kInvalidArgument);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(CoinSelectionTest);

}  // namespace
}  // namespace folio::vault
