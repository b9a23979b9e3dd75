#include "node/mock_network.h"

#include <stdlib.h>

#include "crypto/hash.h"

namespace folio::node {

MockNetwork::MockNetwork(MockNetworkOptions options)
    : options_(std::move(options)), network_(options_.network) {
  if (options_.directory.empty()) {
    std::filesystem::path parent = options_.temporary_parent.empty()
                                       ? std::filesystem::temp_directory_path()
                                       : options_.temporary_parent;
    std::string pattern = (parent / "folio-mock-XXXXXX").string();
    FOLIO_ASSERT(mkdtemp(pattern.data()) != nullptr);
    directory_ = pattern;
    owns_directory_ = true;
  } else {
    directory_ = options_.directory;
  }
}

MockNetwork::~MockNetwork() {
  network_.stop_free_running();
  for (auto& [name, member] : nodes_) {
    net::MemoryTransport& endpoint = network_.endpoint(name);
    endpoint.set_batch_handler(nullptr);
    endpoint.set_batch_outcome_handler(nullptr);
    endpoint.set_after_drain(nullptr);
    member.node.reset();
  }
  if (owns_directory_) {
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
  }
}

namespace {
FixedBytes<32> seed_of(const std::string& name) {
  // Test keys derived from the name: never for a real network.
  return crypto::sha256(as_bytes("folio.mock-network.seed/" + name));
}
}  // namespace

void MockNetwork::add_node(const std::string& name) {
  Member& m = nodes_[name];
  m.config.name = name;
  m.config.directory = directory_ / ("node" + std::to_string(nodes_.size()));
  m.config.identity_seed = seed_of(name);
  m.config.notary_batch_max = options_.notary_batch_max;
  m.config.register_flows = options_.register_flows;
  m.config.engine = options_.engine;
  m.config.sqlite_synchronous_full = options_.sqlite_synchronous_full;
  m.party = ledger::Party{name, crypto::PrivateKey::ed25519(*m.config.identity_seed).public_key()};
}

void MockNetwork::add_notary(const std::string& name, bool validating) {
  add_node(name);
  Member& m = nodes_.at(name);
  m.config.notary = true;
  m.config.validating_notary = validating;
}

Status MockNetwork::start_all() {
  std::vector<notary::NotaryEntry> notaries;
  std::vector<ledger::Party> parties;
  for (auto& [name, m] : nodes_) {
    parties.push_back(m.party);
    if (m.config.notary) {
      notary::NotaryEntry entry;
      entry.identity = m.party;
      entry.validating = m.config.validating_notary;
      entry.kind = notary::NotaryKind::kSingle;
      notaries.push_back(entry);
    }
  }
  for (auto& [name, m] : nodes_) {
    m.config.notaries = notaries;
    m.config.parties = parties;
    if (options_.new_postgres_database) {
      FOLIO_ASSIGN_OR_RETURN(std::string conninfo, options_.new_postgres_database());
      m.config.postgres_conninfo = conninfo;
    }
    FOLIO_TRY(start(name));
  }
  return ok_status();
}

void MockNetwork::crash(const std::string& name) {
  Member& m = nodes_.at(name);
  net::MemoryTransport& endpoint = network_.endpoint(name);
  endpoint.set_batch_handler(nullptr);
  endpoint.set_batch_outcome_handler(nullptr);
  endpoint.set_after_drain(nullptr);
  m.node.reset();
  network_.drop_queued_from(name);
}

Status MockNetwork::start(const std::string& name) {
  Member& m = nodes_.at(name);
  FOLIO_ASSERT(m.node == nullptr);
  NodeConfig config = m.config;
  auto fault = faults.find(name);
  if (fault != faults.end()) config.engine.fault = fault->second;
  net::MemoryTransport& endpoint = network_.endpoint(name);
  if (!m.clock) m.clock = std::make_unique<NodeClock>(clock_);
  FOLIO_ASSIGN_OR_RETURN(m.node,
                         Node::start(std::move(config), endpoint, *m.clock, notary_clock_));
  // Batches: what arrives at a node in one delivery round is stored, and the steps it allows
  // taken, in one group commit; acknowledgements leave the outbox a batch at a time.
  // Interleaved rounds: a notary notarises what a batch queued on the thread that delivered it,
  // in parallel with the other nodes' batches (its responders answer at the next tick).
  Node* node = m.node.get();
  bool flush = options_.interleave_rounds && m.config.notary;
  endpoint.set_batch_handler(
      [this, node, name, flush](std::span<const net::Envelope> envelopes) {
        std::vector<net::Disposition> dispositions = node->on_messages(envelopes);
        if (network_.free_running()) return dispositions;  // the after-drain hook follows
        if (flush) (void)node->flush_notary();  // an error leaves them queued for run()'s flush
        auto hook = after_batch.find(name);
        if (hook != after_batch.end() && hook->second) hook->second();
        return dispositions;
      });
  // Free-running: after each drained inbox, on the node's own thread.
  bool notary = m.config.notary;
  NodeClock* own_clock = m.clock.get();
  endpoint.set_after_drain([this, node, name, notary, own_clock] {
    if (notary) (void)node->flush_notary();  // an error leaves them queued for the next drain
    own_clock->advance_own(1);
    node->tick();
    auto hook = after_batch.find(name);
    if (hook != after_batch.end() && hook->second) hook->second();
  });
  endpoint.set_batch_outcome_handler(
      [node](std::span<const std::pair<net::MessageId, net::Disposition>> outcomes) {
        node->engine().on_outcomes(outcomes);
      });
  return ok_status();
}

void MockNetwork::set_trade_policy(
    const std::string& name,
    std::function<bool(const std::string&, uint64_t, const std::string&)> policy) {
  Member& m = nodes_.at(name);
  m.config.trade_policy = policy;
  if (m.node) m.node->set_trade_policy(std::move(policy));
}

Status MockNetwork::restart(const std::string& name) {
  crash(name);
  return start(name);
}

std::vector<std::string> MockNetwork::names() const {
  std::vector<std::string> out;
  for (const auto& [name, m] : nodes_) out.push_back(name);
  return out;
}

void MockNetwork::start_free_running() { network_.start_free_running(); }

void MockNetwork::stop_free_running() { network_.stop_free_running(); }

size_t MockNetwork::run(size_t rounds_max) {
  size_t delivered = 0;
  for (size_t round = 0; round < rounds_max; ++round) {
    size_t moved = 0;
    if (options_.interleave_rounds) {
      // One pass: every node's due batch at once on threads, or one delivery per node.
      size_t passes = options_.delivery_threads > 1 ? 1 : nodes_.size();
      for (size_t pass = 0; pass < passes; ++pass) {
        if (!(options_.delivery_threads > 1 ? network_.deliver_round(options_.delivery_threads)
                                            : network_.deliver_one()))
          break;
        ++moved;
        if (after_delivery) after_delivery();
      }
    } else {
      while (options_.delivery_threads > 1 ? network_.deliver_round(options_.delivery_threads)
                                            : network_.deliver_one()) {
        ++moved;
        if (after_delivery) after_delivery();
      }
    }
    if (after_delivery) after_delivery();
    delivered += moved;
    size_t notarised = 0;
    uint64_t steps_before = 0;
    for (auto& [name, m] : nodes_) {
      if (!m.node) continue;
      auto flushed = m.node->flush_notary();
      if (flushed.ok()) notarised += *flushed;
      steps_before += m.node->engine().stats().steps_committed;
    }
    clock_.advance(1);
    notary_clock_.advance_micros(1000);
    uint64_t steps_after = 0;
    for (auto& [name, m] : nodes_) {
      if (!m.node) continue;
      m.node->tick();
      steps_after += m.node->engine().stats().steps_committed;
    }
    if (after_delivery) after_delivery();
    if (moved == 0 && notarised == 0 && steps_after == steps_before && network_.queued() == 0)
      return delivered;
  }
  return delivered;
}

}  // namespace folio::node
