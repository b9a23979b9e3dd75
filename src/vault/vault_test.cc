#include "vault/vault.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "vault/test_support.h"

namespace folio::vault {
namespace {

using storage::Value;

class VaultTest : public testing::VaultFixture {};

TEST_P(VaultTest, RecordsOnlyRelevantOutputs) {
  ledger::WireTransaction tx = issue({{"alice", 100}, {"bob", 50}, {"alice", 7}});
  VaultUpdate update = record(tx, ours({"alice"}), 1000);
  ASSERT_EQ(update.produced.size(), 2u);
  EXPECT_TRUE(update.consumed.empty());
  Page page = query(QueryCriteria::all(), {}, {Sort{SortAttribute::kStateRef, false}});
  ASSERT_EQ(page.states.size(), 2u);
  EXPECT_EQ(page.total_states, 2);
  const VaultState& first = page.states[0];
  EXPECT_EQ(first.ref, (ledger::StateRef{tx.id(), 0}));
  EXPECT_EQ(first.state, tx.outputs[0]);
  EXPECT_EQ(first.metadata.contract, "folio.Cash");
  EXPECT_EQ(first.metadata.state_type, kCashStateType);
  EXPECT_EQ(first.metadata.notary_name, ledger_.notary().name);
  EXPECT_EQ(first.metadata.status, StateStatus::kUnconsumed);
  EXPECT_EQ(first.metadata.recorded_time, ledger::Timestamp(1000));
  EXPECT_FALSE(first.metadata.consumed_time.has_value());
  EXPECT_FALSE(first.metadata.lock_id.has_value());
  EXPECT_EQ(page.states[1].ref.index, 2u);
  // Bob's vault would hold the other one.
  EXPECT_EQ(vault().count(QueryCriteria::has_participant(ledger_.public_key("bob"))).value(), 0);
}

TEST_P(VaultTest, RecordingTwiceChangesNothing) {
  ledger::WireTransaction tx = issue({{"alice", 100}});
  record(tx, ours({"alice"}), 1000);
  VaultUpdate again = record(tx, ours({"alice"}), 2000);
  EXPECT_TRUE(again.empty());
  Page page = query(QueryCriteria::all());
  ASSERT_EQ(page.states.size(), 1u);
  EXPECT_EQ(page.states[0].metadata.recorded_time, ledger::Timestamp(1000));

  ledger::WireTransaction spend = move({ledger::StateRef{tx.id(), 0}}, "alice", {{"bob", 100}});
  VaultUpdate consumed = record(spend, ours({"alice"}), 3000);
  EXPECT_EQ(consumed.consumed.size(), 1u);
  EXPECT_TRUE(record(spend, ours({"alice"}), 4000).empty());
  Page after = query(QueryCriteria::consumed());
  ASSERT_EQ(after.states.size(), 1u);
  EXPECT_EQ(after.states[0].metadata.consumed_time, ledger::Timestamp(3000));
}

TEST_P(VaultTest, ASpendRecordedBeforeItsIssuanceLeavesTheStateConsumed) {
  ledger::WireTransaction issued = issue({{"alice", 100}});
  ledger::WireTransaction spend =
      move({ledger::StateRef{issued.id(), 0}}, "alice", {{"bob", 30}, {"alice", 70}});
  // Out of dependency order: the spend first.
  VaultUpdate first = record(spend, ours({"alice"}), 2000);
  EXPECT_TRUE(first.consumed.empty());
  EXPECT_EQ(first.produced.size(), 1u);
  VaultUpdate second = record(issued, ours({"alice"}), 3000);
  EXPECT_TRUE(second.empty());
  Page consumed = query(QueryCriteria::consumed());
  ASSERT_EQ(consumed.states.size(), 1u);
  EXPECT_EQ(consumed.states[0].ref, (ledger::StateRef{issued.id(), 0}));
  EXPECT_EQ(consumed.states[0].metadata.consumed_time, ledger::Timestamp(2000));
  EXPECT_EQ(quantities(query(QueryCriteria::unconsumed())), (std::vector<uint64_t>{70}));
}

TEST_P(VaultTest, ConsumesInputsItHolds) {
  ledger::WireTransaction issued = issue({{"alice", 100}, {"alice", 20}});
  record(issued, ours({"alice"}), 1000);
  ledger::WireTransaction spend =
      move({ledger::StateRef{issued.id(), 0}}, "alice", {{"bob", 60}, {"alice", 40}});
  VaultUpdate update = record(spend, ours({"alice"}), 2000);
  ASSERT_EQ(update.consumed.size(), 1u);
  EXPECT_EQ(update.consumed[0].ref, (ledger::StateRef{issued.id(), 0}));
  EXPECT_EQ(update.consumed[0].metadata.status, StateStatus::kConsumed);
  ASSERT_EQ(update.produced.size(), 1u);
  EXPECT_EQ(update.produced[0].ref, (ledger::StateRef{spend.id(), 1}));

  EXPECT_EQ(quantities(query(QueryCriteria::unconsumed(), {},
                             {Sort{CustomColumn{"cash", "quantity"}, false}})),
            (std::vector<uint64_t>{20, 40}));
  Page consumed = query(QueryCriteria::consumed());
  ASSERT_EQ(consumed.states.size(), 1u);
  EXPECT_EQ(consumed.states[0].metadata.consumed_time, ledger::Timestamp(2000));
  EXPECT_EQ(vault().count(QueryCriteria::with_status(StateStatus::kAll)).value(), 3);
}

TEST_P(VaultTest, LoadsStatesByRefInTheOrderAsked) {
  ledger::WireTransaction tx = issue({{"alice", 1}, {"alice", 2}, {"alice", 3}});
  record(tx, ours({"alice"}), 1);
  const ledger::StateRef refs[] = {{tx.id(), 2}, {tx.id(), 0}};
  Status status = database().transact([&](storage::Session& session) -> Status {
    FOLIO_ASSIGN_OR_RETURN(std::vector<VaultState> states, vault().load(session, refs));
    EXPECT_EQ(states.size(), 2u);
    if (states.size() == 2) {
      EXPECT_EQ(quantity(states[0]), 3u);
      EXPECT_EQ(quantity(states[1]), 1u);
    }
    const ledger::StateRef missing[] = {{tx.id(), 0}, {tx.id(), 7}};
    Result<std::vector<VaultState>> refused = vault().load(session, missing);
    EXPECT_FALSE(refused.ok());
    if (!refused.ok()) {
      EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
    }
    return ok_status();
  });
  ASSERT_TRUE(status.ok()) << status.error().message();
}

TEST_P(VaultTest, CompoundParticipantIsRelevantThroughALeaf) {
  Result<crypto::PublicKey> joint = crypto::PublicKey::compound(
      1, {{ledger_.public_key("alice"), 1}, {ledger_.public_key("carol"), 1}});
  ASSERT_TRUE(joint.ok()) << joint.error().message();
  folio::testing::TxDsl tx = ledger_.transaction();
  tx.output(contracts::cash_output(amount(5), *joint, ledger_.notary()));
  tx.command(contracts::cash_issue(ledger_.public_key("bank")));
  tx.verifies();
  EXPECT_EQ(record(tx.wire(), ours({"carol"}), 1).produced.size(), 1u);
  EXPECT_EQ(vault().count(QueryCriteria::has_participant(*joint)).value(), 1);
}

// Coins recorded at times 100, 200, ...: GBP 10 alice, GBP 20 bob, USD 30 alice, GBP 40 alice
// (issuer "other"), GBP 50 carol; the first is then spent at time 1000.
class VaultCriteriaTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const Relevance all = ours({"alice", "bob", "carol"});
    first_ = issue({{"alice", 10}});
    record(first_, all, 100);
    record(issue({{"bob", 20}}), all, 200);
    record(issue({{"alice", 30}}, "USD"), all, 300);
    record(issue({{"alice", 40}}, "GBP", "other"), all, 400);
    record(issue({{"carol", 50}}), all, 500);
    record(move({ledger::StateRef{first_.id(), 0}}, "alice", {{"bob", 10}}), all, 1000);
  }
  std::vector<uint64_t> matching(QueryCriteria criteria) {
    return quantities(query(std::move(criteria), {}, {Sort{CustomColumn{"cash", "quantity"}}}));
  }
  static QueryCriteria cash_column(std::string column, ColumnOp op, Value value) {
    return QueryCriteria::column_matches("cash", std::move(column), op, std::move(value));
  }
  ledger::WireTransaction first_;
};

