// The single-node notary against SQLite and PostgreSQL: uniqueness, idempotence, references, time
// windows, both modes, batching with one signature, and a failed batch leaving nothing behind.
#include "notary/single_notary.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "storage/testing/both_backends.h"

namespace folio::notary {
namespace {

using ledger::ComponentGroup;
using ledger::StateRef;
using ledger::WireTransaction;

crypto::PrivateKey key_named(std::string_view name) {
  return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
}

constexpr std::string_view kGate = "test.Gate";

// Accepts everything except a command named "Reject".
class GateContract : public ledger::Contract {
 public:
  std::string_view name() const override { return kGate; }
  Status verify(const ledger::LedgerTransaction& tx) const override {
    for (const ledger::Command* c : tx.commands_of(kGate))
      if (c->name == "Reject") return ledger::reject("the gate rejects this transaction");
    return ok_status();
  }
};

// Fails on demand: the n-th write of a transaction, or the commit (after every write ran), so the
// real database rolls back what the batch wrote.
class FaultyDatabase : public storage::Database {
 public:
  explicit FaultyDatabase(storage::Database& inner) : inner_(inner) {}
  int fail_at_write = -1;  // 0-based index of the write to fail in the next transaction
  bool fail_commit = false;

  storage::Backend backend() const override { return inner_.backend(); }
  Status transact(const std::function<Status(storage::Session&)>& fn) override {
    return inner_.transact([&](storage::Session& session) -> Status {
      FaultySession faulty(session, fail_at_write);
      FOLIO_TRY(fn(faulty));
      if (fail_commit) return make_error(ErrorCode::kIo, "injected commit failure");
      return ok_status();
    });
  }
  Result<int64_t> exec(std::string_view sql, storage::Params params) override {
    return inner_.exec(sql, params);
  }
  Result<storage::Rows> query(std::string_view sql, storage::Params params) override {
    return inner_.query(sql, params);
  }
  Result<storage::Rows> query_read_only(std::string_view sql, storage::Params params) override {
    return inner_.query_read_only(sql, params);
  }
  Status migrate(std::string_view component,
                 std::span<const storage::Migration> migrations) override {
    return inner_.migrate(component, migrations);
  }

 private:
  class FaultySession : public storage::Session {
   public:
    FaultySession(storage::Session& inner, int fail_at) : inner_(inner), fail_at_(fail_at) {}
    Result<int64_t> exec(std::string_view sql, storage::Params params) override {
      if (writes_++ == fail_at_) return make_error(ErrorCode::kIo, "injected write failure");
      return inner_.exec(sql, params);
    }
    Result<storage::Rows> query(std::string_view sql, storage::Params params) override {
      return inner_.query(sql, params);
    }

   private:
    storage::Session& inner_;
    int fail_at_;
    int writes_ = 0;
  };
  storage::Database& inner_;
};

constexpr int64_t kNow = 1'700'000'000'000'000;

class SingleNotaryTest : public storage::testing::BothBackends {
 protected:
  void SetUp() override {
    BothBackends::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(registry_.add(std::make_unique<GateContract>()).ok());
    faulty_ = std::make_unique<FaultyDatabase>(database());
  }

  std::unique_ptr<SingleNotary> open(bool validating, size_t batch_max = 4096) {
    SingleNotaryConfig config{notary_, validating, batch_max};
    auto n = SingleNotary::open(*faulty_, notary_key_, config, clock_, &registry_, &attachments_);
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? std::move(n).value() : nullptr;
  }

  ledger::TransactionState state(std::string_view data) {
    ledger::TransactionState s;
    s.data = to_bytes(data);
    s.contract = std::string(kGate);
    s.notary = notary_;
    s.constraint = ledger::AlwaysAcceptConstraint{};
    return s;
  }

  // A transaction issuing `n` states; recorded so validating requests can prove them.
  WireTransaction issue(int n) {
    WireTransaction tx;
    for (int i = 0; i < n; ++i) tx.outputs.push_back(state("issued " + std::to_string(i)));
    tx.commands.push_back(ledger::Command{std::string(kGate), "Issue", {}, {alice_.public_key()}});
    tx.notary = notary_;
    tx.salt = next_salt();
    created_[tx.id()] = tx;
    return tx;
  }

