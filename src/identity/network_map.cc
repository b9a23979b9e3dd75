#include "identity/network_map.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>

#include "identity/http_service.h"

namespace folio::identity {
namespace {

namespace fs = std::filesystem;

// Domain tags: a signature over one kind of object never verifies as another kind.
constexpr std::string_view kNodeInfoDomain = "folio/identity/node-info/v1\n";
constexpr std::string_view kNetworkMapDomain = "folio/identity/network-map/v1\n";
constexpr std::string_view kParametersDomain = "folio/identity/network-parameters/v1\n";

Bytes tagged(std::string_view domain, ByteView raw) {
  Bytes out(domain.begin(), domain.end());
  out.insert(out.end(), raw.begin(), raw.end());
  return out;
}

codec::Limits signed_limits() {
  codec::Limits limits;
  limits.input_bytes_max = kSignedObjectBytesMax;
  return limits;
}

template <class T>
Result<T> decode_strict(ByteView bytes, const std::string& what) {
  if (bytes.size() > kSignedObjectBytesMax)
    return make_error(ErrorCode::kLimitExceeded,
                      what + " larger than " + std::to_string(kSignedObjectBytesMax) + " bytes");
  auto decoded = codec::decode_from_bytes<T>(bytes, signed_limits());
  if (!decoded.ok())
    return make_error(ErrorCode::kMalformed, what + ": " + decoded.error().context);
  return decoded;
}

Status check_canonical_name(const std::string& text, const std::string& what) {
  auto name = X500Name::parse(text);
  if (!name.ok())
    return make_error(ErrorCode::kInvalidArgument, what + ": " + name.error().context);
  if (name->str() != text)
    return make_error(ErrorCode::kInvalidArgument, what + " is not in canonical form: " + text);
  return ok_status();
}

std::string_view as_text(const Bytes& bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<Bytes> read_bytes(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string text, read_text_file(path, kSignedObjectBytesMax));
  return to_bytes(text);
}

Result<Certificate> verify_network_map_certificate(const std::string& pem,
                                                   const Certificate& root) {
  FOLIO_ASSIGN_OR_RETURN(Certificate cert, Certificate::from_pem(pem));
  FOLIO_TRY(verify_chain({cert}, root));
  uint32_t flags = X509_get_extension_flags(cert.x509());
  FOLIO_ASSIGN_OR_RETURN(KeyPair key, cert.public_key_pair());
  if (cert.is_ca() || (flags & EXFLAG_XKUSAGE) != 0 || key.type() != KeyType::kEd25519 ||
      (X509_get_key_usage(cert.x509()) & KU_DIGITAL_SIGNATURE) == 0)
    return make_error(ErrorCode::kVerification, "not a network map certificate");
  return cert;
}

Result<SignedByNetworkMap> sign_by_network_map(std::string_view domain, Bytes raw,
                                               const NetworkMapIdentity& id) {
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, id.key.to_private_key());
  SignedByNetworkMap out;
  out.signature = key.sign(tagged(domain, raw));
  out.raw = std::move(raw);
  out.certificate_pem = id.certificate.pem();
  return out;
}

Status verify_by_network_map(std::string_view domain, const SignedByNetworkMap& s,
                             const Certificate& root) {
  FOLIO_ASSIGN_OR_RETURN(Certificate cert, verify_network_map_certificate(s.certificate_pem, root));
  FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey key, cert.public_key());
  if (!crypto::verify(key, tagged(domain, s.raw), s.signature))
    return make_error(ErrorCode::kVerification, "network map signature does not verify");
  return ok_status();
}

}  // namespace

// ---- Data -----------------------------------------------------------------------------------

std::string_view to_string(NotaryKind kind) {
  switch (kind) {
    case NotaryKind::kSingle:
      return "single";
    case NotaryKind::kRaft:
      return "raft";
    case NotaryKind::kBft:
      return "bft";
    case NotaryKind::kSharded:
      return "sharded";
  }
  return "unknown";
}

