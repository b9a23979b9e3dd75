#include "vault/vault.h"

#include <algorithm>

namespace folio::vault {
namespace {

using storage::Rows;
using storage::Session;
using storage::Value;

constexpr std::string_view kUnconsumed = "unconsumed";
constexpr std::string_view kConsumed = "consumed";

std::vector<storage::Migration> vault_migrations() {
  return {{1,
           "vault states and participants",
           {"CREATE TABLE vault_states (tx_id TEXT NOT NULL, output_index INTEGER NOT NULL, "
            "contract TEXT NOT NULL, state_type TEXT NOT NULL, notary_name TEXT NOT NULL, "
            "status TEXT NOT NULL, recorded_time INTEGER NOT NULL, consumed_time INTEGER, "
            "lock_id TEXT, lock_time INTEGER, state BLOB NOT NULL, "
            "PRIMARY KEY (tx_id, output_index))",
            "CREATE INDEX vault_states_status_contract ON vault_states (status, contract)",
            "CREATE INDEX vault_states_lock ON vault_states (lock_id)",
            "CREATE INDEX vault_states_recorded ON vault_states (recorded_time)",
            "CREATE INDEX vault_states_consumed ON vault_states (consumed_time)",
            "CREATE TABLE vault_participants (tx_id TEXT NOT NULL, output_index INTEGER NOT NULL, "
            "participant_key TEXT NOT NULL, PRIMARY KEY (tx_id, output_index, participant_key), "
            "FOREIGN KEY (tx_id, output_index) REFERENCES vault_states (tx_id, output_index))",
            "CREATE INDEX vault_participants_key ON vault_participants (participant_key)"}},
          {2,
           "inputs consumed before their state was recorded",
           {"CREATE TABLE vault_spent_refs (tx_id TEXT NOT NULL, output_index INTEGER NOT NULL, "
            "consumed_time INTEGER NOT NULL, PRIMARY KEY (tx_id, output_index))"}},
          // Coin selection asks for unconsumed, unlocked states of a contract: with lock_id in
          // the index it reads only those, not also every coin that running flows have locked.
          {3,
           "index spendable states on (status, contract, lock_id)",
           {"CREATE INDEX vault_states_spendable ON vault_states (status, contract, lock_id)",
            "DROP INDEX vault_states_status_contract"}}};
}

bool value_fits_column(const Value& value, ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return std::holds_alternative<int64_t>(value);
    case ColumnType::kReal:
      return std::holds_alternative<double>(value);
    case ColumnType::kText:
      return std::holds_alternative<std::string>(value);
    case ColumnType::kBlob:
      return std::holds_alternative<Bytes>(value);
  }
  return false;
}

std::optional<ledger::Timestamp> optional_time(const storage::Row& row, size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return ledger::Timestamp(row.integer(i));
}

Result<ledger::TxId> parse_tx_id(const std::string& hex) {
  FOLIO_ASSIGN_OR_RETURN(crypto::Hash256 hash, crypto::Hash256::from_hex(hex));
  return ledger::TxId(hash);
}

// Runs fn in a transaction of the database (a read-only snapshot when `read`) and returns its
// value.
template <class T, class Fn>
Result<T> in_transaction(storage::Database& database, bool read, Fn&& fn) {
  std::optional<T> out;
  auto body = [&](Session& session) -> Status {
    Result<T> result = fn(session);
    if (!result.ok()) return result.error();
    out = std::move(result).value();
    return ok_status();
  };
  FOLIO_TRY(read ? database.read_transaction(body) : database.transact(body));
  return std::move(*out);
}

}  // namespace

Relevance::Relevance(std::set<crypto::PublicKey> keys)
    : is_ours_([keys = std::move(keys)](const crypto::PublicKey& key) {
        return keys.contains(key);
      }) {}

Relevance::Relevance(std::function<bool(const crypto::PublicKey&)> is_ours)
    : is_ours_(std::move(is_ours)) {}

bool Relevance::is_relevant(const std::vector<crypto::PublicKey>& participants) const {
  for (const crypto::PublicKey& participant : participants) {
    if (is_ours_(participant)) return true;
    if (participant.is_compound())
      for (const crypto::PublicKey& leaf : participant.leaf_keys())
        if (is_ours_(leaf)) return true;
  }
  return false;
}