  WireTransaction spend(std::vector<StateRef> inputs, std::vector<StateRef> references = {},
                        std::optional<ledger::TimeWindow> window = std::nullopt,
                        std::string command = "Move") {
    WireTransaction tx;
    tx.inputs = std::move(inputs);
    tx.references = std::move(references);
    tx.outputs.push_back(state("spent"));
    tx.commands.push_back(
        ledger::Command{std::string(kGate), std::move(command), {}, {alice_.public_key()}});
    tx.notary = notary_;
    tx.time_window = window;
    tx.salt = next_salt();
    created_[tx.id()] = tx;
    return tx;
  }

  static ledger::FilteredTransaction tear_off(const WireTransaction& tx) {
    return non_validating_payload(tx).tx;
  }

  NotarisationRequest non_validating(const WireTransaction& tx) {
    return make_request(non_validating_payload(tx), alice_);
  }

  NotarisationRequest validating(const WireTransaction& tx) {
    ledger::SignedTransaction stx{tx, {ledger::sign_transaction(alice_, tx.id())}};
    auto payload = validating_payload(stx, [&](const TxId& id) -> Result<WireTransaction> {
      auto it = created_.find(id);
      if (it == created_.end()) return make_error(ErrorCode::kNotFound, "unknown transaction");
      return it->second;
    });
    FOLIO_ASSERT(payload.ok());
    return make_request(std::move(payload).value(), alice_);
  }

  NotarisationResponse one(SingleNotary& notary, const NotarisationRequest& request) {
    auto responses = notary.process_batch(std::span(&request, 1));
    EXPECT_TRUE(responses.ok()) << responses.error().message();
    FOLIO_ASSERT(responses.ok() && responses->size() == 1);
    return std::move(responses->front());
  }

  void expect_certified(const NotarisationResponse& response, const TxId& id) {
    ASSERT_TRUE(response.notarised()) << response.refusal().describe();
    EXPECT_EQ(response.tx_id, id);
    Status s = verify_notarisation(id, response.certificate(), entry());
    EXPECT_TRUE(s.ok()) << s.error().message();
  }

  void expect_refused(const NotarisationResponse& response, RefusalReason reason) {
    ASSERT_FALSE(response.notarised());
    EXPECT_EQ(response.refusal().reason, reason) << response.refusal().describe();
  }

  NotaryEntry entry() const {
    return NotaryEntry{notary_, false, NotaryKind::kSingle, std::nullopt};
  }

  ledger::PrivacySalt next_salt() {
    ++salt_counter_;
    return crypto::sha256(as_bytes("salt" + std::to_string(salt_counter_)));
  }