TEST_P(VaultCriteriaTest, StatusContractAndType) {
  EXPECT_EQ(matching(QueryCriteria::unconsumed()), (std::vector<uint64_t>{10, 20, 30, 40, 50}));
  EXPECT_EQ(matching(QueryCriteria::consumed()), (std::vector<uint64_t>{10}));
  EXPECT_EQ(matching(QueryCriteria::all()).size(), 6u);
  EXPECT_EQ(matching(QueryCriteria::contract_is("folio.Cash")).size(), 6u);
  EXPECT_TRUE(matching(QueryCriteria::contract_is("folio.Other")).empty());
  EXPECT_EQ(matching(QueryCriteria::state_type_is(std::string(kCashStateType))).size(), 6u);
  EXPECT_TRUE(matching(QueryCriteria::state_type_is("folio.Cash")).empty());
  EXPECT_EQ(matching(QueryCriteria::notary_is(ledger_.notary().name)).size(), 6u);
  EXPECT_TRUE(matching(QueryCriteria::notary_is("O=Elsewhere,L=Paris,C=FR")).empty());
}

TEST_P(VaultCriteriaTest, TimeRanges) {
  EXPECT_EQ(matching(QueryCriteria::recorded_between(ledger::Timestamp(200), ledger::Timestamp(400))),
            (std::vector<uint64_t>{20, 30}));
  EXPECT_EQ(matching(QueryCriteria::recorded_between(ledger::Timestamp(400), std::nullopt)),
            (std::vector<uint64_t>{10, 40, 50}));  // the 10 recorded by the move at 1000
  EXPECT_EQ(matching(QueryCriteria::recorded_between(std::nullopt, ledger::Timestamp(101))),
            (std::vector<uint64_t>{10}));
  EXPECT_EQ(matching(QueryCriteria::consumed_between(ledger::Timestamp(1000), ledger::Timestamp(1001))),
            (std::vector<uint64_t>{10}));
  EXPECT_TRUE(matching(QueryCriteria::consumed_between(std::nullopt, ledger::Timestamp(1000))).empty());
}

