#include "identity/network_map.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>

#include "identity/test_network.h"
#include "identity/test_ports.h"

namespace folio::identity {
namespace {

std::string temp_dir(const std::string& label) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("folio-" + label + "-XXXXXX")).string();
  FOLIO_ASSERT(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

crypto::PublicKey replica_key(uint8_t n) {
  FixedBytes<32> seed;
  seed.bytes[0] = n;
  return crypto::PrivateKey::ed25519(seed).public_key();
}

NetworkParameters sample_parameters(const crypto::PublicKey& single_key) {
  NetworkParameters p;
  p.epoch = sbac::Epoch(3);
  p.min_platform_version = 1;
  p.max_transaction_bytes = 1 << 20;
  p.max_message_bytes = 2 << 20;
  p.modified_time_ms = 1'790'000'000'000;
  NotaryInfo single;
  single.name = "O=Notary Single, L=London, C=GB";
  single.kind = NotaryKind::kSingle;
  single.service_key = single_key;
  NotaryInfo sharded;
  sharded.name = "O=Notary Sharded, L=Zurich, C=CH";
  sharded.kind = NotaryKind::kSharded;
  sharded.validating = true;
  sbac::ShardMap map;
  map.epoch = p.epoch;
  for (uint8_t shard = 0; shard < 2; ++shard) {
    sbac::Shard s;
    std::vector<std::string> names;
    for (uint8_t r = 0; r < 4; ++r)
      s.replicas.push_back(replica_key(static_cast<uint8_t>(shard * 4 + r + 1)));
    std::sort(s.replicas.begin(), s.replicas.end());
    for (uint8_t r = 0; r < 4; ++r)
      names.push_back("O=Replica " + std::to_string(shard) + "-" + std::to_string(r) +
                      ", L=Zurich, C=CH");
    map.shards.push_back(s);
    sharded.replica_names.push_back(names);
  }
  sharded.shard_map = map;
  p.notaries = {single, sharded};  // sorted by name: "O=Notary Sh..." < "O=Notary Si..."
  std::sort(p.notaries.begin(), p.notaries.end(),
            [](const NotaryInfo& a, const NotaryInfo& b) { return a.name < b.name; });
  return p;
}

class NetworkMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("networkmap");
    auto network =
        make_test_network(dir_ + "/net", {"O=Alice, L=London, C=GB", "O=Bob, L=Paris, C=FR"});
    ASSERT_TRUE(network.ok()) << network.error().message();
    network_ = std::make_unique<TestNetwork>(std::move(*network));
    auto identity = load_or_create_network_map_identity(dir_ + "/nm", dir_ + "/net/root", &root_);
    ASSERT_TRUE(identity.ok()) << identity.error().message();
    identity_ = *identity;
    ASSERT_TRUE(root_ == network_->root);
    parameters_ = sample_parameters(*alice().identity_key.public_key());
    ASSERT_TRUE(parameters_.check_canonical().ok())
        << parameters_.check_canonical().error().message();
    start();
  }
  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    auto service = NetworkMapService::open(dir_ + "/nm", root_, identity_, parameters_);
    ASSERT_TRUE(service.ok()) << service.error().message();
    service_ = std::move(*service);
    server_ = std::make_unique<NetworkMapServer>(*service_);
    auto port = server_->start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok());
    port_ = *port;
  }
  void stop() {
    server_.reset();
    service_.reset();
  }
  const NodeCertificates& alice() const { return network_->nodes[0].certificates; }
  const NodeCertificates& bob() const { return network_->nodes[1].certificates; }

  NodeInfo info_of(const NodeCertificates& node, uint64_t serial, std::string address) const {
    NodeInfo info;
    info.name = node.name.str();
    info.addresses = {std::move(address)};
    for (const Certificate& c : node.identity_chain) info.certificate_chain.push_back(c.pem());
    info.services = {"notary"};
    info.platform_version = 1;
    info.serial = serial;
    return info;
  }
  SignedNodeInfo signed_info(const NodeCertificates& node, uint64_t serial,
                             std::string address = "127.0.0.1:10001") const {
    auto s =
        make_signed_node_info(node, {std::move(address)}, {"notary", "cash", "notary"}, serial);
    FOLIO_ASSERT(s.ok());
    return *s;
  }
  NetworkMapClient client(const std::string& cache) const {
    return NetworkMapClient("127.0.0.1", port_, root_, dir_ + "/" + cache);
  }

  std::string dir_;
  std::unique_ptr<TestNetwork> network_;
  Certificate root_;
  NetworkMapIdentity identity_;
  NetworkParameters parameters_;
  std::unique_ptr<NetworkMapService> service_;
  std::unique_ptr<NetworkMapServer> server_;
  int port_ = 0;
};