  crypto::PrivateKey notary_key_ = key_named("notary");
  ledger::Party notary_{"O=Notary,L=Zurich,C=CH", notary_key_.public_key()};
  crypto::PrivateKey alice_ = key_named("alice");
  ManualClock clock_{ledger::Timestamp(kNow)};
  ledger::ContractRegistry registry_;
  ledger::MapAttachmentLoader attachments_;
  std::unique_ptr<FaultyDatabase> faulty_;
  std::map<TxId, WireTransaction> created_;
  uint64_t salt_counter_ = 0;
};

// Tests whose subject is not the SQL itself run on SQLite only: each PostgreSQL test process
// starts a throwaway server, and the suite must stay fast.
class SingleNotaryLogicTest : public SingleNotaryTest {};

TEST_P(SingleNotaryLogicTest, SingleSpendIsNotarised) {
  auto notary = open(false);
  WireTransaction coins = issue(2);
  WireTransaction pay = spend({StateRef{coins.id(), 0}, StateRef{coins.id(), 1}});
  expect_certified(one(*notary, non_validating(pay)), pay.id());
  auto by = notary->consumed_by(StateRef{coins.id(), 1});
  ASSERT_TRUE(by.ok());
  ASSERT_TRUE(by->has_value());
  EXPECT_EQ(**by, pay.id());
}

TEST_P(SingleNotaryTest, DoubleSpendIsRefusedNamingTheConsumer) {
  auto notary = open(false);
  WireTransaction coins = issue(2);
  WireTransaction first = spend({StateRef{coins.id(), 0}});
  WireTransaction second = spend({StateRef{coins.id(), 1}, StateRef{coins.id(), 0}});
  expect_certified(one(*notary, non_validating(first)), first.id());
  NotarisationResponse refused = one(*notary, non_validating(second));
  expect_refused(refused, RefusalReason::kConflict);
  ASSERT_EQ(refused.refusal().conflicts.size(), 1u);
  EXPECT_EQ(refused.refusal().conflicts[0].state, (StateRef{coins.id(), 0}));
  EXPECT_EQ(refused.refusal().conflicts[0].consumed_by, first.id());
  // The refused transaction consumed nothing, not even its unconflicted input.
  auto by = notary->consumed_by(StateRef{coins.id(), 1});
  ASSERT_TRUE(by.ok());
  EXPECT_FALSE(by->has_value());
}

TEST_P(SingleNotaryLogicTest, RenotarisingTheSameTransactionIsIdempotent) {
  auto notary = open(false);
  WireTransaction coins = issue(1);
  WireTransaction pay = spend({StateRef{coins.id(), 0}});
  expect_certified(one(*notary, non_validating(pay)), pay.id());
  clock_.advance_micros(1000);
  NotarisationResponse again = one(*notary, non_validating(pay));
  expect_certified(again, pay.id());
  // Also within one batch.
  std::vector<NotarisationRequest> twice = {non_validating(pay), non_validating(pay)};
  auto responses = notary->process_batch(twice);
  ASSERT_TRUE(responses.ok());
  for (const auto& r : *responses) expect_certified(r, pay.id());
}

TEST_P(SingleNotaryTest, ReferencesMustBeCurrentAndAreNotConsumed) {
  auto notary = open(false);
  WireTransaction data = issue(2);
  StateRef rate{data.id(), 0};
  WireTransaction reader = spend({StateRef{data.id(), 1}}, {rate});
  expect_certified(one(*notary, non_validating(reader)), reader.id());
  auto by = notary->consumed_by(rate);
  ASSERT_TRUE(by.ok());
  EXPECT_FALSE(by->has_value()) << "a reference must not be consumed";

  WireTransaction update = spend({rate});
  expect_certified(one(*notary, non_validating(update)), update.id());
  WireTransaction stale_reader = spend({}, {rate});
  NotarisationResponse refused = one(*notary, non_validating(stale_reader));
  expect_refused(refused, RefusalReason::kConflict);
  ASSERT_EQ(refused.refusal().conflicts.size(), 1u);
  EXPECT_TRUE(refused.refusal().conflicts[0].is_reference);
  EXPECT_EQ(refused.refusal().conflicts[0].consumed_by, update.id());
}

TEST_P(SingleNotaryLogicTest, TimeWindowIsCheckedAgainstTheNotaryClock) {
  auto notary = open(false);
  WireTransaction coins = issue(3);
  using ledger::Timestamp;
  WireTransaction early =
      spend({StateRef{coins.id(), 0}}, {}, ledger::TimeWindow{Timestamp(kNow + 10), std::nullopt});
  WireTransaction late = spend({StateRef{coins.id(), 1}}, {},
                               ledger::TimeWindow{std::nullopt, Timestamp(kNow)});  // exclusive
  WireTransaction inside = spend({StateRef{coins.id(), 2}}, {},
                                 ledger::TimeWindow{Timestamp(kNow - 5), Timestamp(kNow + 5)});
  expect_refused(one(*notary, non_validating(early)), RefusalReason::kTimeWindow);
  expect_refused(one(*notary, non_validating(late)), RefusalReason::kTimeWindow);
  expect_certified(one(*notary, non_validating(inside)), inside.id());
  // The early one's input was not consumed; once its time comes it is notarised.
  clock_.advance_micros(10);
  expect_certified(one(*notary, non_validating(early)), early.id());
}

TEST_P(SingleNotaryLogicTest, ForgedOrIncompleteFilteredTransactionIsRefused) {
  auto notary = open(false);
  WireTransaction coins = issue(2);
  WireTransaction pay = spend({StateRef{coins.id(), 0}});
  // Swap the revealed input for another state, keeping the original branch.
  ledger::FilteredTransaction forged = tear_off(pay);
  for (auto& g : forged.groups)
    if (g.group == ComponentGroup::kInputs)
      g.components.at(0).data = codec::encode_to_bytes(StateRef{coins.id(), 1});
  expect_refused(one(*notary, make_request(NonValidatingPayload{forged}, alice_)),
                 RefusalReason::kInvalidTransaction);
  // Hiding an input from the notary.
  WireTransaction two = spend({StateRef{coins.id(), 0}, StateRef{coins.id(), 1}});
  ledger::FilteredTransaction hidden = two.filter([](ComponentGroup g, uint32_t i) {
    return (g == ComponentGroup::kInputs && i == 0) || g == ComponentGroup::kReferences ||
           g == ComponentGroup::kNotary || g == ComponentGroup::kTimeWindow ||
           g == ComponentGroup::kSigners;
  });
  expect_refused(one(*notary, make_request(NonValidatingPayload{hidden}, alice_)),
                 RefusalReason::kMalformedRequest);
  for (uint32_t i = 0; i < 2; ++i) {
    auto by = notary->consumed_by(StateRef{coins.id(), i});
    ASSERT_TRUE(by.ok());
    EXPECT_FALSE(by->has_value());
  }
}

TEST_P(SingleNotaryLogicTest, RequesterMustBeAValidSigner) {
  auto notary = open(false);
  WireTransaction coins = issue(1);
  WireTransaction pay = spend({StateRef{coins.id(), 0}});
  crypto::PrivateKey mallory = key_named("mallory");
  expect_refused(one(*notary, make_request(NonValidatingPayload{tear_off(pay)}, mallory)),
                 RefusalReason::kBadRequester);
  NotarisationRequest bad_signature = non_validating(pay);
  bad_signature.requester.signature.bytes.bytes[0] ^= 1;
  expect_refused(one(*notary, bad_signature), RefusalReason::kBadRequester);
}

TEST_P(SingleNotaryLogicTest, TransactionForAnotherNotaryIsRefused) {
  auto notary = open(false);
  WireTransaction coins = issue(1);
  WireTransaction pay = spend({StateRef{coins.id(), 0}});
  pay.notary = ledger::Party{"O=Other,L=Oslo,C=NO", key_named("other").public_key()};
  expect_refused(one(*notary, non_validating(pay)), RefusalReason::kWrongNotary);
}

TEST_P(SingleNotaryLogicTest, ValidatingNotaryRunsTheContracts) {
  auto notary = open(true);
  WireTransaction coins = issue(3);
  WireTransaction good = spend({StateRef{coins.id(), 0}}, {StateRef{coins.id(), 2}});
  expect_certified(one(*notary, validating(good)), good.id());

  WireTransaction rejected = spend({StateRef{coins.id(), 1}}, {}, std::nullopt, "Reject");
  NotarisationResponse refusal = one(*notary, validating(rejected));
  expect_refused(refusal, RefusalReason::kInvalidTransaction);
  EXPECT_NE(refusal.refusal().message.find("gate rejects"), std::string::npos);

  // A proved input whose content was changed after proving.
  WireTransaction pay = spend({StateRef{coins.id(), 1}});
  NotarisationRequest forged = validating(pay);
  std::get<ValidatingPayload>(forged.payload).inputs[0].state.data = to_bytes("forged");
  expect_refused(one(*notary, forged), RefusalReason::kInvalidTransaction);
  // A non-validating payload is not what this notary takes.
  expect_refused(one(*notary, non_validating(pay)), RefusalReason::kMalformedRequest);
  expect_certified(one(*notary, validating(pay)), pay.id());
}

TEST_P(SingleNotaryTest, BatchIsSignedOnceWithABranchPerTransaction) {
  auto notary = open(false);
  constexpr int kBatch = 13;
  WireTransaction coins = issue(kBatch);
  std::vector<NotarisationRequest> requests;
  std::vector<TxId> ids;
  for (uint32_t i = 0; i < kBatch; ++i) {
    WireTransaction pay = spend({StateRef{coins.id(), i}});
    ids.push_back(pay.id());
    requests.push_back(non_validating(pay));
  }
  auto responses = notary->process_batch(requests);
  ASSERT_TRUE(responses.ok());
  ASSERT_EQ(responses->size(), static_cast<size_t>(kBatch));
  const auto& first = std::get<BatchCertificate>((*responses)[0].certificate());
  EXPECT_EQ(first.leaf_count, static_cast<uint32_t>(kBatch));
  std::set<uint32_t> indexes;
  for (int i = 0; i < kBatch; ++i) {
    expect_certified((*responses)[i], ids[i]);
    const auto& c = std::get<BatchCertificate>((*responses)[i].certificate());
    EXPECT_EQ(c.signature, first.signature);  // one signature for the whole batch
    EXPECT_EQ(c.root, first.root);
    indexes.insert(c.branch.index);
  }
  EXPECT_EQ(indexes.size(), static_cast<size_t>(kBatch));
  // A tampered branch, or a branch used for a neighbour, fails.
  auto tampered = std::get<BatchCertificate>((*responses)[4].certificate());
  tampered.branch.siblings.back().bytes[0] ^= 0x80;
  EXPECT_FALSE(verify_notarisation(ids[4], tampered, entry()).ok());
  EXPECT_FALSE(verify_notarisation(ids[5], (*responses)[4].certificate(), entry()).ok());
}

TEST_P(SingleNotaryTest, ConflictInsideOneBatchFirstWins) {
  auto notary = open(false);
  WireTransaction coins = issue(1);
  WireTransaction first = spend({StateRef{coins.id(), 0}});
  WireTransaction second = spend({StateRef{coins.id(), 0}});
  WireTransaction reader = spend({}, {StateRef{coins.id(), 0}});
  std::vector<NotarisationRequest> requests = {non_validating(first), non_validating(second),
                                               non_validating(reader)};
  auto responses = notary->process_batch(requests);
  ASSERT_TRUE(responses.ok());
  expect_certified((*responses)[0], first.id());
  expect_refused((*responses)[1], RefusalReason::kConflict);
  EXPECT_EQ((*responses)[1].refusal().conflicts.at(0).consumed_by, first.id());
  expect_refused((*responses)[2], RefusalReason::kConflict);
  EXPECT_EQ((*responses)[2].refusal().conflicts.at(0).consumed_by, first.id());
  EXPECT_EQ(std::get<BatchCertificate>((*responses)[0].certificate()).leaf_count, 1u);
}

TEST_P(SingleNotaryTest, FailedBatchLeavesNothingHalfApplied) {
  auto notary = open(false);
  WireTransaction coins = issue(3);
  std::vector<NotarisationRequest> requests;
  std::vector<TxId> ids;
  for (uint32_t i = 0; i < 3; ++i) {
    WireTransaction pay = spend({StateRef{coins.id(), i}});
    ids.push_back(pay.id());
    requests.push_back(non_validating(pay));
  }
  auto nothing_consumed = [&] {
    for (uint32_t i = 0; i < 3; ++i) {
      auto by = notary->consumed_by(StateRef{coins.id(), i});
      ASSERT_TRUE(by.ok());
      EXPECT_FALSE(by->has_value()) << "state " << i << " consumed by a failed batch";
    }
  };
  // A write in the middle of the batch fails: the second transaction's consumed state.
  faulty_->fail_at_write = 2;
  auto failed = notary->process_batch(requests);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kIo);
  faulty_->fail_at_write = -1;
  nothing_consumed();
  // Every write done, then the commit fails.
  faulty_->fail_commit = true;
  ASSERT_FALSE(notary->process_batch(requests).ok());
  faulty_->fail_commit = false;
  nothing_consumed();
  // Queued requests survive a failed flush and go through on the next.
  for (const auto& r : requests) notary->enqueue(r);
  faulty_->fail_commit = true;
  ASSERT_FALSE(notary->flush().ok());
  EXPECT_EQ(notary->queued(), 3u);
  faulty_->fail_commit = false;
  auto flushed = notary->flush();
  ASSERT_TRUE(flushed.ok());
  ASSERT_EQ(flushed->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*flushed)[i].first, Ticket(i + 1));
    expect_certified((*flushed)[i].second, ids[i]);
  }
  EXPECT_EQ(notary->queued(), 0u);
}

