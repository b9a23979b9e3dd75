// JSON form of NetworkParameters (docs/identity.md, "Network parameters file"). The JSON is only
// an input format for operators; what is signed and served is the codec encoding.
#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "identity/network_map.h"

namespace folio::identity {
namespace {

using nlohmann::json;

constexpr size_t kParametersJsonBytesMax = 4u << 20;

Result<uint64_t> get_unsigned(const json& j, const char* key, std::optional<uint64_t> fallback) {
  if (!j.contains(key)) {
    if (fallback.has_value()) return *fallback;
    return make_error(ErrorCode::kInvalidArgument, std::string("missing \"") + key + "\"");
  }
  if (!j[key].is_number_unsigned())
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("\"") + key + "\" must be a non-negative integer");
  return j[key].get<uint64_t>();
}

Result<std::string> get_string(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string())
    return make_error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a string");
  return j[key].get<std::string>();
}

Result<crypto::PublicKey> parse_key(const std::string& hex) {
  FOLIO_ASSIGN_OR_RETURN(Bytes raw, from_hex(hex));
  auto key = codec::decode_from_bytes<crypto::PublicKey>(raw);
  if (!key.ok()) return make_error(ErrorCode::kInvalidArgument, "key: " + key.error().context);
  return key;
}

Result<std::string> canonical_name(const std::string& text) {
  FOLIO_ASSIGN_OR_RETURN(X500Name name, X500Name::parse(text));
  return name.str();
}

Result<NotaryInfo> parse_notary(const json& j, sbac::Epoch epoch) {
  if (!j.is_object()) return make_error(ErrorCode::kInvalidArgument, "a notary is an object");
  NotaryInfo n;
  FOLIO_ASSIGN_OR_RETURN(std::string name, get_string(j, "name"));
  FOLIO_ASSIGN_OR_RETURN(n.name, canonical_name(name));
  FOLIO_ASSIGN_OR_RETURN(std::string kind, get_string(j, "kind"));
  FOLIO_ASSIGN_OR_RETURN(n.kind, parse_notary_kind(kind));
  if (j.contains("validating")) {
    if (!j["validating"].is_boolean())
      return make_error(ErrorCode::kInvalidArgument, "\"validating\" must be true or false");
    n.validating = j["validating"].get<bool>();
  }
  if (n.kind == NotaryKind::kSingle || n.kind == NotaryKind::kRaft) {
    FOLIO_ASSIGN_OR_RETURN(std::string key, get_string(j, "key"));
    FOLIO_ASSIGN_OR_RETURN(n.service_key, parse_key(key));
  } else {
    if (!j.contains("shards") || !j["shards"].is_array() || j["shards"].empty() ||
        j["shards"].size() > sbac::kShardsMax)
      return make_error(ErrorCode::kInvalidArgument,
                        n.name + ": \"shards\" must be a non-empty array");
    sbac::ShardMap map;
    map.epoch = epoch;
    for (const json& shard : j["shards"]) {
      if (!shard.is_object() || !shard.contains("replicas") || !shard["replicas"].is_array() ||
          shard["replicas"].size() > sbac::kReplicasPerShardMax)
        return make_error(ErrorCode::kInvalidArgument, n.name + ": a shard needs \"replicas\"");
      std::vector<std::pair<crypto::PublicKey, std::string>> replicas;
      for (const json& r : shard["replicas"]) {
        if (!r.is_object())
          return make_error(ErrorCode::kInvalidArgument, "a replica is an object");
        FOLIO_ASSIGN_OR_RETURN(std::string replica_name, get_string(r, "name"));
        FOLIO_ASSIGN_OR_RETURN(replica_name, canonical_name(replica_name));
        FOLIO_ASSIGN_OR_RETURN(std::string key_hex, get_string(r, "key"));
        FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey key, parse_key(key_hex));
        replicas.emplace_back(std::move(key), std::move(replica_name));
      }
      // The shard map lists keys in sorted order; names follow their keys.
      std::sort(replicas.begin(), replicas.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      sbac::Shard s;
      std::vector<std::string> names;
      for (auto& [key, replica_name] : replicas) {
        s.replicas.push_back(key);
        names.push_back(replica_name);
      }
      map.shards.push_back(std::move(s));
      n.replica_names.push_back(std::move(names));
    }
    n.shard_map = std::move(map);
  }
  FOLIO_TRY(n.check_canonical());
  return n;
}

}  // namespace

