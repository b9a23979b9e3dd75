// The vault (Corda's vault, ARCHITECTURE.md §4): the states relevant to this node, from the
// transactions it records, and whether each is consumed.
//
// Tables: `vault_states` (one row per relevant output, with its status, times, soft lock and
// encoded TransactionState), `vault_participants` (the participant keys of each),
// `vault_spent_refs` (inputs consumed before their own transaction was recorded) and one table per
// VaultSchema of the registry, all created by Database::migrate under the components "vault" and
// "vault.schema.<name>" when the vault is opened. docs/storage.md describes them.
//
// Writes take a caller's storage::Session, so the flow engine can commit vault changes atomically
// with its journal and outbox. Tracked queries are fed explicitly: `record` returns the
// VaultUpdate it made, and the caller passes it to `publish` once its transaction has COMMITTED
// (never after a rollback); `record_and_publish` does both for a caller without a transaction of
// its own. Callbacks run synchronously inside `publish`.
//
// The vault reads no clock: every time is an argument. A Vault is used by one thread at a time,
// like its Database; the Database and the VaultRegistry must outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/strong.h"
#include "ledger/transaction.h"
#include "storage/database.h"
#include "vault/query.h"
#include "vault/schema.h"

namespace folio::vault {

struct StateMetadata {
  std::string contract;
  std::string state_type;
  std::string notary_name;
  StateStatus status = StateStatus::kUnconsumed;  // kUnconsumed or kConsumed
  ledger::Timestamp recorded_time;
  std::optional<ledger::Timestamp> consumed_time;
  std::optional<std::string> lock_id;
  std::optional<ledger::Timestamp> lock_time;
};

struct VaultState {
  ledger::StateRef ref;
  ledger::TransactionState state;
  StateMetadata metadata;
};

struct Page {
  std::vector<VaultState> states;
  int64_t total_states = 0;  // matching the criteria, over all pages (-1: not counted)
};

struct VaultUpdate {
  std::vector<VaultState> produced;
  std::vector<VaultState> consumed;  // as they are after consumption
  bool empty() const { return produced.empty() && consumed.empty(); }
};

// Which keys are this node's: a state is relevant when one of its participants is (or, for a
// compound participant key, when one of its leaves is).
class Relevance {
 public:
  explicit Relevance(std::set<crypto::PublicKey> keys);
  explicit Relevance(std::function<bool(const crypto::PublicKey&)> is_ours);
  bool is_relevant(const std::vector<crypto::PublicKey>& participants) const;

 private:
  std::function<bool(const crypto::PublicKey&)> is_ours_;
};

struct SubscriptionTag {};
using SubscriptionId = Strong<SubscriptionTag, uint64_t>;

struct Tracked {
  Page snapshot;
  SubscriptionId id;
};

class Vault {
 public:
  // Runs the migrations of the vault and of every schema in the registry, then opens the vault.
  static Result<std::unique_ptr<Vault>> open(storage::Database& database,
                                             const VaultRegistry& registry);

  // Records a transaction: its relevant outputs become unconsumed states recorded at
  // `recorded_time`; those of its inputs that the vault holds become consumed at that time (and
  // lose their soft locks). Recording a transaction again changes nothing and returns an empty
  // update. Outputs whose contract has no description are not relevant.
  Result<VaultUpdate> record(storage::Session& session, const ledger::WireTransaction& tx,
                             const Relevance& relevance, ledger::Timestamp recorded_time);
  Result<VaultUpdate> record(storage::Session& session, const ledger::SignedTransaction& tx,
                             const Relevance& relevance, ledger::Timestamp recorded_time) {
    return record(session, tx.tx, relevance, recorded_time);
  }
  // Delivers an update to the tracked queries it concerns. Call only after the transaction that
  // recorded it committed.
  void publish(const VaultUpdate& update);
  // record in a transaction of its own, then publish if it committed.
  Status record_and_publish(const ledger::WireTransaction& tx, const Relevance& relevance,
                            ledger::Timestamp recorded_time);

  Result<Page> query(storage::Session& session, const Query& query);
  Result<Page> query(const Query& query);
  // The vault's states with these refs (consumed or not), in the order given; kNotFound naming the
  // first the vault does not hold. At most kCriteriaValuesMax refs.
  Result<std::vector<VaultState>> load(storage::Session& session,
                                       std::span<const ledger::StateRef> refs);
  Result<int64_t> count(storage::Session& session, const QueryCriteria& criteria);
  Result<int64_t> count(const QueryCriteria& criteria);

  // The query's current page plus a subscription: `on_update` then receives, for each published
  // update, the produced states that match the criteria and the consumed states that matched them
  // before or after consumption (nothing when neither does). Paging does not apply to updates.
  Result<Tracked> track(const Query& query, std::function<void(const VaultUpdate&)> on_update);
  // Idempotent.
  void unsubscribe(SubscriptionId id);

  // Soft locks: reserve unconsumed states for a flow. Refuses (kConflict) if any is consumed or
  // locked by another id, kNotFound if the vault does not hold one; on refusal the caller's
  // transaction must roll back (locks taken before the refusal are in it). Relocking under the same
  // id is allowed.
  Status lock(storage::Session& session, std::string_view lock_id,
              std::span<const ledger::StateRef> refs, ledger::Timestamp lock_time);
  Status lock(std::string_view lock_id, std::span<const ledger::StateRef> refs,
              ledger::Timestamp lock_time);
  // Releases every state locked by the id (or only the given ones); the number released.
  Result<int64_t> release(storage::Session& session, std::string_view lock_id);
  Result<int64_t> release(storage::Session& session, std::string_view lock_id,
                          std::span<const ledger::StateRef> refs);
  Result<int64_t> release(std::string_view lock_id);

  // Operators' report queries (Database::query_read_only): anything that would write is refused.
  Result<storage::Rows> read_only_sql(std::string_view sql, storage::Params params = {});

  // What in-memory matching (publish) knows of a state: its metadata, participants and schema rows.
  StateFacts facts_of(const VaultState& state) const;

  storage::Database& database() { return database_; }
  const VaultRegistry& registry() const { return registry_; }

 private:
  Vault(storage::Database& database, const VaultRegistry& registry)
      : database_(database), registry_(registry) {}

  storage::Database& database_;
  const VaultRegistry& registry_;
  struct Subscription {
    QueryCriteria criteria;
    std::function<void(const VaultUpdate&)> on_update;
  };
  std::map<uint64_t, Subscription> subscriptions_;
  uint64_t next_subscription_ = 1;
};

// Decodes a row selected with kStateColumns.
Result<VaultState> decode_state_row(const storage::Row& row);

}  // namespace folio::vault