TEST_P(VaultCriteriaTest, Participants) {
  EXPECT_EQ(matching(QueryCriteria::unconsumed() &&
                     QueryCriteria::has_participant(ledger_.public_key("alice"))),
            (std::vector<uint64_t>{30, 40}));
  EXPECT_EQ(matching(QueryCriteria::has_participant(ledger_.public_key("bob"))),
            (std::vector<uint64_t>{10, 20}));
}

TEST_P(VaultCriteriaTest, CustomColumnOperators) {
  const QueryCriteria live = QueryCriteria::unconsumed();
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kEqual, int64_t{30})),
            (std::vector<uint64_t>{30}));
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kNotEqual, int64_t{30})),
            (std::vector<uint64_t>{10, 20, 40, 50}));
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kLess, int64_t{30})),
            (std::vector<uint64_t>{10, 20}));
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kLessOrEqual, int64_t{30})),
            (std::vector<uint64_t>{10, 20, 30}));
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kGreater, int64_t{30})),
            (std::vector<uint64_t>{40, 50}));
  EXPECT_EQ(matching(live && cash_column("quantity", ColumnOp::kGreaterOrEqual, int64_t{30})),
            (std::vector<uint64_t>{30, 40, 50}));
  EXPECT_EQ(matching(live && QueryCriteria::column_in("cash", "quantity",
                                                      {int64_t{20}, int64_t{50}, int64_t{99}})),
            (std::vector<uint64_t>{20, 50}));
  EXPECT_EQ(matching(live && cash_column("currency", ColumnOp::kEqual, std::string("USD"))),
            (std::vector<uint64_t>{30}));
  EXPECT_EQ(matching(live && cash_column("issuer", ColumnOp::kLike, std::string("O=oth%"))),
            (std::vector<uint64_t>{40}));
  EXPECT_TRUE(matching(cash_column("issuer", ColumnOp::kLike, std::string("o=OTH%"))).empty());
  EXPECT_EQ(matching(live && cash_column("owner_key", ColumnOp::kEqual,
                                         ledger_.public_key("carol").hex())),
            (std::vector<uint64_t>{50}));
  EXPECT_EQ(matching(live && cash_column("issuer_ref", ColumnOp::kEqual, Bytes{1})).size(), 5u);
  EXPECT_TRUE(matching(QueryCriteria::column_in("cash", "quantity", {})).empty());
}

