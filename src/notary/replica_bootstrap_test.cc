// The network bootstrapper's output: parameters signed and consistent with the certificates,
// private keys private, configurations that read back, and hostile configuration files refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "identity/certificates.h"
#include "notary/bootstrap.h"

namespace folio::notary {
namespace {

namespace fs = std::filesystem;

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("folio-bootstrap-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
               .string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(BootstrapTest, ShardedNetworkIsConsistentWithItsCertificates) {
  BootstrapOptions o;
  o.dir = dir_;
  o.nodes = {"O=Alice,L=London,C=GB", "O=Bob, L=Paris, C=FR"};
  o.shards = 2;
  o.replicas = 4;
  o.genesis_states = 30;
  o.genesis_outputs_per_transaction = 7;
  auto r = bootstrap_network(o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->node_configs.size(), 2u);
  ASSERT_EQ(r->replica_configs.size(), 2u);

  std::set<uint16_t> ports;
  std::optional<identity::NetworkParameters> parameters;
  for (uint32_t s = 0; s < 2; ++s) {
    ASSERT_EQ(r->replica_configs[s].size(), 4u);
    for (uint32_t i = 0; i < 4; ++i) {
      auto c = load_process_config(r->replica_configs[s][i]);
      ASSERT_TRUE(c.ok()) << c.error().message();
      EXPECT_EQ(c->shard, s);
      EXPECT_EQ(c->index, i);
      EXPECT_EQ(c->listen_host, "127.0.0.1");
      EXPECT_TRUE(ports.insert(c->listen_port).second) << "port used twice";
      EXPECT_EQ(c->peers.size(), 10u);
      auto p = load_network_parameters(c->network_parameters, c->certificates_dir);
      ASSERT_TRUE(p.ok()) << p.error().message();
      parameters = *p;
      const identity::NotaryInfo* info = p->find_notary(c->notary);
      ASSERT_NE(info, nullptr);
      EXPECT_EQ(info->kind, identity::NotaryKind::kSharded);
      EXPECT_EQ(info->replica_names[s][i], c->name);
      // The consensus key in the map is the key of the replica's identity certificate.
      auto certs = identity::read_node_certificates(c->certificates_dir);
      ASSERT_TRUE(certs.ok());
      auto key = certs->identity_key.public_key();
      ASSERT_TRUE(key.ok());
      EXPECT_EQ(info->shard_map->shards[s].replicas[i], *key);
      struct stat st {};
      ASSERT_EQ(
          ::stat(identity::NodeCertificateFiles::in(c->certificates_dir).identity_key.c_str(), &st),
          0);
      EXPECT_EQ(st.st_mode & 0777, 0600u);
    }
  }
  struct stat st {};
  ASSERT_EQ(::stat(r->genesis_owner_key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Genesis: every replica and client rebuilds the same transactions.
  auto node = load_process_config(r->node_configs[0]);
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE(node->shard.has_value());
  auto genesis = load_genesis(node->genesis);
  ASSERT_TRUE(genesis.ok()) << genesis.error().message();
  auto txs = genesis_transactions(*genesis);
  ASSERT_EQ(txs.size(), 5u);  // 30 states, 7 per transaction
  EXPECT_EQ(txs.back().outputs.size(), 2u);
  EXPECT_EQ(genesis_transactions(*genesis)[0].id(), txs[0].id());
  auto owner = load_genesis_owner_key(r->genesis_owner_key_path);
  ASSERT_TRUE(owner.ok());
  EXPECT_EQ(owner->public_key(), genesis->owner);
  auto entry = notary_entry(*parameters, node->notary);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->identity, genesis->notary);
}

TEST_F(BootstrapTest, RefusesBadOptions) {
  BootstrapOptions o;
  o.dir = dir_;
  o.replicas = 3;
  EXPECT_FALSE(bootstrap_network(o).ok());
  o.replicas = 4;
  o.shards = 0;
  EXPECT_FALSE(bootstrap_network(o).ok());
  o.shards = 1;
  o.nodes = {"not a name"};
  EXPECT_FALSE(bootstrap_network(o).ok());
  o.nodes = {};
  o.notary = identity::NotaryKind::kRaft;
  EXPECT_FALSE(bootstrap_network(o).ok());
}

TEST_F(BootstrapTest, HostileConfigurationFilesAreRefused) {
  fs::create_directories(dir_);
  const std::vector<std::string> bodies = {
      "",
      "[]",
      "{\"name\": 5}",
      "{not json",
      "{\"name\":\"O=A, L=B, C=GB\",\"listen\":\"127.0.0.1:99999\"}",
      "{\"name\":\"O=A, L=B, C=GB\",\"listen\":\"127.0.0.1:1\",\"certificates\":\"c\","
      "\"database\":\"d\",\"transport_database\":\"t\",\"network_parameters\":\"p\","
      "\"genesis\":\"g\",\"notary\":\"O=N, L=B, C=GB\",\"peers\":[{\"name\":\"O=P, L=B, C=GB\","
      "\"address\":\"h:1\",\"key\":\"zz\"}]}",
      "{\"name\":\"O=A, L=B, C=GB\",\"shard\":-1,\"index\":0,\"listen\":\"127.0.0.1:1\"}",
  };
  for (size_t i = 0; i < bodies.size(); ++i) {
    std::string path = dir_ + "/bad" + std::to_string(i) + ".json";
    ASSERT_TRUE(identity::write_text_file(path, bodies[i]).ok());
    EXPECT_FALSE(load_process_config(path).ok()) << bodies[i];
  }
  EXPECT_FALSE(load_process_config(dir_ + "/missing.json").ok());
  std::string genesis = dir_ + "/genesis.json";
  ASSERT_TRUE(identity::write_text_file(genesis, "{\"states\": 18446744073709551615}").ok());
  EXPECT_FALSE(load_genesis(genesis).ok());
}

}  // namespace
}  // namespace folio::notary
