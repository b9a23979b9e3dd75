// Tests of the AMQP transport over real sockets on 127.0.0.1 with real mutual TLS. Every
// transport listens on an ephemeral port, so tests can run in parallel. Certificates come from
// testing_certs.h (root -> node CA -> TLS), a fresh PKI per test.
#include "net/amqp_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <proton/connection.hpp>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/sender.hpp>
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/types.hpp>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "net/amqp_names.h"
#include "net/testing_certs.h"
#include "storage/database.h"

namespace folio::net {
namespace {

using namespace std::chrono_literals;

const std::string kAlice = "O=Alice, L=London, C=GB";
const std::string kBob = "O=Bob, L=Paris, C=FR";
const std::string kCarol = "O=Carol, L=Rome, C=IT";
const std::string kMallory = "O=Mallory, L=Oslo, C=NO";

// Waits, with a generous deadline, for `condition` to hold. Not a timing assertion: only a bound
// on how long a failing test hangs.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds deadline = 30s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

MessageId message_id(uint64_t n, uint8_t salt = 0) {
  MessageId id;
  for (int i = 0; i < 8; ++i) id.bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  id.bytes[31] = salt;
  return id;
}

void send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the receiver may hang up first
    done += static_cast<size_t>(n);
  }
}

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "folio-amqp-XXXXXX").string();
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

// One node: its certificates, database, transport and what its handler saw.
struct Node {
  std::string name;
  testing::NodeTlsFiles certs;
  std::string root_path;
  std::string db_path;  // SQLite file, so a restarted node finds its outbox and inbox
  std::unique_ptr<storage::Database> db;
  std::unique_ptr<AmqpTransport> transport;

  std::mutex mutex;
  std::map<MessageId, int> delivered;  // id -> handler invocations
  std::vector<Envelope> envelopes;
  std::map<MessageId, Disposition> outcomes;
  size_t outcome_calls = 0;

  size_t delivered_count() {
    std::lock_guard lock(mutex);
    return delivered.size();
  }
  size_t outcome_count() {
    std::lock_guard lock(mutex);
    return outcome_calls;
  }
  // Counters and the last refusal, for failure messages.
  std::string describe() {
    if (!transport) return name + ": stopped";
    AmqpStats s = transport->stats();
    return name + ": sent " + std::to_string(s.messages_sent) + ", accepted " +
           std::to_string(s.messages_accepted) + ", delivered " +
           std::to_string(s.messages_delivered) + ", verified connections " +
           std::to_string(s.connections_verified) + ", refused " +
           std::to_string(s.connections_refused) + ", transport errors " +
           std::to_string(s.transport_errors) + ", receipts " +
           std::to_string(s.receipts_verified) + "; last: " + transport->last_refusal();
  }
  int64_t outbox() {
    auto size = transport->outbox_size();
    EXPECT_TRUE(size.ok());
    return size.ok() ? *size : -1;
  }
};

class AmqpTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    dir_ = make_temp_dir();
    auto ca = testing::TestCertificateAuthority::create(dir_, "network", "O=Root, L=London, C=GB");
    ASSERT_TRUE(ca.ok()) << ca.error().message();
    ca_ = std::move(*ca);
    int n = 0;
    for (const std::string& name : {kAlice, kBob, kCarol, kMallory}) {
      auto files = ca_.issue_node(name, "node" + std::to_string(n++));
      ASSERT_TRUE(files.ok()) << files.error().message();
      certs_[name] = *files;
    }
  }

  void TearDown() override {
    for (auto& [name, node] : nodes_)
      if (node->transport) node->transport->stop();
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  const testing::NodeTlsFiles& certs_of(const std::string& name) const {
    return certs_.at(name);
  }

  // The node's identity key, which signs its receipts: derived from its name, for tests only.
  static crypto::PrivateKey identity_key(const std::string& name) {
    return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
  }

  // Creates (or re-creates, after stop_node) and starts a node, and publishes its address in
  // `directory` (the shared one unless given).
  Node& start_node(const std::string& name, AmqpConfig config = {},
                   StaticPeerDirectory* directory = nullptr,
                   const testing::NodeTlsFiles* certs = nullptr,
                   const std::string& root_path = {}) {
    auto& slot = nodes_[name];
    if (!slot) {
      slot = std::make_unique<Node>();
      slot->name = name;
      slot->db_path = dir_ + "/" + std::to_string(nodes_.size()) + ".sqlite";
      slot->certs = certs ? *certs : certs_of(name);
      slot->root_path = root_path.empty() ? ca_.root_path() : root_path;
    }
    Node& node = *slot;
    if (!node.db) {
      auto db = storage::open_sqlite({node.db_path});
      EXPECT_TRUE(db.ok()) << db.error().message();
      node.db = std::move(*db);
    }
    if (config.self.empty()) config.self = name;
    config.tls_certificate_path = node.certs.certificate_path;
    config.tls_private_key_path = node.certs.private_key_path;
    config.trusted_root_path = node.root_path;
    if (config.retry_max == AmqpConfig{}.retry_max) config.retry_max = 500ms;
    if (config.retry_initial == AmqpConfig{}.retry_initial) config.retry_initial = 20ms;
    StaticPeerDirectory& dir = directory ? *directory : directory_;
    auto transport = AmqpTransport::create(config, dir, *node.db, identity_key(config.self));
    EXPECT_TRUE(transport.ok()) << transport.error().message();
    node.transport = std::move(*transport);
    node.transport->set_handler([&node](const Envelope& envelope) {
      std::lock_guard lock(node.mutex);
      ++node.delivered[envelope.id];
      node.envelopes.push_back(envelope);
      return Disposition::kAccepted;
    });
    node.transport->set_outcome_handler([&node](const MessageId& id, Disposition disposition) {
      std::lock_guard lock(node.mutex);
      node.outcomes[id] = disposition;
      ++node.outcome_calls;
    });
    Status started = node.transport->start();
    EXPECT_TRUE(started.ok()) << started.error().message();
    publish(node, dir);
    return node;
  }

  void publish(Node& node, StaticPeerDirectory& dir) {
    PeerInfo info;
    info.addresses = {"127.0.0.1:" + std::to_string(node.transport->listen_port())};
    info.receipt_key = identity_key(node.name).public_key();
    ASSERT_TRUE(dir.put(node.name, info).ok());
  }

  // Lists a node in the directory without starting it (its address is a closed port).
  void list_offline(const std::string& name) {
    PeerInfo info;
    info.addresses = {"127.0.0.1:1"};
    info.receipt_key = identity_key(name).public_key();
    ASSERT_TRUE(directory_.put(name, info).ok());
  }

  void stop_node(Node& node) {
    node.transport->stop();
    node.transport.reset();
    node.db.reset();
  }

  static Status send(Node& from, const std::string& to, const MessageId& id,
                     std::string payload = "hello", std::string topic = "test") {
    return from.transport->send(Envelope{id, {}, to, std::move(topic), to_bytes(payload)});
  }

  std::string dir_;
  testing::TestCertificateAuthority ca_;
  std::map<std::string, testing::NodeTlsFiles> certs_;
  StaticPeerDirectory directory_;
  StaticPeerDirectory other_directory_;  // a second network map, for a node that sees another
  std::map<std::string, std::unique_ptr<Node>> nodes_;
};