Result<NotaryKind> parse_notary_kind(std::string_view text) {
  for (NotaryKind k :
       {NotaryKind::kSingle, NotaryKind::kRaft, NotaryKind::kBft, NotaryKind::kSharded})
    if (to_string(k) == text) return k;
  return make_error(ErrorCode::kInvalidArgument,
                    "notary kind must be single, raft, bft or sharded, not '" +
                        std::string(text.substr(0, 32)) + "'");
}

Status check_address(std::string_view address) {
  auto fail = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "address '" + std::string(address.substr(0, 64)) + "': " + why);
  };
  if (address.empty() || address.size() > kAddressBytesMax) return fail("bad length");
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return fail("expected host:port");
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port[0] == '0') return fail("bad port");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return fail("bad port");
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value == 0 || value > 65535) return fail("port out of range");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.empty()) return fail("empty IPv6 address");
    for (char c : inner)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return fail("bad IPv6 address");
    return ok_status();
  }
  if (host.empty() || host.size() > 253) return fail("bad host length");
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      return fail("bad character in host");
  return ok_status();
}

Status NodeInfo::check_canonical() const {
  FOLIO_TRY(check_canonical_name(name, "node name"));
  if (addresses.empty() || addresses.size() > kNodeAddressesMax)
    return make_error(ErrorCode::kInvalidArgument,
                      "a node has 1 to " + std::to_string(kNodeAddressesMax) + " addresses");
  for (const std::string& a : addresses) FOLIO_TRY(check_address(a));
  if (certificate_chain.empty() || certificate_chain.size() > kChainLengthMax)
    return make_error(ErrorCode::kInvalidArgument, "bad certificate chain length");
  for (const std::string& pem : certificate_chain)
    if (pem.size() > kPemBytesMax)
      return make_error(ErrorCode::kLimitExceeded, "certificate too long");
  if (services.size() > kNodeServicesMax)
    return make_error(ErrorCode::kInvalidArgument, "too many services");
  for (size_t i = 0; i < services.size(); ++i) {
    const std::string& s = services[i];
    if (s.empty() || s.size() > kServiceBytesMax)
      return make_error(ErrorCode::kInvalidArgument, "bad service name length");
    for (char c : s)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
        return make_error(ErrorCode::kInvalidArgument, "service names use [a-z0-9._-]");
    if (i > 0 && !(services[i - 1] < s))
      return make_error(ErrorCode::kInvalidArgument, "services must be sorted and distinct");
  }
  if (platform_version == 0) return make_error(ErrorCode::kInvalidArgument, "platform version 0");
  return ok_status();
}

Status NotaryInfo::check_canonical() const {
  FOLIO_TRY(check_canonical_name(name, "notary name"));
  bool keyed = kind == NotaryKind::kSingle || kind == NotaryKind::kRaft;
  if (keyed) {
    if (!service_key.has_value() || shard_map.has_value() || !replica_names.empty())
      return make_error(ErrorCode::kInvalidArgument,
                        "a " + std::string(to_string(kind)) + " notary has a service key only");
    return service_key->check_canonical();
  }
  if (service_key.has_value() || !shard_map.has_value())
    return make_error(ErrorCode::kInvalidArgument,
                      "a " + std::string(to_string(kind)) + " notary has a shard map only");
  FOLIO_TRY(shard_map->check_canonical());
  if (kind == NotaryKind::kBft && shard_map->shard_count() != 1)
    return make_error(ErrorCode::kInvalidArgument, "a bft notary is one shard");
  if (replica_names.size() != shard_map->shard_count())
    return make_error(ErrorCode::kInvalidArgument, "replica names do not match the shards");
  for (uint32_t s = 0; s < shard_map->shard_count(); ++s) {
    if (replica_names[s].size() != shard_map->shards[s].replicas.size())
      return make_error(ErrorCode::kInvalidArgument,
                        "shard " + std::to_string(s) + ": replica names do not match its keys");
    for (const std::string& n : replica_names[s])
      FOLIO_TRY(check_canonical_name(n, "replica name"));
  }
  return ok_status();
}