Result<NetworkParameters> network_parameters_from_json(std::string_view text) {
  if (text.size() > kParametersJsonBytesMax)
    return make_error(ErrorCode::kLimitExceeded, "parameters file too large");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::kMalformed, "parameters: not a JSON object");
  NetworkParameters p;
  FOLIO_ASSIGN_OR_RETURN(uint64_t epoch, get_unsigned(j, "epoch", std::nullopt));
  p.epoch = sbac::Epoch(epoch);
  FOLIO_ASSIGN_OR_RETURN(uint64_t min_version, get_unsigned(j, "min_platform_version", 1));
  if (min_version == 0 || min_version > UINT32_MAX)
    return make_error(ErrorCode::kInvalidArgument, "min_platform_version out of range");
  p.min_platform_version = static_cast<uint32_t>(min_version);
  FOLIO_ASSIGN_OR_RETURN(p.max_transaction_bytes,
                         get_unsigned(j, "max_transaction_bytes", p.max_transaction_bytes));
  FOLIO_ASSIGN_OR_RETURN(p.max_message_bytes,
                         get_unsigned(j, "max_message_bytes", p.max_message_bytes));
  uint64_t now_ms = static_cast<uint64_t>(std::time(nullptr)) * 1000;
  FOLIO_ASSIGN_OR_RETURN(uint64_t modified, get_unsigned(j, "modified_time_ms", now_ms));
  if (modified > static_cast<uint64_t>(INT64_MAX))
    return make_error(ErrorCode::kInvalidArgument, "modified_time_ms out of range");
  p.modified_time_ms = static_cast<int64_t>(modified);
  if (j.contains("notaries")) {
    if (!j["notaries"].is_array() || j["notaries"].size() > kNotariesMax)
      return make_error(ErrorCode::kInvalidArgument, "\"notaries\" must be an array");
    for (const json& n : j["notaries"]) {
      FOLIO_ASSIGN_OR_RETURN(NotaryInfo notary, parse_notary(n, p.epoch));
      p.notaries.push_back(std::move(notary));
    }
  }
  std::sort(p.notaries.begin(), p.notaries.end(),
            [](const NotaryInfo& a, const NotaryInfo& b) { return a.name < b.name; });
  FOLIO_TRY(p.check_canonical());
  return p;
}

std::string network_parameters_to_json(const NetworkParameters& p) {
  json j = {{"epoch", p.epoch.value()},
            {"min_platform_version", p.min_platform_version},
            {"max_transaction_bytes", p.max_transaction_bytes},
            {"max_message_bytes", p.max_message_bytes},
            {"modified_time_ms", static_cast<uint64_t>(std::max<int64_t>(0, p.modified_time_ms))},
            {"notaries", json::array()}};
  for (const NotaryInfo& n : p.notaries) {
    json notary = {
        {"name", n.name}, {"kind", std::string(to_string(n.kind))}, {"validating", n.validating}};
    if (n.service_key.has_value()) notary["key"] = n.service_key->hex();
    if (n.shard_map.has_value()) {
      json shards = json::array();
      for (uint32_t s = 0; s < n.shard_map->shard_count(); ++s) {
        json replicas = json::array();
        for (size_t r = 0; r < n.shard_map->shards[s].replicas.size(); ++r) {
          std::string name = s < n.replica_names.size() && r < n.replica_names[s].size()
                                 ? n.replica_names[s][r]
                                 : std::string();
          replicas.push_back({{"name", name}, {"key", n.shard_map->shards[s].replicas[r].hex()}});
        }
        shards.push_back({{"replicas", replicas}});
      }
      notary["shards"] = shards;
    }
    j["notaries"].push_back(notary);
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace folio::identity