TEST_F(AmqpTransportTest, TwoTransportsExchangeMessagesBothWays) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  ASSERT_TRUE(send(alice, kBob, message_id(1), "to bob").ok());
  ASSERT_TRUE(send(bob, kAlice, message_id(2), "to alice").ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 1 && alice.delivered_count() == 1; }))
      << alice.describe() << "\n" << bob.describe();
  {
    std::lock_guard lock(bob.mutex);
    const Envelope& got = bob.envelopes.at(0);
    EXPECT_EQ(got.id, message_id(1));
    EXPECT_EQ(got.sender, kAlice);
    EXPECT_EQ(got.recipient, kBob);
    EXPECT_EQ(got.topic, "test");
    EXPECT_EQ(to_string(got.payload), "to bob");
  }
  {
    std::lock_guard lock(alice.mutex);
    EXPECT_EQ(alice.envelopes.at(0).sender, kBob);
    EXPECT_EQ(to_string(alice.envelopes.at(0).payload), "to alice");
  }
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == 1 && bob.outcome_count() == 1; }));
  EXPECT_EQ(alice.outcomes.at(message_id(1)), Disposition::kAccepted);
  EXPECT_EQ(bob.outcomes.at(message_id(2)), Disposition::kAccepted);
  // Receipts arrive and clear both outboxes.
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0 && bob.outbox() == 0; }));
  EXPECT_GE(alice.transport->stats().connections_verified, 2u);
}

TEST_F(AmqpTransportTest, ThousandMessagesDeliveredExactlyOnce) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  constexpr int kMessages = 1000;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(send(alice, kBob, message_id(i), "payload " + std::to_string(i)).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == kMessages; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  std::lock_guard lock(bob.mutex);
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(bob.delivered[message_id(i)], 1) << i;
  EXPECT_EQ(bob.envelopes.size(), size_t{kMessages});
  // In order, on one link.
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(bob.envelopes[i].id, message_id(i));
}

TEST_F(AmqpTransportTest, SendIsSafeFromManyThreads) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        if (!send(alice, kBob, message_id(i, static_cast<uint8_t>(t + 1))).ok()) ++failures;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 400; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  std::lock_guard lock(bob.mutex);
  EXPECT_EQ(bob.envelopes.size(), 400u);
}

TEST_F(AmqpTransportTest, ReceiptsAreBatchedSignedAndClearTheOutbox) {
  AmqpConfig bob_config;
  bob_config.receipt_batch_max = 10;
  bob_config.receipt_interval = std::chrono::hours(1);  // only full batches go out
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob, bob_config);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i)).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 25; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 5; }));
  // Accepted (outcome reported) but not yet receipted: the last five wait for a full batch.
  EXPECT_EQ(alice.outcome_count(), 25u);
  AmqpStats stats = alice.transport->stats();
  EXPECT_EQ(stats.receipts_verified, 2u);
  EXPECT_EQ(stats.receipts_invalid, 0u);
  EXPECT_EQ(*alice.transport->receipts_stored(), 2);
  ASSERT_TRUE(eventually([&] { return bob.transport->stats().receipts_sent == 2; }));
}