TEST_F(NetworkMapTest, NodesPublishAndClientsFetchAndVerifyTheMap) {
  NetworkMapClient alice_client = client("alice-cache");
  auto registration = alice_client.register_and_update(signed_info(alice(), 1));
  ASSERT_TRUE(registration.ok()) << registration.error().message();
  EXPECT_TRUE(registration->published);
  EXPECT_FALSE(registration->snapshot.from_cache);
  ASSERT_EQ(registration->snapshot.nodes.size(), 1u);
  ASSERT_TRUE(client("bob-cache").publish(signed_info(bob(), 1, "bob.example.com:10002")).ok());
  auto snapshot = alice_client.update();
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message();
  EXPECT_FALSE(snapshot->from_cache);
  ASSERT_EQ(snapshot->nodes.size(), 2u);
  EXPECT_EQ(snapshot->parameters, parameters_);
  const NodeInfo* bob_info = snapshot->find("O=Bob, L=Paris, C=FR");
  ASSERT_NE(bob_info, nullptr);
  EXPECT_EQ(bob_info->addresses, std::vector<std::string>{"bob.example.com:10002"});
  EXPECT_EQ(bob_info->services, (std::vector<std::string>{"cash", "notary"}));
  // The Party key a node learns from the map is the certified identity key.
  EXPECT_EQ(*party_key(*bob_info), *bob().identity_key.public_key());
  const NotaryInfo* sharded = snapshot->parameters.find_notary("O=Notary Sharded, L=Zurich, C=CH");
  ASSERT_NE(sharded, nullptr);
  EXPECT_EQ(sharded->shard_map->shard_count(), 2u);
  EXPECT_EQ(sharded->shard_map->epoch, sbac::Epoch(3));
}

TEST_F(NetworkMapTest, TamperedOrMisattributedSignaturesAreRefused) {
  SignedNodeInfo good = signed_info(alice(), 1);
  EXPECT_TRUE(verify_node_info(good, root_).ok());
  SignedNodeInfo bad_signature = good;
  bad_signature.signature.bytes.bytes[5] ^= 0x01;
  SignedNodeInfo bad_body = good;
  bad_body.raw[bad_body.raw.size() - 1] ^= 0x01;  // the serial
  // Bob signs a node info that claims Alice's name and certificates.
  auto bob_signer = bob().identity_key.to_private_key();
  ASSERT_TRUE(bob_signer.ok());
  SignedNodeInfo wrong_signer = good;
  Bytes message = to_bytes("folio/identity/node-info/v1\n");
  message.insert(message.end(), good.raw.begin(), good.raw.end());
  wrong_signer.signature = bob_signer->sign(message);
  // Alice's name with Bob's certificates, signed by Bob.
  NodeInfo stolen = info_of(bob(), 1, "127.0.0.1:1");
  stolen.name = alice().name.str();
  SignedNodeInfo stolen_name{codec::encode_to_bytes(stolen), {}};
  Bytes stolen_message = to_bytes("folio/identity/node-info/v1\n");
  stolen_message.insert(stolen_message.end(), stolen_name.raw.begin(), stolen_name.raw.end());
  stolen_name.signature = bob_signer->sign(stolen_message);

  NetworkMapClient c = client("cache");
  for (const SignedNodeInfo& s : {bad_signature, bad_body, wrong_signer, stolen_name}) {
    EXPECT_FALSE(verify_node_info(s, root_).ok());
    Status published = c.publish(s);
    ASSERT_FALSE(published.ok());
    EXPECT_EQ(published.error().code, ErrorCode::kVerification) << published.error().message();
  }
  EXPECT_EQ(service_->node_count(), 0u);
  // The sign side refuses a key that is not the certified one.
  EXPECT_FALSE(sign_node_info(info_of(alice(), 1, "127.0.0.1:1"), bob().identity_key).ok());

  // The map and parameters: a flipped bit, a swapped domain, or a signer from another network.
  auto signed_map = codec::decode_from_bytes<SignedByNetworkMap>(service_->signed_map());
  ASSERT_TRUE(signed_map.ok());
  EXPECT_TRUE(verify_network_map(*signed_map, root_).ok());
  SignedByNetworkMap flipped = *signed_map;
  flipped.signature.bytes.bytes[0] ^= 0x80;
  EXPECT_FALSE(verify_network_map(flipped, root_).ok());
  auto signed_parameters =
      codec::decode_from_bytes<SignedByNetworkMap>(service_->signed_parameters());
  ASSERT_TRUE(signed_parameters.ok());
  EXPECT_TRUE(verify_network_parameters(*signed_parameters, root_).ok());
  EXPECT_FALSE(verify_network_map(*signed_parameters, root_).ok());
  std::string other_dir = dir_ + "/other";
  auto other = make_test_network(other_dir + "/net", std::vector<std::string>{});
  ASSERT_TRUE(other.ok());
  auto other_identity =
      load_or_create_network_map_identity(other_dir + "/nm", other_dir + "/net/root", nullptr);
  ASSERT_TRUE(other_identity.ok());
  auto foreign = sign_network_parameters(parameters_, *other_identity);
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(verify_network_parameters(*foreign, root_).ok());
  // A doorman CA (a CA directly under the root) cannot pose as the network map.
  NetworkMapIdentity doorman_as_map{network_->doorman_key, network_->doorman_ca};
  auto posing = sign_network_parameters(parameters_, doorman_as_map);
  ASSERT_TRUE(posing.ok());
  EXPECT_FALSE(verify_network_parameters(*posing, root_).ok());
}