TEST_P(SingleNotaryTest, StateSurvivesReopening) {
  WireTransaction coins = issue(1);
  WireTransaction first = spend({StateRef{coins.id(), 0}});
  WireTransaction second = spend({StateRef{coins.id(), 0}});
  {
    auto notary = open(false);
    expect_certified(one(*notary, non_validating(first)), first.id());
  }
  auto reopened = open(false);  // migrations run again: nothing to do
  NotarisationResponse refused = one(*reopened, non_validating(second));
  expect_refused(refused, RefusalReason::kConflict);
  EXPECT_EQ(refused.refusal().conflicts.at(0).consumed_by, first.id());
}

TEST_P(SingleNotaryLogicTest, HostileEncodedRequestsAreRefusedNeverFatal) {
  auto notary = open(false);
  WireTransaction coins = issue(1);
  WireTransaction pay = spend({StateRef{coins.id(), 0}});
  Bytes valid = codec::encode_to_bytes(non_validating(pay));
  // Every single-bit flip of the request (one bit per byte, rotating), and plain garbage.
  std::vector<Bytes> hostile;
  for (size_t i = 0; i < valid.size(); ++i) {
    Bytes flipped = valid;
    flipped[i] ^= static_cast<uint8_t>(1u << (i % 8));
    hostile.push_back(std::move(flipped));
  }
  hostile.push_back(to_bytes("garbage"));
  hostile.push_back(Bytes(valid.begin(), valid.end() - 1));
  auto answers = notary->process_encoded_batch(hostile);
  ASSERT_TRUE(answers.ok()) << answers.error().message();
  ASSERT_EQ(answers->size(), hostile.size());
  for (const Bytes& answer : *answers) {
    auto response = decode_response(answer);
    ASSERT_TRUE(response.ok()) << response.error().message();
    // No flipped request may consume the state under another transaction's name.
    if (response->notarised()) {
      EXPECT_EQ(response->tx_id, pay.id());
    }
  }
  EXPECT_EQ(decode_response(answers->back())->refusal().reason, RefusalReason::kMalformedRequest);
  // The genuine request still goes through, unless a harmless flip already notarised it.
  std::vector<Bytes> genuine = {valid};
  auto answer = notary->process_encoded_batch(genuine);
  ASSERT_TRUE(answer.ok());
  auto response = decode_response(answer->at(0));
  ASSERT_TRUE(response.ok());
  expect_certified(*response, pay.id());
}