TEST_F(AmqpTransportTest, ReceiptSignedWithTheWrongKeyIsRefused) {
  // The directory lists a key for Bob that is not the one Bob signs with.
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  PeerInfo wrong;
  wrong.addresses = {"127.0.0.1:" + std::to_string(bob.transport->listen_port())};
  wrong.receipt_key = identity_key(kCarol).public_key();
  ASSERT_TRUE(directory_.put(kBob, wrong).ok());
  ASSERT_TRUE(send(alice, kBob, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return alice.transport->stats().receipts_invalid >= 1; }));
  EXPECT_EQ(alice.outbox(), 1);  // still waiting for a valid receipt
  EXPECT_EQ(alice.transport->stats().receipts_verified, 0u);
  EXPECT_EQ(bob.delivered_count(), 1u);
}

TEST_F(AmqpTransportTest, ReceiverRestartIsRetriedUntilDelivered) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i)).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 5; }));
  stop_node(bob);
  for (int i = 5; i < 15; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i)).ok());
  // Alice cannot reach Bob: the connection attempts fail and the messages stay queued.
  uint64_t errors_before = alice.transport->stats().transport_errors;
  ASSERT_TRUE(eventually([&] { return alice.transport->stats().transport_errors > errors_before + 2; }));
  EXPECT_EQ(bob.delivered_count(), 5u);
  start_node(kBob);  // same database, new port published in the directory
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 15; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  std::lock_guard lock(bob.mutex);
  for (const auto& [id, count] : bob.delivered) EXPECT_EQ(count, 1);
}

// Ephemeral topics (amqp_transport.h): no outbox row, no inbox row, no receipt; still delivered,
// and reliable topics on the same link keep their guarantees.
TEST_F(AmqpTransportTest, EphemeralTopicsSkipTheTablesAndArrive) {
  AmqpConfig fast;
  fast.ephemeral_topics = {"fast"};
  Node& alice = start_node(kAlice, fast);
  Node& bob = start_node(kBob);
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(send(alice, kBob, message_id(i), "quick " + std::to_string(i), "fast").ok());
  EXPECT_EQ(alice.outbox(), 0);  // nothing written
  ASSERT_TRUE(send(alice, kBob, message_id(1000), "reliable").ok());
  EXPECT_EQ(alice.outbox(), 1);
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == kMessages + 1; }))
      << alice.describe() << "\n" << bob.describe();
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == kMessages + 1; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));  // the reliable one, receipted
  {
    std::lock_guard lock(bob.mutex);
    ASSERT_EQ(bob.envelopes.size(), size_t{kMessages + 1});
    for (int i = 0; i < kMessages; ++i) {  // in order, on one link
      EXPECT_EQ(bob.envelopes[i].id, message_id(i));
      EXPECT_EQ(bob.envelopes[i].topic, "fast");
      EXPECT_EQ(bob.envelopes[i].sender, kAlice);
      EXPECT_EQ(to_string(bob.envelopes[i].payload), "quick " + std::to_string(i));
    }
    for (const auto& [id, disposition] : alice.outcomes) EXPECT_EQ(disposition, Disposition::kAccepted);
  }
  AmqpStats stats = bob.transport->stats();
  EXPECT_EQ(stats.ephemeral_delivered, uint64_t{kMessages});
  EXPECT_EQ(stats.messages_delivered, uint64_t{kMessages + 1});
  auto inbox = bob.db->query("SELECT COUNT(*) FROM net_inbox");
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(inbox->at(0).integer(0), 1);  // only the reliable message
  // Sending an ephemeral id still queued is a no-op, as for reliable ones; once accepted the id
  // is forgotten (no de-duplication): the same id again is a new message.
  ASSERT_TRUE(send(alice, kBob, message_id(0), "again", "fast").ok());
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == kMessages + 2; }));
  std::lock_guard lock(bob.mutex);
  EXPECT_EQ(bob.delivered[message_id(0)], 2);
}

TEST_F(AmqpTransportTest, BurstsOfMixedSizesArriveWholeAndInOrderPastProtonsShortQueue) {
  // The sender hands Proton at most kProtonQueuedMax unsent deliveries or kProtonQueuedBytesMax
  // bytes per link and refills as transfers leave: a burst far past both bounds (small messages,
  // and messages of up to 700 KB, several frames each) must still arrive whole, once, in order.
  AmqpConfig config;
  config.ephemeral_topics = {"burst"};
  Node& alice = start_node(kAlice, config);
  Node& bob = start_node(kBob, config);
  constexpr int kMessages = 600;
  auto payload_of = [](int i) {
    size_t size = i % 10 == 0 ? 700'000 - size_t(i) : size_t(i) * 13 % 3000;
    Bytes payload(size);
    for (size_t k = 0; k < size; ++k) payload[k] = static_cast<uint8_t>(k * 7 + size_t(i));
    return payload;
  };
  for (int i = 0; i < kMessages; ++i)
    ASSERT_TRUE(alice.transport->send(Envelope{message_id(i), {}, kBob, "burst", payload_of(i)}).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == kMessages; }))
      << alice.describe() << "\n" << bob.describe();
  std::lock_guard lock(bob.mutex);
  ASSERT_EQ(bob.envelopes.size(), size_t{kMessages});
  for (int i = 0; i < kMessages; ++i) {
    EXPECT_EQ(bob.envelopes[i].id, message_id(i));
    EXPECT_EQ(bob.envelopes[i].payload, payload_of(i)) << i;
  }
}