TEST_F(NetworkMapTest, OlderSerialIsIgnoredNewestWins) {
  NetworkMapClient c = client("cache");
  ASSERT_TRUE(c.publish(signed_info(alice(), 5, "127.0.0.1:5005")).ok());
  Status older = c.publish(signed_info(alice(), 4, "127.0.0.1:4004"));
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, ErrorCode::kConflict);
  Status same_serial = c.publish(signed_info(alice(), 5, "127.0.0.1:9999"));
  EXPECT_FALSE(same_serial.ok());
  EXPECT_TRUE(c.publish(signed_info(alice(), 5, "127.0.0.1:5005")).ok());  // identical: no-op
  auto snapshot = c.update();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->nodes.size(), 1u);
  EXPECT_EQ(snapshot->nodes[0].serial, 5u);
  EXPECT_EQ(snapshot->nodes[0].addresses[0], "127.0.0.1:5005");
  ASSERT_TRUE(c.publish(signed_info(alice(), 6, "127.0.0.1:6006")).ok());
  snapshot = c.update();
  ASSERT_TRUE(snapshot.ok());
  ASSERT_EQ(snapshot->nodes.size(), 1u);
  EXPECT_EQ(snapshot->nodes[0].addresses[0], "127.0.0.1:6006");
  // The replaced node info left the client's cache too.
  size_t cached = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/cache/node-infos")) {
    (void)e;
    ++cached;
  }
  EXPECT_EQ(cached, 1u);
}

TEST_F(NetworkMapTest, ClientServesFromItsCacheWhileTheServiceIsDown) {
  NetworkMapClient c = client("cache");
  ASSERT_TRUE(c.publish(signed_info(alice(), 1)).ok());
  ASSERT_TRUE(c.publish(signed_info(bob(), 1)).ok());
  auto live = c.update();
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->from_cache);

  stop();
  // Hold the stopped service's port so that no parallel test's server can answer on it.
  ClosedPort closed(port_);
  ASSERT_TRUE(closed.bound());
  auto cached = c.update();
  ASSERT_TRUE(cached.ok()) << cached.error().message();
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(cached->parameters, live->parameters);
  ASSERT_EQ(cached->nodes.size(), 2u);
  EXPECT_EQ(cached->nodes, live->nodes);
  // Publishing fails while the service is down; a client with no cache has nothing to serve.
  EXPECT_EQ(c.publish(signed_info(alice(), 2)).error().code, ErrorCode::kIo);
  // A node starting now still starts, from the cache.
  auto registration = c.register_and_update(signed_info(alice(), 2));
  ASSERT_TRUE(registration.ok()) << registration.error().message();
  EXPECT_FALSE(registration->published);
  EXPECT_TRUE(registration->snapshot.from_cache);
  EXPECT_EQ(registration->snapshot.nodes.size(), 2u);
  EXPECT_FALSE(client("empty-cache").update().ok());

  // A corrupted cache file is noticed (signatures are checked on every read).
  std::string map_file = dir_ + "/cache/network-map.bin";
  auto bytes = read_text_file(map_file, kSignedObjectBytesMax);
  ASSERT_TRUE(bytes.ok());
  std::string corrupted = *bytes;
  corrupted[corrupted.size() / 2] ^= 0x01;
  ASSERT_TRUE(write_text_file(map_file, corrupted).ok());
  EXPECT_FALSE(c.load_cache().ok());
  ASSERT_TRUE(write_text_file(map_file, *bytes).ok());

  // The restarted service kept what was published.
  start();
  EXPECT_EQ(service_->node_count(), 2u);
  // (on a new port: a new client object over the same cache directory)
  auto again = client("cache").update();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->from_cache);
  EXPECT_EQ(again->nodes, live->nodes);
}

