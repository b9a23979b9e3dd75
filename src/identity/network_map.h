// The network map (ARCHITECTURE.md §4, "Identity"; the Corda seed's "The network map"): the signed
// list of the network's nodes and the signed network parameters.
//
// Data, all encoded with the strict codec (codec.h); the encoding is what is hashed and signed:
//   NodeInfo           a node's X.500 name, addresses, identity certificate chain, services,
//                      platform version and serial; signed by the node's identity key
//                      (SignedNodeInfo). Its hash is SHA-256 of the NodeInfo encoding.
//   NetworkParameters  epoch, minimum platform version, size bounds, the notaries (name, kind,
//                      validating flag, and for bft/sharded notaries the shard map with the
//                      replicas' names), modified time.
//   NetworkMap         the sorted hashes of the current node infos and the parameters' hash.
// The map and the parameters are SignedByNetworkMap: signed by the network map key, whose
// certificate (issued directly by the root, not a CA) travels with the signature. Every signature
// covers a domain tag then the encoding, so one kind of signed object never passes for another.
// Readers check every signature against the root they were configured with.
//
// NetworkMapService holds the current map (thread-safe, persisted in a directory); NetworkMapServer
// serves it over HTTP; NetworkMapClient publishes a node's info, fetches and verifies the map and
// caches it on disk, serving from the cache while the service is unreachable.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "identity/certificates.h"
#include "sbac/shard_map.h"

namespace folio::identity {

constexpr size_t kNodeAddressesMax = 16;
constexpr size_t kNodeServicesMax = 16;
constexpr size_t kServiceBytesMax = 64;
constexpr size_t kAddressBytesMax = 270;  // a 253-byte host name, ':' and a port
constexpr size_t kNotariesMax = 64;
constexpr size_t kNodeInfosMax = 10'000;
// Largest signed object (node info, map or parameters) anyone accepts.
constexpr size_t kSignedObjectBytesMax = 4u << 20;
// Lifetime of the network map certificate.
constexpr int64_t kNetworkMapValidityDays = 3650;

enum class NotaryKind : uint8_t { kSingle = 0, kRaft = 1, kBft = 2, kSharded = 3 };
constexpr uint32_t enum_count(NotaryKind) { return 4; }
constexpr std::string_view enum_name(NotaryKind) { return "NotaryKind"; }
std::string_view to_string(NotaryKind kind);
Result<NotaryKind> parse_notary_kind(std::string_view text);

// "host:port" with a host of letters, digits, '.', '-' (or a bracketed IPv6 address) and a port
// 1..65535.
Status check_address(std::string_view address);

struct NodeInfo {
  std::string name;                            // canonical X.500 text (X500Name::str())
  std::vector<std::string> addresses;          // "host:port", at least one
  std::vector<std::string> certificate_chain;  // PEM: identity, node CA, doorman CA
  std::vector<std::string> services;           // e.g. "notary"
  uint32_t platform_version = 1;
  uint64_t serial = 0;  // higher replaces lower for the same name
  FOLIO_FIELDS(name, addresses, certificate_chain, services, platform_version, serial)
  friend bool operator==(const NodeInfo&, const NodeInfo&) = default;
  Status check_canonical() const;
};

struct SignedNodeInfo {
  Bytes raw;  // codec encoding of NodeInfo
  crypto::Signature signature;
  FOLIO_FIELDS(raw, signature)
  crypto::Hash256 hash() const { return crypto::sha256(raw); }
};

struct NotaryInfo {
  std::string name;  // canonical X.500 text
  NotaryKind kind = NotaryKind::kSingle;
  bool validating = false;
  // single and raft: the key that signs notarisations. Empty for bft and sharded.
  std::optional<crypto::PublicKey> service_key;
  // bft (one shard) and sharded: the shard map, its epoch equal to the parameters' epoch.
  std::optional<sbac::ShardMap> shard_map;
  // Per shard, the X.500 names of the replicas in the order of shard_map's keys.
  std::vector<std::vector<std::string>> replica_names;
  FOLIO_FIELDS(name, kind, validating, service_key, shard_map, replica_names)
  friend bool operator==(const NotaryInfo&, const NotaryInfo&) = default;
  Status check_canonical() const;
};

struct NetworkParameters {
  sbac::Epoch epoch;
  uint32_t min_platform_version = 1;
  uint64_t max_transaction_bytes = 10u << 20;
  uint64_t max_message_bytes = 10u << 20;
  std::vector<NotaryInfo> notaries;  // sorted by name, names distinct
  int64_t modified_time_ms = 0;
  FOLIO_FIELDS(epoch, min_platform_version, max_transaction_bytes, max_message_bytes, notaries,
               modified_time_ms)
  friend bool operator==(const NetworkParameters&, const NetworkParameters&) = default;
  Status check_canonical() const;
  const NotaryInfo* find_notary(std::string_view name) const;
};

struct NetworkMap {
  std::vector<crypto::Hash256> node_info_hashes;  // strictly sorted
  crypto::Hash256 parameters_hash;
  FOLIO_FIELDS(node_info_hashes, parameters_hash)
  friend bool operator==(const NetworkMap&, const NetworkMap&) = default;
  Status check_canonical() const;
};

struct SignedByNetworkMap {
  Bytes raw;  // codec encoding of NetworkMap or NetworkParameters
  crypto::Signature signature;
  std::string certificate_pem;  // the network map certificate
  FOLIO_FIELDS(raw, signature, certificate_pem)
  crypto::Hash256 hash() const { return crypto::sha256(raw); }
};

// Parameters in JSON (docs/identity.md): for `folio networkmap run --parameters F`.
Result<NetworkParameters> network_parameters_from_json(std::string_view text);
std::string network_parameters_to_json(const NetworkParameters& parameters);

// ---- Signing and verification ---------------------------------------------------------------

// REQUIRES of the key: the node's identity key (Ed25519, with its private half).
Result<SignedNodeInfo> sign_node_info(const NodeInfo& info, const KeyPair& identity_key);
// Decodes strictly, checks the chain to `root` (verify_node_chain, identity role), that the chain
// names info.name, and the signature by the certified identity key.
Result<NodeInfo> verify_node_info(const SignedNodeInfo& signed_info, const Certificate& root);
// A node's signed info from its certificates (services sorted and de-duplicated). Nodes use the
// current time in milliseconds as `serial`, so a restarted node's info replaces the old one.
Result<SignedNodeInfo> make_signed_node_info(const NodeCertificates& certs,
                                             std::vector<std::string> addresses,
                                             std::vector<std::string> services, uint64_t serial,
                                             uint32_t platform_version = 1);
// The node's well-known Party key: the key of its identity certificate.
Result<crypto::PublicKey> party_key(const NodeInfo& info);

struct NetworkMapIdentity {
  KeyPair key;
  Certificate certificate;  // issued by the root; role kNetworkMap
};
Result<SignedByNetworkMap> sign_network_map(const NetworkMap& map, const NetworkMapIdentity& id);
Result<SignedByNetworkMap> sign_network_parameters(const NetworkParameters& parameters,
                                                   const NetworkMapIdentity& id);
Result<NetworkMap> verify_network_map(const SignedByNetworkMap& signed_map,
                                      const Certificate& root);
Result<NetworkParameters> verify_network_parameters(const SignedByNetworkMap& signed_parameters,
                                                    const Certificate& root);

// Files of the network map service's directory: root.pem, network-map.pem, network-map-key.pem.
// On first use the certificate is issued with root_dir/root-key.pem (the doorman's directory holds
// one); later runs only read `dir`.
Result<NetworkMapIdentity> load_or_create_network_map_identity(
    const std::string& dir, const std::optional<std::string>& root_dir, Certificate* root_out);

// ---- Service ----------------------------------------------------------------------------------

// The map's state: the newest node info per name and the signed parameters. Persisted under
// dir/node-infos/<hash>.bin and dir/network-parameters.bin so a restart serves the same map.
// Thread-safe (one mutex).
class NetworkMapService {
 public:
  static Result<std::unique_ptr<NetworkMapService>> open(const std::string& dir,
                                                         const Certificate& root,
                                                         NetworkMapIdentity identity,
                                                         const NetworkParameters& parameters);