TEST_F(AmqpTransportTest, AnyValidSpellingOfARecipientReachesTheSamePeer) {
  // send() skips parsing names it already knows in canonical form; other spellings are still
  // parsed, before and after the canonical one has been seen, and invalid ones still refused.
  AmqpConfig config;
  config.ephemeral_topics = {"fast"};
  Node& alice = start_node(kAlice, config);
  Node& bob = start_node(kBob);
  const std::string spaced = "C=FR,  L=Paris ,o=Bob";
  ASSERT_TRUE(send(alice, spaced, message_id(1), "one", "fast").ok());
  ASSERT_TRUE(send(alice, kBob, message_id(2), "two", "fast").ok());
  ASSERT_TRUE(send(alice, spaced, message_id(3), "three", "fast").ok());
  EXPECT_EQ(send(alice, "O=Bob, L=Paris", message_id(4), "x", "fast").error().code,
            ErrorCode::kInvalidArgument);
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 3; })) << alice.describe();
  std::lock_guard lock(bob.mutex);
  for (const Envelope& envelope : bob.envelopes) EXPECT_EQ(envelope.recipient, kBob);
  EXPECT_EQ(alice.transport->stats().connections_opened, 1u);  // one peer, one connection
}

TEST_F(AmqpTransportTest, EphemeralMessagesWaitInMemoryForAnAbsentPeerWithinABound) {
  AmqpConfig fast;
  fast.ephemeral_topics = {"fast"};
  fast.ephemeral_queue_max = 5;
  Node& alice = start_node(kAlice, fast);
  Node& bob = start_node(kBob);
  stop_node(bob);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i), "m", "fast").ok());
  Status full = send(alice, kBob, message_id(5), "m", "fast");
  EXPECT_EQ(full.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(alice.transport->stats().ephemeral_refused, 1u);
  ASSERT_TRUE(send(alice, kBob, message_id(6), "reliable").ok());  // reliable: not bounded by it
  EXPECT_EQ(alice.outbox(), 1);
  start_node(kBob);
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 6; })) << alice.describe();
  // Accepted ephemeral messages free their places in the queue.
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == 6; }));
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i), "m", "fast").ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 11; }));
}

TEST_F(AmqpTransportTest, ReceiptsOwedBeforeARestartAreSentAfterIt) {
  AmqpConfig patient;
  patient.receipt_wait = std::chrono::hours(1);  // Alice never re-sends within the test
  AmqpConfig lazy;
  lazy.receipt_interval = std::chrono::hours(1);  // Bob owes receipts when he stops
  Node& alice = start_node(kAlice, patient);
  Node& bob = start_node(kBob, lazy);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i)).ok());
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == 3; }));
  EXPECT_EQ(alice.outbox(), 3);
  stop_node(bob);
  Node& bob_again = start_node(kBob);  // default interval: the owed receipt goes out
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; })) << alice.describe();
  EXPECT_EQ(bob_again.transport->stats().duplicates, 0u);  // from the inbox table, not re-sent
  EXPECT_EQ(alice.transport->stats().receipts_verified, 1u);
}

TEST_F(AmqpTransportTest, ReleasedMessagesAreRetriedWithBackOff) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  // Without a handler Bob cannot take messages: he releases them and Alice tries again later.
  bob.transport->set_handler(nullptr);
  ASSERT_TRUE(send(alice, kBob, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return alice.transport->stats().messages_sent >= 3; }));
  EXPECT_EQ(alice.outcome_count(), 0u);
  bob.transport->set_handler([&bob](const Envelope& envelope) {
    std::lock_guard lock(bob.mutex);
    ++bob.delivered[envelope.id];
    return Disposition::kAccepted;
  });
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 1; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  EXPECT_EQ(alice.outcomes.at(message_id(1)), Disposition::kAccepted);
}

TEST_F(AmqpTransportTest, SenderRestartResendsFromItsPersistentOutbox) {
  list_offline(kBob);
  Node& alice = start_node(kAlice);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(send(alice, kBob, message_id(i)).ok());
  EXPECT_EQ(alice.outbox(), 10);
  stop_node(alice);
  Node& bob = start_node(kBob);
  EXPECT_EQ(bob.delivered_count(), 0u);
  Node& alice_again = start_node(kAlice);
  EXPECT_EQ(alice_again.outbox(), 10);
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 10; }));
  ASSERT_TRUE(eventually([&] { return alice_again.outbox() == 0; }));
}

TEST_F(AmqpTransportTest, DuplicateIdsReachTheHandlerOnce) {
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  ASSERT_TRUE(send(alice, kBob, message_id(42), "first").ok());
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  // A replayed flow sends the same id again after the first copy was receipted.
  ASSERT_TRUE(send(alice, kBob, message_id(42), "first").ok());
  ASSERT_TRUE(eventually([&] { return bob.transport->stats().duplicates == 1; }));
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));  // the duplicate is receipted too
  std::lock_guard lock(bob.mutex);
  EXPECT_EQ(bob.delivered.at(message_id(42)), 1);
  EXPECT_EQ(bob.envelopes.size(), 1u);
}

TEST_F(AmqpTransportTest, SameIdFromTwoSendersIsNotADuplicate) {
  Node& alice = start_node(kAlice);
  Node& carol = start_node(kCarol);
  Node& bob = start_node(kBob);
  ASSERT_TRUE(send(alice, kBob, message_id(7)).ok());
  ASSERT_TRUE(send(carol, kBob, message_id(7)).ok());
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(bob.mutex);
    return bob.envelopes.size() == 2;
  }));
  EXPECT_EQ(bob.transport->stats().duplicates, 0u);
}