TEST_P(VaultCriteriaTest, AndOrTrees) {
  const QueryCriteria gbp = cash_column("currency", ColumnOp::kEqual, std::string("GBP"));
  const QueryCriteria big = cash_column("quantity", ColumnOp::kGreaterOrEqual, int64_t{40});
  const QueryCriteria alice = QueryCriteria::has_participant(ledger_.public_key("alice"));
  // unconsumed AND ((GBP AND >= 40) OR (alice AND NOT-GBP-by-currency USD))
  EXPECT_EQ(matching(QueryCriteria::unconsumed() &&
                     ((gbp && big) ||
                      (alice && cash_column("currency", ColumnOp::kEqual, std::string("USD"))))),
            (std::vector<uint64_t>{30, 40, 50}));
  EXPECT_EQ(matching(QueryCriteria::consumed() || big), (std::vector<uint64_t>{10, 40, 50}));
  EXPECT_TRUE(matching(QueryCriteria::or_({})).empty());
  EXPECT_EQ(matching(QueryCriteria::and_({})).size(), 6u);
  EXPECT_EQ(vault().count(QueryCriteria::unconsumed() && (gbp || alice)).value(), 5);
  EXPECT_EQ(vault().count(QueryCriteria::unconsumed() && gbp && alice).value(), 1);
}

// Random criteria trees from a fixed seed: the SQL the vault runs and the in-memory matcher that
// feeds tracked queries must pick exactly the same states.
class CriteriaGenerator {
 public:
  CriteriaGenerator(folio::testing::LedgerDsl& ledger, std::vector<ledger::StateRef> refs)
      : ledger_(ledger), refs_(std::move(refs)) {}

  QueryCriteria any(int depth) {
    if (depth > 0 && pick(3) == 0) {
      std::vector<QueryCriteria> children;
      const size_t n = pick(4);
      for (size_t i = 0; i < n; ++i) children.push_back(any(depth - 1));
      return pick(2) == 0 ? QueryCriteria::and_(std::move(children))
                          : QueryCriteria::or_(std::move(children));
    }
    return leaf();
  }

 private:
  size_t pick(size_t n) { return static_cast<size_t>(random_() % n); }
  std::optional<ledger::Timestamp> bound() {
    static constexpr int64_t kTimes[] = {0, 100, 150, 200, 300, 400, 500, 1000, 1001, 2000};
    if (pick(4) == 0) return std::nullopt;
    return ledger::Timestamp(kTimes[pick(std::size(kTimes))]);
  }
  Value text_value(std::initializer_list<const char*> choices) {
    return std::string(*(choices.begin() + pick(choices.size())));
  }
  QueryCriteria leaf() {
    static constexpr const char* kNames[] = {"alice", "bob", "carol", "dave"};
    switch (pick(13)) {
      case 0:
        return QueryCriteria::with_status(static_cast<StateStatus>(pick(3)));
      case 1:
        return QueryCriteria::contract_is(pick(2) == 0 ? "folio.Cash" : "folio.Other");
      case 2:
        return QueryCriteria::state_type_is(pick(2) == 0 ? "folio.CashState" : "folio.Cash");
      case 3:
        return QueryCriteria::recorded_between(bound(), bound());
      case 4:
        return QueryCriteria::consumed_between(bound(), bound());
      case 5:
        return QueryCriteria::notary_is(pick(2) == 0 ? ledger_.notary().name : "O=Other");
      case 6:
        return QueryCriteria::has_participant(ledger_.public_key(kNames[pick(4)]));
      case 7: {
        const auto op = static_cast<ColumnOp>(pick(6));
        return QueryCriteria::column_matches("cash", "quantity", op,
                                             static_cast<int64_t>(pick(7) * 10));
      }
      case 8: {
        static constexpr ColumnOp kOps[] = {ColumnOp::kEqual, ColumnOp::kNotEqual, ColumnOp::kLess,
                                            ColumnOp::kGreaterOrEqual, ColumnOp::kLike};
        const ColumnOp op = kOps[pick(std::size(kOps))];
        return QueryCriteria::column_matches(
            "cash", "currency", op,
            op == ColumnOp::kLike ? text_value({"G%", "%D", "_B_", "%", "gbp", "G\\%"})
                                  : text_value({"GBP", "USD", "EUR", "A"}));
      }
      case 9: {
        std::vector<Value> values;
        const size_t n = pick(4);
        for (size_t i = 0; i < n; ++i) values.push_back(static_cast<int64_t>(pick(7) * 10));
        return QueryCriteria::column_in("cash", "quantity", std::move(values));
      }
      case 10:
        return QueryCriteria::column_matches("cash", "issuer", ColumnOp::kLike,
                                             text_value({"O=bank%", "O=other%", "%London%", "x"}));
      case 11:
        return pick(2) == 0 ? QueryCriteria::unlocked() : QueryCriteria::locked_by("flow-x");
      default: {
        std::vector<ledger::StateRef> some;
        for (const ledger::StateRef& ref : refs_)
          if (pick(3) == 0) some.push_back(ref);
        return QueryCriteria::ref_in(std::move(some));
      }
    }
  }

