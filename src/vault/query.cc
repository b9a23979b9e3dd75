#include "vault/query.h"

#include <algorithm>
#include <cstring>

namespace folio::vault {
namespace {

using storage::Value;

std::string_view status_text(StateStatus status) {
  return status == StateStatus::kConsumed ? "consumed" : "unconsumed";
}

QueryCriteria leaf(QueryCriteria::Kind kind) {
  QueryCriteria c;
  c.kind = kind;
  return c;
}

bool value_fits(const Value& value, ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return std::holds_alternative<int64_t>(value);
    case ColumnType::kReal:
      return std::holds_alternative<double>(value) || std::holds_alternative<int64_t>(value);
    case ColumnType::kText:
      return std::holds_alternative<std::string>(value);
    case ColumnType::kBlob:
      return std::holds_alternative<Bytes>(value);
  }
  return false;
}

// The alias of a schema's table in a query: s<position in the registry>.
std::string alias_of(const VaultRegistry& registry, const VaultSchema* schema) {
  return "s" + std::to_string(schema - registry.schemas().data());
}

class SqlBuilder {
 public:
  explicit SqlBuilder(const VaultRegistry& registry) : registry_(registry) {}

  Status where(const QueryCriteria& c, size_t depth, std::string& out) {
    if (depth > kCriteriaDepthMax)
      return make_error(ErrorCode::kLimitExceeded, "vault query: criteria nested too deeply");
    using Kind = QueryCriteria::Kind;
    switch (c.kind) {
      case Kind::kAll:
        out += "1 = 1";
        return ok_status();
      case Kind::kStatus:
        if (c.status == StateStatus::kAll) {
          out += "1 = 1";
        } else {
          out += "v.status = ?";
          params_.emplace_back(std::string(status_text(c.status)));
        }
        return ok_status();
      case Kind::kContract:
        return equal("v.contract", c.text, out);
      case Kind::kStateType:
        return equal("v.state_type", c.text, out);
      case Kind::kNotary:
        return equal("v.notary_name", c.text, out);
      case Kind::kLockedBy:
        return equal("v.lock_id", c.text, out);
      case Kind::kUnlocked:
        out += "v.lock_id IS NULL";
        return ok_status();
      case Kind::kRecordedTime:
      case Kind::kConsumedTime: {
        const char* column = c.kind == Kind::kRecordedTime ? "v.recorded_time" : "v.consumed_time";
        out += "(";
        out += column;
        out += " IS NOT NULL";
        if (c.from) {
          out += std::string(" AND ") + column + " >= ?";
          params_.emplace_back(c.from->value());
        }
        if (c.until) {
          out += std::string(" AND ") + column + " < ?";
          params_.emplace_back(c.until->value());
        }
        out += ")";
        return ok_status();
      }
      case Kind::kParticipant:
        out += "EXISTS (SELECT 1 FROM vault_participants p WHERE p.tx_id = v.tx_id AND "
               "p.output_index = v.output_index AND p.participant_key = ?)";
        params_.emplace_back(c.key.hex());
        return ok_status();
      case Kind::kRefs: {
        if (c.refs.size() > kCriteriaValuesMax)
          return make_error(ErrorCode::kLimitExceeded, "vault query: too many state refs");
        if (c.refs.empty()) {
          out += "1 = 0";
          return ok_status();
        }
        out += "(";
        for (size_t i = 0; i < c.refs.size(); ++i) {
          if (i > 0) out += " OR ";
          out += "(v.tx_id = ? AND v.output_index = ?)";
          params_.emplace_back(c.refs[i].tx_id.value().hex());
          params_.emplace_back(static_cast<int64_t>(c.refs[i].index));
        }
        out += ")";
        return ok_status();
      }
      case Kind::kColumn:
        return column(c, out);
      case Kind::kAnd:
      case Kind::kOr: {
        if (c.children.empty()) {
          out += c.kind == Kind::kAnd ? "1 = 1" : "1 = 0";
          return ok_status();
        }
        out += "(";
        for (size_t i = 0; i < c.children.size(); ++i) {
          if (i > 0) out += c.kind == Kind::kAnd ? " AND " : " OR ";
          FOLIO_TRY(where(c.children[i], depth + 1, out));
        }
        out += ")";
        return ok_status();
      }
    }
    return make_error(ErrorCode::kInvalidArgument, "vault query: unknown criterion");
  }