Status NetworkParameters::check_canonical() const {
  if (min_platform_version == 0 || max_transaction_bytes == 0 || max_message_bytes == 0)
    return make_error(ErrorCode::kInvalidArgument, "zero platform version or size bound");
  if (notaries.size() > kNotariesMax)
    return make_error(ErrorCode::kLimitExceeded, "too many notaries");
  for (size_t i = 0; i < notaries.size(); ++i) {
    FOLIO_TRY(notaries[i].check_canonical());
    if (i > 0 && !(notaries[i - 1].name < notaries[i].name))
      return make_error(ErrorCode::kInvalidArgument, "notaries must be sorted by name, distinct");
    if (notaries[i].shard_map.has_value() && notaries[i].shard_map->epoch != epoch)
      return make_error(
          ErrorCode::kInvalidArgument,
          "notary " + notaries[i].name + ": shard map epoch differs from the network's");
  }
  return ok_status();
}

const NotaryInfo* NetworkParameters::find_notary(std::string_view name) const {
  for (const NotaryInfo& n : notaries)
    if (n.name == name) return &n;
  return nullptr;
}

Status NetworkMap::check_canonical() const {
  if (node_info_hashes.size() > kNodeInfosMax)
    return make_error(ErrorCode::kLimitExceeded, "too many node infos");
  for (size_t i = 1; i < node_info_hashes.size(); ++i)
    if (!(node_info_hashes[i - 1] < node_info_hashes[i]))
      return make_error(ErrorCode::kInvalidArgument, "node info hashes must be sorted, distinct");
  return ok_status();
}

// ---- Signing --------------------------------------------------------------------------------

Result<SignedNodeInfo> sign_node_info(const NodeInfo& info, const KeyPair& identity_key) {
  FOLIO_TRY(info.check_canonical());
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, identity_key.to_private_key());
  FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey certified, party_key(info));
  if (!(certified == key.public_key()))
    return make_error(ErrorCode::kInvalidArgument,
                      "the signing key is not the key of the node's identity certificate");
  SignedNodeInfo out;
  out.raw = codec::encode_to_bytes(info);
  out.signature = key.sign(tagged(kNodeInfoDomain, out.raw));
  return out;
}

Result<SignedNodeInfo> make_signed_node_info(const NodeCertificates& certs,
                                             std::vector<std::string> addresses,
                                             std::vector<std::string> services, uint64_t serial,
                                             uint32_t platform_version) {
  NodeInfo info;
  info.name = certs.name.str();
  info.addresses = std::move(addresses);
  for (const Certificate& c : certs.identity_chain) info.certificate_chain.push_back(c.pem());
  std::sort(services.begin(), services.end());
  services.erase(std::unique(services.begin(), services.end()), services.end());
  info.services = std::move(services);
  info.platform_version = platform_version;
  info.serial = serial;
  return sign_node_info(info, certs.identity_key);
}

Result<crypto::PublicKey> party_key(const NodeInfo& info) {
  if (info.certificate_chain.empty())
    return make_error(ErrorCode::kInvalidArgument, "node info without certificates");
  FOLIO_ASSIGN_OR_RETURN(Certificate identity, Certificate::from_pem(info.certificate_chain[0]));
  return identity.public_key();
}

