// The transaction store on SQLite and PostgreSQL: round trips, certificates, paging, atomic writes
// with a caller's session, and resolution through the StateLoader adapter.
#include "node/tx_store.h"

#include <gtest/gtest.h>

#include "ledger/verify.h"
#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

using ledger::StateRef;

crypto::PrivateKey key_named(std::string_view name) {
  return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
}

class TxStoreTest : public storage::testing::BothBackends {
 protected:
  ledger::SignedTransaction make(int outputs, std::vector<StateRef> inputs = {}) {
    ledger::WireTransaction tx;
    tx.inputs = std::move(inputs);
    for (int i = 0; i < outputs; ++i) {
      ledger::TransactionState s;
      s.data = to_bytes("state " + std::to_string(i));
      s.contract = "test.Any";
      s.notary = notary_;
      s.constraint = ledger::AlwaysAcceptConstraint{};
      tx.outputs.push_back(std::move(s));
    }
    tx.commands.push_back(ledger::Command{"test.Any", "Go", {}, {alice_.public_key()}});
    tx.notary = notary_;
    tx.salt = crypto::sha256(as_bytes("salt" + std::to_string(++salt_)));
    ledger::SignedTransaction stx{tx, {}};
    stx.signatures.push_back(ledger::sign_transaction(alice_, stx.id()));
    return stx;
  }

  notary::NotarisationCertificate certificate_for(const ledger::TxId& id) {
    crypto::Hash256 leaf = notary::batch_leaf(id);
    notary::BatchCertificate c;
    c.notary_key = notary_key_.public_key();
    c.leaf_count = 1;
    c.root = crypto::merkle_root(std::span(&leaf, 1));
    c.signature = notary_key_.sign(notary::batch_signature_payload(1, c.root));
    c.branch = crypto::merkle_prove(std::span(&leaf, 1), 0);
    return c;
  }

  crypto::PrivateKey alice_ = key_named("alice");
  crypto::PrivateKey notary_key_ = key_named("notary");
  ledger::Party notary_{"O=Notary,L=Zurich,C=CH", notary_key_.public_key()};
  int salt_ = 0;
};

// Tests whose subject is not the SQL itself run on SQLite only: each PostgreSQL test process
// starts a throwaway server, and the suite must stay fast.
class TxStoreLogicTest : public TxStoreTest {};

TEST_P(TxStoreTest, RecordsAndFindsTransactionsById) {
  auto store = TransactionStore::open(database());
  ASSERT_TRUE(store.ok()) << store.error().message();
  ledger::SignedTransaction stx = make(2);
  ASSERT_TRUE((*store)->record(stx).ok());
  auto got = (*store)->get(stx.id());
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->transaction, stx);
  EXPECT_FALSE(got->is_final());
  EXPECT_EQ(got->sequence, TransactionSequence(1));
  EXPECT_TRUE(*(*store)->contains(stx.id()));

  ledger::SignedTransaction unknown = make(1);
  EXPECT_EQ((*store)->get(unknown.id()).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(*(*store)->contains(unknown.id()));
}

TEST_P(TxStoreTest, CertificateMakesATransactionFinalAndIsNeverCleared) {
  auto store = std::move(TransactionStore::open(database())).value();
  ledger::SignedTransaction stx = make(1);
  ASSERT_TRUE(store->record(stx).ok());
  notary::NotarisationCertificate cert = certificate_for(stx.id());
  ASSERT_TRUE(store->set_certificate(stx.id(), cert).ok());
  // Recording again without a certificate keeps it.
  ASSERT_TRUE(store->record(stx).ok());
  auto got = store->get(stx.id());
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->is_final());
  EXPECT_EQ(*got->certificate, cert);
  notary::NotaryEntry entry{notary_, false, notary::NotaryKind::kSingle, std::nullopt};
  EXPECT_TRUE(notary::verify_notarisation(stx.id(), *got->certificate, entry).ok());
  EXPECT_EQ(*store->count(), 1);

  ledger::SignedTransaction other = make(1);
  EXPECT_EQ(store->set_certificate(other.id(), cert).error().code, ErrorCode::kNotFound);
}