  // The qualified column of a schema, joining its table; kInvalidArgument for an unknown one.
  Result<std::pair<std::string, const ColumnSpec*>> schema_column(const std::string& schema_name,
                                                                  const std::string& column) {
    const VaultSchema* schema = registry_.find_schema(schema_name);
    if (schema == nullptr)
      return make_error(ErrorCode::kInvalidArgument, "vault query: no schema " + schema_name);
    const ColumnSpec* spec = schema->find_column(column);
    if (spec == nullptr)
      return make_error(ErrorCode::kInvalidArgument,
                        "vault query: schema " + schema_name + " has no column " + column);
    const std::string alias = alias_of(registry_, schema);
    if (std::find(joined_.begin(), joined_.end(), schema) == joined_.end()) joined_.push_back(schema);
    return std::make_pair(alias + "." + spec->name, spec);
  }

  std::string joins() const {
    std::string out;
    for (const VaultSchema* schema : joined_) {
      const std::string alias = alias_of(registry_, schema);
      out += " LEFT JOIN " + schema->table + " " + alias + " ON " + alias + ".tx_id = v.tx_id AND " +
             alias + ".output_index = v.output_index";
    }
    return out;
  }

  std::vector<Value>& params() { return params_; }

 private:
  Status equal(const char* column, const std::string& text, std::string& out) {
    out += column;
    out += " = ?";
    params_.emplace_back(text);
    return ok_status();
  }

  Status column(const QueryCriteria& c, std::string& out) {
    FOLIO_ASSIGN_OR_RETURN(auto found, schema_column(c.schema, c.column));
    const auto& [qualified, spec] = found;
    auto bad_value = [&]() {
      return make_error(ErrorCode::kInvalidArgument,
                        "vault query: a value for " + c.schema + "." + c.column + " must be " +
                            std::string(sql_type(spec->type)));
    };
    if (c.op == ColumnOp::kIn) {
      if (c.values.size() > kCriteriaValuesMax)
        return make_error(ErrorCode::kLimitExceeded, "vault query: IN list too long");
      if (c.values.empty()) {
        out += "1 = 0";
        return ok_status();
      }
      out += qualified + " IN (";
      for (size_t i = 0; i < c.values.size(); ++i) {
        if (!value_fits(c.values[i], spec->type)) return bad_value();
        out += i == 0 ? "?" : ", ?";
        params_.push_back(c.values[i]);
      }
      out += ")";
      return ok_status();
    }
    if (c.values.size() != 1 || !value_fits(c.values[0], spec->type)) return bad_value();
    if (c.op == ColumnOp::kLike) {
      if (spec->type != ColumnType::kText)
        return make_error(ErrorCode::kInvalidArgument, "vault query: LIKE needs a TEXT column");
      out += qualified + " LIKE ? ESCAPE '\\'";
      params_.push_back(c.values[0]);
      return ok_status();
    }
    static constexpr const char* kOps[] = {" = ?", " <> ?", " < ?", " <= ?", " > ?", " >= ?"};
    out += qualified + kOps[static_cast<size_t>(c.op)];
    params_.push_back(c.values[0]);
    return ok_status();
  }