TEST_F(AmqpTransportTest, HandlerRunsOnOneThreadOneCallAtATime) {
  Node& bob = start_node(kBob);
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::mutex threads_mutex;
  std::set<std::thread::id> threads;
  std::atomic<int> calls{0};
  bob.transport->set_handler([&](const Envelope&) {
    if (inside.fetch_add(1) != 0) ++overlaps;
    {
      std::lock_guard lock(threads_mutex);
      threads.insert(std::this_thread::get_id());
    }
    std::this_thread::yield();
    inside.fetch_sub(1);
    ++calls;
    return Disposition::kAccepted;
  });
  std::vector<Node*> senders = {&start_node(kAlice), &start_node(kCarol), &start_node(kMallory)};
  for (int i = 0; i < 200; ++i)
    for (Node* sender : senders) ASSERT_TRUE(send(*sender, kBob, message_id(i)).ok());
  ASSERT_TRUE(eventually([&] { return calls.load() == 600; }));
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST_F(AmqpTransportTest, PeerFromAnotherRootIsRefused) {
  // Carol's certificates come from a different network's root.
  auto other = testing::TestCertificateAuthority::create(dir_, "other", "O=Root, L=London, C=GB");
  ASSERT_TRUE(other.ok()) << other.error().message();
  auto carol_certs = other->issue_node(kCarol, "other-carol");
  ASSERT_TRUE(carol_certs.ok()) << carol_certs.error().message();
  Node& bob = start_node(kBob);
  Node& carol = start_node(kCarol, {}, nullptr, &*carol_certs, other->root_path());
  ASSERT_TRUE(send(carol, kBob, message_id(1)).ok());
  ASSERT_TRUE(send(bob, kCarol, message_id(2)).ok());
  ASSERT_TRUE(eventually([&] {
    return bob.transport->stats().transport_errors >= 2 &&
           carol.transport->stats().transport_errors >= 2;
  }));
  EXPECT_EQ(bob.delivered_count(), 0u);
  EXPECT_EQ(carol.delivered_count(), 0u);
  EXPECT_EQ(bob.transport->stats().connections_verified, 0u);
  EXPECT_EQ(carol.outbox(), 1);
  EXPECT_EQ(bob.outbox(), 1);
}

TEST_F(AmqpTransportTest, PeerMissingFromTheNetworkMapIsRefused) {
  // Mallory has a valid certificate from the network's root, but Bob's map does not list her.
  StaticPeerDirectory& mallory_directory = other_directory_;
  Node& bob = start_node(kBob);
  ASSERT_TRUE(mallory_directory.put(kBob, *directory_.lookup(*canonical_x500(kBob))).ok());
  Node& mallory = start_node(kMallory, {}, &mallory_directory);
  ASSERT_TRUE(send(mallory, kBob, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return bob.transport->stats().connections_refused >= 1; }));
  EXPECT_NE(bob.transport->last_refusal().find("not in the network map"), std::string::npos)
      << bob.transport->last_refusal();
  EXPECT_EQ(bob.delivered_count(), 0u);
  EXPECT_EQ(mallory.outbox(), 1);
}

TEST_F(AmqpTransportTest, PeerClaimingAnotherNameIsRefused) {
  // Mallory is in the map and has a valid certificate, but claims to be Alice.
  Node& bob = start_node(kBob);
  AmqpConfig as_alice;
  as_alice.self = kAlice;
  Node& mallory = start_node(kMallory, as_alice);
  ASSERT_TRUE(send(mallory, kBob, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return bob.transport->stats().connections_refused >= 1; }));
  EXPECT_NE(bob.transport->last_refusal().find("claims to be"), std::string::npos)
      << bob.transport->last_refusal();
  EXPECT_EQ(bob.delivered_count(), 0u);
}

TEST_F(AmqpTransportTest, DialledPeerWithTheWrongCertificateIsRefused) {
  // The map sends Bob's traffic for Carol to Mallory's address: the certificate gives it away.
  Node& bob = start_node(kBob);
  Node& mallory = start_node(kMallory);
  PeerInfo fake;
  fake.addresses = {"127.0.0.1:" + std::to_string(mallory.transport->listen_port())};
  fake.receipt_key = identity_key(kCarol).public_key();
  ASSERT_TRUE(directory_.put(kCarol, fake).ok());
  ASSERT_TRUE(send(bob, kCarol, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return bob.transport->stats().connections_refused >= 1; }));
  EXPECT_NE(bob.transport->last_refusal().find("dialled"), std::string::npos)
      << bob.transport->last_refusal();
  EXPECT_EQ(mallory.delivered_count(), 0u);
}

