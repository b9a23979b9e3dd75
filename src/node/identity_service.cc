#include "node/identity_service.h"

#include <array>

namespace folio::node {
namespace {

constexpr std::string_view kComponent = "identities";
constexpr size_t kAttributeBytesMax = 128;

const std::vector<storage::Migration>& migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "well-known parties and the keys (owning and confidential) that belong to them",
       {"CREATE TABLE node_parties (canonical_name TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "owning_key BLOB NOT NULL UNIQUE)",
        "CREATE TABLE node_identity_keys (public_key BLOB PRIMARY KEY, canonical_name TEXT NOT "
        "NULL, confidential INTEGER NOT NULL)"}},
  };
  return kMigrations;
}

Error bad_name(std::string_view text, const std::string& why) {
  std::string shown(text.substr(0, 256));
  return make_error(ErrorCode::kInvalidArgument, "X.500 name \"" + shown + "\": " + why);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_valid_value(std::string_view v) {
  if (v.empty() || v.size() > kAttributeBytesMax || !is_valid_utf8(v)) return false;
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    if (c == ',' || c == '=' || c == '+' || c == '"' || c == '\\') return false;
  }
  return true;
}

storage::Value key_value(const crypto::PublicKey& key) {
  return storage::Value(codec::encode_to_bytes(key));
}

Error corrupt(const std::string& what) {
  return make_error(ErrorCode::kInternal, "identity service: " + what);
}

// Columns: name, owning_key.
Result<ledger::Party> party_from(const storage::Row& row) {
  if (row.values.size() != 2 || !std::holds_alternative<std::string>(row.values[0]) ||
      !std::holds_alternative<Bytes>(row.values[1]))
    return corrupt("a party row has unexpected columns");
  auto key = codec::decode_from_bytes<crypto::PublicKey>(row.blob(1));
  if (!key.ok()) return corrupt("a stored key does not decode");
  return ledger::Party{row.text(0), std::move(key).value()};
}

// Runs `fn` on the caller's session, or on a transaction of its own.
template <class Fn>
auto on_session(storage::Database& db, storage::Session* session, Fn&& fn)
    -> decltype(fn(*session)) {
  if (session != nullptr) return fn(*session);
  decltype(fn(*session)) out = make_error(ErrorCode::kInternal, "not run");
  Status s = db.transact([&](storage::Session& own) -> Status {
    out = fn(own);
    if (!out.ok()) return out.error();
    return ok_status();
  });
  if (!s.ok()) return s.error();
  return out;
}

}  // namespace

Result<X500Name> X500Name::parse(std::string_view text) {
  if (text.size() > 1024) return bad_name(text, "too long");
  X500Name out;
  std::array<bool, 6> seen{};
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = trim(text.substr(start, end - start));
    start = end + 1;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return bad_name(text, "\"" + std::string(part) + "\" is not KEY=value");
    std::string_view attribute = trim(part.substr(0, eq));
    std::string_view value = trim(part.substr(eq + 1));
    if (!is_valid_value(value))
      return bad_name(text, "attribute " + std::string(attribute) +
                                " must have a value of 1 to 128 bytes without , = + \" \\ or "
                                "control characters");
    static constexpr std::array<std::string_view, 6> kAttributes = {"CN", "OU", "O",
                                                                    "L",  "ST", "C"};
    std::array<std::string*, 6> fields = {&out.common_name,  &out.organisation_unit,
                                          &out.organisation, &out.locality,
                                          &out.state,        &out.country};
    size_t which = kAttributes.size();
    for (size_t i = 0; i < kAttributes.size(); ++i)
      if (attribute == kAttributes[i]) which = i;
    if (which == kAttributes.size())
      return bad_name(text, "unknown attribute \"" + std::string(attribute.substr(0, 16)) +
                                "\" (allowed: CN, OU, O, L, ST, C)");
    if (seen[which]) return bad_name(text, "attribute " + std::string(attribute) + " repeats");
    seen[which] = true;
    *fields[which] = std::string(value);
    if (end == text.size()) break;
  }
  if (out.organisation.empty()) return bad_name(text, "O (organisation) is required");
  if (out.locality.empty()) return bad_name(text, "L (locality) is required");
  if (out.country.size() != 2 || out.country[0] < 'A' || out.country[0] > 'Z' ||
      out.country[1] < 'A' || out.country[1] > 'Z')
    return bad_name(text, "C must be a two-letter upper-case country code");
  return out;
}

std::string X500Name::to_string() const {
  std::string out;
  auto add = [&](std::string_view attribute, const std::string& value) {
    if (value.empty()) return;
    if (!out.empty()) out += ", ";
    out += attribute;
    out += '=';
    out += value;
  };
  add("CN", common_name);
  add("OU", organisation_unit);
  add("O", organisation);
  add("L", locality);
  add("ST", state);
  add("C", country);
  return out;
}

Result<std::string> canonical_name(std::string_view text) {
  FOLIO_ASSIGN_OR_RETURN(X500Name name, X500Name::parse(text));
  return name.to_string();
}

Result<std::unique_ptr<IdentityService>> IdentityService::open(storage::Database& db) {
  FOLIO_TRY(db.migrate(kComponent, migrations()));
  return std::unique_ptr<IdentityService>(new IdentityService(db));
}

Result<ledger::Party> IdentityService::register_party(const ledger::Party& party) {
  return on_session(db_, nullptr, [&](storage::Session& s) { return register_party(s, party); });
}

