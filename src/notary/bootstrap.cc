#include "notary/bootstrap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "contracts/cash.h"
#include "crypto/hash.h"
#include "identity/certificates.h"
#include "identity/test_network.h"
#include "identity/x500.h"
#include "net/amqp_names.h"

namespace folio::notary {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string key_hex(const crypto::PublicKey& key) { return to_hex(codec::encode_to_bytes(key)); }

Result<crypto::PublicKey> key_from_hex(const std::string& hex) {
  FOLIO_ASSIGN_OR_RETURN(Bytes raw, from_hex(hex));
  return codec::decode_from_bytes<crypto::PublicKey>(raw);
}

Result<std::string> canonical(const std::string& name) {
  FOLIO_ASSIGN_OR_RETURN(identity::X500Name parsed, identity::X500Name::parse(name));
  return parsed.str();
}

Status write_json(const std::string& path, const json& j, unsigned mode = 0644) {
  return identity::write_text_file(path, j.dump(2) + "\n", mode);
}

FixedBytes<32> random_bytes32() {
  // The seeds come from the OS's entropy via a fresh Ed25519 key's derivation input.
  FixedBytes<32> seed;
  auto key = identity::KeyPair::generate(identity::KeyType::kEd25519);
  FOLIO_ASSERT(key.ok());
  auto priv = key->to_private_key();
  FOLIO_ASSERT(priv.ok());
  seed = priv->seed();
  return seed;
}

// A random password of 24 URL-safe characters.
std::string random_password() {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  std::string out;
  for (int i = 0; i < 24; ++i) out.push_back(kAlphabet[randombytes_uniform(64)]);
  return out;
}

Result<std::string> hash_password(const std::string& password) {
  char hashed[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hashed, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return make_error(ErrorCode::kInternal, "crypto_pwhash_str failed (out of memory)");
  return std::string(hashed);
}

}  // namespace

Result<BootstrapRpcUser> make_rpc_user(const std::string& name,
                                       std::vector<std::string> permissions) {
  if (sodium_init() < 0) return make_error(ErrorCode::kInternal, "libsodium failed to start");
  BootstrapRpcUser out;
  out.password = random_password();
  out.user.name = name;
  FOLIO_ASSIGN_OR_RETURN(out.user.password_hash, hash_password(out.password));
  out.user.permissions = std::move(permissions);
  return out;
}

Result<std::vector<uint16_t>> pick_free_ports(size_t count) {
  std::vector<int> fds;
  std::vector<uint16_t> ports;
  Status status = ok_status();
  for (size_t i = 0; i < count && status.ok(); ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      status = make_error(ErrorCode::kIo, "socket");
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      status = make_error(ErrorCode::kIo, "bind to port 0");
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) ::close(fd);
  if (!status.ok()) return status.error();
  return ports;
}

std::vector<ledger::WireTransaction> genesis_transactions(const GenesisSpec& spec) {
  std::vector<ledger::WireTransaction> out;
  contracts::IssuedCurrency token{
      contracts::PartyAndReference{ledger::Party{"O=Genesis Issuer, L=London, C=GB", spec.owner},
                                   Bytes{1}},
      "GBP"};
  uint32_t per = std::max<uint32_t>(1, spec.outputs_per_transaction);
  uint64_t left = spec.states;
  for (uint64_t t = 0; left > 0; ++t) {
    ledger::WireTransaction tx;
    uint64_t n = std::min<uint64_t>(left, per);
    for (uint64_t i = 0; i < n; ++i)
      tx.outputs.push_back(
          contracts::cash_output(contracts::CashAmount{100, token}, spec.owner, spec.notary));
    tx.commands.push_back(contracts::cash_issue(spec.owner));
    tx.notary = spec.notary;
    Bytes material(spec.seed.bytes.begin(), spec.seed.bytes.end());
    for (int k = 0; k < 8; ++k) material.push_back(static_cast<uint8_t>(t >> (8 * k)));
    crypto::Hash256 salt = crypto::sha256(material);
    std::copy(salt.bytes.begin(), salt.bytes.end(), tx.salt.bytes.begin());
    out.push_back(std::move(tx));
    left -= n;
  }
  return out;
}

Result<BootstrapResult> bootstrap_network(const BootstrapOptions& o) {
  using identity::NotaryKind;
  if (o.dir.empty()) return make_error(ErrorCode::kInvalidArgument, "--dir is required");
  bool replicated = o.notary == NotaryKind::kBft || o.notary == NotaryKind::kSharded;
  if (o.notary == NotaryKind::kRaft)
    return make_error(ErrorCode::kUnsupported, "a raft notary is not bootstrapped here");
  uint32_t shards = o.notary == NotaryKind::kSharded ? o.shards : (replicated ? 1 : 0);
  if (replicated && (shards < 1 || shards > kBootstrapShardsMax))
    return make_error(ErrorCode::kInvalidArgument,
                      "--shards must be 1.." + std::to_string(kBootstrapShardsMax));
  if (replicated && (o.replicas < 4 || o.replicas > kBootstrapReplicasMax))
    return make_error(ErrorCode::kInvalidArgument,
                      "--replicas must be 4.." + std::to_string(kBootstrapReplicasMax));
  if (o.genesis_states > kGenesisStatesMax)
    return make_error(ErrorCode::kLimitExceeded, "too many genesis states");
  if (o.genesis_outputs_per_transaction == 0 ||
      o.genesis_outputs_per_transaction > kGenesisOutputsPerTransactionMax)
    return make_error(ErrorCode::kInvalidArgument, "genesis outputs per transaction out of range");

  FOLIO_ASSIGN_OR_RETURN(std::string notary_name, canonical(o.notary_name));
  std::vector<std::string> node_names;
  for (const std::string& n : o.nodes) {
    FOLIO_ASSIGN_OR_RETURN(std::string c, canonical(n));
    node_names.push_back(c);
  }
  // Replica names: "O=Notary S<shard> R<k>" in the notary's locality and country.
  FOLIO_ASSIGN_OR_RETURN(identity::X500Name notary_x500, identity::X500Name::parse(notary_name));
  std::vector<std::vector<std::string>> generated(shards);
  for (uint32_t s = 0; s < shards; ++s)
    for (uint32_t r = 0; r < o.replicas; ++r) {
      identity::X500Name n = notary_x500;
      n.organisation += " S" + std::to_string(s) + " R" + std::to_string(r);
      n.common_name.clear();
      generated[s].push_back(n.str());
    }
  std::vector<std::string> all = node_names;
  if (!replicated) all.push_back(notary_name);
  for (const auto& shard : generated) all.insert(all.end(), shard.begin(), shard.end());

  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return make_error(ErrorCode::kIo, o.dir + ": " + ec.message());
  FOLIO_ASSIGN_OR_RETURN(identity::TestNetwork network,
                         identity::make_test_network(o.dir, all, identity::KeyType::kEcdsaP256));

  std::map<std::string, const identity::TestNetworkNode*> by_name;
  for (size_t i = 0; i < all.size(); ++i) by_name[all[i]] = &network.nodes[i];
  auto identity_public = [&](const std::string& name) -> Result<crypto::PublicKey> {
    return by_name.at(name)->certificates.identity_key.public_key();
  };

  identity::NetworkParameters parameters;
  parameters.epoch = sbac::Epoch(1);
  parameters.modified_time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  identity::NotaryInfo info;
  info.name = notary_name;
  info.kind = o.notary;
  info.validating = false;
  // Per shard: names in the order of their sorted keys.
  std::vector<std::vector<std::string>> ordered(shards);
  if (replicated) {
    sbac::ShardMap map;
    map.epoch = parameters.epoch;
    for (uint32_t s = 0; s < shards; ++s) {
      std::vector<std::pair<crypto::PublicKey, std::string>> keyed;
      for (const std::string& n : generated[s]) {
        FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey k, identity_public(n));
        keyed.emplace_back(k, n);
      }
      std::sort(keyed.begin(), keyed.end());
      sbac::Shard shard;
      for (auto& [k, n] : keyed) {
        shard.replicas.push_back(k);
        ordered[s].push_back(n);
      }
      map.shards.push_back(std::move(shard));
    }
    info.shard_map = map;
    info.replica_names = ordered;
  } else {
    FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey k, identity_public(notary_name));
    info.service_key = k;
  }
  parameters.notaries.push_back(info);
  FOLIO_TRY(parameters.check_canonical());

  FOLIO_ASSIGN_OR_RETURN(
      identity::NetworkMapIdentity map_identity,
      identity::load_or_create_network_map_identity((fs::path(o.dir) / "network-map").string(),
                                                    (fs::path(o.dir) / "root").string(), nullptr));
  FOLIO_ASSIGN_OR_RETURN(identity::SignedByNetworkMap signed_parameters,
                         identity::sign_network_parameters(parameters, map_identity));
  BootstrapResult result;
  result.parameters_path = (fs::path(o.dir) / "network-parameters.bin").string();
  {
    Bytes raw = codec::encode_to_bytes(signed_parameters);
    FOLIO_TRY(
        identity::write_text_file(result.parameters_path, std::string(raw.begin(), raw.end())));
    FOLIO_TRY(identity::write_text_file((fs::path(o.dir) / "network-parameters.json").string(),
                                        identity::network_parameters_to_json(parameters)));
  }

  // Genesis: an owner key of its own (0600), the spec every replica rebuilds.
  crypto::PrivateKey owner = crypto::PrivateKey::ed25519(random_bytes32());
  result.genesis_owner_key_path = (fs::path(o.dir) / "genesis-owner-key.hex").string();
  FOLIO_TRY(
      identity::write_text_file(result.genesis_owner_key_path, owner.seed().hex() + "\n", 0600));
  FOLIO_ASSIGN_OR_RETURN(NotaryEntry entry, notary_entry(parameters, notary_name));
  json genesis = {{"owner", key_hex(owner.public_key())},
                  {"notary_name", entry.identity.name},
                  {"notary_key", key_hex(entry.identity.owning_key)},
                  {"states", o.genesis_states},
                  {"outputs_per_transaction", o.genesis_outputs_per_transaction},
                  {"seed", random_bytes32().hex()}};
  std::string genesis_path = (fs::path(o.dir) / "genesis.json").string();
  FOLIO_TRY(write_json(genesis_path, genesis));

  // Addresses.
  uint16_t next_port = o.base_port;
  std::vector<uint16_t> free_ports;
  // Beyond the AMQP listeners: one RPC port per node process (nodes, and a single notary), and
  // the network map service's port.
  size_t rpc_processes = node_names.size() + (replicated ? 0 : 1);
  if (o.base_port == 0) {
    FOLIO_ASSIGN_OR_RETURN(free_ports, pick_free_ports(all.size() + rpc_processes + 1));
  }
  size_t next_free = 0;
  std::vector<PeerEntry> peers;
  auto add_peer = [&](const std::string& name) -> Status {
    uint16_t port = o.base_port != 0 ? next_port++ : free_ports.at(next_free++);
    FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey k, identity_public(name));
    peers.push_back(PeerEntry{name, "127.0.0.1:" + std::to_string(port), k});
    return ok_status();
  };
  for (const std::string& n : node_names) FOLIO_TRY(add_peer(n));
  if (!replicated) FOLIO_TRY(add_peer(notary_name));
  for (const auto& shard : ordered)
    for (const std::string& n : shard) FOLIO_TRY(add_peer(n));

  auto config_for = [&](const std::string& name) {
    ProcessConfig c;
    c.name = name;
    const identity::TestNetworkNode* node = by_name.at(name);
    std::string slug = fs::path(node->dir).filename().string();
    fs::path state = fs::path(o.dir) / "state" / slug;
    c.certificates_dir = fs::absolute(node->dir).string();
    c.database = fs::absolute(state / "replica.db").string();
    c.transport_database = fs::absolute(state / "transport.db").string();
    c.status_file = fs::absolute(state / "status.json").string();
    c.network_parameters = fs::absolute(result.parameters_path).string();
    c.genesis = fs::absolute(genesis_path).string();
    c.notary = notary_name;
    c.peers = peers;
    for (const PeerEntry& p : peers) {
      if (p.name != name) continue;
      size_t colon = p.address.rfind(':');
      c.listen_host = p.address.substr(0, colon);
      c.listen_port = static_cast<uint16_t>(std::stoi(p.address.substr(colon + 1)));
    }
    return std::make_pair(c, slug);
  };
  auto next_extra_port = [&]() -> uint16_t {
    return o.base_port != 0 ? next_port++ : free_ports.at(next_free++);
  };
  uint16_t network_map_port = next_extra_port();
  result.network_map_dir = fs::absolute(fs::path(o.dir) / "network-map").string();
  result.network_map_parameters =
      fs::absolute(fs::path(o.dir) / "network-parameters.json").string();
  result.network_map_address = "127.0.0.1:" + std::to_string(network_map_port);
  FOLIO_TRY(write_json((fs::path(o.dir) / "network-map.json").string(),
                       json{{"dir", result.network_map_dir},
                            {"parameters", result.network_map_parameters},
                            {"host", "127.0.0.1"},
                            {"port", network_map_port}}));
  fs::path config_dir = fs::path(o.dir) / "config";
  // A node process: its state directory, the network map, and the RPC user `demo` (password in
  // config/<slug>.rpc-password, 0600; only its hash in the configuration).
  auto node_process_config = [&](const std::string& n) -> Result<std::pair<ProcessConfig, std::string>> {
    auto [c, slug] = config_for(n);
    c.node_directory = fs::absolute(fs::path(o.dir) / "state" / slug / "node").string();
    c.network_map = result.network_map_address;
    RpcConfig rpc;
    rpc.port = next_extra_port();
    FOLIO_ASSIGN_OR_RETURN(BootstrapRpcUser user, make_rpc_user("demo", {"ALL"}));
    rpc.users.push_back(user.user);
    c.rpc = rpc;
    std::string password_path = fs::absolute(config_dir / (slug + ".rpc-password")).string();
    FOLIO_TRY(identity::write_text_file(password_path, user.password + "\n", 0600));
    return std::make_pair(c, password_path);
  };
  for (const std::string& n : node_names) {
    FOLIO_ASSIGN_OR_RETURN(auto made, node_process_config(n));
    std::string slug = fs::path(by_name.at(n)->dir).filename().string();
    std::string path = fs::absolute(config_dir / (slug + ".json")).string();
    FOLIO_TRY(identity::write_text_file(path, process_config_to_json(made.first)));
    result.node_configs.push_back(path);
    result.rpc_password_files.push_back(made.second);
  }
  if (!replicated) {
    FOLIO_ASSIGN_OR_RETURN(auto made, node_process_config(notary_name));
    std::string slug = fs::path(by_name.at(notary_name)->dir).filename().string();
    FOLIO_TRY(identity::write_text_file(fs::absolute(config_dir / (slug + ".json")).string(),
                                        process_config_to_json(made.first)));
  }
  result.replica_configs.resize(shards);
  for (uint32_t s = 0; s < shards; ++s) {
    for (uint32_t i = 0; i < ordered[s].size(); ++i) {
      auto [c, slug] = config_for(ordered[s][i]);
      c.shard = s;
      c.index = i;
      std::string path = fs::absolute(config_dir / (slug + ".json")).string();
      FOLIO_TRY(identity::write_text_file(path, process_config_to_json(c)));
      result.replica_configs[s].push_back(path);
    }
  }
  return result;
}