  const VaultRegistry& registry_;
  std::vector<Value> params_;
  std::vector<const VaultSchema*> joined_;
};

int compare_values(const Value& a, const Value& b) {
  if (const auto* x = std::get_if<int64_t>(&a)) {
    if (const auto* y = std::get_if<int64_t>(&b)) return *x < *y ? -1 : (*x > *y ? 1 : 0);
    if (const auto* y = std::get_if<double>(&b)) {
      const double d = static_cast<double>(*x);
      return d < *y ? -1 : (d > *y ? 1 : 0);
    }
  }
  if (const auto* x = std::get_if<double>(&a)) {
    double y = 0;
    if (const auto* yi = std::get_if<int64_t>(&b)) y = static_cast<double>(*yi);
    if (const auto* yd = std::get_if<double>(&b)) y = *yd;
    return *x < y ? -1 : (*x > y ? 1 : 0);
  }
  if (const auto* x = std::get_if<std::string>(&a)) {
    const auto* y = std::get_if<std::string>(&b);
    if (y == nullptr) return 0;
    const int r = x->compare(*y);
    return r < 0 ? -1 : (r > 0 ? 1 : 0);
  }
  if (const auto* x = std::get_if<Bytes>(&a)) {
    const auto* y = std::get_if<Bytes>(&b);
    if (y == nullptr) return 0;
    return *x < *y ? -1 : (*x > *y ? 1 : 0);
  }
  return 0;
}

bool column_matches(const QueryCriteria& c, const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return false;  // NULL matches nothing
  switch (c.op) {
    case ColumnOp::kIn:
      for (const Value& candidate : c.values)
        if (compare_values(value, candidate) == 0) return true;
      return false;
    case ColumnOp::kLike: {
      const auto* text = std::get_if<std::string>(&value);
      const auto* pattern = std::get_if<std::string>(&c.values.at(0));
      return text != nullptr && pattern != nullptr && like_matches(*text, *pattern);
    }
    default:
      break;
  }
  const int r = compare_values(value, c.values.at(0));
  switch (c.op) {
    case ColumnOp::kEqual:
      return r == 0;
    case ColumnOp::kNotEqual:
      return r != 0;
    case ColumnOp::kLess:
      return r < 0;
    case ColumnOp::kLessOrEqual:
      return r <= 0;
    case ColumnOp::kGreater:
      return r > 0;
    case ColumnOp::kGreaterOrEqual:
      return r >= 0;
    default:
      return false;
  }
}

bool in_range(std::optional<ledger::Timestamp> t, const QueryCriteria& c) {
  if (!t) return false;
  if (c.from && *t < *c.from) return false;
  if (c.until && !(*t < *c.until)) return false;
  return true;
}

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xe) return 3;
  if ((lead >> 3) == 0x1e) return 4;
  return 1;
}

}  // namespace

const char* const kStateColumns =
    "v.tx_id, v.output_index, v.contract, v.state_type, v.notary_name, v.status, "
    "v.recorded_time, v.consumed_time, v.lock_id, v.lock_time, v.state";

std::string_view to_string(StateStatus status) {
  switch (status) {
    case StateStatus::kUnconsumed:
      return "unconsumed";
    case StateStatus::kConsumed:
      return "consumed";
    case StateStatus::kAll:
      return "all";
  }
  return "?";
}

