#include "node/tx_store.h"

#include <array>

namespace folio::node {
namespace {

constexpr std::string_view kComponent = "transactions";

const std::vector<storage::Migration>& migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "signed transactions by id, in the order first recorded, with their certificates",
       {"CREATE TABLE node_transactions (sequence INTEGER PRIMARY KEY, tx_id BLOB NOT NULL "
        "UNIQUE, body BLOB NOT NULL, certificate BLOB)"}},
  };
  return kMigrations;
}

storage::Value id_value(const ledger::TxId& id) {
  return storage::Value(Bytes(id.value().bytes.begin(), id.value().bytes.end()));
}

Error corrupt(const std::string& what) {
  return make_error(ErrorCode::kInternal, "transaction store: " + what);
}

// Columns: sequence, body, certificate. The database is ours, but its bytes are still checked
// rather than asserted on: a damaged file must give an error, not a crash.
Result<StoredTransaction> from_row(const storage::Row& row) {
  if (row.values.size() != 3 || !std::holds_alternative<int64_t>(row.values[0]) ||
      !std::holds_alternative<Bytes>(row.values[1]))
    return corrupt("a row has unexpected columns");
  StoredTransaction out;
  out.sequence = TransactionSequence(static_cast<uint64_t>(row.integer(0)));
  auto stx = codec::decode_from_bytes<ledger::SignedTransaction>(row.blob(1));
  if (!stx.ok()) return corrupt("a stored transaction does not decode: " + stx.error().context);
  out.transaction = std::move(stx).value();
  if (!row.is_null(2)) {
    if (!std::holds_alternative<Bytes>(row.values[2]))
      return corrupt("a certificate is not a blob");
    auto cert = codec::decode_from_bytes<notary::NotarisationCertificate>(row.blob(2));
    if (!cert.ok()) return corrupt("a stored certificate does not decode: " + cert.error().context);
    out.certificate = std::move(cert).value();
  }
  return out;
}

constexpr std::string_view kSelectById =
    "SELECT sequence, body, certificate FROM node_transactions WHERE tx_id = ?";

Result<StoredTransaction> single(Result<storage::Rows> rows, const ledger::TxId& id) {
  if (!rows.ok()) return rows.error();
  if (rows->empty())
    return make_error(ErrorCode::kNotFound, "transaction " + id.value().hex() + " is not recorded");
  return from_row(rows->front());
}

}  // namespace

Result<std::unique_ptr<TransactionStore>> TransactionStore::open(storage::Database& db) {
  FOLIO_TRY(db.migrate(kComponent, migrations()));
  return std::unique_ptr<TransactionStore>(new TransactionStore(db));
}

Status TransactionStore::record(const ledger::SignedTransaction& stx,
                                const std::optional<notary::NotarisationCertificate>& certificate) {
  return db_.transact([&](storage::Session& s) { return record(s, stx, certificate); });
}

Status TransactionStore::record(storage::Session& session, const ledger::SignedTransaction& stx,
                                const std::optional<notary::NotarisationCertificate>& certificate) {
  const ledger::TxId id = stx.id();
  storage::Value body(codec::encode_to_bytes(stx));
  std::array<storage::Value, 1> by_id = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows existing,
      session.query("SELECT sequence FROM node_transactions WHERE tx_id = ?", by_id));
  if (existing.empty()) {
    FOLIO_ASSIGN_OR_RETURN(
        storage::Rows last,
        session.query("SELECT COALESCE(MAX(sequence), 0) FROM node_transactions"));
    if (last.empty() || !std::holds_alternative<int64_t>(last[0].values.at(0)))
      return corrupt("cannot read the last sequence number");
    storage::Value sequence(last[0].integer(0) + 1);
    storage::Value cert = certificate ? storage::Value(codec::encode_to_bytes(*certificate))
                                      : storage::Value(std::monostate{});
    std::array<storage::Value, 4> params = {sequence, id_value(id), body, cert};
    FOLIO_TRY(session.exec(
        "INSERT INTO node_transactions (sequence, tx_id, body, certificate) VALUES (?, ?, ?, ?)",
        params));
    return ok_status();
  }
  std::array<storage::Value, 2> update = {body, id_value(id)};
  FOLIO_TRY(session.exec("UPDATE node_transactions SET body = ? WHERE tx_id = ?", update));
  if (certificate) FOLIO_TRY(set_certificate(session, id, *certificate));
  return ok_status();
}