  // Verifies and records a node info. kConflict if the name already has this serial or a newer
  // one (the same bytes again are accepted as a no-op); kVerification for a bad chain or
  // signature; kInvalidArgument for a platform version below the parameters' minimum.
  Status publish(const SignedNodeInfo& signed_info);

  Bytes signed_map() const;         // codec SignedByNetworkMap of NetworkMap
  Bytes signed_parameters() const;  // codec SignedByNetworkMap of NetworkParameters
  crypto::Hash256 parameters_hash() const;
  std::optional<Bytes> node_info(const crypto::Hash256& hash) const;  // codec SignedNodeInfo
  size_t node_count() const;

 private:
  NetworkMapService() = default;
  Status resign_locked();

  std::string dir_;
  Certificate root_;
  NetworkMapIdentity identity_;
  NetworkParameters parameters_;
  SignedByNetworkMap signed_parameters_;
  std::map<std::string, SignedNodeInfo> by_name_;  // canonical name -> newest
  std::map<std::string, uint64_t> serial_by_name_;
  Bytes signed_map_;
  mutable std::mutex mutex_;
};

class NetworkMapServer {
 public:
  explicit NetworkMapServer(NetworkMapService& service);
  ~NetworkMapServer();
  NetworkMapServer(const NetworkMapServer&) = delete;
  NetworkMapServer& operator=(const NetworkMapServer&) = delete;
  Result<int> start(const std::string& host, int port);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Client -----------------------------------------------------------------------------------

struct NetworkSnapshot {
  NetworkParameters parameters;
  crypto::Hash256 parameters_hash;
  std::vector<NodeInfo> nodes;  // in the map's hash order
  bool from_cache = false;      // the service was unreachable
  const NodeInfo* find(std::string_view name) const;
};

// One thread at a time. The cache directory holds network-map.bin, network-parameters.bin and
// node-infos/<hash>.bin, all as received (signed); they are verified again when read.
class NetworkMapClient {
 public:
  NetworkMapClient(std::string host, int port, Certificate root, std::string cache_dir);

  Status publish(const SignedNodeInfo& signed_info);
  // What a node does at start: publishes its own info, then update(). A service that cannot be
  // reached is not an error (the snapshot comes from the cache; `published` is false and the
  // caller publishes again later); any other refusal of the node info is.
  struct Registration {
    bool published = false;
    NetworkSnapshot snapshot;
  };
  Result<Registration> register_and_update(const SignedNodeInfo& own);
  // Fetches, verifies and caches the map, the parameters and any node info not cached yet. When
  // the service cannot be reached (connection refused, timeout, 5xx) it returns load_cache()
  // instead; a signature or hash that does not verify is an error, never a fallback.
  Result<NetworkSnapshot> update();
  Result<NetworkSnapshot> load_cache() const;

 private:
  Result<Bytes> get(const std::string& path);

  std::string host_;
  int port_;
  Certificate root_;
  std::string cache_dir_;
};

}  // namespace folio::identity