Result<VaultState> decode_state_row(const storage::Row& row) {
  auto malformed = [](const std::string& why) {
    return make_error(ErrorCode::kMalformed, "vault: stored state: " + why);
  };
  if (row.values.size() != 11) return malformed("wrong column count");
  for (size_t i : {0, 2, 3, 4, 5})
    if (!std::holds_alternative<std::string>(row.values[i])) return malformed("text expected");
  for (size_t i : {1, 6})
    if (!std::holds_alternative<int64_t>(row.values[i])) return malformed("integer expected");
  if (!std::holds_alternative<Bytes>(row.values[10])) return malformed("blob expected");
  for (size_t i : {7, 9})
    if (!row.is_null(i) && !std::holds_alternative<int64_t>(row.values[i]))
      return malformed("integer expected");
  if (!row.is_null(8) && !std::holds_alternative<std::string>(row.values[8]))
    return malformed("text expected");
  VaultState out;
  FOLIO_ASSIGN_OR_RETURN(out.ref.tx_id, parse_tx_id(row.text(0)));
  const int64_t index = row.integer(1);
  if (index < 0 || index > std::numeric_limits<uint32_t>::max()) return malformed("bad index");
  out.ref.index = static_cast<uint32_t>(index);
  out.metadata.contract = row.text(2);
  out.metadata.state_type = row.text(3);
  out.metadata.notary_name = row.text(4);
  if (row.text(5) == kUnconsumed) {
    out.metadata.status = StateStatus::kUnconsumed;
  } else if (row.text(5) == kConsumed) {
    out.metadata.status = StateStatus::kConsumed;
  } else {
    return malformed("bad status " + row.text(5));
  }
  out.metadata.recorded_time = ledger::Timestamp(row.integer(6));
  out.metadata.consumed_time = optional_time(row, 7);
  if (!row.is_null(8)) out.metadata.lock_id = row.text(8);
  out.metadata.lock_time = optional_time(row, 9);
  auto state = codec::decode_from_bytes<ledger::TransactionState>(row.blob(10));
  if (!state.ok()) return malformed(state.error().context);
  out.state = std::move(state).value();
  return out;
}

Result<std::unique_ptr<Vault>> Vault::open(storage::Database& database,
                                           const VaultRegistry& registry) {
  const std::vector<storage::Migration> own = vault_migrations();
  FOLIO_TRY(database.migrate("vault", own));
  for (const VaultSchema& schema : registry.schemas()) {
    const std::vector<storage::Migration> migrations = schema.migrations();
    FOLIO_TRY(database.migrate("vault.schema." + schema.name, migrations));
  }
  return std::unique_ptr<Vault>(new Vault(database, registry));
}

