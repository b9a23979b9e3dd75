// The network bootstrapper (`folio network bootstrap`; Corda's network bootstrapper, for a notary
// of kind single, bft or sharded): writes into one directory everything a local test network of
// real processes needs, and the readers of what it wrote.
//
// Layout under `dir` (docs/network.md):
//   root/, doorman/, nodes/<slug>/         make_test_network's PEMs (private keys 0600): one
//                                          certificate directory per node, per replica and for the
//                                          notary service identity
//   network-map/                           the network map certificate and key (0600)
//   network-parameters.bin                 the signed NetworkParameters (codec SignedByNetworkMap)
//   network-parameters.json                the same, readable
//   genesis.json                           the genesis issuance every replica loads (GenesisSpec)
//   genesis-owner-key.hex                  the Ed25519 seed owning the genesis states (0600)
//   config/<slug>.json                     one configuration per node and per replica
//
// A replica's Ed25519 consensus key is the key of its identity certificate; a shard's keys are
// sorted (as ShardMap requires), and a replica's `index` is its key's position in that order.
//
// Every name in a configuration is canonical X.500 text. Functions here do file I/O; they are
// thread-safe as long as no two calls write the same directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "identity/network_map.h"
#include "ledger/transaction.h"
#include "notary/notary.h"

namespace folio::notary {

constexpr uint32_t kBootstrapShardsMax = 16;
constexpr uint32_t kBootstrapReplicasMax = 16;
constexpr uint32_t kGenesisOutputsPerTransactionMax = 2000;
constexpr uint64_t kGenesisStatesMax = 2'000'000;
constexpr size_t kConfigBytesMax = 1u << 20;

struct BootstrapOptions {
  std::string dir;
  std::vector<std::string> nodes;  // X.500 names of ordinary nodes (clients)
  identity::NotaryKind notary = identity::NotaryKind::kSharded;
  std::string notary_name = "O=Notary, L=London, C=GB";
  uint32_t shards = 2;    // forced to 1 for bft
  uint32_t replicas = 4;  // per shard, 3f+1 >= 4
  // Ports are picked free on 127.0.0.1 (bind to port 0) unless base_port is set, in which case
  // the nth process listens on base_port + n.
  uint16_t base_port = 0;
  uint64_t genesis_states = 10'000;  // cash states of 100 each, owned by the genesis owner key
  uint32_t genesis_outputs_per_transaction = 500;
};

struct PeerEntry {
  std::string name;       // canonical X.500
  std::string address;    // host:port
  crypto::PublicKey key;  // identity key: signs receipts (and, for a replica, consensus votes)
};

// The genesis issuance: `transactions` issuance transactions, the last possibly shorter, holding
// `states` cash outputs in all; salts derived from `seed`, so every replica and client rebuilds
// the same transactions and ids.
struct GenesisSpec {
  crypto::PublicKey owner;
  ledger::Party notary;
  uint64_t states = 0;
  uint32_t outputs_per_transaction = 500;
  FixedBytes<32> seed;
};

// A node's RPC users (docs/rpc.md): the password only as a libsodium crypto_pwhash_str hash.
struct RpcUser {
  std::string name;
  std::string password_hash;
  std::vector<std::string> permissions;  // "ALL" grants every permission
};
struct RpcConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::vector<RpcUser> users;
};
constexpr size_t kRpcUsersMax = 64;
constexpr size_t kRpcPermissionsMax = 64;

// What one process reads at start: a replica (`shard` set) or a node.
struct ProcessConfig {
  std::string name;  // canonical X.500
  std::optional<uint32_t> shard;
  uint32_t index = 0;  // the replica's position in its shard's key order
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string certificates_dir;  // NodeCertificateFiles::in(certificates_dir)
  std::string database;          // consensus and object table (replicas) or client state (nodes)
  std::string transport_database;
  std::string network_parameters;  // signed parameters file
  std::string genesis;             // genesis.json
  std::string status_file;         // a replica writes its status here (JSON), atomically
  std::string notary;              // the notary's name in the parameters
  std::vector<PeerEntry> peers;    // every node and replica of the network, self included
  // Nodes only (`folio node run`): the node's state directory, its RPC server, and the network map
  // service as "host:port" (empty: none; the node then uses only its cache and `peers`).
  std::string node_directory;
  std::optional<RpcConfig> rpc;
  std::string network_map;
};

struct BootstrapResult {
  std::vector<std::string> node_configs;                  // in the order of options.nodes
  std::vector<std::vector<std::string>> replica_configs;  // [shard][index]
  std::string parameters_path;
  std::string genesis_owner_key_path;
  // The network map service: its directory (for `folio networkmap run --dir`), its parameters in
  // JSON (--parameters) and the address every node configuration names (--port).
  std::string network_map_dir;
  std::string network_map_parameters;
  std::string network_map_address;
  // Per node (order of options.nodes): the file holding the RPC user `demo`'s password (0600).
  std::vector<std::string> rpc_password_files;
};

Result<BootstrapResult> bootstrap_network(const BootstrapOptions& options);

// A new RPC user with a random password: the user (hash only) and the password in clear.
struct BootstrapRpcUser {
  RpcUser user;
  std::string password;
};
Result<BootstrapRpcUser> make_rpc_user(const std::string& name,
                                       std::vector<std::string> permissions);

Result<ProcessConfig> load_process_config(const std::string& path);
std::string process_config_to_json(const ProcessConfig& config);

// Reads the signed parameters and checks their signature against the root in `certificates_dir`.
Result<identity::NetworkParameters> load_network_parameters(const std::string& path,
                                                            const std::string& certificates_dir);
// The notary named `name` as a verifier sees it (identity Party, kind, map).
Result<NotaryEntry> notary_entry(const identity::NetworkParameters& parameters,
                                 std::string_view name);

Result<GenesisSpec> load_genesis(const std::string& path);
std::vector<ledger::WireTransaction> genesis_transactions(const GenesisSpec& spec);
Result<crypto::PrivateKey> load_genesis_owner_key(const std::string& path);

// `count` distinct free TCP ports on 127.0.0.1: each bound to port 0, all held until every one is
// chosen (the kernel may hand out a just-released port again), then released. Another process can
// still take one before its owner listens: a small race that tests accept.
Result<std::vector<uint16_t>> pick_free_ports(size_t count);

}  // namespace folio::notary
