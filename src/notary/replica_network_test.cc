// Whole-process tests of the sharded notary: real `folio replica run` processes on 127.0.0.1
// talking AMQP over mutual TLS, a client in this process (ShardedNotaryClient) as node Alice.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "notary/bootstrap.h"
#include "notary/replica_launcher.h"
#include "notary/replica_wire.h"
#include "sbac/coordinator.h"

namespace folio::notary {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = std::chrono::milliseconds(90'000);

std::string temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() /
               ("folio-" + name + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(p);
  return p.string();
}

struct Genesis {
  GenesisSpec spec;
  std::vector<ledger::WireTransaction> txs;
  std::vector<ledger::TxId> ids;
  crypto::PrivateKey owner;
};

Genesis load_genesis_of(const LocalNetwork& net, const std::string& config_path) {
  auto config = load_process_config(config_path);
  EXPECT_TRUE(config.ok());
  auto spec = load_genesis(config->genesis);
  EXPECT_TRUE(spec.ok());
  auto owner = load_genesis_owner_key(net.files().genesis_owner_key_path);
  EXPECT_TRUE(owner.ok());
  Genesis g{*spec, genesis_transactions(*spec), {}, *owner};
  for (const auto& tx : g.txs) g.ids.push_back(tx.id());
  return g;
}

class ReplicaNetworkTest : public ::testing::Test {
 protected:
  void start(uint32_t shards, uint32_t genesis_states) {
    LocalNetworkOptions o;
    o.bootstrap.dir = temp_dir("replica-net");
    o.bootstrap.nodes = {"O=Alice, L=London, C=GB"};
    o.bootstrap.notary = shards == 1 ? identity::NotaryKind::kBft : identity::NotaryKind::kSharded;
    o.bootstrap.shards = shards;
    o.bootstrap.replicas = 4;
    o.bootstrap.genesis_states = genesis_states;
    o.bootstrap.genesis_outputs_per_transaction = 100;
    o.folio_binary = FOLIO_BINARY;
    o.replica_args = {"--view-timeout-ms", "1000"};
    dir_ = o.bootstrap.dir;
    auto n = LocalNetwork::start(o);
    ASSERT_TRUE(n.ok()) << n.error().message();
    net_ = std::move(*n);
    ASSERT_TRUE(
        net_->wait_all([](const ReplicaStatus& s) { return s.committed_height > 0; }, kDeadline))
        << "replicas did not start committing; logs in " << dir_;
    auto c = NetworkClient::open(net_->files().node_configs[0]);
    ASSERT_TRUE(c.ok()) << c.error().message();
    client_ = std::move(*c);
    genesis_ = std::make_unique<Genesis>(load_genesis_of(*net_, net_->files().node_configs[0]));
  }
  void TearDown() override {
    // First the client (its callbacks may refer to the test's state), then the processes.
    client_.reset();
    net_.reset();
    std::error_code ec;
    if (!HasFailure()) fs::remove_all(dir_, ec);
  }

  // Genesis state `k` (counting across genesis transactions) paid to a fresh key.
  Payment payment(uint32_t k, uint64_t nonce) {
    uint32_t per = genesis_->spec.outputs_per_transaction;
    crypto::PrivateKey payee = crypto::PrivateKey::ed25519(FixedBytes<32>{});
    return pay_genesis_state(genesis_->spec, genesis_->txs[k / per], genesis_->ids[k / per],
                             k % per, genesis_->owner, payee.public_key(), nonce);
  }
  std::set<sbac::ShardId> concerned(const Payment& p) const {
    const auto& tx = p.stx.tx;
    return sbac::concerned_shards(tx.id(), tx.inputs, tx.references,
                                  static_cast<uint32_t>(tx.outputs.size()),
                                  client_->entry().shard_map->shard_count());
  }
  Status verify(const Payment& p, const NotarisationCertificate& certificate) const {
    TransactionFootprint footprint = TransactionFootprint::of(p.stx.tx);
    return verify_notarisation(p.stx.tx.id(), certificate, client_->entry(), &footprint);
  }

  std::string dir_;
  std::unique_ptr<LocalNetwork> net_;
  std::unique_ptr<NetworkClient> client_;
  std::unique_ptr<Genesis> genesis_;
};

TEST_F(ReplicaNetworkTest, CrossShardTransactionNotarisedAndDoubleSpendRefused) {
  ASSERT_NO_FATAL_FAILURE(start(2, 200));
  // A payment whose input and output sit on different shards.
  std::optional<Payment> cross;
  uint32_t state = 0;
  for (; state < 200 && !cross; ++state) {
    Payment p = payment(state, 1);
    if (concerned(p).size() == 2) cross = p;
  }
  ASSERT_TRUE(cross.has_value());
  uint32_t spent = state - 1;
  auto certificate = client_->notary().notarise(cross->stx, cross->proved, kDeadline);
  ASSERT_TRUE(certificate.ok()) << certificate.error().message();
  EXPECT_TRUE(verify(*cross, *certificate).ok()) << verify(*cross, *certificate).error().message();
  const auto& sharded = std::get<sbac::NotarisationCertificate>(*certificate);
  EXPECT_EQ(sharded.votes.size(), 2u);

  // The certificate proves only its own transaction.
  Payment other = payment(spent == 0 ? 1 : 0, 7);
  EXPECT_FALSE(verify(other, *certificate).ok());

  // Spending the same state again, in another transaction: refused.
  Payment again = payment(spent, 2);
  ASSERT_NE(again.stx.tx.id(), cross->stx.tx.id());
  auto refused = client_->notary().notarise(again.stx, again.proved, kDeadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict) << refused.error().message();

  // Asking again for the committed transaction returns a certificate again (idempotent).
  auto repeat = client_->notary().notarise(cross->stx, cross->proved, kDeadline);
  ASSERT_TRUE(repeat.ok()) << repeat.error().message();
  EXPECT_TRUE(verify(*cross, *repeat).ok());
}

TEST_F(ReplicaNetworkTest, MalformedMessagesAreRejectedWithoutCrashing) {
  ASSERT_NO_FATAL_FAILURE(start(1, 50));
  const std::string target = client_->replica_names()[0][1];
  std::vector<std::pair<std::string, Bytes>> garbage = {
      {std::string(kTopicConsensus), Bytes{0xff, 0x00, 0x13}},
      {std::string(kTopicConsensus), Bytes(5000, 0xab)},
      {std::string(kTopicManager), Bytes{0x01, 0x02, 0x03, 0x04}},
      {std::string(kTopicManager),
       codec::encode_to_bytes(ManagerBatch{{sbac::SubmitCommand{Bytes{9, 9, 9}}}})},
      {std::string(kTopicRawSubmit), Bytes{0xee, 0xee, 0xee, 0xee, 0xee}},
      {"no.such.topic", Bytes{1}},
      {std::string(kTopicManager), Bytes{}},
  };
  MessageIds ids;
  for (auto& [topic, payload] : garbage) {
    net::Envelope e;
    e.id = ids.next();
    e.recipient = target;
    e.topic = topic;
    e.payload = payload;
    ASSERT_TRUE(client_->transport().send(std::move(e)).ok());
  }
  // Alice is not a replica of the shard: even well-formed consensus bytes from her are refused.
  ASSERT_TRUE(
      net_->wait_all([](const ReplicaStatus& s) { return s.committed_height > 0; }, kDeadline));
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  uint64_t malformed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto s = net_->status(0, 1);
    if (s.ok() && s->malformed >= garbage.size()) {
      malformed = s->malformed;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(malformed, garbage.size());
  EXPECT_FALSE(net_->process(0, 1).wait_exit(0ms).has_value()) << "the replica exited";
  // And the shard still notarises.
  Payment p = payment(3, 1);
  auto certificate = client_->notary().notarise(p.stx, p.proved, kDeadline);
  ASSERT_TRUE(certificate.ok()) << certificate.error().message();
  EXPECT_TRUE(verify(p, *certificate).ok());
  // SIGTERM: a clean exit.
  net_->process(0, 1).signal(SIGTERM);
  auto status = net_->process(0, 1).wait_exit(kDeadline);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "wait status " << *status;
}

TEST_F(ReplicaNetworkTest, AbandonedSessionIsFinishedByTakeover) {
  ASSERT_NO_FATAL_FAILURE(start(2, 200));
  std::optional<Payment> cross;
  uint32_t state = 0;
  for (; state < 200 && !cross; ++state) {
    Payment p = payment(state, 1);
    if (concerned(p).size() == 2) cross = p;
  }
  ASSERT_TRUE(cross.has_value());
  // A manager that sends phase 1 and then falls silent: its coordinator's first messages only.
  ShardedNotaryClient::Request request = client_->notary().prepare(cross->stx, cross->proved);
  sbac::Coordinator abandoned(request.command, request.binding, *client_->entry().shard_map,
                              sbac::CoordinatorConfig{});
  MessageIds ids;
  for (const sbac::CoordinatorSend& send : abandoned.take_ready())
    for (const std::string& replica : client_->replica_names()[send.shard.value()]) {
      net::Envelope e;
      e.id = ids.next();
      e.recipient = replica;
      e.topic = std::string(kTopicManager);
      e.payload = codec::encode_to_bytes(ManagerBatch{{send.message}});
      ASSERT_TRUE(client_->transport().send(std::move(e)).ok());
    }
  // A replica of a concerned shard finishes the session.
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  uint64_t finished = 0;
  while (finished == 0 && std::chrono::steady_clock::now() < deadline) {
    for (uint32_t s = 0; s < 2; ++s)
      for (uint32_t i = 0; i < 4; ++i) {
        auto st = net_->status(s, i);
        if (st.ok()) finished += st->takeovers_committed;
      }
    if (finished == 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(finished, 0u) << "no replica took the abandoned session over";
  // The input is consumed: another transaction spending it is refused, and the committed one gets
  // its certificate from the shards' recorded statements.
  Payment again = payment(state - 1, 2);
  auto refused = client_->notary().notarise(again.stx, again.proved, kDeadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  auto certificate = client_->notary().notarise(cross->stx, cross->proved, kDeadline);
  ASSERT_TRUE(certificate.ok()) << certificate.error().message();
  EXPECT_TRUE(verify(*cross, *certificate).ok());
}

// Continuous load for the kill test: payments of distinct genesis states, `width` in flight. The
// counters are shared with the client's callbacks, so they outlive an early return.
struct Load {
  std::atomic<uint32_t> committed{0};
  std::atomic<uint32_t> failed{0};
  std::atomic<uint32_t> next{0};
  uint32_t limit = 0;
  std::function<void()> submit;  // refers to this Load by address; callbacks keep it alive
  std::weak_ptr<Load> self;
};

TEST_F(ReplicaNetworkTest, KilledReplicasCatchUpAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(start(2, 400));
  auto load = std::make_shared<Load>();
  load->limit = 400;
  Load* raw = load.get();
  load->submit = [this, raw] {
    uint32_t k = raw->next.fetch_add(1);
    if (k >= raw->limit) return;
    Payment p = payment(k, 1);
    std::shared_ptr<Load> keep = raw->self.lock();
    client_->notary().notarise_async(
        p.stx, p.proved, [keep](const ledger::TxId&, Result<NotarisationCertificate> r) {
          (r.ok() ? keep->committed : keep->failed).fetch_add(1);
          keep->submit();
        });
  };
  load->self = load;
  for (int i = 0; i < 8; ++i) load->submit();
  auto wait_committed = [&](uint32_t n) {
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (load->committed.load() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    return load->committed.load() >= n;
  };
  ASSERT_TRUE(wait_committed(20)) << "committed " << load->committed << ", failed " << load->failed;
  // kill -9 one replica per shard.
  net_->kill_replica(0, 0, SIGKILL);
  net_->kill_replica(1, 2, SIGKILL);
  uint32_t at_kill = load->committed.load();
  ASSERT_TRUE(wait_committed(at_kill + 40)) << "commits did not continue after the kill";
  uint64_t top = 0;
  for (uint32_t s = 0; s < 2; ++s)
    for (uint32_t i = 0; i < 4; ++i) {
      if (!net_->process(s, i).running()) continue;
      auto st = net_->status(s, i);
      if (st.ok()) top = std::max(top, st->committed_height);
    }
  // What the killed replicas had voted for, from their last status before the kill.
  auto before_a = net_->status(0, 0);
  auto before_b = net_->status(1, 2);
  ASSERT_TRUE(before_a.ok() && before_b.ok());
  ASSERT_TRUE(net_->start_replica(0, 0).ok());
  ASSERT_TRUE(net_->start_replica(1, 2).ok());
  // Restored from their databases: never below the view they had voted in (so no second vote in
  // a view), and the log they had stored.
  for (auto [shard, index, before] :
       {std::tuple{0u, 0u, *before_a}, std::tuple{1u, 2u, *before_b}}) {
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    Result<ReplicaStatus> st = net_->status(shard, index);
    while (!st.ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      st = net_->status(shard, index);
    }
    ASSERT_TRUE(st.ok());
    EXPECT_GE(st->highest_voted_view, before.highest_voted_view);
    EXPECT_GT(st->restored_height, 0u);
  }
  // After restart both replicas reach the height the others had.
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  bool caught_up = false;
  while (!caught_up && std::chrono::steady_clock::now() < deadline) {
    auto a = net_->status(0, 0);
    auto b = net_->status(1, 2);
    caught_up = a.ok() && b.ok() && a->committed_height >= top && b->committed_height >= top;
    if (!caught_up) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(caught_up) << "restarted replicas did not reach height " << top;
  EXPECT_TRUE(wait_committed(std::min<uint32_t>(at_kill + 60, 380)));
  EXPECT_EQ(load->failed.load(), 0u);
  load->limit = 0;  // stop submitting
}

}  // namespace
}  // namespace folio::notary