Result<NodeInfo> verify_node_info(const SignedNodeInfo& signed_info, const Certificate& root) {
  FOLIO_ASSIGN_OR_RETURN(NodeInfo info, decode_strict<NodeInfo>(signed_info.raw, "node info"));
  std::vector<Certificate> chain;
  for (const std::string& pem : info.certificate_chain) {
    FOLIO_ASSIGN_OR_RETURN(Certificate c, Certificate::from_pem(pem));
    chain.push_back(std::move(c));
  }
  FOLIO_ASSIGN_OR_RETURN(X500Name certified, verify_node_chain(chain, root, CertRole::kIdentity));
  if (certified.str() != info.name)
    return make_error(
        ErrorCode::kVerification,
        "node info for " + info.name + " carries the certificate of " + certified.str());
  FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey key, chain[0].public_key());
  if (!crypto::verify(key, tagged(kNodeInfoDomain, signed_info.raw), signed_info.signature))
    return make_error(ErrorCode::kVerification, "node info signature does not verify");
  return info;
}

Result<SignedByNetworkMap> sign_network_map(const NetworkMap& map, const NetworkMapIdentity& id) {
  FOLIO_TRY(map.check_canonical());
  return sign_by_network_map(kNetworkMapDomain, codec::encode_to_bytes(map), id);
}

Result<SignedByNetworkMap> sign_network_parameters(const NetworkParameters& parameters,
                                                   const NetworkMapIdentity& id) {
  FOLIO_TRY(parameters.check_canonical());
  return sign_by_network_map(kParametersDomain, codec::encode_to_bytes(parameters), id);
}

Result<NetworkMap> verify_network_map(const SignedByNetworkMap& signed_map,
                                      const Certificate& root) {
  FOLIO_TRY(verify_by_network_map(kNetworkMapDomain, signed_map, root));
  return decode_strict<NetworkMap>(signed_map.raw, "network map");
}

Result<NetworkParameters> verify_network_parameters(const SignedByNetworkMap& signed_parameters,
                                                    const Certificate& root) {
  FOLIO_TRY(verify_by_network_map(kParametersDomain, signed_parameters, root));
  return decode_strict<NetworkParameters>(signed_parameters.raw, "network parameters");
}

Result<NetworkMapIdentity> load_or_create_network_map_identity(
    const std::string& dir, const std::optional<std::string>& root_dir, Certificate* root_out) {
  fs::path d(dir);
  std::string cert_path = (d / "network-map.pem").string();
  std::string key_path = (d / "network-map-key.pem").string();
  std::string root_path = (d / "root.pem").string();
  std::error_code ec;
  NetworkMapIdentity id;
  Certificate root;
  auto read_key = [](const std::string& path) -> Result<KeyPair> {
    FOLIO_ASSIGN_OR_RETURN(std::string pem, read_text_file(path, kPemBytesMax));
    auto key = KeyPair::from_private_pem(pem);
    std::fill(pem.begin(), pem.end(), '\0');
    if (!key.ok()) return make_error(key.error().code, path + ": " + key.error().context);
    return key;
  };
  if (fs::exists(cert_path, ec)) {
    FOLIO_ASSIGN_OR_RETURN(std::string root_pem, read_text_file(root_path, kPemBytesMax));
    FOLIO_ASSIGN_OR_RETURN(root, Certificate::from_pem(root_pem));
    FOLIO_ASSIGN_OR_RETURN(std::string cert_pem, read_text_file(cert_path, kPemBytesMax));
    FOLIO_ASSIGN_OR_RETURN(id.certificate, Certificate::from_pem(cert_pem));
    FOLIO_ASSIGN_OR_RETURN(id.key, read_key(key_path));
  } else {
    if (!root_dir.has_value())
      return make_error(ErrorCode::kNotFound,
                        dir +
                            ": no network map certificate yet; give the directory holding "
                            "root.pem and root-key.pem");
    fs::path r(*root_dir);
    FOLIO_ASSIGN_OR_RETURN(std::string root_pem,
                           read_text_file((r / "root.pem").string(), kPemBytesMax));
    FOLIO_ASSIGN_OR_RETURN(root, Certificate::from_pem(root_pem));
    FOLIO_ASSIGN_OR_RETURN(KeyPair root_key, read_key((r / "root-key.pem").string()));
    if (EVP_PKEY_eq(root_key.evp(), X509_get0_pubkey(root.x509())) != 1)
      return make_error(ErrorCode::kVerification, "root key does not match root.pem");
    FOLIO_ASSIGN_OR_RETURN(X500Name name, root.subject());
    name.common_name = "Folio Network Map";
    FOLIO_ASSIGN_OR_RETURN(id.key, KeyPair::generate(KeyType::kEd25519));
    FOLIO_ASSIGN_OR_RETURN(id.certificate,
                           issue_certificate(CertRole::kNetworkMap, name, id.key, root, root_key,
                                             Validity::days_from_now(kNetworkMapValidityDays)));
    FOLIO_TRY(write_text_file(root_path, root.pem()));
    FOLIO_TRY(id.key.write_private_key_pem(key_path));
    FOLIO_TRY(write_text_file(cert_path, id.certificate.pem()));
  }
  FOLIO_TRY(verify_network_map_certificate(id.certificate.pem(), root));
  if (EVP_PKEY_eq(id.key.evp(), X509_get0_pubkey(id.certificate.x509())) != 1)
    return make_error(ErrorCode::kVerification, key_path + ": key does not match its certificate");
  if (root_out != nullptr) *root_out = root;
  return id;
}