Result<VaultUpdate> Vault::record(Session& session, const ledger::WireTransaction& tx,
                                  const Relevance& relevance, ledger::Timestamp recorded_time) {
  VaultUpdate update;
  const ledger::TxId id = tx.id();
  const std::string id_hex = id.value().hex();
  const int64_t now = recorded_time.value();

  std::set<ledger::StateRef> seen;
  for (const ledger::StateRef& input : tx.inputs) {
    if (!seen.insert(input).second) continue;
    const Value key[] = {input.tx_id.value().hex(), static_cast<int64_t>(input.index),
                         std::string(kUnconsumed)};
    FOLIO_ASSIGN_OR_RETURN(
        Rows rows, session.query(std::string("SELECT ") + kStateColumns +
                                     " FROM vault_states v WHERE v.tx_id = ? AND "
                                     "v.output_index = ? AND v.status = ?",
                                 key));
    if (rows.empty()) {
      // Not (yet) here: remember that it is spent, in case its own transaction is recorded later
      // (out of dependency order), so that it can never appear unconsumed.
      const Value spent[] = {key[0], key[1], now};
      FOLIO_TRY(session.exec(
          "INSERT INTO vault_spent_refs (tx_id, output_index, consumed_time) VALUES (?, ?, ?) "
          "ON CONFLICT (tx_id, output_index) DO NOTHING",
          spent));
      continue;
    }
    FOLIO_ASSIGN_OR_RETURN(VaultState state, decode_state_row(rows[0]));
    const Value change[] = {std::string(kConsumed), now, key[0], key[1], key[2]};
    FOLIO_ASSIGN_OR_RETURN(
        int64_t changed,
        session.exec("UPDATE vault_states SET status = ?, consumed_time = ?, lock_id = NULL, "
                     "lock_time = NULL WHERE tx_id = ? AND output_index = ? AND status = ?",
                     change));
    if (changed != 1) continue;
    state.metadata.status = StateStatus::kConsumed;
    state.metadata.consumed_time = recorded_time;
    state.metadata.lock_id.reset();
    state.metadata.lock_time.reset();
    update.consumed.push_back(std::move(state));
  }

  for (uint32_t index = 0; index < tx.outputs.size(); ++index) {
    const ledger::TransactionState& output = tx.outputs[index];
    Result<VaultRegistry::Described> described = registry_.describe(output);
    // A state nobody described, or whose data its contract cannot read, is not this node's
    // business; the transaction itself was verified before it reached the vault.
    if (!described.ok() || !relevance.is_relevant(described->participants)) continue;
    const Value key[] = {id_hex, static_cast<int64_t>(index)};
    FOLIO_ASSIGN_OR_RETURN(
        Rows spent,
        session.query(
            "SELECT consumed_time FROM vault_spent_refs WHERE tx_id = ? AND output_index = ?", key));
    const bool already_spent = !spent.empty();
    const Value row[] = {id_hex,
                         static_cast<int64_t>(index),
                         output.contract,
                         described->state_type,
                         output.notary.name,
                         std::string(already_spent ? kConsumed : kUnconsumed),
                         now,
                         already_spent ? spent[0].values.at(0) : Value(),
                         codec::encode_to_bytes(output)};
    FOLIO_ASSIGN_OR_RETURN(
        int64_t inserted,
        session.exec("INSERT INTO vault_states (tx_id, output_index, contract, state_type, "
                     "notary_name, status, recorded_time, consumed_time, state) VALUES (?, ?, ?, "
                     "?, ?, ?, ?, ?, ?) ON CONFLICT (tx_id, output_index) DO NOTHING",
                     row));
    if (inserted != 1) continue;  // recorded before
    std::set<std::string> keys;
    for (const crypto::PublicKey& participant : described->participants)
      keys.insert(participant.hex());
    for (const std::string& key : keys) {
      const Value participant_row[] = {id_hex, static_cast<int64_t>(index), key};
      FOLIO_TRY(session.exec(
          "INSERT INTO vault_participants (tx_id, output_index, participant_key) VALUES (?, ?, ?) "
          "ON CONFLICT (tx_id, output_index, participant_key) DO NOTHING",
          participant_row));
    }
    for (const VaultSchema& schema : registry_.schemas()) {
      std::optional<std::vector<Value>> values = schema.map(output);
      if (!values) continue;
      if (values->size() != schema.columns.size())
        return make_error(ErrorCode::kInvalidArgument,
                          "vault schema " + schema.name + ": map gave " +
                              std::to_string(values->size()) + " values for " +
                              std::to_string(schema.columns.size()) + " columns");
      std::string sql = "INSERT INTO " + schema.table + " (tx_id, output_index";
      std::string placeholders = "?, ?";
      std::vector<Value> params = {id_hex, static_cast<int64_t>(index)};
      for (size_t c = 0; c < schema.columns.size(); ++c) {
        const Value& value = (*values)[c];
        if (!std::holds_alternative<std::monostate>(value) &&
            !value_fits_column(value, schema.columns[c].type))
          return make_error(ErrorCode::kInvalidArgument,
                            "vault schema " + schema.name + ": column " + schema.columns[c].name +
                                " is " + std::string(sql_type(schema.columns[c].type)));
        sql += ", " + schema.columns[c].name;
        placeholders += ", ?";
        params.push_back(value);
      }
      sql += ") VALUES (" + placeholders + ") ON CONFLICT (tx_id, output_index) DO NOTHING";
      FOLIO_TRY(session.exec(sql, params));
    }
    // A state recorded already consumed is history, not news: it is not in the update.
    if (already_spent) continue;
    VaultState state;
    state.ref = ledger::StateRef{id, index};
    state.state = output;
    state.metadata.contract = output.contract;
    state.metadata.state_type = described->state_type;
    state.metadata.notary_name = output.notary.name;
    state.metadata.status = StateStatus::kUnconsumed;
    state.metadata.recorded_time = recorded_time;
    update.produced.push_back(std::move(state));
  }
  return update;
}

StateFacts Vault::facts_of(const VaultState& state) const {
  StateFacts facts;
  facts.contract = state.metadata.contract;
  facts.state_type = state.metadata.state_type;
  facts.notary_name = state.metadata.notary_name;
  facts.status = state.metadata.status;
  facts.ref = state.ref;
  facts.recorded_time = state.metadata.recorded_time;
  facts.consumed_time = state.metadata.consumed_time;
  facts.lock_id = state.metadata.lock_id;
  Result<VaultRegistry::Described> described = registry_.describe(state.state);
  if (described.ok())
    for (const crypto::PublicKey& key : described->participants)
      facts.participant_keys.push_back(key.hex());
  for (const VaultSchema& schema : registry_.schemas()) {
    std::optional<std::vector<Value>> values = schema.map(state.state);
    if (values) facts.schema_values.emplace_back(schema.name, std::move(*values));
  }
  return facts;
}

