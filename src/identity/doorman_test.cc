#include "identity/doorman.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>

#include "identity/test_ports.h"

namespace folio::identity {
namespace {

std::string temp_dir(const std::string& label) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / ("folio-" + label + "-XXXXXX")).string();
  FOLIO_ASSERT(mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

X500Name name_of(const std::string& text) {
  auto name = X500Name::parse(text);
  FOLIO_ASSERT(name.ok());
  return *name;
}

struct RunningDoorman {
  std::unique_ptr<DoormanStore> store;
  std::unique_ptr<DoormanServer> server;
  int port = 0;
};

RunningDoorman start_doorman(const std::string& dir, bool dev_mode) {
  RunningDoorman out;
  auto store = DoormanStore::open(dir);
  FOLIO_ASSERT(store.ok());
  out.store = std::move(*store);
  out.server = std::make_unique<DoormanServer>(*out.store, DoormanOptions{dev_mode, true});
  auto port = out.server->start("127.0.0.1", 0);
  FOLIO_ASSERT(port.ok());
  out.port = *port;
  return out;
}

std::string csr_for(const std::string& name, KeyPair* key_out = nullptr) {
  auto key = KeyPair::generate(KeyType::kEd25519);
  FOLIO_ASSERT(key.ok());
  auto csr = create_csr(name_of(name), *key);
  FOLIO_ASSERT(csr.ok());
  if (key_out != nullptr) *key_out = *key;
  return *csr;
}

TEST(Doorman, DevModeIssuesANodeCaAndTheNodeBuildsItsCertificates) {
  std::string dir = temp_dir("doorman-dev");
  RunningDoorman doorman = start_doorman(dir + "/doorman", true);
  DoormanClient client("127.0.0.1", doorman.port);
  X500Name alice = name_of("O=Alice, L=London, C=GB");
  auto certs = obtain_node_certificates(client, alice, doorman.store->root(), dir + "/alice", 1, 0);
  ASSERT_TRUE(certs.ok()) << certs.error().message();
  EXPECT_EQ(certs->name, alice);
  auto read = read_node_certificates(dir + "/alice");
  ASSERT_TRUE(read.ok()) << read.error().message();
  auto name = verify_node_chain(read->identity_chain, doorman.store->root(), CertRole::kIdentity);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, alice);
  EXPECT_TRUE(read->tls_chain[2] == doorman.store->doorman_ca());
  std::filesystem::remove_all(dir);
}

TEST(Doorman, ManualApprovalSurvivesARestartAndAnotherProcessApproves) {
  std::string dir = temp_dir("doorman-manual");
  std::string store_dir = dir + "/doorman";
  std::string id;
  KeyPair key;
  {
    RunningDoorman doorman = start_doorman(store_dir, false);
    DoormanClient client("127.0.0.1", doorman.port);
    auto submitted = client.submit(csr_for("O=Bob, L=Paris, C=FR", &key));
    ASSERT_TRUE(submitted.ok()) << submitted.error().message();
    id = *submitted;
    auto status = client.status(id);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->state, RequestState::kPending);
    auto waited = client.wait_for_approval(id, 2, 1);
    ASSERT_FALSE(waited.ok());
    EXPECT_EQ(waited.error().code, ErrorCode::kTimeout);
  }
  // Restart: the request is still pending. `folio doorman approve` opens the directory in its own
  // process; a second store on the same directory stands for it here.
  RunningDoorman doorman = start_doorman(store_dir, false);
  DoormanClient client("127.0.0.1", doorman.port);
  EXPECT_EQ(doorman.store->pending(), std::vector<std::string>{id});
  auto cli_store = DoormanStore::open(store_dir);
  ASSERT_TRUE(cli_store.ok());
  EXPECT_TRUE((*cli_store)->root() == doorman.store->root());
  ASSERT_TRUE((*cli_store)->approve(id).ok());
  auto chain = client.wait_for_approval(id, 1, 0);
  ASSERT_TRUE(chain.ok()) << chain.error().message();
  auto name = verify_node_chain(*chain, doorman.store->root(), CertRole::kNodeCa);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->str(), "O=Bob, L=Paris, C=FR");
  EXPECT_EQ(*(*chain)[0].public_key(), *key.public_key());
  EXPECT_TRUE(doorman.store->pending().empty());
  std::filesystem::remove_all(dir);
}