TEST_P(TxStoreLogicTest, RecordingAgainReplacesSignaturesIdempotently) {
  auto store = std::move(TransactionStore::open(database())).value();
  ledger::SignedTransaction stx = make(1);
  ledger::SignedTransaction fewer = stx;
  fewer.signatures.clear();
  ASSERT_TRUE(store->record(fewer).ok());
  ASSERT_TRUE(store->record(stx, certificate_for(stx.id())).ok());
  auto got = store->get(stx.id());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->transaction.signatures.size(), 1u);
  EXPECT_TRUE(got->is_final());
  EXPECT_EQ(got->sequence, TransactionSequence(1));
}

TEST_P(TxStoreTest, IteratesInRecordingOrderAPageAtATime) {
  auto store = std::move(TransactionStore::open(database())).value();
  std::vector<ledger::TxId> ids;
  for (int i = 0; i < 7; ++i) {
    ledger::SignedTransaction stx = make(1);
    ids.push_back(stx.id());
    ASSERT_TRUE(store->record(stx).ok());
  }
  std::vector<ledger::TxId> seen;
  ASSERT_TRUE(store
                  ->for_each(
                      [&](const StoredTransaction& t) {
                        seen.push_back(t.transaction.id());
                        return true;
                      },
                      3)
                  .ok());
  EXPECT_EQ(seen, ids);
  auto page = store->list(TransactionSequence(5), 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].transaction.id(), ids[5]);
  size_t visited = 0;
  ASSERT_TRUE(store->for_each([&](const StoredTransaction&) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2u);
}

TEST_P(TxStoreTest, SessionWritesCommitOrRollBackWithTheCallersTransaction) {
  auto store = std::move(TransactionStore::open(database())).value();
  ledger::SignedTransaction kept = make(1);
  ledger::SignedTransaction dropped = make(1);
  ASSERT_TRUE(
      database().transact([&](storage::Session& s) { return store->record(s, kept); }).ok());
  Status failed = database().transact([&](storage::Session& s) -> Status {
    FOLIO_TRY(store->record(s, dropped));
    EXPECT_TRUE(store->get(s, dropped.id()).ok());  // visible inside the transaction
    return make_error(ErrorCode::kConflict, "the flow step failed");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_TRUE(*store->contains(kept.id()));
  EXPECT_FALSE(*store->contains(dropped.id()));
}

TEST_P(TxStoreLogicTest, StateLoaderResolvesRecordedOutputs) {
  auto store = std::move(TransactionStore::open(database())).value();
  ledger::SignedTransaction issue = make(2);
  ASSERT_TRUE(store->record(issue).ok());
  StoreStateLoader loader(*store);
  auto state = loader.load(StateRef{issue.id(), 1});
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, issue.tx.outputs[1]);
  EXPECT_EQ(loader.load(StateRef{issue.id(), 2}).error().code, ErrorCode::kNotFound);

  ledger::SignedTransaction spend = make(1, {StateRef{issue.id(), 0}});
  ledger::MapAttachmentLoader attachments;
  auto resolved = ledger::resolve(spend.tx, spend.id(), loader, attachments);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message();
  EXPECT_EQ(resolved->inputs.at(0).state, issue.tx.outputs[0]);
  // What a validating notary is sent: the input proved against the recorded issuance.
  auto payload = notary::validating_payload(spend, store->lookup());
  ASSERT_TRUE(payload.ok()) << payload.error().message();
  ASSERT_EQ(payload->inputs.size(), 1u);
  EXPECT_TRUE(payload->inputs[0].verify().ok());
  EXPECT_EQ(payload->inputs[0].state, issue.tx.outputs[0]);
  ledger::SignedTransaction orphan = make(1, {StateRef{make(1).id(), 0}});
  EXPECT_EQ(notary::validating_payload(orphan, store->lookup()).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ledger::resolve(orphan.tx, orphan.id(), loader, attachments).ok());
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(TxStoreTest);
INSTANTIATE_TEST_SUITE_P(Sqlite, TxStoreLogicTest,
                         ::testing::Values(::folio::storage::Backend::kSqlite),
                         ::folio::storage::testing::backend_name);

}  // namespace
}  // namespace folio::node