void Vault::publish(const VaultUpdate& update) {
  if (update.empty() || subscriptions_.empty()) return;
  std::vector<StateFacts> produced;
  for (const VaultState& state : update.produced) produced.push_back(facts_of(state));
  std::vector<StateFacts> consumed_after;
  std::vector<StateFacts> consumed_before;
  for (const VaultState& state : update.consumed) {
    consumed_after.push_back(facts_of(state));
    StateFacts before = consumed_after.back();
    before.status = StateStatus::kUnconsumed;
    before.consumed_time.reset();
    consumed_before.push_back(std::move(before));
  }
  // Copy the ids first: a callback may unsubscribe (itself or another).
  std::vector<uint64_t> ids;
  for (const auto& [id, subscription] : subscriptions_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) continue;
    VaultUpdate filtered;
    for (size_t i = 0; i < produced.size(); ++i)
      if (matches(it->second.criteria, produced[i], registry_))
        filtered.produced.push_back(update.produced[i]);
    for (size_t i = 0; i < consumed_after.size(); ++i)
      if (matches(it->second.criteria, consumed_after[i], registry_) ||
          matches(it->second.criteria, consumed_before[i], registry_))
        filtered.consumed.push_back(update.consumed[i]);
    if (filtered.empty()) continue;
    std::function<void(const VaultUpdate&)> callback = it->second.on_update;
    callback(filtered);
  }
}

Status Vault::record_and_publish(const ledger::WireTransaction& tx, const Relevance& relevance,
                                 ledger::Timestamp recorded_time) {
  VaultUpdate update;
  FOLIO_TRY(database_.transact([&](Session& session) -> Status {
    FOLIO_ASSIGN_OR_RETURN(update, record(session, tx, relevance, recorded_time));
    return ok_status();
  }));
  publish(update);
  return ok_status();
}

Result<Page> Vault::query(Session& session, const Query& query) {
  FOLIO_ASSIGN_OR_RETURN(SqlQuery select, build_select(query, registry_));
  FOLIO_ASSIGN_OR_RETURN(Rows rows, session.query(select.sql, select.params));
  Page page;
  for (const storage::Row& row : rows) {
    FOLIO_ASSIGN_OR_RETURN(VaultState state, decode_state_row(row));
    page.states.push_back(std::move(state));
  }
  if (!query.count_total) {
    page.total_states = -1;
    return page;
  }
  FOLIO_ASSIGN_OR_RETURN(SqlQuery count, build_count(query.criteria, registry_));
  FOLIO_ASSIGN_OR_RETURN(Rows counted, session.query(count.sql, count.params));
  if (counted.size() != 1 || counted[0].values.size() != 1 ||
      !std::holds_alternative<int64_t>(counted[0].values[0]))
    return make_error(ErrorCode::kInternal, "vault: unexpected count result");
  page.total_states = counted[0].integer(0);
  return page;
}

Result<Page> Vault::query(const Query& q) {
  return in_transaction<Page>(database_, /*read=*/true,
                              [&](Session& session) { return query(session, q); });
}

Result<std::vector<VaultState>> Vault::load(Session& session,
                                            std::span<const ledger::StateRef> refs) {
  if (refs.empty()) return std::vector<VaultState>{};
  Query by_ref;
  by_ref.criteria = QueryCriteria::ref_in(std::vector<ledger::StateRef>(refs.begin(), refs.end()));
  by_ref.page = {1, kPageSizeMax};
  by_ref.count_total = false;
  FOLIO_ASSIGN_OR_RETURN(Page page, query(session, by_ref));
  std::map<ledger::StateRef, VaultState*> found;
  for (VaultState& state : page.states) found.emplace(state.ref, &state);
  std::vector<VaultState> out;
  out.reserve(refs.size());
  for (const ledger::StateRef& ref : refs) {
    auto it = found.find(ref);
    if (it == found.end())
      return make_error(ErrorCode::kNotFound, "vault: no state " + ref.describe());
    out.push_back(*it->second);
  }
  return out;
}

Result<int64_t> Vault::count(Session& session, const QueryCriteria& criteria) {
  FOLIO_ASSIGN_OR_RETURN(SqlQuery count, build_count(criteria, registry_));
  FOLIO_ASSIGN_OR_RETURN(Rows counted, session.query(count.sql, count.params));
  if (counted.size() != 1 || counted[0].values.size() != 1 ||
      !std::holds_alternative<int64_t>(counted[0].values[0]))
    return make_error(ErrorCode::kInternal, "vault: unexpected count result");
  return counted[0].integer(0);
}