std::string process_config_to_json(const ProcessConfig& c) {
  json j;
  j["name"] = c.name;
  if (c.shard) {
    j["shard"] = *c.shard;
    j["index"] = c.index;
  }
  j["listen"] = c.listen_host + ":" + std::to_string(c.listen_port);
  j["certificates"] = c.certificates_dir;
  j["database"] = c.database;
  j["transport_database"] = c.transport_database;
  j["status_file"] = c.status_file;
  j["network_parameters"] = c.network_parameters;
  j["genesis"] = c.genesis;
  j["notary"] = c.notary;
  json peers = json::array();
  for (const PeerEntry& p : c.peers)
    peers.push_back({{"name", p.name}, {"address", p.address}, {"key", key_hex(p.key)}});
  j["peers"] = peers;
  if (!c.node_directory.empty()) j["node_directory"] = c.node_directory;
  if (!c.network_map.empty()) j["network_map"] = c.network_map;
  if (c.rpc) {
    json users = json::array();
    for (const RpcUser& u : c.rpc->users)
      users.push_back({{"name", u.name}, {"password_hash", u.password_hash},
                       {"permissions", u.permissions}});
    j["rpc"] = {{"host", c.rpc->host}, {"port", c.rpc->port}, {"users", users}};
  }
  return j.dump(2) + "\n";
}

