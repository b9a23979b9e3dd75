// Whole-process tests of `folio node run` (src/node/node_process.h) on 127.0.0.1: a bootstrapped
// network, the network map service, node processes and, for the sharded case, 2 shards x 4
// replica processes. The RPC is exercised over HTTP as a client would (docs/rpc.md).
//
// No timing thresholds: every wait is a bounded poll for a state, generous for a loaded machine.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "identity/certificates.h"
#include "identity/network_map.h"
#include "net/amqp_transport.h"
#include "node/rpc_server.h"
#include "notary/bootstrap.h"
#include "notary/replica_launcher.h"
#include "storage/database.h"

namespace folio::node {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using notary::ChildProcess;

constexpr const char* kAlice = "O=Alice, L=London, C=GB";
constexpr const char* kBob = "O=Bob, L=Paris, C=FR";
constexpr const char* kCarol = "O=Carol, L=Rome, C=IT";

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("folio-" + name + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(p);
  return p.string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Removes a test's directory when it goes out of scope, unless the test failed (logs stay).
struct RemoveOnSuccess {
  std::string dir;
  ~RemoveOnSuccess() {
    std::error_code ec;
    if (!dir.empty() && !::testing::Test::HasFailure()) fs::remove_all(dir, ec);
  }
};

// Polls `predicate` every 50 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

struct Reply {
  int status = 0;  // 0: no answer
  json body;
};

// A node's RPC endpoint as a client sees it.
class Rpc {
 public:
  Rpc(int port, std::string user, std::string password)
      : port_(port), user_(std::move(user)), password_(std::move(password)) {}
  Reply get(const std::string& path, bool auth = true) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(40, 0);
    if (auth) c.set_basic_auth(user_, password_);
    return convert(c.Get(path));
  }
  Reply post(const std::string& path, const json& body) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(40, 0);
    c.set_basic_auth(user_, password_);
    return convert(c.Post(path, body.dump(), "application/json"));
  }
  bool healthy() const { return get("/api/v1/health", false).status == 200; }
  // Starts a flow and waits for it to leave "running"; its final status object.
  json run_flow(const std::string& path, const json& body) const {
    Reply started = post(path, body);
    EXPECT_EQ(started.status, 202) << started.body.dump();
    if (started.status != 202) return json{};
    std::string id = started.body.at("flow_id").get<std::string>();
    json status;
    for (int i = 0; i < 10; ++i) {
      Reply r = get("/api/v1/flows/" + id + "?wait_ms=20000");
      EXPECT_EQ(r.status, 200);
      status = r.body;
      if (status.value("status", "") != "running") break;
    }
    return status;
  }
  uint64_t balance(const std::string& currency) const {
    Reply r = get("/api/v1/vault/cash");
    EXPECT_EQ(r.status, 200);
    return r.body["balances"].value(currency, uint64_t{0});
  }

 private:
  static Reply convert(const httplib::Result& result) {
    Reply r;
    if (!result) return r;
    r.status = result->status;
    r.body = json::parse(result->body, nullptr, false);
    return r;
  }
  int port_;
  std::string user_;
  std::string password_;
};

// A bootstrapped directory with the network map service and node processes.
class ProcessNetwork {
 public:
  explicit ProcessNetwork(notary::BootstrapResult files) : files_(std::move(files)) {}
  ~ProcessNetwork() {
    for (auto& [name, child] : nodes_) child.stop();
    map_.stop();
  }

  void start_map() {
    json m = json::parse(read_file(fs::path(files_.network_map_dir).parent_path() /
                                   "network-map.json"));
    auto child = ChildProcess::spawn(
        {FOLIO_BINARY, "networkmap", "run", "--dir", files_.network_map_dir, "--parameters",
         files_.network_map_parameters, "--host", "127.0.0.1", "--port",
         std::to_string(m.at("port").get<int>())},
        log("network-map"));
    ASSERT_TRUE(child.ok()) << child.error().message();
    map_ = std::move(child).value();
  }
  void stop_map() { map_.stop(); }

