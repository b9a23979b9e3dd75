// JSON views of Folio values for the CLI, derived from the same field lists (FOLIO_FIELDS) that
// define the canonical encoding, so every encodable type prints without hand-written code.
// Bytes and hashes print as hex, keys as {scheme, hex} or a compound tree, variants as
// {"variant": index, "value": ...}. State data and command params of the native contracts are also
// decoded into readable form when they decode. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "ledger/ledger_transaction.h"
#include "ledger/tx_file.h"

namespace folio::cli {

using Json = nlohmann::ordered_json;

Json key_json(const crypto::PublicKey& key);

namespace internal {

inline std::vector<std::string> split_field_names(std::string_view names) {
  std::vector<std::string> out;
  while (!names.empty()) {
    size_t comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!name.empty()) out.emplace_back(name);
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace internal

template <class T>
Json to_json(const std::vector<T>& v);
template <class T>
Json to_json(const std::optional<T>& v);
template <class... Ts>
Json to_json(const std::variant<Ts...>& v);
template <codec::HasFields T>
Json to_json(const T& v);

inline Json to_json(const std::string& s) { return s; }
inline Json to_json(const Bytes& b) { return to_hex(b); }
inline Json to_json(bool b) { return b; }
inline Json to_json(uint8_t v) { return v; }
inline Json to_json(uint16_t v) { return v; }
inline Json to_json(uint32_t v) { return v; }
inline Json to_json(uint64_t v) { return v; }
inline Json to_json(int64_t v) { return v; }
template <size_t N>
Json to_json(const FixedBytes<N>& b) {
  return b.hex();
}
template <class Tag, class T>
Json to_json(const Strong<Tag, T>& s) {
  return to_json(s.value());
}
inline Json to_json(const crypto::PublicKey& k) { return key_json(k); }
inline Json to_json(crypto::SignatureScheme s) { return std::string(crypto::to_string(s)); }
inline Json to_json(ledger::ComponentGroup g) { return std::string(ledger::to_string(g)); }

template <class T>
Json to_json(const std::vector<T>& v) {
  Json out = Json::array();
  for (const T& e : v) out.push_back(to_json(e));
  return out;
}
template <class T>
Json to_json(const std::optional<T>& v) {
  return v ? to_json(*v) : Json(nullptr);
}
template <class... Ts>
Json to_json(const std::variant<Ts...>& v) {
  Json out;
  out["variant"] = v.index();
  out["value"] = std::visit([](const auto& alt) { return to_json(alt); }, v);
  return out;
}
template <codec::HasFields T>
Json to_json(const T& v) {
  Json out = Json::object();
  std::vector<std::string> names = internal::split_field_names(T::kFieldNames);
  size_t i = 0;
  std::apply([&](const auto&... f) { ((out[names[i++]] = to_json(f)), ...); }, v.fields());
  return out;
}

// Adds readable "decoded" views of native contracts' states and commands to a transaction's JSON.
Json transaction_json(const ledger::WireTransaction& tx);
Json transaction_file_json(const ledger::TxFileContent& content);

}  // namespace folio::cli