TEST_F(NetworkMapTest, AClientTrustingAnotherRootRefusesTheMap) {
  ASSERT_TRUE(client("cache").publish(signed_info(alice(), 1)).ok());
  auto other = make_test_authorities();
  ASSERT_TRUE(other.ok());
  NetworkMapClient c("127.0.0.1", port_, other->root, dir_ + "/foreign-cache");
  auto snapshot = c.update();
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.error().code, ErrorCode::kVerification);
}

TEST_F(NetworkMapTest, MalformedRequestsGetClientErrorsNotCrashes) {
  httplib::Client http("127.0.0.1", port_);
  SignedNodeInfo good = signed_info(alice(), 1);
  Bytes encoded = codec::encode_to_bytes(good);
  std::string truncated(encoded.begin(), encoded.begin() + static_cast<long>(encoded.size() / 2));
  std::string trailing(encoded.begin(), encoded.end());
  trailing += '\0';
  for (const std::string& body :
       {std::string(), std::string("garbage"), truncated, trailing, std::string(100, '\xff')}) {
    auto r = http.Post("/network-map/publish", body, "application/octet-stream");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  auto big = http.Post("/network-map/publish", std::string(kSignedObjectBytesMax + 1, 'x'),
                       "application/octet-stream");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // A node info whose own content is not canonical (unsorted services) is malformed.
  NodeInfo odd = info_of(alice(), 1, "127.0.0.1:1");
  odd.services = {"zeta", "alpha"};
  EXPECT_FALSE(sign_node_info(odd, alice().identity_key).ok());
  for (const std::string& path :
       {std::string("/network-map/node-info/") + std::string(64, '0'),
        std::string("/network-map/node-info/xyz"),
        std::string("/network-map/network-parameters/") + std::string(64, 'a')}) {
    auto r = http.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
  }
  EXPECT_EQ(service_->node_count(), 0u);
}

TEST(NetworkParametersJson, RoundTripsAndRejectsBadFiles) {
  NetworkParameters p = sample_parameters(replica_key(99));
  auto back = network_parameters_from_json(network_parameters_to_json(p));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, p);
  std::string key = replica_key(1).hex();
  const std::vector<std::string> bad = {
      "",
      "[]",
      "{",
      R"({"min_platform_version": 1})",  // no epoch
      R"({"epoch": -1})",
      R"({"epoch": 1, "max_transaction_bytes": "big"})",
      R"({"epoch": 1, "min_platform_version": 0})",
      R"({"epoch": 1, "notaries": {}})",
      R"({"epoch": 1, "notaries": [{"name": "O=N, L=London, C=GB", "kind": "single"}]})",
      R"({"epoch": 1, "notaries": [{"name": "nonsense", "kind": "single", "key": ")" + key +
          R"("}]})",
      R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", "kind": "paxos", "key": ")" +
          key + R"("}]})",
      R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", "kind": "single", "key": "zz"}]})",
      R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", "kind": "sharded", "shards": []}]})",
      // Two replicas: not 3f+1.
      R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", "kind": "bft", "shards": [{"replicas": [{"name": "O=R1, L=London, C=GB", "key": ")" +
          replica_key(1).hex() + R"("}, {"name": "O=R2, L=London, C=GB", "key": ")" +
          replica_key(2).hex() + R"("}]}]}]})",
      // Two notaries with one name.
      R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", "kind": "single", "key": ")" +
          key + R"("}, {"name": "O=Notary, L=London, C=GB", "kind": "raft", "key": ")" + key +
          R"("}]})",
  };
  for (const std::string& text : bad) EXPECT_FALSE(network_parameters_from_json(text).ok()) << text;
  auto minimal = network_parameters_from_json(R"({"epoch": 7})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->epoch, sbac::Epoch(7));
  EXPECT_TRUE(minimal->notaries.empty());
}

TEST(NodeAddresses, CheckedStrictly) {
  for (const char* good : {"127.0.0.1:1", "node-1.example.com:65535", "[::1]:10000"})
    EXPECT_TRUE(check_address(good).ok()) << good;
  for (const char* bad : {"", "host", "host:", "host:0", "host:65536", "host:01", ":80", "ho st:80",
                          "host:8a", "[]:80", "a/b:80"})
    EXPECT_FALSE(check_address(bad).ok()) << bad;
}

}  // namespace
}  // namespace folio::identity
