// Vault queries: typed criteria composed with AND/OR, paging and sorting (ARCHITECTURE.md §4).
//
// Criteria are values built by the factory functions and combined with and_/or_ (or && and ||).
// They are turned into parameterised SQL: values only ever travel as parameters, and column names
// only come from the schemas declared in the VaultRegistry, so a criterion cannot inject SQL. The
// same criteria are also evaluated in memory against the states of a vault update, to feed tracked
// queries. A criterion on a schema column matches only states that have a row in that schema.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ledger/state.h"
#include "storage/database.h"
#include "vault/schema.h"

namespace folio::vault {

enum class StateStatus : uint8_t { kUnconsumed, kConsumed, kAll };
std::string_view to_string(StateStatus status);

enum class ColumnOp : uint8_t {
  kEqual,
  kNotEqual,
  kLess,
  kLessOrEqual,
  kGreater,
  kGreaterOrEqual,
  kIn,
  kLike,  // SQL LIKE with % and _, case-sensitive, backslash escapes a wildcard
};

struct QueryCriteria {
  enum class Kind : uint8_t {
    kAll,
    kStatus,
    kContract,
    kStateType,
    kRecordedTime,
    kConsumedTime,
    kNotary,
    kParticipant,
    kColumn,
    kRefs,
    kUnlocked,
    kLockedBy,
    kAnd,
    kOr,
  };
  Kind kind = Kind::kAll;
  StateStatus status = StateStatus::kAll;
  std::string text;  // contract, state type, notary name or lock id
  std::optional<ledger::Timestamp> from;   // inclusive
  std::optional<ledger::Timestamp> until;  // exclusive
  crypto::PublicKey key;
  std::string schema;
  std::string column;
  ColumnOp op = ColumnOp::kEqual;
  std::vector<storage::Value> values;  // one, or the list of IN
  std::vector<ledger::StateRef> refs;
  std::vector<QueryCriteria> children;

  static QueryCriteria all();
  static QueryCriteria with_status(StateStatus status);
  static QueryCriteria unconsumed() { return with_status(StateStatus::kUnconsumed); }
  static QueryCriteria consumed() { return with_status(StateStatus::kConsumed); }
  static QueryCriteria contract_is(std::string contract);
  static QueryCriteria state_type_is(std::string state_type);
  // [from, until); either bound may be open.
  static QueryCriteria recorded_between(std::optional<ledger::Timestamp> from,
                                        std::optional<ledger::Timestamp> until);
  // Only consumed states match.
  static QueryCriteria consumed_between(std::optional<ledger::Timestamp> from,
                                        std::optional<ledger::Timestamp> until);
  static QueryCriteria notary_is(std::string notary_name);
  static QueryCriteria has_participant(const crypto::PublicKey& key);
  static QueryCriteria column_matches(std::string schema, std::string column, ColumnOp op,
                                      storage::Value value);
  static QueryCriteria column_in(std::string schema, std::string column,
                                 std::vector<storage::Value> values);
  static QueryCriteria ref_in(std::vector<ledger::StateRef> refs);
  static QueryCriteria unlocked();
  static QueryCriteria locked_by(std::string lock_id);
  static QueryCriteria and_(std::vector<QueryCriteria> children);
  static QueryCriteria or_(std::vector<QueryCriteria> children);
};

QueryCriteria operator&&(QueryCriteria a, QueryCriteria b);
QueryCriteria operator||(QueryCriteria a, QueryCriteria b);

enum class SortAttribute : uint8_t {
  kRecordedTime,
  kConsumedTime,
  kContract,
  kStateType,
  kNotary,
  kStatus,
  kLockId,
  kStateRef,  // tx id, then output index
};

struct CustomColumn {
  std::string schema;
  std::string column;
};

struct Sort {
  std::variant<SortAttribute, CustomColumn> by = SortAttribute::kRecordedTime;
  bool descending = false;
};

constexpr int64_t kPageSizeDefault = 200;
constexpr int64_t kPageSizeMax = 10'000;
constexpr size_t kCriteriaDepthMax = 32;
constexpr size_t kCriteriaValuesMax = 1'000;  // per IN list or ref list
constexpr size_t kSortsMax = 8;

struct PageSpec {
  int64_t number = 1;  // from 1
  int64_t size = kPageSizeDefault;
};

struct Query {
  QueryCriteria criteria = QueryCriteria::unconsumed();
  PageSpec page;
  // Applied in order; ties always end by state ref, so pages never overlap. NULLs sort last.
  std::vector<Sort> sort;
  // False: Page::total_states is not counted (left at -1), which spares a second pass over every
  // matching state (coin selection reads one page and has no use for the total).
  bool count_total = true;
};

// SQL for one query (internal to the vault, exposed for tests).
struct SqlQuery {
  std::string sql;
  std::vector<storage::Value> params;
};
// The columns of vault_states every state query selects, in order.
extern const char* const kStateColumns;
Result<SqlQuery> build_select(const Query& query, const VaultRegistry& registry);
Result<SqlQuery> build_count(const QueryCriteria& criteria, const VaultRegistry& registry);

// What in-memory matching needs to know of one state.
struct StateFacts {
  std::string contract;
  std::string state_type;
  std::string notary_name;
  StateStatus status = StateStatus::kUnconsumed;
  ledger::StateRef ref;
  ledger::Timestamp recorded_time;
  std::optional<ledger::Timestamp> consumed_time;
  std::optional<std::string> lock_id;
  std::vector<std::string> participant_keys;  // hex encodings
  // Per schema name, the state's column values (absent: not in that schema).
  std::vector<std::pair<std::string, std::vector<storage::Value>>> schema_values;
};

// REQUIRES: build_count(criteria, registry) succeeded (the criteria are valid).
bool matches(const QueryCriteria& criteria, const StateFacts& facts, const VaultRegistry& registry);

// SQL LIKE semantics on text: % any run, _ one character (byte), backslash escapes.
bool like_matches(std::string_view text, std::string_view pattern);

}  // namespace folio::vault