// ---- Service --------------------------------------------------------------------------------

Result<std::unique_ptr<NetworkMapService>> NetworkMapService::open(
    const std::string& dir, const Certificate& root, NetworkMapIdentity identity,
    const NetworkParameters& parameters) {
  std::unique_ptr<NetworkMapService> s(new NetworkMapService());
  s->dir_ = dir;
  s->root_ = root;
  s->identity_ = std::move(identity);
  s->parameters_ = parameters;
  FOLIO_ASSIGN_OR_RETURN(s->signed_parameters_, sign_network_parameters(parameters, s->identity_));
  fs::path infos = fs::path(dir) / "node-infos";
  std::error_code ec;
  fs::create_directories(infos, ec);
  if (ec) return make_error(ErrorCode::kIo, infos.string() + ": " + ec.message());
  FOLIO_TRY(write_text_file((fs::path(dir) / "network-parameters.bin").string(),
                            as_text(codec::encode_to_bytes(s->signed_parameters_))));
  // Reload what was published before the restart; a file that no longer verifies (an expired
  // certificate, a changed root) is skipped.
  for (const auto& entry : fs::directory_iterator(infos, ec)) {
    if (entry.path().extension() != ".bin") continue;
    auto bytes = read_bytes(entry.path().string());
    if (!bytes.ok()) continue;
    auto signed_info = decode_strict<SignedNodeInfo>(*bytes, "node info");
    if (!signed_info.ok()) continue;
    auto info = verify_node_info(*signed_info, root);
    if (!info.ok()) continue;
    auto existing = s->serial_by_name_.find(info->name);
    if (existing != s->serial_by_name_.end() && existing->second >= info->serial) continue;
    s->serial_by_name_[info->name] = info->serial;
    s->by_name_[info->name] = *signed_info;
  }
  std::lock_guard<std::mutex> lock(s->mutex_);
  FOLIO_TRY(s->resign_locked());
  return s;
}

Status NetworkMapService::resign_locked() {
  NetworkMap map;
  for (const auto& [name, info] : by_name_) map.node_info_hashes.push_back(info.hash());
  std::sort(map.node_info_hashes.begin(), map.node_info_hashes.end());
  map.parameters_hash = signed_parameters_.hash();
  FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap signed_map, sign_network_map(map, identity_));
  signed_map_ = codec::encode_to_bytes(signed_map);
  return ok_status();
}

