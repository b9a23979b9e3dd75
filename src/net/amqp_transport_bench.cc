// A micro-benchmark of the AMQP transport's CPU per message and per byte on the ephemeral path (no
// tables, no receipts: what consensus and S-BAC use), two transports in this process over loopback
// mutual TLS, so a figure is sender plus receiver. It also counts the bench's own copy of each
// payload into its Envelope. A measurement, not a test (it asserts only that everything arrived):
//   amqp_transport_test --gtest_also_run_disabled_tests --gtest_filter=*AmqpTransportBench*
// FOLIO_AMQP_BENCH_MEGABYTES bounds the bytes sent per message size (default 256);
// FOLIO_AMQP_BENCH_BYTES measures that one size only.
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "net/amqp_transport.h"
#include "net/testing_certs.h"
#include "storage/database.h"

namespace folio::net {
namespace {

using namespace std::chrono_literals;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(AmqpTransportBench, DISABLED_EphemeralCpuPerMessageAndByte) {
  signal(SIGPIPE, SIG_IGN);
  const char* budget_env = std::getenv("FOLIO_AMQP_BENCH_MEGABYTES");
  const size_t budget = (budget_env ? std::strtoull(budget_env, nullptr, 10) : 256) << 20;
  std::vector<size_t> sizes = {200, 2'000, 50'000, 1'000'000};
  if (const char* one = std::getenv("FOLIO_AMQP_BENCH_BYTES"))
    sizes = {static_cast<size_t>(std::strtoull(one, nullptr, 10))};

  std::string dir = (std::filesystem::temp_directory_path() / "folio-amqp-bench-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  auto ca = testing::TestCertificateAuthority::create(dir, "network", "O=Root, L=London, C=GB");
  ASSERT_TRUE(ca.ok()) << ca.error().message();
  const std::string alice = "O=Alice, L=London, C=GB";
  const std::string bob = "O=Bob, L=Paris, C=FR";
  StaticPeerDirectory directory;
  std::vector<std::unique_ptr<storage::Database>> databases;
  std::vector<std::unique_ptr<AmqpTransport>> transports;
  for (const std::string& name : {alice, bob}) {
    auto files = ca->issue_node(name, "node" + std::to_string(transports.size()));
    ASSERT_TRUE(files.ok()) << files.error().message();
    auto db = storage::open_sqlite({":memory:"});
    ASSERT_TRUE(db.ok()) << db.error().message();
    AmqpConfig config;
    config.self = name;
    config.tls_certificate_path = files->certificate_path;
    config.tls_private_key_path = files->private_key_path;
    config.trusted_root_path = ca->root_path();
    config.ephemeral_topics = {"bench"};
    config.credit_window = 1024;  // as the replicas and the notary client
    config.tick = 5ms;
    config.limits.max_message_bytes = 24u << 20;
    crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
    auto transport = AmqpTransport::create(config, directory, **db, key);
    ASSERT_TRUE(transport.ok()) << transport.error().message();
    ASSERT_TRUE((*transport)->start().ok());
    PeerInfo info{{"127.0.0.1:" + std::to_string((*transport)->listen_port())}, key.public_key()};
    ASSERT_TRUE(directory.put(name, info).ok());
    databases.push_back(std::move(*db));
    transports.push_back(std::move(*transport));
  }
  std::atomic<uint64_t> delivered{0};
  transports[0]->set_outcome_handler([](const MessageId&, Disposition) {});
  transports[1]->set_handler([&delivered](const Envelope&) {
    delivered.fetch_add(1, std::memory_order_relaxed);
    return Disposition::kAccepted;
  });

  uint64_t next_id = 0;
  for (size_t bytes : sizes) {
    const size_t messages = std::min<size_t>(50'000, std::max<size_t>(budget / bytes, 200));
    const Bytes payload(bytes, 0x5a);
    uint64_t target = delivered.load() + messages;
    double cpu_start = cpu_seconds();
    auto wall_start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < messages; ++i) {
      MessageId id;
      ++next_id;
      for (int k = 0; k < 8; ++k) id.bytes[k] = static_cast<uint8_t>(next_id >> (8 * k));
      // Back-pressure: the ephemeral queue refuses past its bound; wait for the peer to drain.
      while (!transports[0]->send(Envelope{id, {}, bob, "bench", payload}).ok())
        std::this_thread::sleep_for(1ms);
    }
    auto deadline = std::chrono::steady_clock::now() + 600s;
    while (delivered.load() < target && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    ASSERT_GE(delivered.load(), target);
    double cpu = cpu_seconds() - cpu_start;
    double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::printf("ephemeral %7zu bytes x %6zu: %8.2f us CPU/message, %6.3f ns CPU/byte, %8.0f "
                "messages/s\n",
                bytes, messages, 1e6 * cpu / double(messages),
                1e9 * cpu / (double(messages) * double(bytes)), double(messages) / wall);
  }
  for (auto& transport : transports) transport->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace folio::net