Status TransactionStore::set_certificate(const ledger::TxId& id,
                                         const notary::NotarisationCertificate& cert) {
  return db_.transact([&](storage::Session& s) { return set_certificate(s, id, cert); });
}

Status TransactionStore::set_certificate(storage::Session& session, const ledger::TxId& id,
                                         const notary::NotarisationCertificate& cert) {
  std::array<storage::Value, 2> params = {storage::Value(codec::encode_to_bytes(cert)),
                                          id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(
      int64_t changed,
      session.exec("UPDATE node_transactions SET certificate = ? WHERE tx_id = ?", params));
  if (changed == 0)
    return make_error(ErrorCode::kNotFound,
                      "transaction " + id.value().hex() + " is not recorded: no certificate set");
  return ok_status();
}

Result<StoredTransaction> TransactionStore::get(const ledger::TxId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  return single(db_.query(kSelectById, params), id);
}

Result<StoredTransaction> TransactionStore::get(storage::Session& session,
                                                const ledger::TxId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  return single(session.query(kSelectById, params), id);
}

Result<bool> TransactionStore::contains(const ledger::TxId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         db_.query("SELECT 1 FROM node_transactions WHERE tx_id = ?", params));
  return !rows.empty();
}

Result<int64_t> TransactionStore::count() const {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows, db_.query("SELECT COUNT(*) FROM node_transactions"));
  if (rows.empty() || !std::holds_alternative<int64_t>(rows[0].values.at(0)))
    return corrupt("cannot count transactions");
  return rows[0].integer(0);
}

Result<std::vector<StoredTransaction>> TransactionStore::list(TransactionSequence after,
                                                              size_t limit) const {
  std::array<storage::Value, 2> params = {storage::Value(static_cast<int64_t>(after.value())),
                                          storage::Value(static_cast<int64_t>(limit))};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT sequence, body, certificate FROM node_transactions WHERE sequence > ? "
                "ORDER BY sequence LIMIT ?",
                params));
  std::vector<StoredTransaction> out;
  out.reserve(rows.size());
  for (const storage::Row& row : rows) {
    FOLIO_ASSIGN_OR_RETURN(StoredTransaction t, from_row(row));
    out.push_back(std::move(t));
  }
  return out;
}

Status TransactionStore::for_each(const std::function<bool(const StoredTransaction&)>& visit,
                                  size_t page_size) const {
  if (page_size == 0) return make_error(ErrorCode::kInvalidArgument, "page size 0");
  TransactionSequence after(0);
  while (true) {
    FOLIO_ASSIGN_OR_RETURN(std::vector<StoredTransaction> page, list(after, page_size));
    for (const StoredTransaction& t : page) {
      if (!visit(t)) return ok_status();
      after = t.sequence;
    }
    if (page.size() < page_size) return ok_status();
  }
}

Result<ledger::TransactionState> TransactionStore::load_state(const ledger::StateRef& ref) const {
  auto stored = get(ref.tx_id);
  if (!stored.ok()) {
    if (stored.error().code == ErrorCode::kNotFound)
      return make_error(ErrorCode::kNotFound,
                        "state " + ref.describe() + ": its transaction is not recorded");
    return stored.error();
  }
  const auto& outputs = stored->transaction.tx.outputs;
  if (ref.index >= outputs.size())
    return make_error(ErrorCode::kNotFound, "state " + ref.describe() + ": transaction has only " +
                                                std::to_string(outputs.size()) + " outputs");
  return outputs[ref.index];
}

notary::TransactionLookup TransactionStore::lookup() const {
  return [this](const ledger::TxId& id) -> Result<ledger::WireTransaction> {
    FOLIO_ASSIGN_OR_RETURN(StoredTransaction stored, get(id));
    return std::move(stored.transaction.tx);
  };
}

}  // namespace folio::node