Result<int64_t> Vault::count(const QueryCriteria& criteria) {
  return in_transaction<int64_t>(database_, /*read=*/true,
                                 [&](Session& session) { return count(session, criteria); });
}

Result<Tracked> Vault::track(const Query& query, std::function<void(const VaultUpdate&)> on_update) {
  if (!on_update) return make_error(ErrorCode::kInvalidArgument, "vault: track needs a callback");
  FOLIO_ASSIGN_OR_RETURN(Page snapshot, this->query(query));
  const uint64_t id = next_subscription_++;
  subscriptions_.emplace(id, Subscription{query.criteria, std::move(on_update)});
  return Tracked{std::move(snapshot), SubscriptionId(id)};
}

void Vault::unsubscribe(SubscriptionId id) { subscriptions_.erase(id.value()); }

Status Vault::lock(Session& session, std::string_view lock_id,
                   std::span<const ledger::StateRef> refs, ledger::Timestamp lock_time) {
  if (lock_id.empty()) return make_error(ErrorCode::kInvalidArgument, "vault: empty lock id");
  // Rows are locked in one global order, so two flows locking overlapping sets on PostgreSQL wait
  // for each other rather than deadlock.
  std::vector<ledger::StateRef> ordered(refs.begin(), refs.end());
  std::sort(ordered.begin(), ordered.end());
  ordered.erase(std::unique(ordered.begin(), ordered.end()), ordered.end());
  for (const ledger::StateRef& ref : ordered) {
    const std::string tx_hex = ref.tx_id.value().hex();
    const Value change[] = {std::string(lock_id), lock_time.value(), tx_hex,
                            static_cast<int64_t>(ref.index), std::string(kUnconsumed),
                            std::string(lock_id)};
    FOLIO_ASSIGN_OR_RETURN(
        int64_t changed,
        session.exec("UPDATE vault_states SET lock_id = ?, lock_time = ? WHERE tx_id = ? AND "
                     "output_index = ? AND status = ? AND (lock_id IS NULL OR lock_id = ?)",
                     change));
    if (changed == 1) continue;
    const Value key[] = {tx_hex, static_cast<int64_t>(ref.index)};
    FOLIO_ASSIGN_OR_RETURN(
        Rows rows,
        session.query("SELECT status, lock_id FROM vault_states WHERE tx_id = ? AND "
                      "output_index = ?",
                      key));
    if (rows.empty())
      return make_error(ErrorCode::kNotFound, "vault: no state " + ref.describe() + " to lock");
    if (rows[0].text(0) == kConsumed)
      return make_error(ErrorCode::kConflict, "vault: state " + ref.describe() + " is consumed");
    return make_error(ErrorCode::kConflict,
                      "vault: state " + ref.describe() + " is locked by " +
                          (rows[0].is_null(1) ? std::string("another flow") : rows[0].text(1)));
  }
  return ok_status();
}

Status Vault::lock(std::string_view lock_id, std::span<const ledger::StateRef> refs,
                   ledger::Timestamp lock_time) {
  return database_.transact(
      [&](Session& session) { return lock(session, lock_id, refs, lock_time); });
}

Result<int64_t> Vault::release(Session& session, std::string_view lock_id) {
  const Value key[] = {std::string(lock_id)};
  return session.exec("UPDATE vault_states SET lock_id = NULL, lock_time = NULL WHERE lock_id = ?",
                      key);
}

Result<int64_t> Vault::release(Session& session, std::string_view lock_id,
                               std::span<const ledger::StateRef> refs) {
  int64_t released = 0;
  for (const ledger::StateRef& ref : refs) {
    const Value key[] = {std::string(lock_id), ref.tx_id.value().hex(),
                         static_cast<int64_t>(ref.index)};
    FOLIO_ASSIGN_OR_RETURN(
        int64_t changed,
        session.exec("UPDATE vault_states SET lock_id = NULL, lock_time = NULL WHERE lock_id = ? "
                     "AND tx_id = ? AND output_index = ?",
                     key));
    released += changed;
  }
  return released;
}

Result<int64_t> Vault::release(std::string_view lock_id) {
  return in_transaction<int64_t>(database_, /*read=*/false,
                                 [&](Session& session) { return release(session, lock_id); });
}

Result<storage::Rows> Vault::read_only_sql(std::string_view sql, storage::Params params) {
  return database_.query_read_only(sql, params);
}

}  // namespace folio::vault