  folio::testing::LedgerDsl& ledger_;
  std::vector<ledger::StateRef> refs_;
  std::mt19937_64 random_{20261122};
};

TEST_P(VaultCriteriaTest, SqlAndInMemoryMatchingAgree) {
  Page everything = query(QueryCriteria::all());
  ASSERT_EQ(everything.states.size(), 6u);
  const ledger::StateRef locked[] = {everything.states[1].ref};
  ASSERT_TRUE(vault().lock("flow-x", locked, ledger::Timestamp(600)).ok());
  everything = query(QueryCriteria::all());
  std::vector<ledger::StateRef> refs;
  std::vector<StateFacts> facts;
  for (const VaultState& state : everything.states) {
    refs.push_back(state.ref);
    facts.push_back(vault().facts_of(state));
  }
  refs.push_back(ledger::StateRef{ledger::TxId(), 9});  // one the vault does not hold
  CriteriaGenerator generator(ledger_, refs);
  size_t nonempty = 0;
  for (int round = 0; round < 150; ++round) {
    const QueryCriteria criteria = generator.any(3);
    Page page = query(criteria, {1, 100});
    std::set<ledger::StateRef> from_sql;
    for (const VaultState& state : page.states) from_sql.insert(state.ref);
    EXPECT_EQ(page.total_states, static_cast<int64_t>(from_sql.size()));
    std::set<ledger::StateRef> in_memory;
    for (size_t i = 0; i < facts.size(); ++i)
      if (matches(criteria, facts[i], registry_)) in_memory.insert(everything.states[i].ref);
    EXPECT_EQ(from_sql, in_memory) << "round " << round;
    if (!from_sql.empty() && from_sql.size() < facts.size()) ++nonempty;
  }
  EXPECT_GT(nonempty, 20u);  // the generator is not degenerate
}

TEST_P(VaultCriteriaTest, InvalidCriteriaAreRefused) {
  Query query;
  query.criteria = cash_column("nonexistent", ColumnOp::kEqual, int64_t{1});
  Result<Page> page = vault().query(query);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
}

class VaultPagingTest : public VaultTest {};