TEST_F(AmqpTransportTest, OversizeMessagesAreRefusedOnBothSides) {
  AmqpConfig small;
  small.limits.max_message_bytes = 4096;
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob, small);
  // The sender's own limit.
  Status too_big = bob.transport->send(
      Envelope{message_id(9), {}, kAlice, "test", Bytes(small.limits.max_message_bytes, 1)});
  EXPECT_EQ(too_big.error().code, ErrorCode::kLimitExceeded);
  // The receiver's limit, against a sender that allows more.
  ASSERT_TRUE(alice.transport->send(Envelope{message_id(1), {}, kBob, "test", Bytes(100'000, 7)}).ok());
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == 1; }));
  EXPECT_EQ(alice.outcomes.at(message_id(1)), Disposition::kRejected);
  EXPECT_EQ(bob.transport->stats().incoming_oversize, 1u);
  EXPECT_EQ(alice.outbox(), 0);  // a rejected message is not retried
  // The connection survives: the next message goes through.
  uint64_t dialled = alice.transport->stats().connections_opened;
  EXPECT_EQ(dialled, 1u);
  ASSERT_TRUE(send(alice, kBob, message_id(2), "small").ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 1; }));
  EXPECT_EQ(alice.transport->stats().connections_opened, dialled);
  // Larger than Bob's session window: Bob never buffers it whole. He closes the link while the
  // message is still arriving, Alice counts it as rejected and carries on over a fresh link.
  ASSERT_TRUE(alice.transport->send(Envelope{message_id(3), {}, kBob, "test", Bytes(3u << 20, 7)}).ok());
  ASSERT_TRUE(eventually([&] { return alice.outcome_count() == 3; })) << bob.describe();
  EXPECT_EQ(alice.outcomes.at(message_id(3)), Disposition::kRejected);
  EXPECT_EQ(bob.transport->stats().incoming_oversize, 2u);
  EXPECT_NE(bob.transport->last_refusal().find("while arriving"), std::string::npos)
      << bob.transport->last_refusal();
  ASSERT_TRUE(send(alice, kBob, message_id(4), "small again").ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 2; })) << alice.describe();
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }));
  EXPECT_EQ(alice.transport->stats().connections_opened, dialled)
      << alice.describe() << "\n" << bob.describe();
}

TEST_F(AmqpTransportTest, LargeMessagesWithinTheLimitArrive) {
  // Several megabytes: many transfer frames, more than one session window.
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  Bytes big(9u << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 31 + (i >> 13));
  ASSERT_TRUE(alice.transport->send(Envelope{message_id(1), {}, kBob, "big", big}).ok());
  ASSERT_TRUE(send(alice, kBob, message_id(2), "after").ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 2; })) << bob.describe();
  std::lock_guard lock(bob.mutex);
  EXPECT_EQ(bob.envelopes.at(0).payload, big);
}

