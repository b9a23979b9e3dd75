// IdentityService: who is who, as this node knows it (the Corda seed, "Identity lookups").
//
// Well-known parties are X.500 names bound to an owning key (ledger::Party). A party is kept with
// its name exactly as registered (it is what transactions carry) and found by the name's canonical
// form, "CN=..., OU=..., O=..., L=..., ST=..., C=..." (attributes in that order, ", " between them,
// values trimmed), so "C=GB,L=London,O=Bank A" and "O=Bank A, L=London, C=GB" are the same party.
// O, L and C are required; C is two upper-case letters; a value is 1..128 bytes of UTF-8 without
// control characters, ',', '=', '+', '"' or '\'.
//
// Confidential identities are fresh keys that a well-known party uses in states to stay
// pseudonymous; a node that learnt the link (through the swap-identities flow) records it, so that
// party_by_key() resolves a confidential key to its well-known party. A key belongs to at most one
// party: registering a name or key already bound to another is a kConflict, registering the same
// binding again is idempotent.
//
// This service records bindings; checking the certificates that justify them is the identity
// module's work (the network map and doorman), done before register_*() is called. Writes take the
// service's own transaction or a caller's storage::Session. Thread-safety: that of the
// storage::Database, which must outlive the service.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/state.h"
#include "storage/database.h"

namespace folio::node {

struct X500Name {
  std::string common_name;        // CN, optional
  std::string organisation_unit;  // OU, optional
  std::string organisation;       // O
  std::string locality;           // L
  std::string state;              // ST, optional
  std::string country;            // C, ISO 3166 alpha-2

  // kInvalidArgument with the reason for anything but a well-formed name.
  static Result<X500Name> parse(std::string_view text);
  std::string to_string() const;  // the canonical form
  friend bool operator==(const X500Name&, const X500Name&) = default;
};

// The canonical form of a name, or why it is not one.
Result<std::string> canonical_name(std::string_view text);

class IdentityService {
 public:
  // Runs the "identities" migrations. `db` must outlive the service.
  static Result<std::unique_ptr<IdentityService>> open(storage::Database& db);

  // Registers a well-known party; returns the party as stored (for a repeated registration under
  // another spelling of the same name, the first spelling). kInvalidArgument for a bad name or
  // party; kConflict if the name or the key is bound to another party.
  Result<ledger::Party> register_party(const ledger::Party& party);
  Result<ledger::Party> register_party(storage::Session& session, const ledger::Party& party);

  // Links a confidential key to a registered well-known party: kNotFound for an unknown name,
  // kConflict if the key already belongs to another party (or is another party's owning key).
  Status register_confidential(const crypto::PublicKey& key, std::string_view party_name);
  Status register_confidential(storage::Session& session, const crypto::PublicKey& key,
                               std::string_view party_name);

  // kNotFound if unknown (the name is canonicalised first; kInvalidArgument if it cannot be).
  Result<ledger::Party> party_by_name(std::string_view name) const;
  // The well-known party whose owning key, or one of whose confidential keys, `key` is.
  Result<ledger::Party> party_by_key(const crypto::PublicKey& key) const;
  // Whether `key` is a confidential (not an owning) key.
  Result<bool> is_confidential(const crypto::PublicKey& key) const;
  // Every well-known party, by name.
  Result<std::vector<ledger::Party>> parties() const;

 private:
  explicit IdentityService(storage::Database& db) : db_(db) {}
  Result<ledger::Party> lookup_name(storage::Session* session, const std::string& name) const;
  storage::Database& db_;
};

}  // namespace folio::node
