// X.500 names of network participants, in Corda's form: "O=Alice Ltd, L=London, C=GB".
//
// Organisation (O), locality (L) and country (C) are required; organisational unit (OU), common
// name (CN) and state (ST) are optional. parse() is strict: every attribute known and at most once,
// values within their length bounds, valid UTF-8 without control characters or the characters that
// make names ambiguous in other renderings (, = + ; " ' \ < > # $), no leading, trailing or double
// spaces, and a country of two upper-case ASCII letters. str() prints the canonical form (CN, OU,
// O, L, ST, C, joined by ", "); parse(str()) gives the same name back.
//
// Conversion to and from OpenSSL's X509_NAME lives in certificates.h. Value type; thread-safe for
// concurrent const use.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "base/result.h"

namespace folio::identity {

// Bounds on attribute values, in bytes of UTF-8 (Corda's CordaX500Name uses the same numbers).
constexpr size_t kOrganisationBytesMax = 128;
constexpr size_t kOrganisationBytesMin = 2;
constexpr size_t kLocalityBytesMax = 64;
constexpr size_t kLocalityBytesMin = 2;
constexpr size_t kStateBytesMax = 64;
constexpr size_t kUnitBytesMax = 64;
constexpr size_t kCommonNameBytesMax = 64;
// The longest text parse() looks at.
constexpr size_t kX500NameTextBytesMax = 1024;

struct X500Name {
  std::string common_name;        // CN, optional (empty = absent)
  std::string organisation_unit;  // OU, optional
  std::string organisation;       // O, required
  std::string locality;           // L, required
  std::string state;              // ST, optional
  std::string country;            // C, required: two upper-case letters

  // Parses "O=Alice, L=London, C=GB" (spaces after commas optional, attributes in any order).
  static Result<X500Name> parse(std::string_view text);
  // Builds a name from parts and validates it.
  static Result<X500Name> make(std::string organisation, std::string locality, std::string country);

  // Every rule of the header comment.
  Status validate() const;
  // The canonical text. REQUIRES (for a parseable result): validate().ok()
  std::string str() const;

  friend auto operator<=>(const X500Name&, const X500Name&) = default;
  friend bool operator==(const X500Name&, const X500Name&) = default;
};

}  // namespace folio::identity