TEST(Doorman, AdminEndpointApprovesAndRejectsFromLocalhost) {
  std::string dir = temp_dir("doorman-admin");
  RunningDoorman doorman = start_doorman(dir, false);
  DoormanClient client("127.0.0.1", doorman.port);
  auto first = client.submit(csr_for("O=Carol, L=Rome, C=IT"));
  auto second = client.submit(csr_for("O=Dave, L=Oslo, C=NO"));
  ASSERT_TRUE(first.ok() && second.ok());
  httplib::Client http("127.0.0.1", doorman.port);
  auto pending = http.Get("/admin/pending");
  ASSERT_TRUE(pending);
  EXPECT_NE(pending->body.find(*first), std::string::npos);
  auto approved = http.Post("/admin/approve/" + *first, "", "text/plain");
  ASSERT_TRUE(approved);
  EXPECT_EQ(approved->status, 200);
  auto rejected = http.Post("/admin/reject/" + *second, "unknown party\n", "text/plain");
  ASSERT_TRUE(rejected);
  EXPECT_EQ(rejected->status, 200);
  EXPECT_EQ(client.status(*first)->state, RequestState::kApproved);
  auto status = client.status(*second);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->state, RequestState::kRejected);
  EXPECT_EQ(status->reason, "unknown party ");
  auto waited = client.wait_for_approval(*second, 1, 0);
  EXPECT_FALSE(waited.ok());
  // A rejected request stays rejected.
  EXPECT_FALSE(doorman.store->approve(*second).ok());
  std::filesystem::remove_all(dir);
}

TEST(Doorman, RefusesANameAlreadyIssuedToAnotherKey) {
  std::string dir = temp_dir("doorman-name");
  RunningDoorman doorman = start_doorman(dir, true);
  DoormanClient client("127.0.0.1", doorman.port);
  ASSERT_TRUE(client.submit(csr_for("O=Alice, L=London, C=GB")).ok());
  auto again = client.submit(csr_for("O=Alice, L=London, C=GB"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  // The same key asking again (a new CSR, so a new id) is fine: it is the holder.
  KeyPair key;
  std::string first = csr_for("O=Erin, L=Berlin, C=DE", &key);
  ASSERT_TRUE(client.submit(first).ok());
  auto renewed = create_csr(name_of("O=Erin, L=Berlin, C=DE"), key);
  ASSERT_TRUE(renewed.ok());
  // Ed25519 signatures are deterministic, so the same key and name give the same CSR and id.
  EXPECT_EQ(*client.submit(*renewed), *client.submit(first));

  // Two pending requests for one name under manual approval: the second approval is refused.
  std::string manual_dir = temp_dir("doorman-name-manual");
  RunningDoorman manual = start_doorman(manual_dir, false);
  DoormanClient manual_client("127.0.0.1", manual.port);
  auto a = manual_client.submit(csr_for("O=Frank, L=Madrid, C=ES"));
  auto b = manual_client.submit(csr_for("O=Frank, L=Madrid, C=ES"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(manual.store->approve(*a).ok());
  Status second = manual.store->approve(*b);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_EQ(manual_client.status(*b)->state, RequestState::kRejected);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(manual_dir);
}

TEST(Doorman, MalformedRequestsGetClientErrorsNotCrashes) {
  std::string dir = temp_dir("doorman-bad");
  RunningDoorman doorman = start_doorman(dir, true);
  httplib::Client http("127.0.0.1", doorman.port);
  for (const std::string& body :
       {std::string(), std::string("garbage"),
        std::string(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
        std::string(1000, '\0')}) {
    auto r = http.Post("/certificate", body, "text/plain");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body.substr(0, 20);
  }
  auto big = http.Post("/certificate", std::string(kPemBytesMax + 10, 'A'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  // A P-256 node CA key is refused: CA keys are Ed25519.
  auto p256 = KeyPair::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(p256.ok());
  auto p256_csr = create_csr(name_of("O=Grace, L=Lisbon, C=PT"), *p256);
  ASSERT_TRUE(p256_csr.ok());
  auto r = http.Post("/certificate", *p256_csr, "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  auto unknown = http.Get("/certificate/0123456789abcdef0123456789abcdef");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto traversal = http.Get("/certificate/..%2F..%2Froot-key.pem");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
  DoormanClient client("127.0.0.1", doorman.port);
  EXPECT_FALSE(client.status("../root-key.pem").ok());
  std::filesystem::remove_all(dir);
}

TEST(Doorman, ClientReportsAnUnreachableDoorman) {
  ClosedPort closed;
  ASSERT_TRUE(closed.bound());
  DoormanClient client("127.0.0.1", closed.port());
  auto r = client.submit(csr_for("O=Heidi, L=Vienna, C=AT"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(client.status(std::string(32, 'a')).error().code, ErrorCode::kIo);
}

TEST(Doorman, ASecondServiceCannotTakeAPortInUse) {
  std::string dir = temp_dir("doorman-port");
  RunningDoorman first = start_doorman(dir + "/a", true);
  auto store = DoormanStore::open(dir + "/b");
  ASSERT_TRUE(store.ok());
  DoormanServer second(**store, DoormanOptions{});
  auto port = second.start("127.0.0.1", first.port);
  EXPECT_FALSE(port.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace folio::identity