TEST_F(AmqpTransportTest, SendRefusesWhatCanNeverBeDelivered) {
  Node& alice = start_node(kAlice);
  EXPECT_EQ(send(alice, "O=Nobody, L=Nowhere, C=ZZ", message_id(1)).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(send(alice, "not a name", message_id(1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(send(alice, kAlice, message_id(1), "x", "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(send(alice, kAlice, message_id(1), "x", "folio.receipt").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(alice.outbox(), 0);
}

TEST_F(AmqpTransportTest, StartFailsCleanlyOnABusyPortOrMissingFiles) {
  Node& alice = start_node(kAlice);
  auto db = storage::open_sqlite({":memory:"});
  ASSERT_TRUE(db.ok());
  AmqpConfig config;
  config.self = kBob;
  config.listen_port = alice.transport->listen_port();  // taken
  config.tls_certificate_path = certs_of(kBob).certificate_path;
  config.tls_private_key_path = certs_of(kBob).private_key_path;
  config.trusted_root_path = ca_.root_path();
  auto busy = AmqpTransport::create(config, directory_, **db, identity_key(kBob));
  ASSERT_TRUE(busy.ok()) << busy.error().message();
  Status started = (*busy)->start();
  EXPECT_FALSE(started.ok());
  (*busy)->stop();
  config.listen_port = 0;
  config.tls_private_key_path = dir_ + "/missing.key";
  auto missing = AmqpTransport::create(config, directory_, **db, identity_key(kBob));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kIo);
  config.tls_private_key_path = certs_of(kBob).private_key_path;
  config.self = "not a name";
  EXPECT_EQ(AmqpTransport::create(config, directory_, **db, identity_key(kBob)).error().code,
            ErrorCode::kInvalidArgument);
  // Alice is unaffected.
  Node& carol = start_node(kCarol);
  ASSERT_TRUE(send(carol, kAlice, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return alice.delivered_count() == 1; }));
}

// ---- Malformed input from a peer ---------------------------------------------------------------

// Proton C++ keeps the C link of a sender behind a protected accessor; naming it through a derived
// class gives the test the pn_link_t it needs to send bytes that are not an encoded message.
struct LinkAccess : proton::sender {
  static pn_link_t* get(const proton::sender& sender) {
    using Base = proton::internal::object<pn_link_t>;
    pn_link_t* (Base::*getter)() const = &LinkAccess::pn_object;
    const Base& base = sender;
    return (base.*getter)();
  }
};

// A raw Proton client with a valid certificate that sends hand-made messages (or, for entries of
// `raw`, bytes that are no AMQP message at all) and records how each was settled.
class RawClient : public proton::messaging_handler {
 public:
  RawClient(std::string url, const testing::NodeTlsFiles& certs, std::string root,
            std::string claimed, std::vector<proton::message> messages,
            std::map<size_t, std::string> raw = {})
      : url_(std::move(url)),
        certs_(certs),
        root_(std::move(root)),
        claimed_(std::move(claimed)),
        messages_(std::move(messages)),
        raw_(std::move(raw)) {}

  // Runs until every message is settled or the connection ends.
  void run() {
    proton::container container(*this, claimed_);
    container.run();
  }

  void on_container_start(proton::container& container) override {
    proton::connection_options options;
    options.ssl_client_options(proton::ssl_client_options(
        proton::ssl_certificate(certs_.certificate_path, certs_.private_key_path), root_,
        proton::ssl::VERIFY_PEER));
    options.sasl_enabled(true).sasl_allowed_mechs("EXTERNAL");
    options.container_id(claimed_);
    proton::connection connection = container.connect(url_, options);
    connection.open_sender("folio");
  }
  void on_sendable(proton::sender& sender) override {
    while (sent_ < messages_.size() && sender.credit() > 0) {
      char tag = static_cast<char>('a' + sent_);
      if (auto raw = raw_.find(sent_); raw != raw_.end()) {
        pn_link_t* link = LinkAccess::get(sender);
        pn_delivery(link, pn_dtag(&tag, 1));
        pn_link_send(link, raw->second.data(), raw->second.size());
        pn_link_advance(link);
      } else {
        sender.send(messages_[sent_], proton::binary(std::string(1, tag)));
      }
      ++sent_;
    }
  }
  void on_tracker_accept(proton::tracker& tracker) override { settle(tracker, "accepted"); }
  void on_tracker_reject(proton::tracker& tracker) override { settle(tracker, "rejected"); }
  void on_tracker_release(proton::tracker& tracker) override { settle(tracker, "released"); }
  void on_error(const proton::error_condition& error) override { error_ = error.what(); }

  std::vector<std::string> outcomes;  // by message index
  std::string error_;

 private:
  void settle(proton::tracker& tracker, const std::string& outcome) {
    proton::binary tag = tracker.tag();
    size_t index = tag.empty() ? 0 : static_cast<size_t>(tag[0] - 'a');
    if (outcomes.size() < messages_.size()) outcomes.resize(messages_.size());
    outcomes.at(index) = outcome;
    if (++settled_ == messages_.size()) tracker.connection().close();
  }

  std::string url_;
  const testing::NodeTlsFiles& certs_;
  std::string root_;
  std::string claimed_;
  std::vector<proton::message> messages_;
  std::map<size_t, std::string> raw_;
  size_t sent_ = 0;
  size_t settled_ = 0;
};

proton::message well_formed(const MessageId& id, const std::string& from, const std::string& to) {
  proton::message message;
  message.id(proton::message_id(proton::binary(id.bytes.begin(), id.bytes.end())));
  message.to(to);
  message.subject("test");
  message.properties().put("folio-sender", from);
  message.body(proton::binary(std::string("payload")));
  return message;
}

TEST_F(AmqpTransportTest, MalformedMessagesAreRejectedAndTheReceiverKeepsServing) {
  AmqpConfig no_receipts;  // Bob must not dial Mallory (who is offline) to send her a receipt
  no_receipts.receipt_interval = std::chrono::hours(1);
  Node& bob = start_node(kBob, no_receipts);
  Node& alice = start_node(kAlice);
  std::vector<proton::message> messages;
  proton::message m = well_formed(message_id(1), kMallory, kBob);
  m.properties().erase("folio-sender");
  messages.push_back(m);  // 0: no sender property
  m = well_formed(message_id(2), kMallory, kBob);
  m.body(std::string("a string, not binary"));
  messages.push_back(m);  // 1: wrong body type
  m = well_formed(message_id(3), kMallory, kBob);
  m.id(proton::message_id(std::string("text id")));
  messages.push_back(m);  // 2: id not 32 bytes of binary
  messages.push_back(well_formed(message_id(4), kAlice, kBob));  // 3: claims another sender
  messages.push_back(well_formed(message_id(5), kMallory, kCarol));  // 4: addressed elsewhere
  m = well_formed(message_id(6), kMallory, kBob);
  m.subject("");
  messages.push_back(m);  // 5: no topic
  m = well_formed(message_id(7), kMallory, kBob);
  m.properties().put("folio-sender", int64_t{5});
  messages.push_back(m);  // 6: sender of the wrong type
  m = well_formed(message_id(8), kMallory, kBob);
  m.subject("folio.receipt");
  messages.push_back(m);  // 7: a "receipt" that does not decode
  // 8-11: bytes that do not decode as an AMQP message (replaced on the wire, see `raw`).
  std::map<size_t, std::string> raw = {
      {8, std::string("\xff\xfe\xfd garbage", 11)},
      {9, std::string("\x00\x53\x75\xb0\xff\xff\xff\xff", 8)},  // data section, 4 GiB length
      {10, std::string("\x00\x53\x74\xd1\x00\x00\x10\x00\x7f\xff\xff\xff", 12)},  // huge map
      {11, std::string("\x00\x53", 2)},  // truncated descriptor
  };
  for (int i = 0; i < 4; ++i) messages.push_back(proton::message());
  m = well_formed(message_id(10), kMallory, kBob);
  m.properties().put("folio-ephemeral", false);
  messages.push_back(m);  // 12: ephemeral flag that is not true
  m = well_formed(message_id(11), kMallory, kBob);
  m.properties().put("folio-ephemeral", std::string("yes"));
  messages.push_back(m);  // 13: ephemeral flag of the wrong type
  messages.push_back(well_formed(message_id(9), kMallory, kBob));  // 14: fine
  list_offline(kMallory);  // in the map, with a valid certificate
  RawClient client("127.0.0.1:" + std::to_string(bob.transport->listen_port()), certs_of(kMallory),
                   ca_.root_path(), kMallory, messages, raw);
  std::thread thread([&] { client.run(); });
  thread.join();
  ASSERT_EQ(client.outcomes.size(), messages.size()) << client.error_;
  for (size_t i = 0; i + 1 < messages.size(); ++i) EXPECT_EQ(client.outcomes[i], "rejected") << i;
  EXPECT_EQ(client.outcomes.back(), "accepted");
  EXPECT_EQ(bob.transport->stats().incoming_rejected, messages.size() - 1);
  // Rejected one by one on the same connection: nothing escaped into Proton's event loop.
  EXPECT_EQ(bob.transport->stats().transport_errors, 0u) << bob.transport->last_refusal();
  EXPECT_EQ(bob.transport->stats().connections_verified, 1u);
  EXPECT_EQ(bob.delivered_count(), 1u);
  // Bob still serves a well-behaved peer.
  ASSERT_TRUE(send(alice, kBob, message_id(100)).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 2; }));
}

TEST_F(AmqpTransportTest, GarbageBytesDoNotHurtTheReceiver) {
  Node& bob = start_node(kBob);
  Node& alice = start_node(kAlice);
  uint16_t port = bob.transport->listen_port();
  auto connect_socket = [port] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
  };
  // Reads until the receiver hangs up; true if it did before the (generous) timeout.
  auto drain = [](int fd) {
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char buffer[4096];
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof buffer, 0)) > 0) {
    }
    return n == 0;
  };
  // 1. Plain garbage where a TLS handshake should be.
  for (const std::string& garbage :
       {std::string("GET / HTTP/1.1\r\n\r\n"), std::string(5000, '\xff'), std::string("AMQP\0\1\0\0", 8),
        std::string("\x16\x03\x01\xff\xff", 5)}) {
    int fd = connect_socket();
    send_all(fd, garbage);
    EXPECT_TRUE(drain(fd)) << "plain garbage " << garbage.size() << " bytes";
    close(fd);
  }
  // 2. A valid TLS session (Alice's certificate) carrying garbage instead of AMQP frames.
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(context, nullptr);
  ASSERT_EQ(SSL_CTX_use_certificate_chain_file(context, alice.certs.certificate_path.c_str()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey_file(context, alice.certs.private_key_path.c_str(), SSL_FILETYPE_PEM), 1);
  ASSERT_EQ(SSL_CTX_load_verify_locations(context, ca_.root_path().c_str(), nullptr), 1);
  for (const std::string& garbage :
       {std::string(10000, '\x00'), std::string("AMQP\3\1\0\0garbage-after-sasl-header", 33),
        std::string("AMQP\0\1\0\0\xff\xff\xff\xff\x02\x00\x00\x00", 16)}) {
    int fd = connect_socket();
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    SSL* ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    ASSERT_EQ(SSL_connect(ssl), 1);
    EXPECT_STREQ(SSL_get_version(ssl), "TLSv1.3");
    SSL_write(ssl, garbage.data(), static_cast<int>(garbage.size()));
    char buffer[4096];
    int n;
    while ((n = SSL_read(ssl, buffer, sizeof buffer)) > 0) {
    }
    // Closed by the receiver (cleanly or with an alert), not left waiting for the timeout.
    EXPECT_NE(SSL_get_error(ssl, n), SSL_ERROR_WANT_READ) << "TLS garbage " << garbage.size();
    SSL_free(ssl);
    close(fd);
  }
  SSL_CTX_free(context);
  // Bob still serves.
  ASSERT_TRUE(send(alice, kBob, message_id(1)).ok());
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == 1; }));
}

}  // namespace
}  // namespace folio::net