Result<ProcessConfig> load_process_config(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string text, identity::read_text_file(path, kConfigBytesMax));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::kMalformed, path + ": not a JSON object");
  ProcessConfig c;
  try {
    FOLIO_ASSIGN_OR_RETURN(c.name, canonical(j.at("name").get<std::string>()));
    if (j.contains("shard")) {
      c.shard = j.at("shard").get<uint32_t>();
      c.index = j.at("index").get<uint32_t>();
    }
    std::string listen = j.at("listen").get<std::string>();
    FOLIO_TRY(identity::check_address(listen));
    size_t colon = listen.rfind(':');
    c.listen_host = listen.substr(0, colon);
    c.listen_port = static_cast<uint16_t>(std::stoi(listen.substr(colon + 1)));
    c.certificates_dir = j.at("certificates").get<std::string>();
    c.database = j.at("database").get<std::string>();
    c.transport_database = j.at("transport_database").get<std::string>();
    c.status_file = j.value("status_file", "");
    c.network_parameters = j.at("network_parameters").get<std::string>();
    c.genesis = j.at("genesis").get<std::string>();
    FOLIO_ASSIGN_OR_RETURN(c.notary, canonical(j.at("notary").get<std::string>()));
    for (const json& p : j.at("peers")) {
      PeerEntry e;
      FOLIO_ASSIGN_OR_RETURN(e.name, canonical(p.at("name").get<std::string>()));
      e.address = p.at("address").get<std::string>();
      FOLIO_TRY(identity::check_address(e.address));
      FOLIO_ASSIGN_OR_RETURN(e.key, key_from_hex(p.at("key").get<std::string>()));
      c.peers.push_back(std::move(e));
    }
    c.node_directory = j.value("node_directory", "");
    c.network_map = j.value("network_map", "");
    if (!c.network_map.empty()) FOLIO_TRY(identity::check_address(c.network_map));
    if (j.contains("rpc")) {
      const json& r = j.at("rpc");
      RpcConfig rpc;
      rpc.host = r.value("host", "127.0.0.1");
      rpc.port = r.at("port").get<uint16_t>();
      const json& users = r.at("users");
      if (!users.is_array() || users.size() > kRpcUsersMax)
        return make_error(ErrorCode::kMalformed, path + ": rpc.users must be an array of at most " +
                                                     std::to_string(kRpcUsersMax));
      for (const json& u : users) {
        RpcUser user;
        user.name = u.at("name").get<std::string>();
        user.password_hash = u.at("password_hash").get<std::string>();
        if (user.name.empty() || user.password_hash.empty() ||
            user.password_hash.size() >= 128)
          return make_error(ErrorCode::kMalformed, path + ": an rpc user needs a name and a hash");
        const json& permissions = u.at("permissions");
        if (!permissions.is_array() || permissions.size() > kRpcPermissionsMax)
          return make_error(ErrorCode::kMalformed, path + ": rpc permissions");
        for (const json& p : permissions) user.permissions.push_back(p.get<std::string>());
        rpc.users.push_back(std::move(user));
      }
      c.rpc = std::move(rpc);
    }
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kMalformed, path + ": " + e.what());
  }
  return c;
}