Result<ledger::Party> IdentityService::register_party(storage::Session& session,
                                                      const ledger::Party& party) {
  FOLIO_TRY(party.check_canonical());
  FOLIO_ASSIGN_OR_RETURN(std::string canonical, canonical_name(party.name));
  FOLIO_ASSIGN_OR_RETURN(std::optional<ledger::Party> existing_or_none,
                         [&]() -> Result<std::optional<ledger::Party>> {
                           auto found = lookup_name(&session, canonical);
                           if (found.ok()) return std::optional<ledger::Party>(*found);
                           if (found.error().code == ErrorCode::kNotFound)
                             return std::optional<ledger::Party>();
                           return found.error();
                         }());
  if (existing_or_none) {
    if (existing_or_none->owning_key != party.owning_key)
      return make_error(ErrorCode::kConflict,
                        "party " + canonical + " is already registered with another key");
    return *existing_or_none;
  }
  std::array<storage::Value, 1> by_key = {key_value(party.owning_key)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows owner,
      session.query("SELECT canonical_name FROM node_identity_keys WHERE public_key = ?", by_key));
  if (!owner.empty())
    return make_error(ErrorCode::kConflict,
                      "key " + party.owning_key.describe() + " already belongs to another party");
  std::array<storage::Value, 3> insert_party = {
      storage::Value(canonical), storage::Value(party.name), key_value(party.owning_key)};
  FOLIO_TRY(
      session.exec("INSERT INTO node_parties (canonical_name, name, owning_key) VALUES (?, ?, ?)",
                   insert_party));
  std::array<storage::Value, 3> insert_key = {
      key_value(party.owning_key), storage::Value(canonical), storage::Value(int64_t{0})};
  FOLIO_TRY(session.exec(
      "INSERT INTO node_identity_keys (public_key, canonical_name, confidential) VALUES (?, ?, ?)",
      insert_key));
  return party;
}

Status IdentityService::register_confidential(const crypto::PublicKey& key,
                                              std::string_view party_name) {
  return db_.transact(
      [&](storage::Session& s) { return register_confidential(s, key, party_name); });
}

Status IdentityService::register_confidential(storage::Session& session,
                                              const crypto::PublicKey& key,
                                              std::string_view party_name) {
  FOLIO_TRY(key.check_canonical());
  FOLIO_ASSIGN_OR_RETURN(std::string canonical, canonical_name(party_name));
  FOLIO_ASSIGN_OR_RETURN(ledger::Party party, lookup_name(&session, canonical));
  (void)party;
  std::array<storage::Value, 1> by_key = {key_value(key)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows owner,
      session.query("SELECT canonical_name, confidential FROM node_identity_keys WHERE "
                    "public_key = ?",
                    by_key));
  if (!owner.empty()) {
    if (std::holds_alternative<std::string>(owner[0].values.at(0)) &&
        owner[0].text(0) == canonical && std::holds_alternative<int64_t>(owner[0].values.at(1)) &&
        owner[0].integer(1) == 1)
      return ok_status();  // the same link again
    return make_error(ErrorCode::kConflict,
                      "key " + key.describe() + " already belongs to a party");
  }
  std::array<storage::Value, 3> insert = {key_value(key), storage::Value(canonical),
                                          storage::Value(int64_t{1})};
  FOLIO_TRY(session.exec(
      "INSERT INTO node_identity_keys (public_key, canonical_name, confidential) VALUES (?, ?, ?)",
      insert));
  return ok_status();
}

Result<ledger::Party> IdentityService::lookup_name(storage::Session* session,
                                                   const std::string& canonical) const {
  std::array<storage::Value, 1> params = {storage::Value(canonical)};
  constexpr std::string_view kSql =
      "SELECT name, owning_key FROM node_parties WHERE canonical_name = ?";
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows, session != nullptr ? session->query(kSql, params)
                                                                : db_.query(kSql, params));
  if (rows.empty()) return make_error(ErrorCode::kNotFound, "no party named " + canonical);
  return party_from(rows[0]);
}

Result<ledger::Party> IdentityService::party_by_name(std::string_view name) const {
  FOLIO_ASSIGN_OR_RETURN(std::string canonical, canonical_name(name));
  return lookup_name(nullptr, canonical);
}

Result<ledger::Party> IdentityService::party_by_key(const crypto::PublicKey& key) const {
  std::array<storage::Value, 1> params = {key_value(key)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT p.name, p.owning_key FROM node_identity_keys k JOIN node_parties p ON "
                "p.canonical_name = k.canonical_name WHERE k.public_key = ?",
                params));
  if (rows.empty())
    return make_error(ErrorCode::kNotFound, "no party known for key " + key.describe());
  return party_from(rows[0]);
}

Result<bool> IdentityService::is_confidential(const crypto::PublicKey& key) const {
  std::array<storage::Value, 1> params = {key_value(key)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT confidential FROM node_identity_keys WHERE public_key = ?", params));
  if (rows.empty())
    return make_error(ErrorCode::kNotFound, "no party known for key " + key.describe());
  if (!std::holds_alternative<int64_t>(rows[0].values.at(0)))
    return corrupt("confidential flag is not an integer");
  return rows[0].integer(0) != 0;
}

Result<std::vector<ledger::Party>> IdentityService::parties() const {
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT name, owning_key FROM node_parties ORDER BY canonical_name"));
  std::vector<ledger::Party> out;
  out.reserve(rows.size());
  for (const storage::Row& row : rows) {
    FOLIO_ASSIGN_OR_RETURN(ledger::Party p, party_from(row));
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace folio::node