TEST_P(VaultPagingTest, PagesWithTotalsAndSorting) {
  // Seven coins recorded at times 7, 6, ..., 1 with quantities 1..7 in a shuffled order.
  const std::vector<uint64_t> order = {4, 1, 7, 3, 6, 2, 5};
  for (size_t i = 0; i < order.size(); ++i)
    record(issue({{"alice", order[i]}}), ours({"alice"}), static_cast<int64_t>(7 - i));
  const std::vector<Sort> by_quantity_desc = {Sort{CustomColumn{"cash", "quantity"}, true}};
  Page first = query(QueryCriteria::unconsumed(), {1, 3}, by_quantity_desc);
  Page second = query(QueryCriteria::unconsumed(), {2, 3}, by_quantity_desc);
  Page third = query(QueryCriteria::unconsumed(), {3, 3}, by_quantity_desc);
  Page fourth = query(QueryCriteria::unconsumed(), {4, 3}, by_quantity_desc);
  EXPECT_EQ(quantities(first), (std::vector<uint64_t>{7, 6, 5}));
  EXPECT_EQ(quantities(second), (std::vector<uint64_t>{4, 3, 2}));
  EXPECT_EQ(quantities(third), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(fourth.states.empty());
  for (const Page* page : {&first, &second, &third, &fourth}) EXPECT_EQ(page->total_states, 7);

  // Default order is by recorded time: the last recorded (time 1) first.
  EXPECT_EQ(quantities(query(QueryCriteria::unconsumed(), {1, 2})),
            (std::vector<uint64_t>{5, 2}));
  EXPECT_EQ(quantities(query(QueryCriteria::unconsumed(), {1, 2},
                             {Sort{SortAttribute::kRecordedTime, true}})),
            (std::vector<uint64_t>{4, 1}));
  // A filter changes the total.
  Page small = query(QueryCriteria::unconsumed() &&
                         QueryCriteria::column_matches("cash", "quantity", ColumnOp::kLess,
                                                       int64_t{4}),
                     {1, 2}, by_quantity_desc);
  EXPECT_EQ(quantities(small), (std::vector<uint64_t>{3, 2}));
  EXPECT_EQ(small.total_states, 3);

  // Without the count: the same page, and a total that says it was not counted.
  Query uncounted;
  uncounted.criteria = QueryCriteria::unconsumed();
  uncounted.page = {2, 3};
  uncounted.sort = by_quantity_desc;
  uncounted.count_total = false;
  Result<Page> page = vault().query(uncounted);
  ASSERT_TRUE(page.ok()) << page.error().message();
  EXPECT_EQ(quantities(*page), (std::vector<uint64_t>{4, 3, 2}));
  EXPECT_EQ(page->total_states, -1);
}

class VaultTrackTest : public VaultTest {};

TEST_P(VaultTrackTest, SnapshotThenCommittedUpdatesOnly) {
  ledger::WireTransaction first = issue({{"alice", 10}});
  record(first, ours({"alice"}), 1);
  std::vector<VaultUpdate> seen;
  Query gbp;
  gbp.criteria = QueryCriteria::unconsumed() &&
                 QueryCriteria::column_matches("cash", "currency", ColumnOp::kEqual,
                                               std::string("GBP"));
  Result<Tracked> tracked =
      vault().track(gbp, [&](const VaultUpdate& update) { seen.push_back(update); });
  ASSERT_TRUE(tracked.ok()) << tracked.error().message();
  ASSERT_EQ(tracked->snapshot.states.size(), 1u);

  // A recording that is rolled back reaches nobody.
  ledger::WireTransaction second = issue({{"alice", 20}});
  Status rolled_back = database().transact([&](storage::Session& session) -> Status {
    Result<VaultUpdate> update = vault().record(session, second, ours({"alice"}),
                                                ledger::Timestamp(2));
    EXPECT_TRUE(update.ok());
    return make_error(ErrorCode::kInternal, "the flow failed after recording");
  });
  ASSERT_FALSE(rolled_back.ok());
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(vault().count(QueryCriteria::all()).value(), 1);

  // Committed: delivered. A USD coin does not match the criteria.
  record(second, ours({"alice"}), 3);
  record(issue({{"alice", 30}}, "USD"), ours({"alice"}), 4);
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_EQ(seen[0].produced.size(), 1u);
  EXPECT_EQ(quantity(seen[0].produced[0]), 20u);

  // Spending a tracked coin reports it consumed, with the change produced.
  record(move({ledger::StateRef{first.id(), 0}}, "alice", {{"bob", 4}, {"alice", 6}}),
         ours({"alice"}), 5);
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(seen[1].consumed.size(), 1u);
  EXPECT_EQ(seen[1].consumed[0].ref, (ledger::StateRef{first.id(), 0}));
  ASSERT_EQ(seen[1].produced.size(), 1u);
  EXPECT_EQ(quantity(seen[1].produced[0]), 6u);

  vault().unsubscribe(tracked->id);
  record(issue({{"alice", 40}}), ours({"alice"}), 6);
  EXPECT_EQ(seen.size(), 2u);
}

class VaultLockTest : public VaultTest {
 protected:
  std::vector<ledger::StateRef> coins(size_t n) {
    std::vector<std::pair<std::string, uint64_t>> outputs;
    for (size_t i = 0; i < n; ++i) outputs.emplace_back("alice", 10 + i);
    ledger::WireTransaction tx = issue(outputs);
    record(tx, ours({"alice"}), 1);
    std::vector<ledger::StateRef> refs;
    for (uint32_t i = 0; i < n; ++i) refs.push_back(ledger::StateRef{tx.id(), i});
    return refs;
  }
};

TEST_P(VaultLockTest, ConflictsAndRelease) {
  std::vector<ledger::StateRef> refs = coins(3);
  const ledger::Timestamp t(50);
  ASSERT_TRUE(vault().lock("flow-a", std::span(refs).first(2), t).ok());
  ASSERT_TRUE(vault().lock("flow-a", std::span(refs).first(1), t).ok());  // relock: fine
  // flow-b wants the free one and a locked one: refused, and it keeps neither.
  const ledger::StateRef wanted[] = {refs[2], refs[1]};
  Status refused = vault().lock("flow-b", wanted, t);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().context.find("flow-a"), std::string::npos);
  EXPECT_EQ(vault().count(QueryCriteria::unlocked()).value(), 1);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-a")).value(), 2);
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-b")).value(), 0);

  Page locked = query(QueryCriteria::locked_by("flow-a"));
  ASSERT_EQ(locked.states.size(), 2u);
  EXPECT_EQ(locked.states[0].metadata.lock_id, std::optional<std::string>("flow-a"));
  EXPECT_EQ(locked.states[0].metadata.lock_time, t);

  EXPECT_EQ(vault().release("flow-a").value(), 2);
  EXPECT_EQ(vault().release("flow-a").value(), 0);
  EXPECT_TRUE(vault().lock("flow-b", wanted, t).ok());
  // Partial release.
  Status partial = database().transact([&](storage::Session& session) -> Status {
    const ledger::StateRef one[] = {refs[2]};
    FOLIO_ASSIGN_OR_RETURN(int64_t released, vault().release(session, "flow-b", one));
    EXPECT_EQ(released, 1);
    return ok_status();
  });
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-b")).value(), 1);
}