Status NetworkMapService::publish(const SignedNodeInfo& signed_info) {
  FOLIO_ASSIGN_OR_RETURN(NodeInfo info, verify_node_info(signed_info, root_));
  if (info.platform_version < parameters_.min_platform_version)
    return make_error(ErrorCode::kInvalidArgument,
                      "platform version " + std::to_string(info.platform_version) +
                          " is below the network's minimum " +
                          std::to_string(parameters_.min_platform_version));
  std::lock_guard<std::mutex> lock(mutex_);
  auto existing = by_name_.find(info.name);
  if (existing != by_name_.end()) {
    if (existing->second.raw == signed_info.raw) return ok_status();
    uint64_t current = serial_by_name_[info.name];
    if (info.serial <= current)
      return make_error(ErrorCode::kConflict, info.name + ": serial " +
                                                  std::to_string(info.serial) +
                                                  " is not newer than " + std::to_string(current));
  } else if (by_name_.size() >= kNodeInfosMax) {
    return make_error(ErrorCode::kLimitExceeded, "the network map is full");
  }
  fs::path infos = fs::path(dir_) / "node-infos";
  FOLIO_TRY(write_text_file((infos / (signed_info.hash().hex() + ".bin")).string(),
                            as_text(codec::encode_to_bytes(signed_info))));
  if (existing != by_name_.end()) {
    std::error_code ec;
    fs::remove(infos / (existing->second.hash().hex() + ".bin"), ec);
  }
  by_name_[info.name] = signed_info;
  serial_by_name_[info.name] = info.serial;
  return resign_locked();
}

Bytes NetworkMapService::signed_map() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signed_map_;
}

Bytes NetworkMapService::signed_parameters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return codec::encode_to_bytes(signed_parameters_);
}

crypto::Hash256 NetworkMapService::parameters_hash() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signed_parameters_.hash();
}

std::optional<Bytes> NetworkMapService::node_info(const crypto::Hash256& hash) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, info] : by_name_)
    if (info.hash() == hash) return codec::encode_to_bytes(info);
  return std::nullopt;
}

size_t NetworkMapService::node_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_name_.size();
}

// ---- Server ---------------------------------------------------------------------------------

struct NetworkMapServer::Impl {
  NetworkMapService& service;
  HttpService http;
};

NetworkMapServer::NetworkMapServer(NetworkMapService& service) : impl_(new Impl{service, {}}) {
  httplib::Server& server = impl_->http.server();
  NetworkMapService* s = &service;
  auto binary = [](httplib::Response& res, const Bytes& bytes) {
    res.set_content(std::string(as_text(bytes)), "application/octet-stream");
  };
  server.Post("/network-map/publish", [s](const httplib::Request& req, httplib::Response& res) {
    auto signed_info = decode_strict<SignedNodeInfo>(as_bytes(req.body), "signed node info");
    if (!signed_info.ok())
      return reply_error(res, http_status_of(signed_info.error()), signed_info.error().message());
    Status published = s->publish(*signed_info);
    if (!published.ok())
      return reply_error(res, http_status_of(published.error()), published.error().message());
    res.set_content("published\n", "text/plain");
  });
  server.Get("/network-map", [s, binary](const httplib::Request&, httplib::Response& res) {
    binary(res, s->signed_map());
  });
  server.Get("/network-map/node-info/([0-9a-f]{64})",
             [s, binary](const httplib::Request& req, httplib::Response& res) {
               auto hash = crypto::Hash256::from_hex(req.matches[1].str());
               std::optional<Bytes> info = hash.ok() ? s->node_info(*hash) : std::nullopt;
               if (!info.has_value()) return reply_error(res, 404, "no such node info");
               binary(res, *info);
             });
  server.Get("/network-map/network-parameters/([0-9a-f]{64})",
             [s, binary](const httplib::Request& req, httplib::Response& res) {
               if (req.matches[1].str() != s->parameters_hash().hex())
                 return reply_error(res, 404, "no such network parameters");
               binary(res, s->signed_parameters());
             });
}

NetworkMapServer::~NetworkMapServer() { stop(); }

