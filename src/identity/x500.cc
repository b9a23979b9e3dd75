#include "identity/x500.h"

#include <array>
#include <optional>
#include <vector>

#include "base/bytes.h"

namespace folio::identity {
namespace {

struct Attribute {
  std::string_view key;
  std::string X500Name::*field;
  bool required;
  size_t bytes_min;
  size_t bytes_max;
};

// In canonical print order.
constexpr std::array<Attribute, 6> kAttributes{{
    {"CN", &X500Name::common_name, false, 1, kCommonNameBytesMax},
    {"OU", &X500Name::organisation_unit, false, 1, kUnitBytesMax},
    {"O", &X500Name::organisation, true, kOrganisationBytesMin, kOrganisationBytesMax},
    {"L", &X500Name::locality, true, kLocalityBytesMin, kLocalityBytesMax},
    {"ST", &X500Name::state, false, 1, kStateBytesMax},
    {"C", &X500Name::country, true, 2, 2},
}};

constexpr std::string_view kForbiddenCharacters = ",=+;\"'\\<>#$";

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

Status check_value(const Attribute& a, const std::string& value) {
  auto fail = [&](std::string why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "X.500 attribute " + std::string(a.key) + ": " + why);
  };
  if (value.empty()) {
    if (a.required) return fail("required");
    return ok_status();
  }
  if (value.size() < a.bytes_min || value.size() > a.bytes_max)
    return fail("length " + std::to_string(value.size()) + " outside " +
                std::to_string(a.bytes_min) + ".." + std::to_string(a.bytes_max) + " bytes");
  if (!is_valid_utf8(value)) return fail("not valid UTF-8");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return fail("control character");
    if (kForbiddenCharacters.find(static_cast<char>(c)) != std::string_view::npos)
      return fail(std::string("character '") + static_cast<char>(c) + "' not allowed");
  }
  // C1 control characters U+0080..U+009F are encoded as C2 80..C2 9F.
  for (size_t i = 0; i + 1 < value.size(); ++i) {
    if (static_cast<unsigned char>(value[i]) == 0xc2 &&
        static_cast<unsigned char>(value[i + 1]) < 0xa0)
      return fail("control character");
  }
  if (value.front() == ' ' || value.back() == ' ') return fail("leading or trailing space");
  if (value.find("  ") != std::string::npos) return fail("double space");
  if (a.key == "C") {
    for (char c : value)
      if (c < 'A' || c > 'Z') return fail("country must be two upper-case letters");
  }
  return ok_status();
}

}  // namespace

Status X500Name::validate() const {
  for (const Attribute& a : kAttributes) FOLIO_TRY(check_value(a, this->*a.field));
  return ok_status();
}

std::string X500Name::str() const {
  std::string out;
  for (const Attribute& a : kAttributes) {
    const std::string& value = this->*a.field;
    if (value.empty()) continue;
    if (!out.empty()) out += ", ";
    out += a.key;
    out += '=';
    out += value;
  }
  return out;
}

Result<X500Name> X500Name::make(std::string organisation, std::string locality,
                                std::string country) {
  X500Name name;
  name.organisation = std::move(organisation);
  name.locality = std::move(locality);
  name.country = std::move(country);
  FOLIO_TRY(name.validate());
  return name;
}

Result<X500Name> X500Name::parse(std::string_view text) {
  if (text.size() > kX500NameTextBytesMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "X.500 name longer than " + std::to_string(kX500NameTextBytesMax) + " bytes");
  X500Name name;
  std::array<bool, kAttributes.size()> seen{};
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = trim_spaces(text.substr(start, comma - start));
    size_t equals = part.find('=');
    if (equals == std::string_view::npos)
      return make_error(ErrorCode::kInvalidArgument,
                        "X.500 name: expected KEY=VALUE, got '" + std::string(part) + "'");
    std::string_view key = part.substr(0, equals);
    std::string_view value = part.substr(equals + 1);
    size_t index = kAttributes.size();
    for (size_t i = 0; i < kAttributes.size(); ++i)
      if (kAttributes[i].key == key) index = i;
    if (index == kAttributes.size())
      return make_error(ErrorCode::kInvalidArgument,
                        "X.500 name: unknown attribute '" + std::string(key) + "'");
    if (seen[index])
      return make_error(ErrorCode::kInvalidArgument,
                        "X.500 name: duplicate attribute " + std::string(key));
    seen[index] = true;
    if (value.empty())
      return make_error(ErrorCode::kInvalidArgument,
                        "X.500 name: empty value for " + std::string(key));
    name.*kAttributes[index].field = std::string(value);
    start = comma + 1;
  }
  FOLIO_TRY(name.validate());
  return name;
}

}  // namespace folio::identity
