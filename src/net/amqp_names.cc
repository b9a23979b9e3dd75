#include "net/amqp_names.h"

#include <array>
#include <cctype>
#include <optional>

namespace folio::net {
namespace {

// Attribute keys in canonical order.
constexpr std::array<std::string_view, 6> kKeys = {"CN", "OU", "O", "L", "ST", "C"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<size_t> key_index(std::string_view key) {
  std::string upper;
  for (char c : key) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  for (size_t i = 0; i < kKeys.size(); ++i)
    if (upper == kKeys[i]) return i;
  return std::nullopt;
}

}  // namespace

Result<std::string> canonical_x500(std::string_view text) {
  if (text.size() > kX500NameTextBytesMax)
    return make_error(ErrorCode::kMalformed, "X.500 name longer than " +
                                                 std::to_string(kX500NameTextBytesMax) + " bytes");
  if (text.find_first_of("\\\"+;<>#") != std::string_view::npos)
    return make_error(ErrorCode::kMalformed, "X.500 name with escapes or multi-valued attributes");
  std::array<std::optional<std::string_view>, kKeys.size()> values;
  while (true) {
    size_t comma = text.find(',');
    std::string_view part = trim(text.substr(0, comma));
    size_t equals = part.find('=');
    if (equals == std::string_view::npos)
      return make_error(ErrorCode::kMalformed, "X.500 attribute without '='");
    std::string_view key = trim(part.substr(0, equals));
    std::string_view value = trim(part.substr(equals + 1));
    auto index = key_index(key);
    if (!index) return make_error(ErrorCode::kMalformed, "unknown X.500 attribute '" +
                                                             std::string(key) + "'");
    if (values[*index]) return make_error(ErrorCode::kMalformed, "repeated X.500 attribute " +
                                                                     std::string(kKeys[*index]));
    if (value.empty() || value.find('=') != std::string_view::npos)
      return make_error(ErrorCode::kMalformed, "bad value of X.500 attribute " +
                                                   std::string(kKeys[*index]));
    values[*index] = value;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  for (size_t required : {size_t{2}, size_t{3}, size_t{5}})
    if (!values[required])
      return make_error(ErrorCode::kMalformed,
                        "X.500 name without " + std::string(kKeys[required]));
  std::string out;
  for (size_t i = 0; i < kKeys.size(); ++i) {
    if (!values[i]) continue;
    if (!out.empty()) out += ", ";
    out += kKeys[i];
    out += '=';
    out += *values[i];
  }
  return out;
}

}  // namespace folio::net
