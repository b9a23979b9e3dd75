// Comparison form of X.500 names for the AMQP transport.
//
// A peer is identified by the subject of its TLS certificate, which Proton renders in OpenSSL's
// RFC 2253 style ("C=GB,L=London,O=Bank A"), while the network map and the peer's claimed
// container id use Corda's form ("O=Bank A, L=London, C=GB"). canonical_x500 maps both to one
// text: the attributes CN, OU, O, L, ST, C in that order, joined by ", ". It is deliberately strict:
// unknown or repeated attributes, escapes, empty values and names without O, L and C are errors,
// since a Folio name never needs them (identity/x500.h forbids the characters that need escaping).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace folio::net {

constexpr size_t kX500NameTextBytesMax = 1024;

// The canonical comparison text of `text`, or kMalformed.
Result<std::string> canonical_x500(std::string_view text);

}  // namespace folio::net