  // Starts the node whose configuration is `config` (path) under `label`.
  void start_node(const std::string& label, const std::string& config) {
    auto child = ChildProcess::spawn({FOLIO_BINARY, "node", "run", "--config", config,
                                      "--map-refresh-ms", "300"},
                                     log(label));
    ASSERT_TRUE(child.ok()) << child.error().message();
    nodes_[label] = std::move(child).value();
    configs_[label] = config;
  }
  void stop_node(const std::string& label) { nodes_[label].stop(std::chrono::seconds(20)); }
  ChildProcess& node(const std::string& label) { return nodes_[label]; }

  Rpc rpc(const std::string& label, const std::string& user = "demo",
          std::optional<std::string> password = std::nullopt) {
    auto config = notary::load_process_config(configs_.at(label));
    EXPECT_TRUE(config.ok());
    std::string pw = password ? *password : trimmed(read_file(password_file(configs_.at(label))));
    return Rpc(config->rpc->port, user, pw);
  }
  std::string log(const std::string& label) const {
    return (fs::path(files_.parameters_path).parent_path() / ("log-" + label + ".txt")).string();
  }
  static std::string password_file(const std::string& config) {
    fs::path p(config);
    return (p.parent_path() / (p.stem().string() + ".rpc-password")).string();
  }

 private:
  notary::BootstrapResult files_;
  ChildProcess map_;
  std::map<std::string, ChildProcess> nodes_;
  std::map<std::string, std::string> configs_;
};

// Adds an RPC user with only `permissions` to the configuration at `path`; its password.
std::string add_rpc_user(const std::string& path, const std::string& name,
                         std::vector<std::string> permissions) {
  auto config = notary::load_process_config(path);
  EXPECT_TRUE(config.ok());
  auto user = notary::make_rpc_user(name, std::move(permissions));
  EXPECT_TRUE(user.ok());
  config->rpc->users.push_back(user->user);
  std::ofstream(path) << notary::process_config_to_json(*config);
  return user->password;
}

// An AMQP endpoint under `name` with the certificates in `certificates_dir`, trusting `root`,
// that knows only `peer` at `address`.
struct Endpoint {
  std::unique_ptr<storage::Database> db;
  net::StaticPeerDirectory directory;
  std::unique_ptr<net::AmqpTransport> transport;
};
std::unique_ptr<Endpoint> open_endpoint(const std::string& name, const std::string& certificates_dir,
                                        const std::string& root, const std::string& peer,
                                        const std::string& address, const std::string& dir) {
  auto e = std::make_unique<Endpoint>();
  auto certs = identity::read_node_certificates(certificates_dir);
  EXPECT_TRUE(certs.ok()) << certs.error().message();
  auto key = certs->identity_key.to_private_key();
  EXPECT_TRUE(key.ok());
  storage::SqliteOptions so;
  so.path = (fs::path(dir) / ("endpoint-" + std::to_string(::getpid()) + ".db")).string();
  auto db = storage::open_sqlite(so);
  EXPECT_TRUE(db.ok());
  e->db = std::move(db).value();
  crypto::PublicKey any_key = key->public_key();
  EXPECT_TRUE(e->directory.put(peer, net::PeerInfo{{address}, any_key}).ok());
  identity::NodeCertificateFiles files = identity::NodeCertificateFiles::in(certificates_dir);
  net::AmqpConfig ac;
  ac.self = name;
  ac.tls_certificate_path = files.tls_chain;
  ac.tls_private_key_path = files.tls_key;
  ac.trusted_root_path = root;
  ac.retry_initial = std::chrono::milliseconds(50);
  ac.retry_max = std::chrono::milliseconds(200);
  auto transport = net::AmqpTransport::create(ac, e->directory, *e->db, *key);
  EXPECT_TRUE(transport.ok()) << transport.error().message();
  e->transport = std::move(transport).value();
  e->transport->set_handler([](const net::Envelope&) { return net::Disposition::kAccepted; });
  e->transport->set_outcome_handler([](const net::MessageId&, net::Disposition) {});
  EXPECT_TRUE(e->transport->start().ok());
  return e;
}

std::string node_address(const std::string& config_path) {
  auto config = notary::load_process_config(config_path);
  EXPECT_TRUE(config.ok());
  return config->listen_host + ":" + std::to_string(config->listen_port);
}