QueryCriteria QueryCriteria::all() { return leaf(Kind::kAll); }
QueryCriteria QueryCriteria::with_status(StateStatus status) {
  QueryCriteria c = leaf(Kind::kStatus);
  c.status = status;
  return c;
}
QueryCriteria QueryCriteria::contract_is(std::string contract) {
  QueryCriteria c = leaf(Kind::kContract);
  c.text = std::move(contract);
  return c;
}
QueryCriteria QueryCriteria::state_type_is(std::string state_type) {
  QueryCriteria c = leaf(Kind::kStateType);
  c.text = std::move(state_type);
  return c;
}
QueryCriteria QueryCriteria::recorded_between(std::optional<ledger::Timestamp> from,
                                              std::optional<ledger::Timestamp> until) {
  QueryCriteria c = leaf(Kind::kRecordedTime);
  c.from = from;
  c.until = until;
  return c;
}
QueryCriteria QueryCriteria::consumed_between(std::optional<ledger::Timestamp> from,
                                              std::optional<ledger::Timestamp> until) {
  QueryCriteria c = leaf(Kind::kConsumedTime);
  c.from = from;
  c.until = until;
  return c;
}
QueryCriteria QueryCriteria::notary_is(std::string notary_name) {
  QueryCriteria c = leaf(Kind::kNotary);
  c.text = std::move(notary_name);
  return c;
}
QueryCriteria QueryCriteria::has_participant(const crypto::PublicKey& key) {
  QueryCriteria c = leaf(Kind::kParticipant);
  c.key = key;
  return c;
}
QueryCriteria QueryCriteria::column_matches(std::string schema, std::string column, ColumnOp op,
                                            storage::Value value) {
  QueryCriteria c = leaf(Kind::kColumn);
  c.schema = std::move(schema);
  c.column = std::move(column);
  c.op = op;
  c.values.push_back(std::move(value));
  return c;
}
QueryCriteria QueryCriteria::column_in(std::string schema, std::string column,
                                       std::vector<storage::Value> values) {
  QueryCriteria c = leaf(Kind::kColumn);
  c.schema = std::move(schema);
  c.column = std::move(column);
  c.op = ColumnOp::kIn;
  c.values = std::move(values);
  return c;
}
QueryCriteria QueryCriteria::ref_in(std::vector<ledger::StateRef> refs) {
  QueryCriteria c = leaf(Kind::kRefs);
  c.refs = std::move(refs);
  return c;
}
QueryCriteria QueryCriteria::unlocked() { return leaf(Kind::kUnlocked); }
QueryCriteria QueryCriteria::locked_by(std::string lock_id) {
  QueryCriteria c = leaf(Kind::kLockedBy);
  c.text = std::move(lock_id);
  return c;
}
QueryCriteria QueryCriteria::and_(std::vector<QueryCriteria> children) {
  QueryCriteria c = leaf(Kind::kAnd);
  c.children = std::move(children);
  return c;
}
QueryCriteria QueryCriteria::or_(std::vector<QueryCriteria> children) {
  QueryCriteria c = leaf(Kind::kOr);
  c.children = std::move(children);
  return c;
}

QueryCriteria operator&&(QueryCriteria a, QueryCriteria b) {
  std::vector<QueryCriteria> children;
  children.push_back(std::move(a));
  children.push_back(std::move(b));
  return QueryCriteria::and_(std::move(children));
}

QueryCriteria operator||(QueryCriteria a, QueryCriteria b) {
  std::vector<QueryCriteria> children;
  children.push_back(std::move(a));
  children.push_back(std::move(b));
  return QueryCriteria::or_(std::move(children));
}

Result<SqlQuery> build_select(const Query& query, const VaultRegistry& registry) {
  if (query.page.number < 1 || query.page.size < 1 || query.page.size > kPageSizeMax)
    return make_error(ErrorCode::kInvalidArgument,
                      "vault query: page number from 1, page size from 1 to " +
                          std::to_string(kPageSizeMax));
  if (query.page.number > std::numeric_limits<int64_t>::max() / query.page.size)
    return make_error(ErrorCode::kInvalidArgument, "vault query: page number too large");
  if (query.sort.size() > kSortsMax)
    return make_error(ErrorCode::kLimitExceeded, "vault query: too many sort columns");
  SqlBuilder builder(registry);
  std::string where;
  FOLIO_TRY(builder.where(query.criteria, 0, where));
  std::string order;
  auto add_order = [&](const std::string& expression, bool descending) {
    if (!order.empty()) order += ", ";
    order += expression + (descending ? " DESC NULLS LAST" : " ASC NULLS LAST");
  };
  for (const Sort& sort : query.sort) {
    if (const auto* attribute = std::get_if<SortAttribute>(&sort.by)) {
      switch (*attribute) {
        case SortAttribute::kRecordedTime:
          add_order("v.recorded_time", sort.descending);
          break;
        case SortAttribute::kConsumedTime:
          add_order("v.consumed_time", sort.descending);
          break;
        case SortAttribute::kContract:
          add_order("v.contract", sort.descending);
          break;
        case SortAttribute::kStateType:
          add_order("v.state_type", sort.descending);
          break;
        case SortAttribute::kNotary:
          add_order("v.notary_name", sort.descending);
          break;
        case SortAttribute::kStatus:
          add_order("v.status", sort.descending);
          break;
        case SortAttribute::kLockId:
          add_order("v.lock_id", sort.descending);
          break;
        case SortAttribute::kStateRef:
          add_order("v.tx_id", sort.descending);
          add_order("v.output_index", sort.descending);
          break;
      }
    } else {
      const auto& custom = std::get<CustomColumn>(sort.by);
      FOLIO_ASSIGN_OR_RETURN(auto found, builder.schema_column(custom.schema, custom.column));
      add_order(found.first, sort.descending);
    }
  }
  if (query.sort.empty()) add_order("v.recorded_time", false);
  add_order("v.tx_id", false);
  add_order("v.output_index", false);

  SqlQuery out;
  out.sql = std::string("SELECT ") + kStateColumns + " FROM vault_states v" + builder.joins() +
            " WHERE " + where + " ORDER BY " + order + " LIMIT ? OFFSET ?";
  out.params = std::move(builder.params());
  out.params.emplace_back(query.page.size);
  out.params.emplace_back((query.page.number - 1) * query.page.size);
  return out;
}