Result<identity::NetworkParameters> load_network_parameters(const std::string& path,
                                                            const std::string& certificates_dir) {
  FOLIO_ASSIGN_OR_RETURN(std::string raw,
                         identity::read_text_file(path, identity::kSignedObjectBytesMax));
  FOLIO_ASSIGN_OR_RETURN(identity::SignedByNetworkMap signed_parameters,
                         codec::decode_from_bytes<identity::SignedByNetworkMap>(as_bytes(raw)));
  identity::NodeCertificateFiles files = identity::NodeCertificateFiles::in(certificates_dir);
  FOLIO_ASSIGN_OR_RETURN(std::string root_pem,
                         identity::read_text_file(files.root, identity::kSignedObjectBytesMax));
  FOLIO_ASSIGN_OR_RETURN(identity::Certificate root, identity::Certificate::from_pem(root_pem));
  return identity::verify_network_parameters(signed_parameters, root);
}

Result<NotaryEntry> notary_entry(const identity::NetworkParameters& parameters,
                                 std::string_view name) {
  const identity::NotaryInfo* info = parameters.find_notary(name);
  if (info == nullptr)
    return make_error(ErrorCode::kNotFound, "no notary " + std::string(name) + " in parameters");
  NotaryEntry e;
  e.validating = info->validating;
  e.kind = static_cast<NotaryKind>(info->kind);
  e.shard_map = info->shard_map;
  // A replicated notary has no service key: transactions name it by its first replica's key
  // (the certificate, not this key, is what proves notarisation).
  crypto::PublicKey key =
      info->service_key.has_value() ? *info->service_key : info->shard_map->shards[0].replicas[0];
  e.identity = ledger::Party{info->name, key};
  return e;
}