Result<int> NetworkMapServer::start(const std::string& host, int port) {
  return impl_->http.start(host, port, kSignedObjectBytesMax);
}

void NetworkMapServer::stop() { impl_->http.stop(); }

// ---- Client ---------------------------------------------------------------------------------

const NodeInfo* NetworkSnapshot::find(std::string_view name) const {
  for (const NodeInfo& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

NetworkMapClient::NetworkMapClient(std::string host, int port, Certificate root,
                                   std::string cache_dir)
    : host_(std::move(host)),
      port_(port),
      root_(std::move(root)),
      cache_dir_(std::move(cache_dir)) {}

Result<Bytes> NetworkMapClient::get(const std::string& path) {
  auto client = make_http_client(host_, port_);
  auto result = client->Get(path);
  if (!result || result->status != 200) return http_failure(result, "GET " + path);
  if (result->body.size() > kSignedObjectBytesMax)
    return make_error(ErrorCode::kLimitExceeded, "GET " + path + ": answer too large");
  return to_bytes(result->body);
}

Status NetworkMapClient::publish(const SignedNodeInfo& signed_info) {
  auto client = make_http_client(host_, port_);
  Bytes body = codec::encode_to_bytes(signed_info);
  auto result =
      client->Post("/network-map/publish", std::string(as_text(body)), "application/octet-stream");
  if (!result || result->status != 200) return http_failure(result, "network map publish");
  return ok_status();
}

Result<NetworkMapClient::Registration> NetworkMapClient::register_and_update(
    const SignedNodeInfo& own) {
  Registration out;
  Status published = publish(own);
  if (!published.ok() && published.error().code != ErrorCode::kIo) return published.error();
  out.published = published.ok();
  FOLIO_ASSIGN_OR_RETURN(out.snapshot, update());
  return out;
}

Result<NetworkSnapshot> NetworkMapClient::update() {
  fs::path cache(cache_dir_);
  auto fetch = [&]() -> Result<NetworkSnapshot> {
    FOLIO_ASSIGN_OR_RETURN(Bytes map_bytes, get("/network-map"));
    FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap signed_map,
                           decode_strict<SignedByNetworkMap>(map_bytes, "signed network map"));
    FOLIO_ASSIGN_OR_RETURN(NetworkMap map, verify_network_map(signed_map, root_));
    NetworkSnapshot out;
    out.parameters_hash = map.parameters_hash;
    std::string parameters_path = (cache / "network-parameters.bin").string();
    // The parameters and node infos already cached (and still verifying) are not fetched again.
    auto cached_parameters = [&]() -> Result<NetworkParameters> {
      FOLIO_ASSIGN_OR_RETURN(Bytes bytes, read_bytes(parameters_path));
      FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap s,
                             decode_strict<SignedByNetworkMap>(bytes, "parameters"));
      if (s.hash() != map.parameters_hash)
        return make_error(ErrorCode::kNotFound, "cached parameters are older");
      return verify_network_parameters(s, root_);
    }();
    if (cached_parameters.ok()) {
      out.parameters = *cached_parameters;
    } else {
      FOLIO_ASSIGN_OR_RETURN(Bytes bytes,
                             get("/network-map/network-parameters/" + map.parameters_hash.hex()));
      FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap s,
                             decode_strict<SignedByNetworkMap>(bytes, "signed network parameters"));
      if (s.hash() != map.parameters_hash)
        return make_error(ErrorCode::kVerification,
                          "network parameters do not match the map's hash");
      FOLIO_ASSIGN_OR_RETURN(out.parameters, verify_network_parameters(s, root_));
      FOLIO_TRY(write_text_file(parameters_path, as_text(bytes)));
    }
    for (const crypto::Hash256& hash : map.node_info_hashes) {
      std::string path = (cache / "node-infos" / (hash.hex() + ".bin")).string();
      auto cached = [&]() -> Result<NodeInfo> {
        FOLIO_ASSIGN_OR_RETURN(Bytes bytes, read_bytes(path));
        FOLIO_ASSIGN_OR_RETURN(SignedNodeInfo s, decode_strict<SignedNodeInfo>(bytes, "node info"));
        if (s.hash() != hash) return make_error(ErrorCode::kMalformed, "cached node info hash");
        return verify_node_info(s, root_);
      }();
      if (cached.ok()) {
        out.nodes.push_back(*cached);
        continue;
      }
      FOLIO_ASSIGN_OR_RETURN(Bytes bytes, get("/network-map/node-info/" + hash.hex()));
      FOLIO_ASSIGN_OR_RETURN(SignedNodeInfo s, decode_strict<SignedNodeInfo>(bytes, "node info"));
      if (s.hash() != hash)
        return make_error(ErrorCode::kVerification, "node info does not match the map's hash");
      FOLIO_ASSIGN_OR_RETURN(NodeInfo info, verify_node_info(s, root_));
      FOLIO_TRY(write_text_file(path, as_text(bytes)));
      out.nodes.push_back(std::move(info));
    }
    // The map last: it is what load_cache() starts from, so it never names a missing file.
    FOLIO_TRY(write_text_file((cache / "network-map.bin").string(), as_text(map_bytes)));
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(cache / "node-infos", ec)) {
      auto hash = crypto::Hash256::from_hex(entry.path().stem().string());
      if (!hash.ok() ||
          !std::binary_search(map.node_info_hashes.begin(), map.node_info_hashes.end(), *hash))
        fs::remove(entry.path(), ec);
    }
    return out;
  };
  auto fetched = fetch();
  if (fetched.ok() || fetched.error().code != ErrorCode::kIo) return fetched;
  auto cached = load_cache();
  if (!cached.ok())
    return make_error(ErrorCode::kIo,
                      fetched.error().context + "; and no usable cache: " + cached.error().context);
  return cached;
}