namespace folio::net {
namespace {

// Throughput over loopback TLS, end to end (outbox write, TLS, AMQP, inbox write, handler,
// receipts). A measurement, not a test: run with
//   amqp_transport_test --gtest_also_run_disabled_tests --gtest_filter=*Benchmark*
// FOLIO_AMQP_BENCH_MESSAGES and FOLIO_AMQP_BENCH_BYTES override the defaults.
TEST_F(AmqpTransportTest, DISABLED_BenchmarkLoopbackThroughput) {
  auto env = [](const char* name, size_t fallback) {
    const char* value = std::getenv(name);
    return value ? static_cast<size_t>(std::strtoull(value, nullptr, 10)) : fallback;
  };
  const size_t messages = env("FOLIO_AMQP_BENCH_MESSAGES", 20'000);
  const size_t bytes = env("FOLIO_AMQP_BENCH_BYTES", 256);
  Node& alice = start_node(kAlice);
  Node& bob = start_node(kBob);
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  auto start = Clock::now();
  for (size_t i = 0; i < messages; ++i)
    ASSERT_TRUE(alice.transport->send(Envelope{message_id(i, 1), {}, kBob, "bench", Bytes(bytes, 1)}).ok());
  auto queued = Clock::now();
  ASSERT_TRUE(eventually([&] { return bob.delivered_count() == messages; }, 600s));
  auto delivered = Clock::now();
  ASSERT_TRUE(eventually([&] { return alice.outbox() == 0; }, 600s));
  auto receipted = Clock::now();
  std::printf("AMQP loopback TLS: %zu messages of %zu bytes\n", messages, bytes);
  std::printf("  send() into the outbox: %.0f messages/s\n", messages / seconds(queued - start));
  std::printf("  delivered to the handler: %.0f messages/s (%.2f s)\n",
              messages / seconds(delivered - start), seconds(delivered - start));
  std::printf("  receipted (outbox empty): %.0f messages/s (%.2f s), %llu receipts\n",
              messages / seconds(receipted - start), seconds(receipted - start),
              static_cast<unsigned long long>(alice.transport->stats().receipts_verified));
}

}  // namespace
}  // namespace folio::net