Result<GenesisSpec> load_genesis(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string text, identity::read_text_file(path, kConfigBytesMax));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::kMalformed, path + ": not a JSON object");
  GenesisSpec g;
  try {
    FOLIO_ASSIGN_OR_RETURN(g.owner, key_from_hex(j.at("owner").get<std::string>()));
    FOLIO_ASSIGN_OR_RETURN(g.notary.name, canonical(j.at("notary_name").get<std::string>()));
    FOLIO_ASSIGN_OR_RETURN(g.notary.owning_key,
                           key_from_hex(j.at("notary_key").get<std::string>()));
    g.states = j.at("states").get<uint64_t>();
    g.outputs_per_transaction = j.at("outputs_per_transaction").get<uint32_t>();
    FOLIO_ASSIGN_OR_RETURN(g.seed, FixedBytes<32>::from_hex(j.at("seed").get<std::string>()));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kMalformed, path + ": " + e.what());
  }
  if (g.states > kGenesisStatesMax || g.outputs_per_transaction == 0 ||
      g.outputs_per_transaction > kGenesisOutputsPerTransactionMax)
    return make_error(ErrorCode::kLimitExceeded, path + ": genesis out of bounds");
  return g;
}

Result<crypto::PrivateKey> load_genesis_owner_key(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string text, identity::read_text_file(path, 256));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  FOLIO_ASSIGN_OR_RETURN(FixedBytes<32> seed, FixedBytes<32>::from_hex(text));
  std::fill(text.begin(), text.end(), '\0');
  return crypto::PrivateKey::ed25519(seed);
}

}  // namespace folio::notary