TEST_P(VaultLockTest, ConsumedStatesLoseTheirLockAndCannotBeLocked) {
  std::vector<ledger::StateRef> refs = coins(2);
  ASSERT_TRUE(vault().lock("flow-a", refs, ledger::Timestamp(5)).ok());
  record(move({refs[0]}, "alice", {{"bob", 10}}), ours({"alice"}), 10);
  Page consumed = query(QueryCriteria::consumed());
  ASSERT_EQ(consumed.states.size(), 1u);
  EXPECT_FALSE(consumed.states[0].metadata.lock_id.has_value());
  EXPECT_FALSE(consumed.states[0].metadata.lock_time.has_value());
  EXPECT_EQ(vault().count(QueryCriteria::locked_by("flow-a")).value(), 1);

  const ledger::StateRef spent[] = {refs[0]};
  Status status = vault().lock("flow-b", spent, ledger::Timestamp(11));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_NE(status.error().context.find("consumed"), std::string::npos);

  const ledger::StateRef unknown[] = {ledger::StateRef{ledger::TxId(), 3}};
  Status missing = vault().lock("flow-b", unknown, ledger::Timestamp(11));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

class VaultSqlTest : public VaultTest {};

TEST_P(VaultSqlTest, ReportQueriesReadButNeverWrite) {
  record(issue({{"alice", 10}, {"alice", 32}}), ours({"alice"}), 1);
  const Value gbp[] = {std::string("GBP")};
  Result<storage::Rows> rows = vault().read_only_sql(
      "SELECT c.currency, SUM(c.quantity), COUNT(*) FROM vault_states v JOIN cash_states c ON "
      "c.tx_id = v.tx_id AND c.output_index = v.output_index WHERE v.status = 'unconsumed' AND "
      "c.currency = ? GROUP BY c.currency",
      gbp);
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].text(0), "GBP");
  EXPECT_EQ((*rows)[0].integer(1), 42);
  EXPECT_EQ((*rows)[0].integer(2), 2);
  for (std::string_view sql :
       {"UPDATE vault_states SET lock_id = 'mine'", "DELETE FROM cash_states",
        "INSERT INTO vault_participants (tx_id, output_index, participant_key) VALUES ('a', 0, "
        "'b')",
        "DROP TABLE vault_states", "CREATE TABLE sneaky (x INTEGER)"}) {
    Result<storage::Rows> refused = vault().read_only_sql(sql);
    ASSERT_FALSE(refused.ok()) << sql;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << sql;
  }
  EXPECT_EQ(vault().count(QueryCriteria::unlocked()).value(), 2);
}