Result<SqlQuery> build_count(const QueryCriteria& criteria, const VaultRegistry& registry) {
  SqlBuilder builder(registry);
  std::string where;
  FOLIO_TRY(builder.where(criteria, 0, where));
  SqlQuery out;
  out.sql = "SELECT COUNT(*) FROM vault_states v" + builder.joins() + " WHERE " + where;
  out.params = std::move(builder.params());
  return out;
}

bool matches(const QueryCriteria& c, const StateFacts& facts, const VaultRegistry& registry) {
  using Kind = QueryCriteria::Kind;
  switch (c.kind) {
    case Kind::kAll:
      return true;
    case Kind::kStatus:
      return c.status == StateStatus::kAll || c.status == facts.status;
    case Kind::kContract:
      return facts.contract == c.text;
    case Kind::kStateType:
      return facts.state_type == c.text;
    case Kind::kNotary:
      return facts.notary_name == c.text;
    case Kind::kLockedBy:
      return facts.lock_id.has_value() && *facts.lock_id == c.text;
    case Kind::kUnlocked:
      return !facts.lock_id.has_value();
    case Kind::kRecordedTime:
      return in_range(facts.recorded_time, c);
    case Kind::kConsumedTime:
      return in_range(facts.consumed_time, c);
    case Kind::kParticipant: {
      const std::string hex = c.key.hex();
      return std::find(facts.participant_keys.begin(), facts.participant_keys.end(), hex) !=
             facts.participant_keys.end();
    }
    case Kind::kRefs:
      return std::find(c.refs.begin(), c.refs.end(), facts.ref) != c.refs.end();
    case Kind::kColumn: {
      const VaultSchema* schema = registry.find_schema(c.schema);
      if (schema == nullptr) return false;
      size_t index = 0;
      while (index < schema->columns.size() && schema->columns[index].name != c.column) ++index;
      if (index == schema->columns.size()) return false;
      for (const auto& [name, values] : facts.schema_values)
        if (name == c.schema) return index < values.size() && column_matches(c, values[index]);
      return false;
    }
    case Kind::kAnd:
      for (const QueryCriteria& child : c.children)
        if (!matches(child, facts, registry)) return false;
      return true;
    case Kind::kOr:
      for (const QueryCriteria& child : c.children)
        if (matches(child, facts, registry)) return true;
      return false;
  }
  return false;
}

bool like_matches(std::string_view text, std::string_view pattern) {
  // Iterative matching with backtracking to the last %, linear in practice.
  size_t t = 0, p = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star_p = ++p;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '_') {
        t = std::min(text.size(), t + utf8_length(static_cast<unsigned char>(text[t])));
        ++p;
        continue;
      }
      size_t literal = p;
      if (pattern[p] == '\\' && p + 1 < pattern.size()) literal = p + 1;
      if (pattern[literal] == text[t]) {
        p = literal + 1;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

}  // namespace folio::vault