// ---- The RPC server's authentication, without processes ----------------------------------------

TEST(RpcServerTest, StrictBase64) {
  EXPECT_EQ(decode_base64("ZGVtbzpwdw==", 64), std::optional<std::string>("demo:pw"));
  EXPECT_EQ(decode_base64("YWJj", 64), std::optional<std::string>("abc"));
  EXPECT_EQ(decode_base64("", 64), std::optional<std::string>(""));
  EXPECT_FALSE(decode_base64("YWJ", 64));        // not a multiple of 4
  EXPECT_FALSE(decode_base64("Y=Jj", 64));       // padding inside
  EXPECT_FALSE(decode_base64("YW==YWJj", 64));   // data after padding
  EXPECT_FALSE(decode_base64("YW J", 64));       // not in the alphabet
  EXPECT_FALSE(decode_base64("YWJjYWJj", 5));    // over the bound
}

class NullBackend final : public RpcBackend {
 public:
  bool ready() override { return true; }
  RpcReply node_info() override { return {200, "{}"}; }
  RpcReply cash_issue(uint64_t, const std::string&) override { return {202, "{}"}; }
  RpcReply cash_pay(const std::string&, uint64_t, const std::string&) override { return {202, "{}"}; }
  RpcReply double_spend(const std::string&, const std::string&, uint64_t,
                        const std::string&) override {
    return {202, "{}"};
  }
  RpcFlowStatus flow_status(const crypto::Hash256&) override { return {}; }
  RpcReply vault_cash() override { return {200, "{}"}; }
};

std::string basic(const std::string& user, const std::string& password) {
  std::string raw = user + ":" + password;
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < raw.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(raw[i])) << 16;
    if (i + 1 < raw.size()) n |= uint32_t(uint8_t(raw[i + 1])) << 8;
    if (i + 2 < raw.size()) n |= uint8_t(raw[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < raw.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < raw.size() ? kAlphabet[n & 63] : '=');
  }
  return "Basic " + out;
}