TEST_P(SingleNotaryLogicTest, RequestsQueuedFromManyThreadsAreAnsweredOnceEach) {
  auto notary = open(false, 64);
  constexpr uint32_t kThreads = 4, kEach = 25;
  WireTransaction coins = issue(kThreads * kEach);
  std::vector<NotarisationRequest> requests;
  for (uint32_t i = 0; i < kThreads * kEach; ++i)
    requests.push_back(non_validating(spend({StateRef{coins.id(), i}})));
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (uint32_t i = 0; i < kEach; ++i) notary->enqueue(requests[t * kEach + i]);
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(notary->queued(), static_cast<size_t>(kThreads * kEach));
  std::set<Ticket> tickets;
  size_t notarised = 0;
  while (notary->queued() > 0) {
    auto batch = notary->flush();
    ASSERT_TRUE(batch.ok());
    EXPECT_LE(batch->size(), 64u);
    for (const auto& [ticket, response] : *batch) {
      tickets.insert(ticket);
      if (response.notarised()) ++notarised;
    }
  }
  EXPECT_EQ(tickets.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(notarised, static_cast<size_t>(kThreads * kEach));
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(SingleNotaryTest);
INSTANTIATE_TEST_SUITE_P(Sqlite, SingleNotaryLogicTest,
                         ::testing::Values(::folio::storage::Backend::kSqlite),
                         ::folio::storage::testing::backend_name);

TEST(BatchTree, RootAndEveryProofAreCryptosOwn) {
  for (uint32_t n : {1u, 2u, 3u, 5u, 8u, 13u, 64u, 100u, 257u}) {
    std::vector<crypto::Hash256> leaves;
    for (uint32_t i = 0; i < n; ++i)
      leaves.push_back(crypto::sha256(as_bytes("leaf " + std::to_string(i))));
    BatchTree tree(leaves);
    EXPECT_EQ(tree.root(), crypto::merkle_root(leaves)) << n;
    for (uint32_t i = 0; i < n; ++i) {
      crypto::MerkleProof proof = tree.prove(i);
      EXPECT_EQ(proof, crypto::merkle_prove(leaves, i)) << n << " " << i;
      EXPECT_TRUE(crypto::merkle_verify(tree.root(), leaves[i], proof)) << n << " " << i;
    }
  }
}

}  // namespace
}  // namespace folio::notary