Result<NetworkSnapshot> NetworkMapClient::load_cache() const {
  fs::path cache(cache_dir_);
  FOLIO_ASSIGN_OR_RETURN(Bytes map_bytes, read_bytes((cache / "network-map.bin").string()));
  FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap signed_map,
                         decode_strict<SignedByNetworkMap>(map_bytes, "cached network map"));
  FOLIO_ASSIGN_OR_RETURN(NetworkMap map, verify_network_map(signed_map, root_));
  NetworkSnapshot out;
  out.from_cache = true;
  out.parameters_hash = map.parameters_hash;
  FOLIO_ASSIGN_OR_RETURN(Bytes parameter_bytes,
                         read_bytes((cache / "network-parameters.bin").string()));
  FOLIO_ASSIGN_OR_RETURN(SignedByNetworkMap signed_parameters,
                         decode_strict<SignedByNetworkMap>(parameter_bytes, "cached parameters"));
  if (signed_parameters.hash() != map.parameters_hash)
    return make_error(ErrorCode::kVerification, "cached parameters do not match the cached map");
  FOLIO_ASSIGN_OR_RETURN(out.parameters, verify_network_parameters(signed_parameters, root_));
  for (const crypto::Hash256& hash : map.node_info_hashes) {
    FOLIO_ASSIGN_OR_RETURN(Bytes bytes,
                           read_bytes((cache / "node-infos" / (hash.hex() + ".bin")).string()));
    FOLIO_ASSIGN_OR_RETURN(SignedNodeInfo s,
                           decode_strict<SignedNodeInfo>(bytes, "cached node info"));
    if (s.hash() != hash)
      return make_error(ErrorCode::kVerification, "cached node info does not match the map");
    FOLIO_ASSIGN_OR_RETURN(NodeInfo info, verify_node_info(s, root_));
    out.nodes.push_back(std::move(info));
  }
  return out;
}

}  // namespace folio::identity