TEST(RpcServerTest, AuthenticationAndPermissions) {
  auto admin = notary::make_rpc_user("admin", {"ALL"});
  auto viewer = notary::make_rpc_user("viewer", {std::string(kPermissionNodeInfo)});
  ASSERT_TRUE(admin.ok() && viewer.ok());
  EXPECT_EQ(admin->user.password_hash.find(admin->password), std::string::npos);
  NullBackend backend;
  RpcServer server({admin->user, viewer->user}, backend);
  EXPECT_EQ(server.authorise("", kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise("Bearer x", kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise("Basic !!!!", kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise(basic("admin", "wrong"), kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise(basic("nobody", admin->password), kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise(basic("admin", admin->password), kPermissionCashPayment), 200);
  EXPECT_EQ(server.authorise(basic("viewer", viewer->password), kPermissionNodeInfo), 200);
  EXPECT_EQ(server.authorise(basic("viewer", viewer->password), kPermissionCashIssue), 403);
  // A remembered password does not let another password through.
  EXPECT_EQ(server.authorise(basic("viewer", viewer->password + "x"), kPermissionNodeInfo), 401);
  EXPECT_EQ(server.authorise(basic("viewer", admin->password), kPermissionNodeInfo), 401);
}

// ---- A payment between two node processes, notarised by 2 shards x 4 replica processes ---------

TEST(NodeProcessTest, PaymentAcrossProcessesWithShardedNotary) {
  notary::LocalNetworkOptions o;
  o.bootstrap.dir = temp_dir("node-sharded");
  RemoveOnSuccess cleanup{o.bootstrap.dir};
  o.bootstrap.nodes = {kAlice, kBob};
  o.bootstrap.notary = identity::NotaryKind::kSharded;
  o.bootstrap.shards = 2;
  o.bootstrap.replicas = 4;
  o.bootstrap.genesis_states = 8;
  o.bootstrap.genesis_outputs_per_transaction = 8;
  o.folio_binary = FOLIO_BINARY;
  auto local = notary::LocalNetwork::start(o);
  ASSERT_TRUE(local.ok()) << local.error().message();
  const notary::BootstrapResult& files = (*local)->files();
  std::string viewer_password =
      add_rpc_user(files.node_configs[0], "viewer", {"InvokeRpc.nodeInfo"});

  ProcessNetwork net(files);
  net.start_map();
  net.start_node("alice", files.node_configs[0]);
  net.start_node("bob", files.node_configs[1]);
  Rpc alice = net.rpc("alice");
  Rpc bob = net.rpc("bob");
  ASSERT_TRUE(eventually([&] { return alice.healthy() && bob.healthy(); }))
      << read_file(net.log("alice")) << read_file(net.log("bob"));

  // Authentication and permissions.
  EXPECT_EQ(alice.get("/api/v1/node", false).status, 401);
  EXPECT_EQ(net.rpc("alice", "demo", std::string("wrong")).get("/api/v1/node").status, 401);
  EXPECT_EQ(net.rpc("alice", "nobody", std::string("x")).get("/api/v1/node").status, 401);
  Rpc viewer = net.rpc("alice", "viewer", viewer_password);
  EXPECT_EQ(viewer.get("/api/v1/node").status, 200);
  EXPECT_EQ(viewer.get("/api/v1/vault/cash").status, 403);
  EXPECT_EQ(viewer.post("/api/v1/flows/cash-issue", json{{"amount", 5}, {"currency", "GBP"}}).status,
            403);
  Reply info = alice.get("/api/v1/node");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(info.body.value("name", ""), kAlice);
  // Both nodes appear in the map.
  ASSERT_TRUE(eventually([&] { return alice.get("/api/v1/node").body.value("peers", 0) >= 2; }));
  EXPECT_EQ(alice.post("/api/v1/flows/cash-pay", json{{"to", "O=Nobody, L=Oslo, C=NO"},
                                                      {"amount", 1},
                                                      {"currency", "GBP"}})
                .status,
            400);
  EXPECT_EQ(alice.post("/api/v1/flows/cash-issue", json{{"amount", "lots"}}).status, 400);
  EXPECT_EQ(alice.get("/api/v1/flows/" + std::string(64, 'a')).status, 404);

  // Issue (notarised by the shards: they create the outputs), pay across processes.
  json issued = alice.run_flow("/api/v1/flows/cash-issue", json{{"amount", 1000}, {"currency", "GBP"}});
  ASSERT_EQ(issued.value("status", ""), "completed") << issued.dump() << read_file(net.log("alice"));
  EXPECT_EQ(issued.value("name", ""), "CashIssue");
  EXPECT_EQ(issued.value("tx_id", "").size(), 64u);
  EXPECT_EQ(alice.balance("GBP"), 1000u);
  EXPECT_EQ(alice.post("/api/v1/flows/cash-pay",
                       json{{"to", kBob}, {"amount", 5000}, {"currency", "GBP"}})
                .status,
            409);
  json paid = alice.run_flow("/api/v1/flows/cash-pay",
                             json{{"to", kBob}, {"amount", 10}, {"currency", "GBP"}});
  ASSERT_EQ(paid.value("status", ""), "completed") << paid.dump() << read_file(net.log("alice"));
  EXPECT_EQ(alice.balance("GBP"), 990u);
  ASSERT_TRUE(eventually([&] { return bob.balance("GBP") == 10; })) << read_file(net.log("bob"));

  // A deliberate double spend: the shards commit one and refuse the other.
  json doubled = alice.run_flow(
      "/api/v1/flows/double-spend",
      json{{"to_a", kBob}, {"to_b", kAlice}, {"amount", 7}, {"currency", "GBP"}});
  ASSERT_EQ(doubled.value("status", ""), "completed") << doubled.dump();
  EXPECT_EQ(doubled.value("committed_tx", "").size(), 64u);
  EXPECT_EQ(doubled.value("refused_tx", "").size(), 64u);
  EXPECT_NE(doubled.value("committed_tx", ""), doubled.value("refused_tx", ""));
  EXPECT_EQ(alice.balance("GBP"), 983u);
  ASSERT_TRUE(eventually([&] { return bob.balance("GBP") == 17; }));

  // kill -9 of the payer in the middle of payments (once right after the start was accepted, once
  // a little later, in notarisation or finality), restart: each payment completes exactly once.
  uint64_t alice_expected = 983;
  uint64_t bob_expected = 17;
  for (int delay_ms : {0, 150}) {
    Reply started = alice.post("/api/v1/flows/cash-pay",
                               json{{"to", kBob}, {"amount", 20}, {"currency", "GBP"}});
    ASSERT_EQ(started.status, 202) << started.body.dump();
    std::string id = started.body.at("flow_id").get<std::string>();
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    net.node("alice").signal(SIGKILL);
    ASSERT_TRUE(net.node("alice").wait_exit(std::chrono::seconds(30)).has_value());
    net.start_node("alice", files.node_configs[0]);
    ASSERT_TRUE(eventually([&] { return alice.healthy(); })) << read_file(net.log("alice"));
    json status = json::object();
    for (int i = 0; i < 10 && status.value("status", "running") == "running"; ++i)
      status = alice.get("/api/v1/flows/" + id + "?wait_ms=20000").body;
    ASSERT_EQ(status.value("status", ""), "completed") << status.dump() << read_file(net.log("alice"));
    alice_expected -= 20;
    bob_expected += 20;
    EXPECT_EQ(alice.balance("GBP"), alice_expected);
    ASSERT_TRUE(eventually([&] { return bob.balance("GBP") == bob_expected; }))
        << bob.balance("GBP") << " " << read_file(net.log("bob"));
  }

  // SIGTERM drains and exits 0.
  net.node("bob").signal(SIGTERM);
  auto status = net.node("bob").wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << read_file(net.log("bob"));
}

// ---- The same payment with a bft notary (one shard of 4 replica processes) ---------------------

TEST(NodeProcessTest, PaymentWithBftNotary) {
  notary::LocalNetworkOptions o;
  o.bootstrap.dir = temp_dir("node-bft");
  RemoveOnSuccess cleanup{o.bootstrap.dir};
  o.bootstrap.nodes = {kAlice, kBob};
  o.bootstrap.notary = identity::NotaryKind::kBft;
  o.bootstrap.replicas = 4;
  o.bootstrap.genesis_states = 4;
  o.bootstrap.genesis_outputs_per_transaction = 4;
  o.folio_binary = FOLIO_BINARY;
  auto local = notary::LocalNetwork::start(o);
  ASSERT_TRUE(local.ok()) << local.error().message();
  const notary::BootstrapResult& files = (*local)->files();
  ProcessNetwork net(files);
  net.start_map();
  net.start_node("alice", files.node_configs[0]);
  net.start_node("bob", files.node_configs[1]);
  Rpc alice = net.rpc("alice");
  Rpc bob = net.rpc("bob");
  ASSERT_TRUE(eventually([&] { return alice.healthy() && bob.healthy(); }));
  ASSERT_TRUE(eventually([&] { return alice.get("/api/v1/node").body.value("peers", 0) >= 2; }));
  json issued = alice.run_flow("/api/v1/flows/cash-issue", json{{"amount", 50}, {"currency", "EUR"}});
  ASSERT_EQ(issued.value("status", ""), "completed") << issued.dump() << read_file(net.log("alice"));
  json paid = alice.run_flow("/api/v1/flows/cash-pay",
                             json{{"to", kBob}, {"amount", 20}, {"currency", "EUR"}});
  ASSERT_EQ(paid.value("status", ""), "completed") << paid.dump() << read_file(net.log("alice"));
  EXPECT_EQ(alice.balance("EUR"), 30u);
  ASSERT_TRUE(eventually([&] { return bob.balance("EUR") == 20; }));
  // Bob pays back part of it: his coin's back-chain came from Alice.
  json back = bob.run_flow("/api/v1/flows/cash-pay",
                           json{{"to", kAlice}, {"amount", 5}, {"currency", "EUR"}});
  ASSERT_EQ(back.value("status", ""), "completed") << back.dump() << read_file(net.log("bob"));
  ASSERT_TRUE(eventually([&] { return alice.balance("EUR") == 35; }));
  EXPECT_EQ(bob.balance("EUR"), 15u);
}

// ---- Refusals and the cached network map (a single notary's node process) ----------------------

class SingleNotaryNetwork : public ::testing::Test {
 protected:
  void SetUp() override {
    notary::BootstrapOptions o;
    o.dir = temp_dir("node-single");
    o.nodes = {kAlice, kBob, kCarol};
    o.notary = identity::NotaryKind::kSingle;
    o.genesis_states = 1;
    auto files = notary::bootstrap_network(o);
    ASSERT_TRUE(files.ok()) << files.error().message();
    files_ = *files;
    net_ = std::make_unique<ProcessNetwork>(files_);
    notary_config_ = (fs::path(files_.parameters_path).parent_path() / "config" / "notary.json")
                         .string();
    ASSERT_TRUE(fs::exists(notary_config_));
  }
  void TearDown() override {
    net_.reset();
    RemoveOnSuccess cleanup{fs::path(files_.parameters_path).parent_path().string()};
  }
  notary::BootstrapResult files_;
  std::unique_ptr<ProcessNetwork> net_;
  std::string notary_config_;
};

TEST_F(SingleNotaryNetwork, RefusesPeerOfAnotherRootAndPeerMissingFromTheMap) {
  net_->start_map();
  net_->start_node("alice", files_.node_configs[0]);
  Rpc alice = net_->rpc("alice");
  ASSERT_TRUE(eventually([&] { return alice.healthy(); })) << read_file(net_->log("alice"));
  std::string alice_address = node_address(files_.node_configs[0]);
  std::string root = identity::NodeCertificateFiles::in(
                         fs::path(files_.parameters_path).parent_path() / "nodes" / "alice")
                         .root;

  // Carol: certificates of this network, but no node process, so not in the network map.
  {
    auto carol = open_endpoint(
        kCarol, (fs::path(files_.parameters_path).parent_path() / "nodes" / "carol").string(), root,
        kAlice, alice_address, fs::path(files_.parameters_path).parent_path().string());
    net::Envelope e;
    e.id = crypto::sha256(as_bytes(std::string("carol")));
    e.recipient = kAlice;
    e.topic = "flow.session";
    e.payload = Bytes{1, 2, 3};
    ASSERT_TRUE(carol->transport->send(e).ok());
    ASSERT_TRUE(eventually([&] {
      return read_file(net_->log("alice")).find("not in the network map") != std::string::npos;
    })) << read_file(net_->log("alice"));
    EXPECT_EQ(carol->transport->stats().messages_accepted, 0u);
  }

  // Carol once she is in the map: malformed flow messages are rejected, Alice carries on.
  {
    std::string dir = fs::path(files_.parameters_path).parent_path().string();
    auto carol = open_endpoint(kCarol, (fs::path(dir) / "nodes" / "carol").string(), root, kAlice,
                               alice_address, dir);
    auto certs = identity::read_node_certificates((fs::path(dir) / "nodes" / "carol").string());
    ASSERT_TRUE(certs.ok());
    auto info = identity::make_signed_node_info(
        *certs, {"127.0.0.1:" + std::to_string(carol->transport->listen_port())}, {}, 1);
    ASSERT_TRUE(info.ok());
    auto map_address = notary::load_process_config(files_.node_configs[0])->network_map;
    size_t colon = map_address.rfind(':');
    identity::NetworkMapClient client(map_address.substr(0, colon),
                                      std::stoi(map_address.substr(colon + 1)), certs->root,
                                      (fs::path(dir) / "carol-map-cache").string());
    ASSERT_TRUE(client.publish(*info).ok());
    ASSERT_TRUE(eventually([&] { return alice.get("/api/v1/node").body.value("peers", 0) >= 2; }));
    std::vector<Bytes> garbage = {Bytes{}, Bytes{0xff, 0xff, 0xff, 0xff}, Bytes(4096, 0x01)};
    for (size_t i = 0; i < garbage.size(); ++i) {
      net::Envelope e;
      e.id = crypto::sha256(as_bytes("garbage" + std::to_string(i)));
      e.recipient = kAlice;
      e.topic = "flow.session";
      e.payload = garbage[i];
      ASSERT_TRUE(carol->transport->send(e).ok());
    }
    // (The endpoint reopens the first block's outbox: its earlier message goes now, and is
    // rejected too.)
    ASSERT_TRUE(eventually([&] {
      auto st = carol->transport->stats();
      return st.messages_rejected_by_peer + st.messages_accepted >= garbage.size() + 1;
    })) << read_file(net_->log("alice"));
    EXPECT_EQ(carol->transport->stats().messages_rejected_by_peer, garbage.size() + 1);
    EXPECT_EQ(carol->transport->stats().messages_accepted, 0u);
    EXPECT_TRUE(alice.healthy());
    EXPECT_EQ(alice.get("/api/v1/node").status, 200);
  }

  // Mallory: a node of another network (another root) trying to reach Alice.
  {
    notary::BootstrapOptions other;
    other.dir = temp_dir("node-other-root");
    RemoveOnSuccess cleanup{other.dir};
    other.nodes = {"O=Mallory, L=Oslo, C=NO"};
    other.notary = identity::NotaryKind::kSingle;
    other.genesis_states = 1;
    auto other_files = notary::bootstrap_network(other);
    ASSERT_TRUE(other_files.ok()) << other_files.error().message();
    size_t before = read_file(net_->log("alice")).size();
    auto mallory = open_endpoint("O=Mallory, L=Oslo, C=NO",
                                 (fs::path(other.dir) / "nodes" / "mallory").string(), root, kAlice,
                                 alice_address, other.dir);
    net::Envelope e;
    e.id = crypto::sha256(as_bytes(std::string("mallory")));
    e.recipient = kAlice;
    e.topic = "flow.session";
    e.payload = Bytes{1, 2, 3};
    ASSERT_TRUE(mallory->transport->send(e).ok());
    ASSERT_TRUE(eventually([&] {
      return read_file(net_->log("alice")).size() > before &&
             read_file(net_->log("alice")).find("transport refused", before) != std::string::npos;
    })) << read_file(net_->log("alice"));
    EXPECT_EQ(mallory->transport->stats().messages_accepted, 0u);
    EXPECT_EQ(mallory->transport->stats().connections_verified, 0u);
  }
  EXPECT_TRUE(alice.healthy());
}

TEST_F(SingleNotaryNetwork, KeepsWorkingFromTheCachedMapWhenTheServiceIsDown) {
  net_->start_map();
  net_->start_node("notary", notary_config_);
  net_->start_node("alice", files_.node_configs[0]);
  net_->start_node("bob", files_.node_configs[1]);
  Rpc alice = net_->rpc("alice");
  Rpc bob = net_->rpc("bob");
  ASSERT_TRUE(eventually([&] { return alice.healthy() && bob.healthy(); }));
  // Everyone (notary, Alice, Bob) in Alice's map.
  ASSERT_TRUE(eventually([&] { return alice.get("/api/v1/node").body.value("peers", 0) >= 3; }));
  ASSERT_TRUE(eventually([&] { return bob.get("/api/v1/node").body.value("peers", 0) >= 3; }));
  json issued = alice.run_flow("/api/v1/flows/cash-issue", json{{"amount", 100}, {"currency", "GBP"}});
  ASSERT_EQ(issued.value("status", ""), "completed") << issued.dump();
  json paid = alice.run_flow("/api/v1/flows/cash-pay",
                             json{{"to", kBob}, {"amount", 10}, {"currency", "GBP"}});
  ASSERT_EQ(paid.value("status", ""), "completed") << paid.dump() << read_file(net_->log("alice"));

  // The service goes away; Alice restarts from her cache and pays again.
  net_->stop_map();
  net_->stop_node("alice");
  net_->start_node("alice", files_.node_configs[0]);
  ASSERT_TRUE(eventually([&] { return alice.healthy(); })) << read_file(net_->log("alice"));
  EXPECT_GE(alice.get("/api/v1/node").body.value("peers", 0), 3);
  json again = alice.run_flow("/api/v1/flows/cash-pay",
                              json{{"to", kBob}, {"amount", 15}, {"currency", "GBP"}});
  ASSERT_EQ(again.value("status", ""), "completed") << again.dump() << read_file(net_->log("alice"));
  EXPECT_EQ(alice.balance("GBP"), 75u);
  ASSERT_TRUE(eventually([&] { return bob.balance("GBP") == 25; }));
}

}  // namespace
}  // namespace folio::node