TEST_P(VaultSqlTest, ReopeningRunsNoMigrationTwice) {
  record(issue({{"alice", 10}}), ours({"alice"}), 1);
  Result<std::unique_ptr<Vault>> again = Vault::open(database(), registry_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ((*again)->count(QueryCriteria::all()).value(), 1);
  // A registry with a newer cash schema than... the same version: fine; an unknown newer
  // database version is refused by Database::migrate (tested in storage).
}

// An app's own schema next to the platform's: "big" holds cash states of at least 50 with a REAL
// and a TEXT column; version 2 adds a column through an upgrade.
VaultSchema big_schema(int64_t version) {
  VaultSchema schema;
  schema.name = "big";
  schema.version = version;
  schema.table = "big_states";
  schema.columns = {{"amount", ColumnType::kReal, true}, {"note", ColumnType::kText, false}};
  if (version >= 2) {
    schema.columns.push_back({"owner_hex", ColumnType::kText, false});
    schema.upgrades = {{2, "owner column", {"ALTER TABLE big_states ADD COLUMN owner_hex TEXT"}}};
  }
  schema.map = [version](const ledger::TransactionState& state)
      -> std::optional<std::vector<Value>> {
    Result<contracts::CashState> cash = contracts::decode_cash(state);
    if (!cash.ok() || cash->amount.quantity < 50) return std::nullopt;
    std::vector<Value> values = {static_cast<double>(cash->amount.quantity) / 100,
                                 std::string("big ") + cash->amount.token.currency};
    if (version >= 2) values.emplace_back(cash->owner.hex());
    return values;
  };
  return schema;
}

class VaultSchemaTest : public VaultTest {};

TEST_P(VaultSchemaTest, AppSchemasAreQueriedAndUpgraded) {
  VaultRegistry registry;
  ASSERT_TRUE(register_cash(registry).ok());
  ASSERT_TRUE(registry.add_schema(big_schema(1)).ok());
  Result<std::unique_ptr<Vault>> opened = Vault::open(database(), registry);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  Vault& v1 = **opened;
  ASSERT_TRUE(v1.record_and_publish(issue({{"alice", 10}, {"alice", 60}, {"alice", 80}}),
                                    ours({"alice"}), ledger::Timestamp(1))
                  .ok());
  ASSERT_TRUE(v1.record_and_publish(issue({{"alice", 70}}, "USD"), ours({"alice"}),
                                    ledger::Timestamp(2))
                  .ok());
  auto count = [](Vault& vault, QueryCriteria criteria) {
    Result<int64_t> n = vault.count(criteria);
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? *n : -1;
  };
  EXPECT_EQ(count(v1, QueryCriteria::column_matches("big", "amount", ColumnOp::kGreater, 0.65)), 2);
  EXPECT_EQ(count(v1, QueryCriteria::column_matches("big", "note", ColumnOp::kEqual,
                                                    std::string("big GBP"))),
            2);
  // Across two schemas: USD cash, or big and over 0.7.
  EXPECT_EQ(count(v1, QueryCriteria::column_matches("cash", "currency", ColumnOp::kEqual,
                                                    std::string("USD")) ||
                          QueryCriteria::column_matches("big", "amount", ColumnOp::kGreater, 0.7)),
            2);
  Query sorted;
  sorted.sort = {Sort{CustomColumn{"big", "amount"}, true}};
  Result<Page> page = v1.query(sorted);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(quantities(*page), (std::vector<uint64_t>{80, 70, 60, 10}));  // NULLs last

  // Version 2 of the app: the upgrade runs once, new states fill the new column.
  VaultRegistry registry2;
  ASSERT_TRUE(register_cash(registry2).ok());
  ASSERT_TRUE(registry2.add_schema(big_schema(2)).ok());
  Result<std::unique_ptr<Vault>> upgraded = Vault::open(database(), registry2);
  ASSERT_TRUE(upgraded.ok()) << upgraded.error().message();
  ASSERT_TRUE((*upgraded)->record_and_publish(issue({{"alice", 90}}), ours({"alice"}),
                                              ledger::Timestamp(3))
                  .ok());
  EXPECT_EQ(count(**upgraded, QueryCriteria::column_matches("big", "owner_hex", ColumnOp::kEqual,
                                                            ledger_.public_key("alice").hex())),
            1);
  // Going back to version 1 code is refused.
  Result<std::unique_ptr<Vault>> downgraded = Vault::open(database(), registry);
  ASSERT_FALSE(downgraded.ok());
  EXPECT_EQ(downgraded.error().code, ErrorCode::kConflict);
}

TEST_P(VaultSchemaTest, ASchemaGivingWrongValuesFailsTheRecording) {
  VaultRegistry registry;
  ASSERT_TRUE(register_cash(registry).ok());
  VaultSchema broken = big_schema(1);
  broken.map = [](const ledger::TransactionState&) -> std::optional<std::vector<Value>> {
    return std::vector<Value>{std::string("not a number"), std::string("x")};
  };
  ASSERT_TRUE(registry.add_schema(broken).ok());
  Result<std::unique_ptr<Vault>> opened = Vault::open(database(), registry);
  ASSERT_TRUE(opened.ok());
  Status status =
      (*opened)->record_and_publish(issue({{"alice", 60}}), ours({"alice"}), ledger::Timestamp(1));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*opened)->count(QueryCriteria::all()).value(), 0);  // nothing half-recorded
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultSchemaTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultCriteriaTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultPagingTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultTrackTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultLockTest);
FOLIO_INSTANTIATE_BOTH_BACKENDS(VaultSqlTest);

}  // namespace
}  // namespace folio::vault
